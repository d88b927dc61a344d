"""The set-up actions, each registered once: its parser, its needs, and how each runner applies it.

An entry names the action (`manifests.apply`, `clock.shift`, …), checks its argument, says which
capabilities a scenario using it needs, and carries it out on the server side (through the
runner's hooks and fake clusters) and on the client side (through the client runner's embedded
mock). A side that cannot carry it out has None there: the server runner reports ERROR for
it, the client runner too, and the parser allows a server-less action only in client scenarios.
Adding an action is one `ActionKind` in `ACTIONS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from conformance.scenarios.checker import MISSING, Checker, join
from conformance.scenarios.vocabulary import (
    BACKEND_FAULTS,
    CLUSTER_ENDPOINTS,
    CLUSTER_FAULTS,
    RESPOND_TLS,
)

if TYPE_CHECKING:
    from mockserver.admin.control import MockControl

Manifest = Mapping[str, Any]


class ServerHooks(Protocol):
    """The part of the runner's `Hooks` interface set-up actions call."""

    def apply(self, documents: Sequence[Manifest]) -> None: ...
    def delete(self, documents: Sequence[Manifest]) -> None: ...
    def set_quirks(self, names: Sequence[str]) -> None: ...
    def backend_fault(self, spec: Mapping[str, Any]) -> None: ...


class FakeClusters(Protocol):
    """The runner's fake clusters (`ClusterSet`), undone by the runner after each scenario."""

    def rotate(self, name: str, retire_old: bool = False) -> None: ...
    def set_fault(self, name: str, endpoint: str, fault: str) -> None: ...


class FakeIdentityProviders(Protocol):
    """The target's fake Okta and PingOne (`IdentityProviders`), undone after each scenario."""

    def rotate(self, name: str, server_id: str | None = None, retire_old: bool = False) -> str: ...


class ServerSide(Protocol):
    """A server target during one scenario; it remembers what to undo afterwards."""

    @property
    def hooks(self) -> ServerHooks: ...
    @property
    def clusters(self) -> FakeClusters: ...
    @property
    def idps(self) -> FakeIdentityProviders: ...
    def documents(self, args: Mapping[str, Any]) -> list[dict[str, Any]]: ...
    def remember_applied(self, documents: Sequence[Manifest]) -> None: ...
    def remember_deleted(self, documents: Sequence[Manifest]) -> None: ...
    def shift_clock(self, seconds: int) -> None: ...


class ClientSide(Protocol):
    """The client runner's embedded mock (`ClientMock`), reset after each scenario."""

    @property
    def admin(self) -> MockControl: ...
    def documents(self, args: Mapping[str, Any]) -> list[dict[str, Any]]: ...
    def signing_kid(self, cluster: str) -> str: ...
    def respond(self, args: Mapping[str, Any]) -> None: ...


Parser = Callable[[Checker, Any, str], Any]
# What an application returns is ignored (admin operations answer with their new state).
ServerApply = Callable[[ServerSide, Any], object]
ClientApply = Callable[[ClientSide, Any], object]


@dataclass(frozen=True)
class ActionKind:
    """One set-up action: `parse(checker, arg, path)` gives the validated argument or MISSING."""

    name: str
    parse: Parser
    needs: frozenset[str] = frozenset()
    server: ServerApply | None = None
    client: ClientApply | None = None


# -- parsers -------------------------------------------------------------------------------------


def _manifests(c: Checker, arg: Any, path: str, *, by_name: bool) -> Any:
    if isinstance(arg, dict) and "file" in arg:
        d = c.mapping(arg, path, ("file",), ())
        return d if d is not None and c.string(d["file"], join(path, "file")) else MISSING
    if isinstance(arg, dict) and "documents" in arg:
        d = c.mapping(arg, path, ("documents",), ())
        if d is None:
            return MISSING
        docs = d["documents"]
        if not isinstance(docs, list) or not docs or not all(isinstance(x, dict) for x in docs):
            c.bad(join(path, "documents"), "a non-empty list of manifest mappings", docs)
            return MISSING
        return {"documents": docs}
    if by_name and isinstance(arg, dict):
        d = c.mapping(arg, path, ("kind", "name"), ("namespace",))
        if d is None:
            return MISSING
        for key in d:
            if c.string(d[key], join(path, key)) is None:
                return MISSING
        return dict(d)
    tail = " (or kind, name, namespace)" if by_name else ""
    c.bad(path, "a mapping with file or documents" + tail, arg)
    return MISSING


