"""The mock's three behaviours: default, named quirks, and strict (docs/modes.md).

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
            "protocol.md D9, B1",
            "The first OIDC request per new ca.crt gets 401 `token is unverifiable: error while "
            "executing keyfunc: no jwks found`; the retry succeeds. While any stored spec copy "
            "of the issuer fails (a dangling federationRef, an unreachable cluster) every "
            "request fails instead, with one line per failing copy.",
        ),
        Quirk(
            "random-authenticator",
            "protocol.md D12, §3.1, B2",
            "Authenticators run in random order; a 401 carries the error of the last one tried.",
        ),
        Quirk(
            "kidless-panic",
            "protocol.md D1, B3",
            "A token without a string kid for a configured issuer drops the connection with no "
            "response.",
        ),
        Quirk(
            "sticky-authorizations",
            "protocol.md D4, B4",
            "Deleted or narrowed Authorizations keep authorizing until restart.",
        ),
        Quirk(
            "revoke-body-namespace",
            "protocol.md D3, B5",
            "R4 deletes in the body's namespace, and in every namespace when it is empty.",
        ),
        Quirk(
            "generate-then-fail",
            "protocol.md D13, B6",
            "R2 generates before the owner lookup and leaks the credential when a later step "
            "fails.",
        ),
        Quirk(
            "sni-with-port",
            "protocol.md D18",
            "The discovery TLS name is the URL minus `https://`, so federation URLs with a port "
            "fail verification.",
        ),
        Quirk(
            "home-cluster-owner",
            "protocol.md D14",
            "The owner Pod or ServiceAccount of a generator call is looked up by name in the "
            "server's own (home) cluster, not in the cluster that issued the token.",
        ),
        Quirk(
            "unverified-workload-token",
            "protocol.md D2, §3.6",
            "x-workload-token is trusted without verifying its signature (even alg none).",
        ),
        Quirk(
            "ca-keyed-cache",
            "protocol.md D5",
            "Verification keys are cached by ca.crt only, so a token claiming any issuer is "
            "verified with the keys first cached for that ca.crt.",
        ),
        Quirk(
            "global-oidc-lock",
            "protocol.md D19",
            "One mutex is held across every upstream fetch of every OIDC request; each stored "
            "spec copy may take the 10 s client timeout, so one hung issuer stalls every OIDC "
            "caller for N×10 s.",
        ),
        Quirk(
            "spiffe-allowlist-delete",
            "protocol.md D25",
            "Deleting an Authorization removes its SPIFFE ID from the TLS allowlist even when "
            "another Authorization still names it; that ID's handshakes are refused.",
        ),
        Quirk(
            "random-provider-order",
            "protocol.md D42",
            "Several federations for one issuer are tried in a random order per request (Go map "
            "order); the first that answers supplies the keys.",
        ),
        Quirk(
            "okta-default-org-keys",
            "protocol.md D15",
            "An OktaFederation with authorizationServerId `default` reads the org server's "
            "/oauth2/v1/keys, so tokens of the `default` custom server fail `key with kid ... "
            "not found in JWKS`.",
        ),
        Quirk(
            "idp-key-cache-hour",
            "protocol.md D43",
            "Okta and PingOne key sets are kept one hour with no refresh on an unknown kid "
            "(PingOne's jwks_uri forever), so a rotation or key removal at the provider takes "
            "up to an hour to show.",
        ),
    )
}


@dataclass(frozen=True)
class StrictItem:
    """One hardening strict mode adds: a SHOULD item the real server does not meet."""

    name: str
    reference: str
    summary: str


STRICT_ITEMS: tuple[StrictItem, ...] = (
    StrictItem(
        "audience-check",
        "protocol.md S16",
        "A token's aud must contain its issuer or an extra audience; else 401 `token has "
        "invalid claims: token has invalid audience`.",
    ),
    StrictItem("exp-required", "protocol.md S16, D11", "A token without exp gets 401."),
    StrictItem(
        "empty-body-no-ca",
        "protocol.md S19",
        "An empty body is no ca.crt instead of `unexpected end of JSON input`.",
    ),
    StrictItem(
        "no-bearer-forwarding",
        "protocol.md S14, D7",
        "Discovery and JWKS are fetched without the caller's token.",
    ),
    StrictItem(
        "server-side-trust-anchor",
        "protocol.md S17, D6",
        "Without a ca.crt, an issuer's keys are fetched trusting the server's own trust bundle: "
        "the CA certificates of the mock's fake clusters. A ca.crt sent is still the only "
        "anchor for that request.",
    ),
    StrictItem(
        "encoded-slash-refused",
        "protocol.md S8, D26",
        "A route parameter still holding %2F (echo routed on the raw path) gets 400 `<param> "
        "must not contain %2F (an encoded /); send the / unencoded`.",
    ),
)
"""What `--strict` changes, each read at its one step (`behaviour.strict`); docs/modes.md has
a row per item."""


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
