"""Go `encoding/json` Encoder output, as echo's `c.JSON` writes every response body.

Clients compare bodies byte for byte (`"Not Found"\\n`, `null\\n`), so the mock must produce
what the real server's Go toolchain produces, not what Python's `json` does.

Settled against golang/go `src/encoding/json/encode.go` (`appendString`, `floatEncoder`,
`mapEncoder`) and `indent.go`, for the toolchain the real server builds with: the
federation-server `go.mod` declares `go 1.25.4`, and since Go 1.22 the encoder writes `\\b` and
`\\f` (older releases wrote `\\u0008`/`\\u000c`). echo v4.13.4 (`DefaultJSONSerializer`) uses
`json.NewEncoder` with HTML escaping on, and `SetIndent("", "  ")` when the query has `pretty`.

Rules reproduced:
- compact output, one trailing `\\n` (Encoder.Encode);
- map keys sorted by the bytes of their UTF-8 form;
- `<`, `>`, `&` as `\\u003c`, `\\u003e`, `\\u0026`; U+2028/U+2029 as `\\u2028`/`\\u2029`;
- `\\b \\f \\n \\r \\t`, other control bytes as `\\u00XX` (lower-case hex), DEL and non-ASCII raw;
- each byte that does not start a valid UTF-8 sequence becomes the six characters `\\ufffd`
  (a *valid* U+FFFD in the input stays raw UTF-8);
- floats as Go writes float64: `'f'` format, `'e'` below 1e-6 or from 1e21 on, `e-07` → `e-7`.

`bytes` values are treated as a Go `string` holding those bytes (the R1 handler's
`string(secret)`), not as Go `[]byte` (which Go would base64-encode).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "decode_go_runes",
    "go_format_float",
    "go_format_float_f",
    "go_json",
    "go_string_from_bytes",
]

_SHORT_ESCAPES = {
    0x22: b'\\"',
    0x5C: b"\\\\",
    0x08: b"\\b",
    0x0C: b"\\f",
    0x0A: b"\\n",
    0x0D: b"\\r",
    0x09: b"\\t",
}
_HTML_ESCAPES = {0x3C: b"\\u003c", 0x3E: b"\\u003e", 0x26: b"\\u0026"}


def _valid_sequence_length(data: bytes, i: int) -> int:
    """Length of the valid UTF-8 sequence starting at `i`, or 0 if Go would see RuneError/1.

    Follows Go's `utf8.DecodeRune` acceptance ranges: no overlongs, no surrogates, nothing above
    U+10FFFF. Every rejected position consumes exactly one byte, as Go does.
    """
    b0 = data[i]
    n = len(data) - i
    if 0xC2 <= b0 <= 0xDF:
        size, lo, hi = 2, 0x80, 0xBF
    elif b0 == 0xE0:
        size, lo, hi = 3, 0xA0, 0xBF
    elif 0xE1 <= b0 <= 0xEC or 0xEE <= b0 <= 0xEF:
        size, lo, hi = 3, 0x80, 0xBF
    elif b0 == 0xED:
        size, lo, hi = 3, 0x80, 0x9F
    elif b0 == 0xF0:
        size, lo, hi = 4, 0x90, 0xBF
    elif 0xF1 <= b0 <= 0xF3:
        size, lo, hi = 4, 0x80, 0xBF
    elif b0 == 0xF4:
        size, lo, hi = 4, 0x80, 0x8F
    else:
        return 0
    if n < size or not lo <= data[i + 1] <= hi:
        return 0
    for k in range(2, size):
        if not 0x80 <= data[i + k] <= 0xBF:
            return 0
    return size


def decode_go_runes(data: bytes) -> list[tuple[int, int, bool]]:
    """Split bytes as Go's `for range` over a string does: (offset, size, valid) per rune."""
    out: list[tuple[int, int, bool]] = []
    i = 0
    while i < len(data):
        if data[i] < 0x80:
            out.append((i, 1, True))
            i += 1
            continue
        size = _valid_sequence_length(data, i)
        if size:
            out.append((i, size, True))
            i += size
        else:
            out.append((i, 1, False))
            i += 1
    return out