def _parse_apply(c: Checker, arg: Any, path: str) -> Any:
    return _manifests(c, arg, path, by_name=False)


def _parse_delete(c: Checker, arg: Any, path: str) -> Any:
    return _manifests(c, arg, path, by_name=True)


def _parse_quirks(c: Checker, arg: Any, path: str) -> Any:
    names = c.string_list(arg, path, what="quirk name")
    return names if names is not None else MISSING


def _parse_clock(c: Checker, arg: Any, path: str) -> Any:
    seconds = c.integer(arg, path, -(10**9), 10**9, "a number of seconds")
    return seconds if seconds is not None else MISSING


def _parse_rotate(c: Checker, arg: Any, path: str) -> Any:
    d = c.mapping(arg, path, ("cluster",), ("retire_old",))
    if d is None or c.string(d["cluster"], join(path, "cluster")) is None:
        return MISSING
    if not isinstance(d.get("retire_old", False), bool):
        c.bad(join(path, "retire_old"), "true or false", d["retire_old"])
        return MISSING
    return dict(d)


def _parse_idp_rotate(c: Checker, arg: Any, path: str) -> Any:
    d = c.mapping(arg, path, ("idp",), ("server", "retire_old"))
    if d is None or c.string(d["idp"], join(path, "idp"), ("okta", "pingone")) is None:
        return MISSING
    if "server" in d and c.string(d["server"], join(path, "server")) is None:
        return MISSING
    if not isinstance(d.get("retire_old", False), bool):
        c.bad(join(path, "retire_old"), "true or false", d["retire_old"])
        return MISSING
    return dict(d)


def _parse_cluster_fault(c: Checker, arg: Any, path: str) -> Any:
    d = c.mapping(arg, path, ("cluster", "endpoint", "fault"), ())
    if d is None:
        return MISSING
    ok = c.string(d["cluster"], join(path, "cluster")) is not None
    ok = c.string(d["endpoint"], join(path, "endpoint"), CLUSTER_ENDPOINTS) is not None and ok
    ok = c.string(d["fault"], join(path, "fault"), CLUSTER_FAULTS) is not None and ok
    return dict(d) if ok else MISSING


def _parse_backend_fault(c: Checker, arg: Any, path: str) -> Any:
    d = c.mapping(arg, path, ("fault",), ("store", "generator"))
    if d is None:
        return MISSING
    ok = c.string(d["fault"], join(path, "fault"), BACKEND_FAULTS) is not None
    if ("store" in d) == ("generator" in d):
        c.bad(path, "exactly one of store, generator")
        return MISSING
    target = "store" if "store" in d else "generator"
    what = "<name> or <ns>/<kind>/<name>"
    ok = c.string(d[target], join(path, target), what=what) is not None and ok
    return dict(d) if ok else MISSING


_RESPOND_BODIES = ("text", "json", "base64", "oversized")


