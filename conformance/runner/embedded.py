"""Hooks for the embedded mock, driven in process through the running `MockServer`.

Manifests are applied by rebuilding the mock's model from its documents plus the changes; quirks
switch `Behaviour`; backend faults swap in a store table or a bookkeeping method that fails.
Everything is undone by resetting the registry, quirks and faults after each scenario.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from conformance.runner.hooks import FAULTS, MOCK, STATE_HOOKS, HookError, Hooks, Manifest
from mockserver.federation.errors import BadRequest, ProtocolError
from mockserver.manifests import ManifestError, build_model, read_documents, substitute
from mockserver.manifests.documents import Document
from mockserver.runtime import MockServer


class BackendUnavailable(ProtocolError):
    """The secret backend is down: what a hardened server answers with 503."""

    status = 503


class _FailingStores(dict):
    """The store table with one store whose every lookup is an outage."""

    def __init__(self, stores: Mapping[str, Any], failing: str) -> None:
        super().__init__(stores)
        self.failing = failing

    def get(self, name: str, default: Any = None) -> Any:
        if name == self.failing:
            raise BackendUnavailable(f"secret store {name!r} is unavailable")
        return super().get(name, default)


def object_key(doc: Manifest) -> tuple[str, str, str]:
    meta = doc.get("metadata") or {}
    return str(doc.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", ""))


class EmbeddedHooks(Hooks):
    """State hooks, faults and quirks of an in-process `MockServer`."""

    capabilities = frozenset({STATE_HOOKS, FAULTS, MOCK})

    def __init__(self, server: MockServer) -> None:
        if server.context is None:
            raise HookError("the embedded mock is not running")
        self.server = server
        self.ctx = server.context
        self._variables = {f"clusters.{n}.url": c.url for n, c in server.clusters.items()}
        self._base = [d for d in read_documents(server.fixtures)]
        self._docs: dict[tuple[str, str, str], Document] = {
            object_key(d.data): d for d in self._base
        }
        self._initial_quirks = tuple(sorted(server.behaviour.quirks))
        self._changed = False

    def set_base_quirks(self, names: Sequence[str]) -> None:
        """Switch quirks on for every following scenario (not undone after each one)."""
        try:
            self.server.behaviour.set(sorted(names))
        except ValueError as exc:
            raise HookError(str(exc)) from exc
        self._initial_quirks = tuple(sorted(names))

    # -- manifests -------------------------------------------------------------------------------

    def apply(self, documents: Sequence[Manifest]) -> None:
        for i, doc in enumerate(documents):
            self._docs[object_key(doc)] = Document("<scenario>", i + 1, dict(doc))
        self._rebuild()

    def delete(self, documents: Sequence[Manifest]) -> None:
        for doc in documents:
            self._docs.pop(object_key(doc), None)
        self._rebuild()

    def _rebuild(self) -> None:
        try:
            model = build_model(substitute(list(self._docs.values()), self._variables))
        except ManifestError as exc:
            raise HookError(f"the mock refused the manifests: {exc}") from exc
        self.ctx.registry.replace(model)
        self._changed = True

    # -- state -----------------------------------------------------------------------------------

    def state(self) -> list[dict[str, Any]]:
        books = self.ctx.bookkeeping
        leaks = [
            {
                "apiVersion": "conformance.esi-federation.dev/v1",
                "kind": "LeakedCredential",
                "metadata": {"namespace": leak["namespace"], "name": f"leak-{i}"},
                "spec": dict(leak),
            }
            for i, leak in enumerate(list(books.leaked_credentials))
        ]
        return [*books.generator_states(), *books.authorized_identities(), *leaks]

    # -- quirks and faults -----------------------------------------------------------------------

    def set_quirks(self, names: Sequence[str]) -> None:
        try:
            self.server.behaviour.set(sorted({*self.server.behaviour.quirks, *names}))
        except ValueError as exc:
            raise HookError(str(exc)) from exc

    def backend_fault(self, spec: Mapping[str, Any]) -> None:
        fault = spec["fault"]
        if "store" in spec:
            if fault not in ("unavailable", "error"):
                raise HookError(f"fault {fault} does not apply to a store")
            model = self.ctx.registry.model
            stores = _FailingStores(model.cluster_secret_stores, spec["store"])
            self.ctx.registry.replace(dataclasses.replace(model, cluster_secret_stores=stores))
            self._changed = True
            return
        namespace, kind, name = _triple(spec["generator"])
        if fault != "state-write-fails":
            raise HookError(f"fault {fault} is not available for generators on the mock")
        books = self.ctx.bookkeeping
        write = type(books).create_generator_state

        def failing_write(ns: str, k: str, n: str, *args: Any, **kwargs: Any) -> Any:
            if (ns, k, n) == (namespace, kind, name):
                raise BadRequest(f"GeneratorState for {k}/{n} could not be written")
            return write(books, ns, k, n, *args, **kwargs)

        books.create_generator_state = failing_write  # type: ignore[method-assign]

    def end_scenario(self) -> None:
        books = self.ctx.bookkeeping
        books.__dict__.pop("create_generator_state", None)
        if tuple(sorted(self.server.behaviour.quirks)) != self._initial_quirks:
            self.server.behaviour.set(list(self._initial_quirks))
        if self._changed:
            self._docs = {object_key(d.data): d for d in self._base}
            self.ctx.registry.reset()
            self._changed = False


def _triple(text: str) -> tuple[str, str, str]:
    parts = str(text).split("/")
    if len(parts) != 3:
        raise HookError(f"generator must be <namespace>/<kind>/<name>, got {text!r}")
    return parts[0], parts[1], parts[2]
