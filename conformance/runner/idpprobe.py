"""Before any scenario: does the target reach the bundle's fake Okta and PingOne?

The real server reaches Okta at the OktaFederation's domain and PingOne at fixed public host
names, through the system trust store: unless the vendor mapped those names to the harness and
trusts the fake CA, no Okta or Ping scenario can be judged. The probe sends one request per
provider with a valid token of an issuer the bundle's Authorizations name; the provider counts
as reached when the target fetched its discovery or keys meanwhile, or answered anything but 401
(keys it already holds). Otherwise its scenarios are SKIP with the reason.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping
from typing import Any

from conformance.runner.wire import Unreachable, send
from mockserver.idp import IdentityProviders
from mockserver.idp.minting import TokenRequest

CAPABILITY = {"okta": "okta", "pingone": "pingone"}


def _caller(
    idps: IdentityProviders, name: str, manifests: Iterable[Mapping[str, Any]]
) -> tuple[str, str] | None:
    """(server id, subject) of the first Authorization naming an issuer of provider `name`."""
    provider = idps[name]
    for doc in manifests:
        if doc.get("kind") != "Authorization":
            continue
        oidc = ((doc.get("spec") or {}).get("subject") or {}).get("oidc") or {}
        server = provider.by_issuer(str(oidc.get("issuer", "")))
        if server is not None and oidc.get("subject"):
            return server.id, str(oidc["subject"])
    return None


def reached_idps(
    idps: IdentityProviders | None,
    url: str,
    context: ssl.SSLContext | None,
    manifests: Iterable[Mapping[str, Any]],
) -> frozenset[str]:
    """The capabilities (`okta`, `pingone`) whose fake provider the target at `url` reaches."""
    if idps is None:
        return frozenset()
    docs = list(manifests)
    found: set[str] = set()
    for name, capability in CAPABILITY.items():
        if name not in idps:
            continue
        caller = _caller(idps, name, docs)
        if caller is None:
            continue
        server_id, subject = caller
        provider = idps[name]
        request = (
            TokenRequest(client_id=subject)
            if provider.kind == "pingidentity"
            else TokenRequest(subject=subject)
        )
        token = idps.mint(name, request, server_id)
        before = sum(provider.requests.values())
        try:
            answer = send(
                url,
                "POST",
                "/secretstore/esi-idp-probe/secrets/probe",
                {"Authorization": f"Bearer {token}"},
                b"",
                context if url.startswith("https:") else None,
            )
        except Unreachable:
            continue
        if sum(provider.requests.values()) > before or answer.status != 401:
            found.add(capability)
    return frozenset(found)
