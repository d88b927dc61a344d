"""Hooks for the embedded mock: a thin adapter onto its control surface (`MockControl`).

Manifests, state, quirks and backend faults all go through the same admin operations the HTTP
API and the pytest plugin use; nothing here reaches into the mock's objects. After each scenario
the manifests, the quirks and the backend faults it added are undone; the books are kept, as a
real server keeps its objects between requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from conformance.runner.hooks import FAULTS, MOCK, STATE_HOOKS, HookError, Hooks, Manifest
from mockserver.admin.control import AdminError, MockControl
from mockserver.admin.hooks import backend_fault_rule, state_items
from mockserver.federation.context import FederationContext
from mockserver.runtime import MockServer


def object_key(doc: Manifest) -> tuple[str, str, str]:
    """A manifest's identity: kind, namespace and name."""
    meta = doc.get("metadata") or {}
    return str(doc.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", ""))


class EmbeddedHooks(Hooks):
    """State hooks, faults and quirks of an in-process `MockServer`."""

    capabilities = frozenset({STATE_HOOKS, FAULTS, MOCK})

    def __init__(self, server: MockServer) -> None:
        if server.context is None:
            raise HookError("the embedded mock is not running")
        self.server = server
        self.control: MockControl = server.admin
        self._base_quirks = self._quirks()
        self._faults: list[int] = []
        self._changed = False

    @property
    def ctx(self) -> FederationContext:
        """The running mock's federation context, for reading what is loaded."""
        assert self.server.context is not None
        return self.server.context

    def _quirks(self) -> tuple[str, ...]:
        return tuple(sorted(self.control.quirks()["quirks"]))

    def set_base_quirks(self, names: Sequence[str]) -> None:
        """Switch quirks on for every following scenario (not undone after each one)."""
        self._set_quirks(sorted(names))
        self._base_quirks = tuple(sorted(names))

    def _set_quirks(self, names: list[str]) -> None:
        try:
            self.control.set_quirks(names)
        except AdminError as exc:
            raise HookError(exc.message) from exc

    # -- manifests -------------------------------------------------------------------------------

    def apply(self, documents: Sequence[Manifest]) -> None:
        try:
            self.control.apply_manifests([dict(d) for d in documents])
        except AdminError as exc:
            raise HookError(f"the mock refused the manifests: {exc.message}") from exc
        finally:
            self._changed = True

    def delete(self, documents: Sequence[Manifest]) -> None:
        for doc in documents:
            meta = doc.get("metadata") or {}
            try:
                self.control.delete_manifest(
                    str(doc.get("kind", "")), str(meta.get("name", "")), meta.get("namespace")
                )
            except AdminError as exc:
                if exc.status != 404:  # deleting what is not loaded leaves it not loaded
                    raise HookError(f"the mock refused the deletion: {exc.message}") from exc
            self._changed = True

    # -- state -----------------------------------------------------------------------------------

    def state(self) -> list[dict[str, Any]]:
        return state_items(self.control)

    # -- quirks and faults -----------------------------------------------------------------------

    def set_quirks(self, names: Sequence[str]) -> None:
        self._set_quirks(sorted({*self._quirks(), *names}))

    def backend_fault(self, spec: Mapping[str, Any]) -> None:
        try:
            added = self.control.add_fault(backend_fault_rule(spec), count=None)
        except AdminError as exc:
            raise HookError(exc.message) from exc
        self._faults.append(added["id"])

    def end_scenario(self) -> None:
        for rule_id in self._faults:
            try:
                self.control.remove_fault(rule_id)
            except AdminError:
                continue  # already spent
        self._faults = []
        if self._quirks() != self._base_quirks:
            self._set_quirks(list(self._base_quirks))
        if self._changed:
            self.control.reset_manifests()
            self._changed = False
