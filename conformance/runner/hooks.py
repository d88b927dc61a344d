"""State hooks: how the runner changes and inspects a target it cannot look inside.

A target offers some of these capabilities (docs/conformance.md, state hooks): `state-hooks` (apply and delete
manifests, list GeneratorStates, AuthorizedIdentities and LeakedCredentials), `faults` (backend
faults) and `mock` (quirks; only the embedded mock). A scenario needing one the target lacks is
SKIP with the reason. `NoHooks` is a vendor server without any.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

STATE_HOOKS, FAULTS, MOCK, MTLS = "state-hooks", "faults", "mock", "mtls"

Manifest = Mapping[str, Any]


class HookError(RuntimeError):
    """A hook failed: the scenario is ERROR (the set-up broke), never FAIL."""


class Hooks:
    """The interface; every method of a capability the target lacks raises HookError."""

    capabilities: frozenset[str] = frozenset()

    def apply(self, documents: Sequence[Manifest]) -> None:
        """Create or replace these objects (kind, metadata.namespace, metadata.name)."""
        raise HookError("this target has no state hooks")

    def delete(self, documents: Sequence[Manifest]) -> None:
        """Delete these objects (only kind and metadata are read)."""
        raise HookError("this target has no state hooks")

    def state(self) -> list[dict[str, Any]]:
        """Every GeneratorState, AuthorizedIdentity and LeakedCredential, Kubernetes-shaped."""
        raise HookError("this target has no state hooks")

    def set_quirks(self, names: Sequence[str]) -> None:
        raise HookError("only the embedded mock has quirks")

    def backend_fault(self, spec: Mapping[str, Any]) -> None:
        """`{store: name}` or `{generator: ns/kind/name}` with `fault`."""
        raise HookError("this target has no fault hooks")

    def end_scenario(self) -> None:
        """Undo quirks and faults; manifests are undone by the runner before this is called."""

    def close(self) -> None:
        """Release what the hooks hold (processes, connections)."""


class NoHooks(Hooks):
    """A target with no hooks at all: every requirement needing them is SKIP."""