def go_string_from_bytes(data: bytes) -> str:
    """The text a Go client sees after JSON-decoding a `string(b)` the server encoded.

    One U+FFFD per byte Go rejects (Go's rule; Python's "replace" handler groups a truncated
    sequence into a single U+FFFD, Go does not).
    """
    parts: list[str] = []
    for start, size, valid in decode_go_runes(data):
        parts.append(data[start : start + size].decode("utf-8") if valid else "\ufffd")
    return "".join(parts)


def _as_go_bytes(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    try:
        # surrogateescape round-trips bytes that were decoded with it back to the raw bytes
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        # other lone surrogates: encoded as-is, which Go then rejects byte by byte
        return value.encode("utf-8", "surrogatepass")


def _encode_string(value: str | bytes, out: bytearray) -> None:
    data = _as_go_bytes(value)
    out.append(0x22)
    for start, size, valid in decode_go_runes(data):
        if not valid:
            out += b"\\ufffd"
            continue
        if size == 1:
            b = data[start]
            if b in _SHORT_ESCAPES:
                out += _SHORT_ESCAPES[b]
            elif b in _HTML_ESCAPES:
                out += _HTML_ESCAPES[b]
            elif b < 0x20:
                out += b"\\u00%02x" % b
            else:
                out.append(b)
            continue
        chunk = data[start : start + size]
        if chunk == b"\xe2\x80\xa8":
            out += b"\\u2028"
        elif chunk == b"\xe2\x80\xa9":
            out += b"\\u2029"
        else:
            out += chunk
    out.append(0x22)


def go_format_float(value: float) -> str:
    """Go's float64 JSON form (ES6-like): shortest digits, `e` only outside [1e-6, 1e21)."""
    if math.isnan(value) or math.isinf(value):
        # Go's UnsupportedValueError names the value as FormatFloat writes it: NaN, +Inf, -Inf
        raise ValueError(f"json: unsupported value: {go_format_float_f(value)}")
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    digits, exponent = _shortest_digits(value)
    sign = "-" if value < 0 else ""
    absval = abs(value)
    if absval < 1e-6 or absval >= 1e21:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        exp = exponent - 1
        exp_text = f"{'-' if exp < 0 else '+'}{abs(exp)}"  # Go drops the zero padding of e-07
        return f"{sign}{mantissa}e{exp_text}"
    return sign + _fixed(digits, exponent)


def go_format_float_f(value: float) -> str:
    """Go `strconv.FormatFloat(v, 'f', -1, 64)`: shortest digits, never an exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    digits, exponent = _shortest_digits(value)
    return ("-" if value < 0 else "") + _fixed(digits, exponent)


def _shortest_digits(value: float) -> tuple[str, int]:
    """Shortest round-tripping decimal digits and the decimal exponent (0.d1d2… × 10^exp)."""
    text = repr(abs(value))
    mantissa, _, exp_part = text.partition("e")
    exp = int(exp_part) if exp_part else 0
    whole, _, frac = mantissa.partition(".")
    if frac == "0":
        frac = ""
    digits = (whole + frac).lstrip("0")
    lead_zeros = len(whole + frac) - len((whole + frac).lstrip("0"))
    exponent = len(whole) + exp - lead_zeros
    digits = digits.rstrip("0") or "0"
    return digits, exponent


def _fixed(digits: str, exponent: int) -> str:
    """Plain positional notation of 0.digits × 10^exponent."""
    if exponent <= 0:
        return "0." + "0" * (-exponent) + digits
    if exponent >= len(digits):
        return digits + "0" * (exponent - len(digits))
    return digits[:exponent] + "." + digits[exponent:]


def _key_bytes(key: Any) -> bytes:
    if isinstance(key, bool):
        raise TypeError("json: unsupported map key type bool")
    if isinstance(key, int):
        return str(key).encode()
    if isinstance(key, (str, bytes)):
        return _as_go_bytes(key)
    raise TypeError(f"json: unsupported map key type {type(key).__name__}")


def _encode(value: Any, out: bytearray, indent: str, depth: int, sort_keys: bool = True) -> None:
    if value is None:
        out += b"null"
    elif value is True:
        out += b"true"
    elif value is False:
        out += b"false"
    elif isinstance(value, int):
        out += str(value).encode()
    elif isinstance(value, float):
        out += go_format_float(value).encode()
    elif isinstance(value, (str, bytes)):
        _encode_string(value, out)
    elif isinstance(value, Mapping):
        items = [(_key_bytes(k), v) for k, v in value.items()]
        if sort_keys:
            items.sort(key=lambda kv: kv[0])
        _encode_container(b"{", b"}", items, out, indent, depth, is_map=True, sort_keys=sort_keys)
    elif isinstance(value, (list, tuple)):
        _encode_container(
            b"[", b"]", list(value), out, indent, depth, is_map=False, sort_keys=sort_keys
        )
    else:
        raise TypeError(f"json: unsupported type: {type(value).__name__}")


def _encode_container(
    open_: bytes,
    close: bytes,
    items: list,
    out: bytearray,
    indent: str,
    depth: int,
    *,
    is_map: bool,
    sort_keys: bool = True,
) -> None:
    out += open_
    if not items:  # Go's indenter keeps empty objects and arrays compact
        out += close
        return
    pad = b""
    if indent:
        pad = ("\n" + indent * (depth + 1)).encode()
    for n, item in enumerate(items):
        if n:
            out += b","
        out += pad
        if is_map:
            key, val = item
            _encode_string(key, out)
            out += b": " if indent else b":"
            _encode(val, out, indent, depth + 1, sort_keys)
        else:
            _encode(item, out, indent, depth + 1, sort_keys)
    if indent:
        out += ("\n" + indent * depth).encode()
    out += close


_SURROGATE = re.compile("[\ud800-\udfff]")
_TEXT_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def _plain(value: Any) -> bool:
    """Whether the stdlib encoder writes `value` exactly as Go does: strings without lone
    surrogates, ints, bools, None, and containers of those with string keys. Floats (Go
    formats them differently) and bytes (invalid UTF-8) take the careful path."""
    if value is None or value is True or value is False or type(value) is int:
        return True
    if type(value) is str:
        return value.isascii() or _SURROGATE.search(value) is None
    if isinstance(value, Mapping):
        return all(type(k) is str and _plain(k) and _plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return False


def go_marshal_plain(value: Any, sort_keys: bool = True) -> bytes:
    """`go_marshal` for values the caller knows hold no floats and no bytes (JWT headers and
    claims, JWKs): the stdlib writes them exactly as Go does once Go's HTML and line-separator
    escapes are applied, many times faster than the careful encoder."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
    if _SURROGATE.search(text):
        out = bytearray()
        _encode(value, out, "", 0, sort_keys)
        return bytes(out)
    for raw, escaped in _TEXT_ESCAPES:
        text = text.replace(raw, escaped)
    return text.encode("utf-8")


def go_marshal(value: Any, sort_keys: bool = True) -> bytes:
    """`json.Marshal` output: compact, no newline. Mappings are Go maps (sorted keys) unless
    `sort_keys` is false, which writes them in insertion order as Go writes struct fields."""
    if _plain(value):
        return go_marshal_plain(value, sort_keys)
    out = bytearray()
    _encode(value, out, "", 0, sort_keys)
    return bytes(out)


def go_json(value: Any, pretty: bool = False) -> bytes:
    """Body bytes of echo's `c.JSON(code, value)`; `pretty` is the `?pretty` query switch."""
    if not pretty:
        return go_marshal(value) + b"\n"
    out = bytearray()
    _encode(value, out, "  " if pretty else "", 0)
    out += b"\n"
    return bytes(out)
