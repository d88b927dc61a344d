"""The set-up action registry: one entry gives an action its parser, needs and both sides."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from conformance.scenarios import ACTIONS, SETUP_ACTIONS, ActionKind, ScenarioError, parse_file
from conformance.scenarios.checker import MISSING, Checker

FILE = "scenarios/demo.yaml"
IDS = {"SRV-STORE-001"}


def scenario_with(given: str, direction: str = "") -> str:
    head = f"""
        scenarios:
          - id: demo
            title: demo
            requirements: [SRV-STORE-001]
            {direction}
            given:
              - {given}
            request: {{operation: store.get, params: {{store: s, key: k}}}}
            expect: {{status: 200}}
    """
    return textwrap.dedent(head)


def test_every_documented_action_is_registered_once_in_order():
    assert SETUP_ACTIONS == (
        "manifests.apply",
        "manifests.delete",
        "quirks",
        "clock.shift",
        "keys.rotate",
        "idp.rotate",
        "cluster.fault",
        "backend.fault",
        "respond",
    )
    client_only = [name for name, kind in ACTIONS.items() if kind.server is None]
    server_only = [name for name, kind in ACTIONS.items() if kind.client is None]
    assert (client_only, server_only) == (
        ["respond"],
        ["idp.rotate", "cluster.fault", "backend.fault"],
    )


def _parse_ping(c: Checker, arg: Any, path: str) -> Any:
    count = c.integer(arg, path, 1, 9, "a count 1–9")
    return count if count is not None else MISSING


def test_a_new_action_is_one_entry(monkeypatch):
    pings: list[int] = []
    kind = ActionKind(
        "demo.ping", _parse_ping, frozenset({"faults"}), server=lambda side, n: pings.append(n)
    )
    monkeypatch.setitem(ACTIONS, "demo.ping", kind)
    (scenario,) = parse_file(scenario_with("demo.ping: 3"), FILE, IDS)
    assert [(a.action, a.args) for a in scenario.given] == [("demo.ping", 3)]
    assert scenario.needs == ("faults",)
    with pytest.raises(ScenarioError) as info:
        parse_file(scenario_with("demo.ping: 12"), FILE, IDS)
    assert info.value.errors == [
        f'{FILE}: scenario "demo": given[0].demo.ping: expected a count 1–9, got 12'
    ]
    client_only = ActionKind("demo.ping", _parse_ping, client=lambda side, n: None)
    monkeypatch.setitem(ACTIONS, "demo.ping", client_only)
    with pytest.raises(ScenarioError) as info:
        parse_file(scenario_with("demo.ping: 3"), FILE, IDS)
    assert info.value.errors == [
        f'{FILE}: scenario "demo": direction: expected client when a set-up action is '
        'demo.ping, got "server"'
    ]


class RecordingServer:
    """A server side that records what the actions asked of it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.hooks = self
        self.clusters = self

    def apply(self, documents: Sequence[Mapping[str, Any]]) -> None:
        self.calls.append(("hooks.apply", [d["metadata"]["name"] for d in documents]))

    def delete(self, documents: Sequence[Mapping[str, Any]]) -> None:
        self.calls.append(("hooks.delete", [d["metadata"]["name"] for d in documents]))

    def set_quirks(self, names: Sequence[str]) -> None:
        self.calls.append(("hooks.set_quirks", list(names)))

    def backend_fault(self, spec: Mapping[str, Any]) -> None:
        self.calls.append(("hooks.backend_fault", dict(spec)))

    def rotate(self, name: str, retire_old: bool = False) -> None:
        self.calls.append(("clusters.rotate", (name, retire_old)))

    def set_fault(self, name: str, endpoint: str, fault: str) -> None:
        self.calls.append(("clusters.set_fault", (name, endpoint, fault)))

    def documents(self, args: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [{"kind": args["kind"], "metadata": {"name": args["name"]}}]

    def remember_applied(self, documents: Sequence[Mapping[str, Any]]) -> None:
        self.calls.append(("remember_applied", len(documents)))

    def remember_deleted(self, documents: Sequence[Mapping[str, Any]]) -> None:
        self.calls.append(("remember_deleted", len(documents)))

    def shift_clock(self, seconds: int) -> None:
        self.calls.append(("shift_clock", seconds))


def test_server_side_goes_through_hooks_and_clusters_and_remembers_the_undo():
    side = RecordingServer()
    ACTIONS["manifests.delete"].server(side, {"kind": "Authorization", "name": "a"})
    ACTIONS["quirks"].server(side, ("q1",))
    ACTIONS["clock.shift"].server(side, -30)
    ACTIONS["keys.rotate"].server(side, {"cluster": "alpha"})
    ACTIONS["cluster.fault"].server(side, {"cluster": "beta", "endpoint": "jwks", "fault": "slow"})
    assert side.calls == [
        ("remember_deleted", 1),
        ("hooks.delete", ["a"]),
        ("hooks.set_quirks", ["q1"]),
        ("shift_clock", -30),
        ("clusters.rotate", ("alpha", False)),
        ("clusters.set_fault", ("beta", "jwks", "slow")),
    ]


class RecordingAdmin:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def rotate_keys(self, cluster: str, mode: str, kid: str | None = None) -> None:
        self.calls.append(("rotate_keys", cluster, mode, kid))

    def delete_manifest(self, kind: str, name: str, namespace: str | None = None) -> None:
        self.calls.append(("delete_manifest", kind, name, namespace))


class RecordingClient:
    def __init__(self) -> None:
        self.admin = RecordingAdmin()

    def signing_kid(self, cluster: str) -> str:
        return f"{cluster}-kid-1"

    def documents(self, args: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [dict(d) for d in args["documents"]]


def test_client_side_goes_through_the_mocks_admin_operations():
    side = RecordingClient()
    ACTIONS["keys.rotate"].client(side, {"cluster": "alpha", "retire_old": True})
    docs = {"documents": [{"kind": "Authorization", "metadata": {"name": "x", "namespace": "n"}}]}
    ACTIONS["manifests.delete"].client(side, docs)
    assert side.admin.calls == [
        ("rotate_keys", "alpha", "full", None),
        ("rotate_keys", "alpha", "retire", "alpha-kid-1"),
        ("delete_manifest", "Authorization", "x", "n"),
    ]
