"""The mock's three behaviours: default, named quirks, and strict (design note §1).

Quirks are switches read at the one step they change; nothing here copies a step.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Quirk:
    name: str
    reference: str
    summary: str


QUIRKS: dict[str, Quirk] = {
    q.name: q
    for q in (
        Quirk(
            "first-request-401",
            "server-protocol.md §6 #9, §8(c) B1",
            "The first OIDC request per new ca.crt gets 401 `token is unverifiable: error while "
            "executing keyfunc: no jwks found`; the retry succeeds.",
        ),
        Quirk(
            "random-authenticator",
            "server-protocol.md §3.1, §8(c) B2",
            "Authenticators run in random order; a 401 carries the error of the last one tried.",
        ),
        Quirk(
            "kidless-panic",
            "server-protocol.md §6 #1, §8(c) B3",
            "A token without a string kid for a configured issuer drops the connection with no "
            "response.",
        ),
        Quirk(
            "sticky-authorizations",
            "server-protocol.md §6 #4, §8(c) B4",
            "Deleted or narrowed Authorizations keep authorizing until restart.",
        ),
        Quirk(
            "revoke-body-namespace",
            "server-protocol.md §6 #3, §8(c) B5",
            "R4 deletes in the body's namespace, and in every namespace when it is empty.",
        ),
        Quirk(
            "generate-then-fail",
            "server-protocol.md §6 #13, §8(c) B6",
            "R2 generates before the owner lookup and leaks the credential when a later step "
            "fails.",
        ),
        Quirk(
            "sni-with-port",
            "server-protocol.md §6 #18",
            "The discovery TLS name is the URL minus `https://`, so federation URLs with a port "
            "fail verification.",
        ),
        Quirk(
            "home-cluster-owner",
            "server-protocol.md §6 #14",
            "The owner Pod or ServiceAccount of a generator call is looked up by name in the "
            "server's own (home) cluster, not in the cluster that issued the token.",
        ),
        Quirk(
            "unverified-workload-token",
            "server-protocol.md §6 #2, §3.6",
            "x-workload-token is trusted without verifying its signature (even alg none).",
        ),
        Quirk(
            "ca-keyed-cache",
            "server-protocol.md §6 #5",
            "Verification keys are cached by ca.crt only, so a token claiming any issuer is "
            "verified with the keys first cached for that ca.crt.",
        ),
        Quirk(
            "okta-default-org-keys",
            "server-protocol.md §3.3 (BUG)",
            "An OktaFederation with authorizationServerId `default` reads the org server's "
            "/oauth2/v1/keys, so tokens of the `default` custom server fail `key with kid ... "
            "not found in JWKS`.",
        ),
        Quirk(
            "idp-key-cache-hour",
            "server-protocol.md §3.3, §3.4",
            "Okta and PingOne key sets are kept one hour with no refresh on an unknown kid "
            "(PingOne's jwks_uri forever), so a rotation or key removal at the provider takes "
            "up to an hour to show.",
        ),
    )
}


class UnknownQuirk(ValueError):
    def __init__(self, name: str) -> None:
        known = ", ".join(sorted(QUIRKS))
        super().__init__(f"unknown quirk {name!r}; known quirks: {known}")


class Behaviour:
    """Which quirks are on and whether strict mode is, shared by every request thread."""

    def __init__(self, quirks: tuple[str, ...] | list[str] = (), strict: bool = False) -> None:
        self._lock = threading.Lock()
        self._quirks: frozenset[str] = frozenset()
        self.strict = strict
        for name in quirks:
            self.enable(name)

    def enabled(self, name: str) -> bool:
        if name not in QUIRKS:
            raise UnknownQuirk(name)
        return name in self._quirks

    @property
    def quirks(self) -> frozenset[str]:
        return self._quirks

    def enable(self, name: str) -> None:
        if name not in QUIRKS:
            raise UnknownQuirk(name)
        with self._lock:
            self._quirks = self._quirks | {name}

    def disable(self, name: str) -> None:
        if name not in QUIRKS:
            raise UnknownQuirk(name)
        with self._lock:
            self._quirks = self._quirks - {name}

    def set(self, quirks: list[str] | tuple[str, ...], strict: bool | None = None) -> None:
        for name in quirks:
            if name not in QUIRKS:
                raise UnknownQuirk(name)
        with self._lock:
            self._quirks = frozenset(quirks)
            if strict is not None:
                self.strict = strict

    def describe(self) -> dict[str, object]:
        return {"strict": self.strict, "quirks": sorted(self._quirks)}
