"""Journal entries: one exchange → a JSON-ready dict, every secret replaced by its fingerprint.

Built when the journal is first read (not on the request's path); the secrets an exchange carries
(credential headers, `ca.crt`, the secret a success returned) are registered first, then scrubbed.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from mockserver.admin.exchange import Exchange
from mockserver.admin.nearmiss import explain_route_miss
from mockserver.admin.redaction import Redactor, fingerprint
from mockserver.federation.authn import Refusal, read_ca_crt, spiffe_id_of
from mockserver.federation.routing import R1, R2
from mockserver.godecode import GoJSONError, unmarshal
from mockserver.gojson import go_json

CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "x-workload-token", "cookie")


def _learn_secrets(ex: Exchange, outcome: dict[str, Any], redactor: Redactor) -> None:
    """Register what this exchange carries that is secret, before anything is scrubbed."""
    for name, value in _request_headers(ex.environ):
        if name.lower() in CREDENTIAL_HEADERS:
            redactor.add(value, "header", pinned=False)
            redactor.add(_credential(value), "token", pinned=False)
    ca_crt = _ca_crt(ex.body)
    if ca_crt:
        redactor.add(ca_crt, "ca.crt", pinned=False)
        try:
            redactor.add(base64.b64decode(ca_crt, validate=False), "ca.crt", pinned=False)
        except ValueError:
            pass
    value = _secret_answer(ex, outcome)
    for secret in _strings(value):
        redactor.add(secret, "output", pinned=False)


def _ca_crt(body: bytes) -> str:
    """The body's `ca.crt` as the OIDC authenticator reads it (same decoder, same key rules)."""
    try:
        return read_ca_crt(body, strict=False)
    except Refusal:
        return ""


def _secret_answer(ex: Exchange, outcome: dict[str, Any]) -> Any:
    """The decoded value of an R1/R2 success (a secret or generator output), else None."""
    if ex.status != 200 or outcome.get("route") not in (R1, R2):
        return None
    return _json(ex.response_body)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _masked(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, str):
        return redactor.mask(value)
    if isinstance(value, dict):
        return {k: _masked(v, redactor) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, redactor) for v in value]
    return value


def _json(data: bytes) -> Any:
    try:
        return unmarshal(data)
    except GoJSONError:
        return None


def _credential(value: str) -> str:
    scheme, _, rest = value.partition(" ")
    return rest.strip() if rest and scheme.isalpha() else value


def _request_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").title(), str(value)))
        elif key == "CONTENT_LENGTH" and "HTTP_TRANSFER_ENCODING" in environ:
            continue  # a chunked body: the listener counted its length, the client sent none
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").title(), str(value)))
    return headers


def _show_header(name: str, value: str, redactor: Redactor) -> str:
    if name.lower() not in CREDENTIAL_HEADERS or not redactor.enabled:
        return value
    scheme, _, rest = value.partition(" ")
    if rest and scheme.isalpha():
        return f"{scheme} {redactor.mask(rest.strip())}"
    return redactor.mask(value)


def _tls_peer(environ: dict[str, Any]) -> dict[str, Any] | None:
    pem = environ.get("SSL_CLIENT_CERT")
    if not pem:
        return None
    peer: dict[str, Any] = {}
    try:
        cert = x509.load_pem_x509_certificate(str(pem).encode())
        peer["fingerprint"] = fingerprint(cert.public_bytes(Encoding.DER))
    except ValueError:
        peer["fingerprint"] = None
    try:
        peer["spiffe_id"] = spiffe_id_of(str(pem))
    except Exception as exc:
        peer["spiffe_id"] = None
        peer["error"] = str(exc)
    return peer


def build_entry(ex: Exchange, redactor: Redactor) -> dict[str, Any]:
    """The journal entry of one exchange, with every secret replaced by its fingerprint."""
    outcome = ex.request.outcome.as_dict()
    _learn_secrets(ex, outcome, redactor)
    answer = _secret_answer(ex, outcome)
    if answer is not None and redactor.enabled:
        response_text = go_json(_masked(answer, redactor)).decode()
    else:
        response_text = ex.response_body.decode("utf-8", "backslashreplace")
    near_miss = outcome.get("near_miss") or None
    if near_miss is None and ex.route is None and ex.status in (404, 405):
        near_miss = explain_route_miss(ex.method, ex.raw_path)
    if near_miss is None and ex.status == 405:
        near_miss = explain_route_miss(ex.method, ex.raw_path)
    identity = outcome.get("identity")
    entry: dict[str, Any] = {
        "time": ex.time,
        "time_iso": datetime.fromtimestamp(ex.time, UTC).isoformat(timespec="milliseconds"),
        "duration_ms": round(((ex.finished or time.perf_counter()) - ex.started) * 1000, 3),
        "listener": ex.listener,
        "method": ex.method,
        "path": ex.raw_path,
        "query": ex.query,
        "headers": {
            name: _show_header(name, value, redactor)
            for name, value in _request_headers(ex.environ)
        },
        "body": ex.body.decode("utf-8", "backslashreplace"),
        "tls": _tls_peer(ex.environ),
        "identity": identity,
        "authorization": outcome.get("authorization"),
        "route": outcome.get("route", ex.route),
        "error": outcome.get("error"),
        "near_miss": near_miss,
        "outcome": outcome,
        "response": None
        if ex.status is None
        else {
            "status": ex.status,
            "headers": {k: v for k, v in ex.headers},
            "body": response_text,
        },
        "dropped": ex.dropped,
        "fault": ex.firing.describe() if ex.firing else None,
        "redacted": redactor.enabled,
    }
    # Every string (paths, bodies, error texts, near misses) goes through the scrubber.
    return redactor.scrub_value(entry) if redactor.enabled else entry
