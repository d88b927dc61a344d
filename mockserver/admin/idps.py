"""Admin operations on the fake identity providers: mint tokens, rotate keys, break them.

IdP faults work like the cluster faults: a rule lasts until removed unless given a `count`,
and installing or removing one bumps the provider's state version, so the server's kept key
sets no longer hold.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask
from werkzeug.wrappers import Response

from mockserver.admin.faults import FaultError, spend
from mockserver.idp import IdentityProviders
from mockserver.idp.minting import BROKEN_KINDS, TokenRequest

FAULT_KINDS = ("status-500", "garbage", "timeout", "unknown-kid")
ENDPOINTS = ("discovery", "jwks", "any")
TIMEOUT_SECONDS = 15.0
GARBAGE = b"\x89garbage{{ not json <html>\n"
ROTATE_STEPS = ("add", "sign", "retire", "full")


class IdPAdminError(ValueError):
    """Bad input to an IdP operation; the admin API answers it with 400 and this text."""


@dataclass
class IdPFaultRule:
    id: int
    idp: str
    kind: str
    endpoint: str = "any"
    count: int | None = None
    fired: int = 0

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "idp": self.idp,
            "kind": self.kind,
            "endpoint": self.endpoint,
            "count": self.count,
            "fired": self.fired,
        }


class IdPAdmin:
    """Tokens, rotation and faults of one mock's fake identity providers."""

    def __init__(
        self,
        idps: IdentityProviders,
        stopping: threading.Event | None = None,
        folder: Path | None = None,
    ) -> None:
        """`folder`: where the providers keep their keys (`esi-mock token --idp` reads them)."""
        self.idps = idps
        self.folder = folder
        self.stopping = stopping or threading.Event()
        self._lock = threading.Lock()
        self._rules: list[IdPFaultRule] = []
        self._next = 1
        self.released = threading.Event()
        self.holding = threading.Event()
        """Set while a `timeout` fault holds an answer (tests wait on it, not on the clock)."""
        for name, provider in idps.items():
            provider.faults = self._hook(name)

    def snapshot(self) -> None:
        """Remember every issuer's keys as they are now (after start): what `reset` restores."""
        self._initial = {
            (name, sid): (server.keys.keys, server.keys.signing_key.kid)
            for name, provider in self.idps.items()
            for sid, server in provider.servers.items()
        }

    def reset(self) -> None:
        """No faults, and the keys of `snapshot` back in place."""
        self.clear_faults()
        for (name, sid), (keys, signing) in getattr(self, "_initial", {}).items():
            ring = self.idps[name].servers[sid].keys
            if ring.keys != keys or ring.signing_key.kid != signing:
                ring.restore(keys, signing)
                self._save(name)

    def _save(self, name: str) -> None:
        if self.folder is not None:
            self.idps[name].save(self.folder / name)

    def _provider_name(self, idp: Any) -> str:
        if not isinstance(idp, str) or idp not in self.idps:
            raise IdPAdminError(f"idp must be one of {', '.join(self.idps)}, got {idp!r}")
        return idp

    # -- tokens and keys -------------------------------------------------------------------------

    def mint(
        self,
        idp: str,
        subject: str | None = None,
        client_id: str | None = None,
        scopes: list[str] | None = None,
        audience: str | None = None,
        duration: int = 3600,
        server: str | None = None,
        broken: str | None = None,
    ) -> str:
        name = self._provider_name(idp)
        if broken is not None and broken not in BROKEN_KINDS:
            raise IdPAdminError(f"broken must be one of {', '.join(sorted(BROKEN_KINDS))}")
        if scopes is not None and not all(isinstance(s, str) for s in scopes):
            raise IdPAdminError("scopes must be a list of strings")
        request = TokenRequest(subject, client_id, tuple(scopes or ()), audience, duration)
        try:
            return self.idps.mint(name, request, server, broken)
        except (KeyError, ValueError) as exc:
            raise IdPAdminError(str(exc).strip("'\"")) from None

    def rotate(
        self, idp: str, server: str | None = None, step: str = "full", kid: str | None = None
    ) -> dict[str, Any]:
        """`add` publishes a new key, `sign` signs with `kid`, `retire` unpublishes `kid`,
        `full` adds a key and signs with it."""
        provider = self.idps[self._provider_name(idp)]
        if step not in ROTATE_STEPS:
            raise IdPAdminError(f"step must be one of {', '.join(ROTATE_STEPS)}, got {step!r}")
        try:
            chosen = provider.server(server or ("default" if provider.kind == "okta" else ""))
        except KeyError as exc:
            if server is not None or provider.kind == "okta":
                raise IdPAdminError(str(exc).strip("'\"")) from None
            chosen = next(iter(provider.servers.values()))
        try:
            if step in ("add", "full"):
                kid = chosen.keys.add().kid
                if step == "full":
                    chosen.keys.sign_with(kid)
            elif not isinstance(kid, str):
                raise IdPAdminError(f"step {step} needs the kid of a published key")
            elif step == "sign":
                chosen.keys.sign_with(kid)
            else:
                chosen.keys.retire(kid)
        except (KeyError, ValueError) as exc:
            raise IdPAdminError(str(exc).strip("'\"")) from None
        self._save(provider.name)
        return {
            "kid": kid,
            "server": chosen.key_folder,
            "keys": [k.kid for k in chosen.keys.keys],
            "signing": chosen.keys.signing_key.kid,
        }

    # -- faults ----------------------------------------------------------------------------------

    def add_fault(self, spec: Any) -> dict[str, Any]:
        if not isinstance(spec, dict):
            raise FaultError("an IdP fault is a JSON object")
        unknown = sorted(set(spec) - {"idp", "kind", "endpoint", "count"})
        if unknown:
            raise FaultError(
                f"unknown IdP fault field {unknown[0]!r}; known: idp, kind, endpoint, count"
            )
        try:
            name = self._provider_name(spec.get("idp"))
        except IdPAdminError as exc:
            raise FaultError(str(exc)) from None
        kind, endpoint = spec.get("kind"), spec.get("endpoint", "any")
        if kind not in FAULT_KINDS:
            raise FaultError(f"kind must be one of {', '.join(FAULT_KINDS)}, got {kind!r}")
        if endpoint not in ENDPOINTS:
            raise FaultError(f"endpoint must be one of {', '.join(ENDPOINTS)}, got {endpoint!r}")
        count = spec.get("count")
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or count < 1
        ):
            raise FaultError(f"count must be a whole number of at least 1 or null, got {count!r}")
        with self._lock:
            rule = IdPFaultRule(self._next, name, kind, endpoint, count)
            self._next += 1
            self._rules.append(rule)
        self.idps[name].touch()
        return rule.describe()

    def remove_fault(self, rule_id: int) -> bool:
        with self._lock:
            doomed = [r for r in self._rules if r.id == rule_id]
            self._rules = [r for r in self._rules if r.id != rule_id]
        for rule in doomed:
            self.idps[rule.idp].touch()
        self.released.set()
        self.released = threading.Event()
        return bool(doomed)

    def clear_faults(self) -> int:
        with self._lock:
            doomed, self._rules = self._rules, []
        for rule in doomed:
            self.idps[rule.idp].touch()
        self.released.set()
        self.released = threading.Event()
        return len(doomed)

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.describe() for r in self._rules]

    def _take(self, name: str, endpoint: str) -> IdPFaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.idp != name or rule.endpoint not in (endpoint, "any"):
                    continue
                spend(self._rules, rule)
                return rule
        return None

    def _hook(self, name: str) -> Any:
        provider = self.idps[name]

        def hook(endpoint: str, request: flask.Request) -> Response | None:
            if endpoint not in ("discovery", "jwks"):
                return None
            rule = self._take(name, endpoint)
            if rule is None:
                return None
            provider.touch()
            if rule.kind == "status-500":
                return Response(
                    b'{"errorCode":"E0000009","errorSummary":"Internal Server Error"}',
                    status=500,
                    content_type="application/json",
                )
            if rule.kind == "garbage":
                return Response(GARBAGE, status=200, content_type="application/json")
            if rule.kind == "timeout":
                released = self.released
                self.holding.set()
                released.wait(TIMEOUT_SECONDS)
                self.holding.clear()
                return Response(b"", status=504)
            if endpoint != "jwks":
                return None
            return Response(
                b'{"keys":[{"kty":"RSA","alg":"RS256","kid":"unknown-kid","use":"sig","e":"AQAB","n":"AQAB"}]}',
                status=200,
                content_type="application/json",
            )

        return hook
