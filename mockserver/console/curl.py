"""A copy-paste `curl` line that repeats a journalled request, without carrying a credential.

The journal keeps only fingerprints of tokens and CA bodies, so the line fetches fresh ones where
it runs: a token through `$(esi-mock token …)` for the identity the entry names, a `ca.crt`
through `$(base64 -w0 <the cluster's ca.crt file>)`. What cannot be derived becomes a named
shell variable (`$TOKEN`, `$CLIENT_CERT`), so the line never holds a secret, even unredacted.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from typing import Any

LISTENER_URLS = {
    "http": "federation_url",
    "https": "federation_tls_url",
    "mtls": "federation_mtls_url",
}
SKIPPED_HEADERS = frozenset(
    {"host", "content-length", "connection", "accept-encoding", "user-agent", "transfer-encoding"}
)
TOKEN_HEADERS = frozenset({"authorization", "x-workload-token"})
SA_SUBJECT = re.compile(r"^system:serviceaccount:([^:]+):([^:]+)$")
CA_PLACEHOLDER = "\x00ca.crt\x00"


def _cluster_of(identity: Mapping[str, Any] | None, connection: Mapping[str, Any]) -> str | None:
    """The fake cluster whose issuer signed the entry's identity (None: not a cluster token)."""
    if not identity or identity.get("method") != "oidc":
        return None
    for name, cluster in (connection.get("clusters") or {}).items():
        if cluster.get("issuer") == identity.get("issuer"):
            return str(name)
    return None


def _token_command(entry: Mapping[str, Any], connection: Mapping[str, Any]) -> str:
    """Shell text producing a fresh token for the entry's identity, or `$TOKEN`."""
    identity = entry.get("identity") or {}
    cluster = _cluster_of(identity, connection)
    match = SA_SUBJECT.match(str(identity.get("subject", "")))
    if cluster is None or match is None:
        return "$TOKEN"
    state_dir = shlex.quote(str(connection.get("state_dir", ".")))
    sa = shlex.quote(f"{match.group(1)}/{match.group(2)}")
    return f"$(esi-mock token --state-dir {state_dir} --cluster {shlex.quote(cluster)} --sa {sa})"


def _header_option(name: str, value: str, token: str) -> str:
    lower = name.lower()
    if lower in TOKEN_HEADERS:
        scheme = value.split(" ", 1)[0] + " " if lower == "authorization" and " " in value else ""
        return f'-H "{name}: {scheme}{token}"'
    if "sha256:" in value:
        variable = re.sub(r"[^A-Z0-9]", "_", name.upper())
        return f'-H "{name}: ${variable}"'
    return "-H " + shlex.quote(f"{name}: {value}")


def _ca_file(entry: Mapping[str, Any], connection: Mapping[str, Any]) -> str:
    clusters = connection.get("clusters") or {}
    name = _cluster_of(entry.get("identity"), connection) or next(iter(clusters), None)
    if name is None:
        return "ca.crt"
    return str(clusters[name].get("ca_file", "ca.crt"))


def _body_option(body: str, entry: Mapping[str, Any], connection: Mapping[str, Any]) -> str:
    """`--data-binary` with the body; a fingerprinted `ca.crt` is read from the CA file."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if (
        isinstance(document, dict)
        and isinstance(document.get("ca.crt"), str)
        and document["ca.crt"].startswith("sha256:")
    ):
        text = json.dumps({**document, "ca.crt": CA_PLACEHOLDER})
        before, after = text.split(json.dumps(CA_PLACEHOLDER)[1:-1], 1)
        ca = shlex.quote(_ca_file(entry, connection))
        return f'--data-binary {shlex.quote(before)}"$(base64 -w0 {ca})"{shlex.quote(after)}'
    return "--data-binary " + shlex.quote(body)


def curl_command(entry: Mapping[str, Any], connection: Mapping[str, Any]) -> str:
    """The `curl` line for one journal entry, one option per line."""
    listener = str(entry.get("listener", "http"))
    base = str(connection.get(LISTENER_URLS.get(listener, "federation_url")) or "")
    query = entry.get("query") or ""
    url = base + str(entry.get("path", "/")) + (f"?{query}" if query else "")
    parts = ["curl -sS", f"-X {shlex.quote(str(entry.get('method', 'GET')))}", shlex.quote(url)]
    if listener in ("https", "mtls"):
        parts.append("--cacert " + shlex.quote(str(connection.get("server_ca_file", "ca.crt"))))
    if listener == "mtls":
        parts.append('--cert "$CLIENT_CERT" --key "$CLIENT_KEY"')
    token = _token_command(entry, connection)
    for name, value in (entry.get("headers") or {}).items():
        if name.lower() not in SKIPPED_HEADERS:
            parts.append(_header_option(str(name), str(value), token))
    body = entry.get("body")
    if isinstance(body, str) and body:
        parts.append(_body_option(body, entry, connection))
    return " \\\n  ".join(parts)
