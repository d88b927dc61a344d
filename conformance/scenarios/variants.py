"""Request variants: the exact header and body text each scenario variant puts on the wire.

A scenario names a variant (`ca_crt: urlsafe-base64`, `auth: lowercase`, `body: {oversized: …}`,
`workload_token: {malformed: bad-json}`); these functions give its bytes, deterministically, so
reports are stable and every runner sends the same thing.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Callable, Mapping
from typing import Any

from conformance.scenarios.model import KubeIdentity, Request, WorkloadToken
from conformance.scenarios.vocabulary import SCHEME_NEAR_MISSES

# Text a CA file may carry before its PEM block (openssl x509 -text writes such a preamble).
PREAMBLE = b"Certificate:\n    Subject: conformance test CA\n"


def ca_crt_text(variant: str, cluster: str, pem_of: Callable[[str], bytes]) -> str | None:
    """The `ca.crt` member for a variant; `pem_of(cluster)` returns that cluster's CA PEM.

    `cluster` is the identity's cluster; `cluster:<name>` picks another one. None: omit the member.
    """
    if variant == "missing":
        return None
    if variant == "garbage":
        return "not base64 at all! %%%"
    name = variant.split(":", 1)[1] if variant.startswith("cluster:") else cluster
    pem = pem_of(name)
    if variant == "raw-pem":
        return pem.decode("ascii")
    if variant == "der-base64":
        return base64.b64encode(ssl.PEM_cert_to_DER_cert(pem.decode("ascii"))).decode("ascii")
    if variant == "urlsafe-base64":
        return base64.urlsafe_b64encode(pem).decode("ascii").rstrip("=")
    if variant == "non-certificate-pem":
        der = ssl.PEM_cert_to_DER_cert(pem.decode("ascii"))
        text = ssl.DER_cert_to_PEM_cert(der).replace("CERTIFICATE", "PUBLIC KEY")
        return base64.b64encode(text.encode("ascii")).decode("ascii")
    if variant in GO_READABLE_CA:
        return GO_READABLE_CA[variant](pem, pem_of)
    if variant == "bundle-wrong-first":
        return _b64(_other_pem(pem, pem_of) + pem)
    return base64.b64encode(pem).decode("ascii")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _wrapped(data: bytes) -> str:
    text = _b64(data)
    return "\n".join(text[i : i + 64] for i in range(0, len(text), 64)) + "\n"


def _other_pem(pem: bytes, pem_of: Callable[[str], bytes]) -> bytes:
    """A second certificate after the first: another cluster's CA when there is one."""
    for name in ("beta", "gamma", "alpha"):
        try:
            other = pem_of(name)
        except (KeyError, ValueError):
            continue
        if other != pem:
            return other
    return pem


GO_READABLE_CA: dict[str, Callable[[bytes, Callable[[str], bytes]], str]] = {
    "leading-text": lambda pem, _of: _b64(PREAMBLE + pem),
    "bundle": lambda pem, of: _b64(pem + _other_pem(pem, of)),
    "crlf": lambda pem, _of: _b64(pem.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")),
    "wrapped-base64": lambda pem, _of: _wrapped(pem),
}


def _padded(token: str) -> str:
    return ".".join(s + "=" * (-len(s) % 4 or 4) for s in token.split("."))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _jwt(header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
    return ".".join(
        [
            _b64url(json.dumps(header).encode()),
            _b64url(json.dumps(claims).encode()),
            _b64url(b"not-a-signature"),
        ]
    )


def malformed_workload_token(kind: str) -> str:
    """Fixed header text for each MALFORMED_WLT kind (deterministic, so reports are stable)."""
    full = {"namespace": "team-a", "serviceaccount": {"name": "app", "uid": "0000-uid"}}
    if kind == "two-segments":
        return _b64url(b'{"alg":"RS256"}') + "." + _b64url(b'{"sub":"x"}')
    if kind == "bad-base64":
        return "!!!.@@@.###"
    if kind == "bad-json":
        return _b64url(b"not json") + "." + _b64url(b"{") + "." + _b64url(b"sig")
    if kind == "missing-alg":
        return _jwt({"typ": "JWT"}, {"kubernetes.io": full})
    field_path = {
        "missing-namespace": ("namespace",),
        "missing-sa-name": ("serviceaccount", "name"),
        "missing-sa-uid": ("serviceaccount", "uid"),
    }[kind]
    claims = json.loads(json.dumps(full))
    target = claims
    for part in field_path[:-1]:
        target = target[part]
    del target[field_path[-1]]
    return _jwt({"alg": "RS256", "typ": "JWT"}, {"kubernetes.io": claims})


def workload_token_text(wlt: WorkloadToken, mint: Callable[[KubeIdentity], str]) -> str:
    """The x-workload-token value; `mint` turns an identity into a token (the fake clusters)."""
    if wlt.raw is not None:
        return wlt.raw
    if wlt.malformed is not None:
        return malformed_workload_token(wlt.malformed)
    assert wlt.identity is not None
    return mint(wlt.identity)


def authorization(request: Request, token: str | None) -> str | None:
    """The Authorization header value for `token` in the request's form (None: omit it)."""
    if token is None or request.auth == "none":
        return None
    if request.auth in SCHEME_NEAR_MISSES:
        return SCHEME_NEAR_MISSES[request.auth] + token
    return {
        "bearer": f"Bearer {token}",
        "bare": token,
        "lowercase": f"bearer {token}",
        "padded-segments": f"Bearer {_padded(token)}",
    }[request.auth]


def _compact(members: Mapping[str, Any]) -> bytes:
    return json.dumps(members, separators=(",", ":")).encode("utf-8")


def body_bytes(request: Request, ca_crt_value: str | None) -> bytes:
    """The body bytes; `ca_crt_value` is `ca_crt_text(...)` for Kubernetes identities."""
    body = request.body
    fixed = {
        "empty": b"",
        "non-json": b"this is not JSON",
        "json-array": b"[]",
        "json-null": b"null",
    }
    if body.form in fixed:
        return fixed[body.form]
    if body.form == "text":
        return (body.text or "").encode("utf-8")
    if body.form == "value":
        return json.dumps(body.value, separators=(",", ":")).encode("utf-8")
    members: dict[str, Any] = {}
    if request.is_kube and ca_crt_value is not None:
        members[request.ca_member] = ca_crt_value
    if request.operation == "generator.revoke_of":
        members.update(request.params.get("body") or {})
    data = _compact(members)
    if body.form == "oversized" and body.size is not None and len(data) < body.size:
        members["padding"] = ""
        base = len(_compact(members))
        members["padding"] = "x" * max(0, body.size - base)
        data = _compact(members)
    return data


def header_list(
    request: Request, token: str | None, wlt: str | None, body: bytes
) -> dict[str, str]:
    """Default headers (Authorization, Content-Type for a non-empty body, x-workload-token)
    with the scenario's `headers` applied on top (a null value removes a header)."""
    out: dict[str, str] = {}
    auth = authorization(request, token)
    if auth is not None:
        out["Authorization"] = auth
    if body:
        out["Content-Type"] = "application/json"
    if wlt is not None:
        out["x-workload-token"] = wlt
    for name, value in request.headers.items():
        for existing in [k for k in out if k.lower() == name.lower()]:
            del out[existing]
        if value is not None:
            out[name] = value
    return out
