"""A scenario request made concrete for one target: minted tokens, exact bytes, where to send it.

Tokens are minted fresh for every request (after the step's set-up), and every secret in it is
handed to `learn` before anything could be reported.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass

from conformance.runner.target import Target
from conformance.scenarios.model import IdPIdentity, KubeIdentity, Request, SpiffeIdentity
from conformance.scenarios.variants import (
    body_bytes,
    ca_crt_text,
    header_list,
    workload_token_text,
)
from mockserver.idp.minting import TokenRequest


class Broken(Exception):
    """The harness or the set-up broke: the scenario is ERROR with this message."""


@dataclass(frozen=True)
class PreparedRequest:
    """The exact request the runner sends: method, raw path, headers and body bytes, and the
    listener (`base_url` with its TLS `context`; `mtls` when it is the SPIFFE port)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    base_url: str
    context: ssl.SSLContext | None
    mtls: bool
    ca_text: str | None = None
    """The body's `ca.crt` value (a credential: kept out of reports, rebuilt in `curl` lines)."""


def prepare(
    request: Request, target: Target, learn: Callable[[str | None], None]
) -> PreparedRequest:
    """Mint the request's tokens on the target's fake clusters and pick its listener."""
    clusters = target.clusters
    identity = request.identity
    token = ca = None
    if isinstance(identity, KubeIdentity):
        token = clusters.mint(identity)
        ca = ca_crt_text(request.ca_crt, identity.cluster, clusters.pem_of)
        learn(token)
        learn(ca)
    elif isinstance(identity, IdPIdentity):
        token = _idp_token(identity, target)
        learn(token)
    body = body_bytes(request, ca)
    wlt = None
    if request.workload_token is not None:
        wlt = workload_token_text(request.workload_token, clusters.mint)
        learn(wlt)
    headers = header_list(request, token, wlt, body)
    method, path = request.method, request.path
    if isinstance(identity, SpiffeIdentity) or request.transport == "mtls":
        if target.mtls_url is None:
            raise Broken("the scenario needs the mTLS port, but the target has none")
        spiffe_id = identity.spiffe_id if isinstance(identity, SpiffeIdentity) else None
        untrusted = isinstance(identity, SpiffeIdentity) and identity.svid == "untrusted"
        svid = target.svid_context(spiffe_id, untrusted)
        return PreparedRequest(method, path, headers, body, target.mtls_url, svid, True, ca)
    if request.transport == "https":
        assert target.https_url is not None
        return PreparedRequest(
            method, path, headers, body, target.https_url, target.https_context, False, ca
        )
    context = target.https_context if target.http_url.startswith("https:") else None
    return PreparedRequest(method, path, headers, body, target.http_url, context, False, ca)


def _idp_token(identity: IdPIdentity, target: Target) -> str:
    if target.idps is None:
        raise Broken("the scenario needs fake identity providers, but the target has none")
    request = TokenRequest(subject=identity.subject, client_id=identity.client_id)
    try:
        return target.idps.mint(identity.idp, request, identity.server, identity.broken_kind)
    except (KeyError, ValueError) as exc:
        raise Broken(f"cannot mint a {identity.idp} token: {exc}") from exc
