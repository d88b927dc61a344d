"""The embedded mock as the client runner drives it: set-up actions, tokens, the journal, reset.

Everything goes through the mock's admin operations (`MockControl`, the same methods the HTTP
admin API calls). The mock runs unredacted because judging needs the exact bytes a client sent
(padded vs URL-safe base64, the exact Authorization value); the runner redacts evidence itself
before anything reaches a report.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from conformance.scenarios.actions import ACTIONS
from conformance.scenarios.load import default_scenarios_dir
from conformance.scenarios.model import KubeIdentity, SetupAction
from mockserver.admin.control import AdminError, MockControl
from mockserver.clock import Clock
from mockserver.gojson import go_json
from mockserver.runtime import MockServer

SETTLE_SECONDS = 2.0
_STDERR = threading.Lock()
"""Held while a mock starts: redirecting stderr is process-wide, so concurrent starts take turns."""


class SetupError(RuntimeError):
    """A set-up action the mock refused or the client runner cannot carry out: ERROR."""


class ClientMock:
    """One embedded mock shared by every client run of a suite (start once, reset per scenario)."""

    def __init__(self, fixtures: str | Path | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="esi-client-suite-")
        self.server = MockServer(
            fixtures=fixtures,
            state_dir=Path(self._tmp.name) / "state",
            refresh_volumes=False,
            unredacted=True,
            ephemeral=True,
            clock=Clock(),  # its own: a scenario shifting time never moves another mock's
        )
        self.admin: MockControl = self.server.admin
        self._hangs_before = 0

    def start(self) -> ClientMock:
        # The unredacted warning is for people running esi-mock by hand; this mock is private to
        # the run and its evidence is redacted by the runner.
        with _STDERR, contextlib.redirect_stderr(io.StringIO()):
            self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        self._tmp.cleanup()

    def __enter__(self) -> ClientMock:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what a client is given ------------------------------------------------------------------

    def base_url(self, transport: str) -> str:
        """The federation URL of the `http` or `https` listener."""
        if transport not in ("http", "https"):
            raise SetupError(f"transport {transport} is not driven by the client runner")
        return self.server.listeners[transport].url

    def server_ca_pem(self) -> bytes:
        assert self.server.server_ca is not None
        return self.server.server_ca.cert_pem

    def ca_pems(self) -> dict[str, bytes]:
        """Each fake cluster's CA file as the client is given it, by cluster name (what
        `ca.crt` must encode): the PEM with trailing newlines up to a length that leaves two
        `=` of base64 padding, so a client that drops or mangles padding fails on every run,
        not only when a random CA happens to need none."""
        return {
            name: _padded(cluster.ca.cert_pem) for name, cluster in self.server.clusters.items()
        }

    def mint(self, identity: KubeIdentity) -> str:
        """A fresh token for the identity, in the scenario's token variant."""
        if identity.signed_by is not None:
            raise SetupError("tokens signed by another cluster are not handed to clients")
        broken = identity.broken_kind
        try:
            return self.admin.mint_token(
                identity.cluster,
                identity.service_account,
                pod=identity.pod,
                legacy=identity.token == "legacy",
                broken=broken,
            )
        except AdminError as exc:
            raise SetupError(
                f"cannot mint a token for {identity.service_account}: {exc.message}"
            ) from exc

    # -- set-up, journal, reset ------------------------------------------------------------------

    def apply(self, actions: Sequence[SetupAction]) -> None:
        """Carry out set-up actions through the admin operations; refusals become SetupError."""
        for action in actions:
            try:
                self._apply(action.action, action.args)
            except AdminError as exc:
                raise SetupError(f"{action.action}: the mock refused: {exc.message}") from exc

    def _apply(self, name: str, args: Any) -> None:
        apply = ACTIONS[name].client
        if apply is None:
            raise SetupError(f"set-up action {name} is not available to the client runner")
        apply(self, args)

    # What set-up actions use (`conformance.scenarios.actions.ClientSide`).

    def documents(self, args: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The action's manifests (`file` relative to the shipped catalogue)."""
        return _documents(args)

    def signing_kid(self, cluster: str) -> str:
        """The key ID a fake cluster signs with now."""
        return str(self.server.clusters[cluster].signing_key.kid)

    def respond(self, args: Mapping[str, Any]) -> None:
        """Make the mock give the scenario's canned answer (a fault rule)."""
        self.admin.add_fault(respond_fault(args))

    def clear_journal(self) -> None:
        """Start a client run: forget earlier requests, note how many hangs have fired so far."""
        self.admin.clear_journal()
        self._hangs_before = self._hangs_fired()

    def _hangs_fired(self) -> int:
        return sum(r.get("fired", 0) for r in self.admin.faults() if r.get("action") == "hang")

    def journal(self) -> list[dict[str, Any]]:
        """Every federation request since the last clear, oldest first (unredacted).

        A hung request is journaled when the mock sees the client close the connection, a few
        milliseconds after the client exits; wait for those so the run's count is complete.
        """
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            entries = self.admin.journal()
            hung = self._hangs_fired() - self._hangs_before
            seen = sum(1 for e in entries if (e.get("fault") or {}).get("action") == "hang")
            if seen >= hung or time.monotonic() > deadline:
                return entries
            time.sleep(0.02)

    def take_errors(self) -> list[str]:
        """Failures inside the mock's threads since the last call (they make a step ERROR)."""
        return self.server.take_errors()

    def reset(self) -> None:
        """Back to the fixtures: manifests, faults, quirks, clock, keys, journal."""
        self.admin.reset()


def respond_fault(args: Mapping[str, Any]) -> dict[str, Any]:
    """The fault rule that makes the mock give a scenario's `respond` answer."""
    if "tls" in args:
        # Every new connection sees the bad certificate until the scenario ends.
        return {"tls": args["tls"], "listener": "https", "count": None}
    spec: dict[str, Any] = {"count": args.get("count", 1)}
    if args.get("drop"):
        return {**spec, "action": "drop-before"}
    if args.get("hang"):
        return {**spec, "action": "hang"}
    headers = dict(args.get("headers") or {})
    content_type = next(
        (headers.pop(k) for k in list(headers) if k.lower() == "content-type"), "application/json"
    )
    spec.update(action="status", status=args["status"], content_type=content_type, headers=headers)
    body = args.get("body")
    if body is not None:
        spec["body"] = response_body(body)
    return spec


def response_body(body: Mapping[str, Any]) -> str:
    """The exact body text of a `respond` answer (JSON as echo's encoder writes it)."""
    kind, value = next(iter(body.items()))
    if kind == "text":
        return str(value)
    if kind == "json":
        return go_json(value).decode("utf-8")
    if kind == "oversized":
        return json.dumps("x" * max(0, int(value) - 3)) + "\n"
    data = base64.b64decode(value)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SetupError("respond bodies must be UTF-8 text") from exc


def _documents(args: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "documents" in args:
        return [dict(d) for d in args["documents"]]
    path = Path(args["file"])
    if not path.is_absolute():
        path = default_scenarios_dir() / path
    try:
        return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    except (OSError, yaml.YAMLError) as exc:
        raise SetupError(f"cannot read manifests {path}: {exc}") from exc


def _padded(pem: bytes) -> bytes:
    """`pem` plus 0–2 newlines, so that its length is 1 modulo 3 (base64 ends in `==`)."""
    return pem + b"\n" * ((1 - len(pem)) % 3)
