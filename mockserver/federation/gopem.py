"""Go's `encoding/pem.Decode`: the first well-formed block, found where Go looks for it.

The Kubernetes provider reads only the first block of `ca.crt` (`provider/kubernetes.go:68`),
so which block counts as "first" decides whom a caller trusts. Go accepts `-----BEGIN ` only at
the very start of the data or right after a newline, skips candidates whose type line, END line
or base64 is malformed, allows `Key: value` header lines, and ignores spaces, tabs and line
breaks inside the base64. Behaviour settled from golang/go `src/encoding/pem/pem.go`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

_BEGIN = b"\n-----BEGIN "
_END = b"\n-----END "
_DASHES = b"-----"


@dataclass(frozen=True)
class Block:
    type: str
    headers: dict[str, str]
    data: bytes


def _line(data: bytes) -> tuple[bytes, bytes]:
    """Go's `getLine`: up to the first `\\n`, trailing spaces, tabs and CRs trimmed."""
    cut = data.find(b"\n")
    if cut < 0:
        line, rest = data, b""
    else:
        line, rest = data[:cut], data[cut + 1 :]
    return line.rstrip(b" \t\r"), rest


def _std_base64(text: bytes) -> bytes | None:
    """`base64.StdEncoding.Decode`, which skips CR and LF and needs padding."""
    compact = text.replace(b"\r", b"").replace(b"\n", b"")
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def decode(data: bytes) -> Block | None:
    """The first PEM block Go's `pem.Decode` returns, or None."""
    rest = data
    while True:
        if rest.startswith(_BEGIN[1:]):
            rest = rest[len(_BEGIN) - 1 :]
        else:
            at = rest.find(_BEGIN)
            if at < 0:
                return None
            rest = rest[at + len(_BEGIN) :]
        type_line, rest = _line(rest)
        if not type_line.endswith(_DASHES):
            continue
        block_type = type_line[: -len(_DASHES)]
        headers: dict[str, str] = {}
        while True:
            if not rest:
                return None
            line, following = _line(rest)
            key, colon, value = line.partition(b":")
            if not colon:
                break
            headers[key.strip().decode("latin-1")] = value.strip().decode("latin-1")
            rest = following
        if not headers and rest.startswith(_END[1:]):
            end, trailer_at = 0, len(_END) - 1
        else:
            end = rest.find(_END)
            trailer_at = end + len(_END)
        if end < 0:
            continue
        trailer = rest[trailer_at:]
        trailer_len = len(block_type) + len(_DASHES)
        if len(trailer) < trailer_len:
            continue
        end_line, after = trailer[:trailer_len], trailer[trailer_len:]
        if not end_line.startswith(block_type) or not end_line.endswith(_DASHES):
            continue
        if _line(after)[0]:
            continue
        body = _std_base64(rest[:end].replace(b" ", b"").replace(b"\t", b""))
        if body is None:
            continue
        return Block(block_type.decode("latin-1"), headers, body)
