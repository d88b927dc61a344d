"""Equivalent client mutants: variants that no conforming input can tell apart from the correct
client, or that the real server reads exactly as the correct request (docs/protocol.md). They
are not run and not counted; each names its reason."""

from __future__ import annotations

from tests.client_zoo.points import CHANNEL_OPERATORS, param_step, path_step

_DNS = (
    "unobservable: a Kubernetes name or namespace is a DNS-1123 name (lower-case letters, "
    "digits, '-' and '.'), so it holds nothing to escape and no upper case"
)
_KIND = (
    "unobservable: a generator kind is a Go type name (ASCII letters and digits), so it holds "
    "nothing to escape"
)
_NO_VALUE = (
    "unobservable: this path holds no value to print, only the server's error message or no "
    "answer at all (the token and ca.crt operators of the same path are counted)"
)

EQUIVALENT: dict[str, str] = {
    **{
        f"{param_step(param)}:{op}": _DNS
        for param in ("store", "namespace", "name", "revoke-namespace")
        for op in (
            "unescaped",
            "plus-for-space",
            "escape-slash",
            "double-escape",
            "latin1",
            "lower-case",
        )
    },
    **{
        f"{param_step('kind')}:{op}": _KIND
        for op in ("unescaped", "plus-for-space", "escape-slash", "double-escape", "latin1")
    },
    **{
        f"{path_step(path)}:{op}": _NO_VALUE
        for path in ("http-4xx", "http-5xx", "dropped", "timeout", "tls")
        for op in CHANNEL_OPERATORS
        if op.startswith("value-")
    },
    "ca-encoding:urlsafe": (
        "identical by construction: base64 of PEM text (letters, digits, '+', '/', '=', '-', "
        "space, newline; every byte's low six bits below 62) never yields the digits 62 and 63 "
        "where the two alphabets differ, so the URL-safe form is the standard one; the unpadded "
        "URL-safe form differs by its padding and is counted"
    ),
    "body-member:upper-case": (
        "the real server's encoding/json matches the member name case-insensitively, so it "
        "reads CA.CRT as ca.crt (docs/protocol.md §2.4)"
    ),
    "revoke-members:upper-case": (
        "R4's echo binder matches member names case-insensitively, so Owner and Namespace bind "
        "as owner and namespace (docs/protocol.md §2.5 R4, §2.4)"
    ),
}