def _parse_respond(c: Checker, arg: Any, path: str) -> Any:
    """A canned answer from the mock (client direction only)."""
    d = c.mapping(arg, path, (), ("status", "headers", "body", "drop", "hang", "tls", "count"))
    if d is None:
        return MISSING
    if "status" in d and c.status(d["status"], join(path, "status")) is None:
        return MISSING
    if "headers" in d and c.string_map(d["headers"], join(path, "headers")) is None:
        return MISSING
    if "body" in d:
        b = d["body"]
        if not isinstance(b, dict) or len(b) != 1 or next(iter(b)) not in _RESPOND_BODIES:
            kinds = ", ".join(_RESPOND_BODIES)
            c.bad(join(path, "body"), f"a mapping with exactly one of: {kinds}", b)
            return MISSING
        size_path = join(path, "body.oversized")
        if (
            "oversized" in b
            and c.integer(b["oversized"], size_path, 1, 64 << 20, "a size in bytes") is None
        ):
            return MISSING
    for flag in ("drop", "hang"):
        if flag in d and d[flag] is not True:
            c.bad(join(path, flag), "true", d[flag])
            return MISSING
    if "tls" in d and c.string(d["tls"], join(path, "tls"), RESPOND_TLS) is None:
        return MISSING
    if (
        "count" in d
        and c.integer(d["count"], join(path, "count"), 1, 100, "an integer 1–100") is None
    ):
        return MISSING
    if sum(k in d for k in ("status", "drop", "hang", "tls")) != 1:
        c.bad(path, "exactly one of status, drop, hang, tls")
        return MISSING
    return dict(d)


# -- server side ---------------------------------------------------------------------------------


def _server_apply(side: ServerSide, args: Any) -> None:
    docs = side.documents(args)
    side.remember_applied(docs)
    side.hooks.apply(docs)


def _server_delete(side: ServerSide, args: Any) -> None:
    docs = side.documents(args)
    side.remember_deleted(docs)
    side.hooks.delete(docs)


# -- client side ---------------------------------------------------------------------------------


def _client_delete(side: ClientSide, args: Any) -> None:
    if "kind" in args:
        side.admin.delete_manifest(args["kind"], args["name"], args.get("namespace"))
        return
    for doc in side.documents(args):
        meta = doc.get("metadata") or {}
        kind, name = str(doc.get("kind")), str(meta.get("name"))
        side.admin.delete_manifest(kind, name, meta.get("namespace"))


def _client_rotate(side: ClientSide, args: Any) -> None:
    old = side.signing_kid(args["cluster"])
    side.admin.rotate_keys(args["cluster"], "full")
    if args.get("retire_old"):
        side.admin.rotate_keys(args["cluster"], "retire", kid=old)


ACTIONS: dict[str, ActionKind] = {
    kind.name: kind
    for kind in (
        ActionKind(
            "manifests.apply",
            _parse_apply,
            frozenset({"state-hooks"}),
            server=_server_apply,
            client=lambda side, args: side.admin.apply_manifests(side.documents(args)),
        ),
        ActionKind(
            "manifests.delete",
            _parse_delete,
            frozenset({"state-hooks"}),
            server=_server_delete,
            client=_client_delete,
        ),
        ActionKind(
            "quirks",
            _parse_quirks,
            frozenset({"mock"}),
            server=lambda side, names: side.hooks.set_quirks(list(names)),
            client=lambda side, names: side.admin.set_quirks(list(names)),
        ),
        ActionKind(
            "clock.shift",
            _parse_clock,
            server=lambda side, seconds: side.shift_clock(seconds),
            client=lambda side, seconds: side.admin.shift_clock(seconds),
        ),
        ActionKind(
            "keys.rotate",
            _parse_rotate,
            server=lambda side, a: side.clusters.rotate(a["cluster"], bool(a.get("retire_old"))),
            client=_client_rotate,
        ),
        ActionKind(
            "idp.rotate",
            _parse_idp_rotate,
            server=lambda side, a: side.idps.rotate(
                a["idp"], a.get("server"), bool(a.get("retire_old"))
            ),
        ),
        ActionKind(
            "cluster.fault",
            _parse_cluster_fault,
            server=lambda side, a: side.clusters.set_fault(a["cluster"], a["endpoint"], a["fault"]),
        ),
        ActionKind(
            "backend.fault",
            _parse_backend_fault,
            frozenset({"faults"}),
            server=lambda side, spec: side.hooks.backend_fault(spec),
        ),
        ActionKind(
            "respond", _parse_respond, frozenset({"mock"}), client=lambda s, a: s.respond(a)
        ),
    )
}
SETUP_ACTIONS = tuple(ACTIONS)


def action_needs(action_name: str) -> frozenset[str]:
    """The capabilities a scenario using this action needs."""
    return ACTIONS[action_name].needs
