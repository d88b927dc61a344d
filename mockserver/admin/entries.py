"""Journal entries: one exchange → a JSON-ready dict, every secret replaced by its fingerprint.

The secrets an exchange carries are learnt on the request's path, before any line about it can
be written: credential headers and `ca.crt` before the app runs (so its own log lines are
scrubbed), the secret a success returned before the answer goes out (and with it the access
line). The entry itself is built, and scrubbed, when a journal read first returns it.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from mockserver.admin.bodies import KeptBody
from mockserver.admin.exchange import Exchange
from mockserver.admin.journal import EntryFacts
from mockserver.admin.nearmiss import explain_route_miss
from mockserver.admin.redaction import Redactor, fingerprint
from mockserver.federation.authn import Refusal, read_ca_crt, spiffe_id_of
from mockserver.federation.routing import R1, R2
from mockserver.godecode import GoJSONError, unmarshal
from mockserver.gojson import go_json

CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "x-workload-token", "cookie")


Secret = tuple[str | bytes, str]
"""A value to register and the kind it is registered as."""


def request_secrets(environ: dict[str, Any], body: bytes, body_cap: int) -> list[Secret]:
    """What a request carries that is secret: credential headers and the body's `ca.crt`
    (not looked for in a body over `body_cap`, which the app refuses unread)."""
    found: list[Secret] = []
    for name, value in _request_headers(environ):
        if name.lower() in CREDENTIAL_HEADERS:
            found += [(value, "header"), (_credential(value), "token")]
    ca_crt = _ca_crt(body) if len(body) <= body_cap else ""
    if ca_crt:
        found.append((ca_crt, "ca.crt"))
        try:
            found.append((base64.b64decode(ca_crt, validate=False), "ca.crt"))
        except ValueError:
            pass
    return found


def answer_secrets(ex: Exchange) -> list[Secret]:
    """The values an R1/R2 success returned (a secret or generator output)."""
    return [(secret, "output") for secret in _strings(_secret_answer(ex, _route(ex)))]


def learn(redactor: Redactor, secrets: list[Secret]) -> None:
    """Register secrets learnt from traffic (bounded: see `Redactor.add`)."""
    for value, kind in secrets:
        redactor.add(value, kind, pinned=False)


def _route(ex: Exchange) -> str | None:
    """The route the app took, or the one the path names when authentication failed first."""
    return ex.request.outcome.route or ex.route


def _near_miss(ex: Exchange) -> bool:
    """Whether the entry will carry a near miss (what `build_entry` explains)."""
    if ex.request.outcome.near_miss:
        return True
    return ex.status == 405 or (ex.status == 404 and ex.route is None)


def facts_of(ex: Exchange, peer: dict[str, Any] | None) -> EntryFacts:
    """What the journal's filters read, from the recorded exchange (nothing scrubbed)."""
    identity = ex.request.outcome.identity or {}
    names = (identity.get("subject"), identity.get("issuer"), (peer or {}).get("spiffe_id"))
    return EntryFacts(
        time=ex.time,
        listener=ex.listener,
        method=ex.method,
        path=ex.raw_path,
        route=_route(ex),
        status=ex.status,
        identities=frozenset(str(n) for n in names if n),
        near_miss=_near_miss(ex),
    )


def _ca_crt(body: bytes) -> str:
    """The body's `ca.crt` as the OIDC authenticator reads it (same decoder, same key rules)."""
    try:
        return read_ca_crt(body, strict=False)
    except Refusal:
        return ""


def _secret_answer(ex: Exchange, route: str | None) -> Any:
    """The decoded value of an R1/R2 success (a secret or generator output), else None."""
    if ex.status != 200 or route not in (R1, R2):
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


def tls_peer(environ: dict[str, Any]) -> dict[str, Any] | None:
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


def build_entry(
    ex: Exchange,
    redactor: Redactor,
    kept: KeptBody,
    peer: dict[str, Any] | None,
    secrets: list[Secret],
) -> dict[str, Any]:
    """The journal entry of one exchange, with every secret replaced by its fingerprint.

    `secrets` are the ones learnt while it was served, registered again in case the bounded
    registry let them go since."""
    learn(redactor, secrets)
    outcome = ex.request.outcome.as_dict()
    route = _route(ex)
    answer = _secret_answer(ex, route)
    if answer is not None and redactor.enabled:
        response_text = go_json(_masked(answer, redactor)).decode()
    else:
        response_text = ex.response_body.decode("utf-8", "backslashreplace")
    near_miss = outcome.get("near_miss") or None
    if near_miss is None and _near_miss(ex):
        near_miss = explain_route_miss(ex.method, ex.raw_path)
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
        "body": None,  # scrubbed on its own below: bytes, and the longest text of an entry
        **kept.fields(),
        "tls": peer,
        "identity": outcome.get("identity"),
        "authorization": outcome.get("authorization"),
        "route": route,
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
    shown = redactor.scrub_value(entry) if redactor.enabled else entry
    shown["body"] = redactor.scrub_bytes(kept.data)
    return shown
