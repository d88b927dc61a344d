"""A copy-paste `curl` command that repeats one request of a scenario, carrying no credential.

Tokens come from `$(esi-mock token --state-dir STATE …)` (a bundle folder is such a state
folder: its clusters' keys mint the same tokens), the `ca.crt` member from
`$(base64 -w0 STATE/clusters/<cluster>/ca.crt)`, an SVID from `esi-mock svid`. Token variants
that `esi-mock token` cannot mint (expired, forged, …) appear as `$TOKEN` with a comment naming
the variant.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from conformance.runner.prepare import PreparedRequest
from conformance.scenarios.model import KubeIdentity, Request, SpiffeIdentity

SKIPPED_HEADERS = ("content-length", "host", "connection")
MINTABLE = ("valid", "legacy")


def _dq(text: str) -> str:
    """`text` inside a double-quoted shell word (so `$(…)` pieces can sit next to it)."""
    for char in ("\\", '"', "$", "`"):
        text = text.replace(char, "\\" + char)
    return text


def token_command(identity: KubeIdentity, state: str) -> str | None:
    """`esi-mock token …` for the identity's token, or None when it cannot mint that variant."""
    if identity.signed_by is not None:
        return None
    words = ["esi-mock", "token", "--state-dir", state, "--cluster", identity.cluster]
    words += ["--sa", identity.service_account]
    if identity.pod:
        words += ["--pod", identity.pod]
    if identity.token == "legacy":
        words.append("--legacy")
    elif identity.broken_kind is not None:
        words += ["--broken", identity.broken_kind]
    elif identity.token not in MINTABLE:
        return None
    return " ".join(shlex.quote(w) for w in words)


def curl_command(
    request: Request,
    prepared: PreparedRequest,
    ca_text: str | None,
    state: str,
    target_ca: str | None,
    scrub: Callable[[str], str],
) -> str:
    """The command line; `ca_text` is the `ca.crt` value the body carries, `scrub` redacts any
    secret left in literal parts (they should hold none)."""
    identity = request.identity
    notes: list[str] = []
    lines: list[str] = []
    words = ["curl -sS -i", "-X", prepared.method, shlex.quote(prepared.base_url + prepared.path)]
    if prepared.mtls:
        spiffe_id = identity.spiffe_id if isinstance(identity, SpiffeIdentity) else None
        if spiffe_id:
            svid = ["esi-mock", "svid", "--state-dir", state, "--id", spiffe_id, "--out", "svid"]
            lines.append(" ".join(shlex.quote(w) for w in svid) + " >/dev/null")
        words += ["--cert", "svid/svid.pem", "--key", "svid/svid.key"]
    if prepared.base_url.startswith("https:"):
        words += ["--cacert", shlex.quote(target_ca or "server-ca.pem")]
    for name, value in prepared.headers.items():
        lower = name.lower()
        if lower in SKIPPED_HEADERS:
            continue
        if lower == "authorization":
            minted = token_command(identity, state) if isinstance(identity, KubeIdentity) else None
            if minted is not None:
                words += ["-H", f'"Authorization: Bearer $({minted})"']
            else:
                what = (
                    f"a {identity.token} token of {identity.service_account}"
                    if isinstance(identity, KubeIdentity)
                    else "the scenario's bearer token"
                )
                notes.append(f"# TOKEN: {what}")
                words += ["-H", '"Authorization: Bearer $TOKEN"']
        elif lower == "x-workload-token":
            notes.append("# WORKLOAD_TOKEN: the scenario's x-workload-token")
            words += ["-H", '"x-workload-token: $WORKLOAD_TOKEN"']
        else:
            words += ["-H", shlex.quote(f"{name}: {scrub(value)}")]
    if prepared.body:
        words += ["--data-binary", _body(request, prepared.body, ca_text, state, scrub)]
    lines += notes
    lines.append(" ".join(words))
    return "\n".join(lines)


def _body(
    request: Request, body: bytes, ca_text: str | None, state: str, scrub: Callable[[str], str]
) -> str:
    text = body.decode("utf-8", "backslashreplace")
    identity = request.identity
    if not ca_text or ca_text not in text or not isinstance(identity, KubeIdentity):
        return shlex.quote(scrub(text))
    variant = request.ca_crt
    if variant == "cluster" or variant.startswith("cluster:"):
        cluster = variant.split(":", 1)[1] if ":" in variant else identity.cluster
        value = f"$(base64 -w0 {shlex.quote(f'{state}/clusters/{cluster}/ca.crt')})"
    else:
        value = "$CA_CRT"
    before, _, after = text.partition(ca_text)
    return '"' + _dq(scrub(before)) + value + _dq(scrub(after)) + '"'
