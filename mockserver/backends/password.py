"""The Password generator: ESO `generators/v1/password` over sethvargo/go-password v0.3.1.

Settled from those sources (ESO at 5fe21b5c55ca; go-password v0.3.1 `password/generate.go`):
- length <= 0 means 24; digits and symbols default to int(length * 0.25);
- `symbolCharacters` unset *or empty* gives the default set (go-password treats "" as unset);
- characters are drawn per **byte** of the alphabet and converted like Go's `string(byte)`, so
  a non-ASCII symbol set yields Latin-1 characters of its UTF-8 bytes, as the real one does;
- letters first, then digits, then symbols, each inserted at a random position; without
  allowRepeat a character already present is drawn again;
- errors are go-password's, returned unwrapped (so they are the whole 400 body);
- encoding: base64 / base64url (padded), base32 (padded), hex; anything else is raw;
- `secretKeys` (default ["password"]; empty strings or duplicates give
  "secretKeys must be non-empty and unique") exists only in ESO from v1.2 (commit 883162d2b,
  2025-12-03), after the version the federation server pins, which ignores it.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

__all__ = [
    "DEFAULT_SYMBOLS",
    "ERR_DIGITS",
    "ERR_LETTERS",
    "ERR_SECRET_KEYS",
    "ERR_SYMBOLS",
    "ERR_TOTAL",
    "PasswordError",
    "encode_password",
    "generate_password",
    "password_outputs",
]

DEFAULT_SYMBOLS = '~!@#$%^&*()_+`-={}|[]\\:"<>?,./'
LOWER = "abcdefghijklmnopqrstuvwxyz"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"

ERR_TOTAL = "number of digits and symbols must be less than total length"
ERR_LETTERS = "number of letters exceeds available letters and repeats are not allowed"
ERR_DIGITS = "number of digits exceeds available digits and repeats are not allowed"
ERR_SYMBOLS = "number of symbols exceeds available symbols and repeats are not allowed"
ERR_SECRET_KEYS = "secretKeys must be non-empty and unique"


class PasswordError(Exception):
    """A Password generator failure; the message is the real server's 400 body."""


def _pick_and_insert(result: list[str], alphabet: bytes, count: int, allow_repeat: bool) -> None:
    for _ in range(count):
        if not allow_repeat and all(chr(b) in result for b in set(alphabet)):
            # the real generator would redraw forever and hang the request
            raise PasswordError(
                "every allowed character is already used and repeats are not allowed"
            )
        while True:
            ch = chr(alphabet[secrets.randbelow(len(alphabet))])
            if allow_repeat or ch not in result:
                break
        position = secrets.randbelow(len(result) + 1) if result else 0
        result.insert(position, ch)


def generate_password(
    length: int,
    digits: int,
    symbols: int,
    symbol_characters: str = DEFAULT_SYMBOLS,
    no_upper: bool = False,
    allow_repeat: bool = False,
) -> str:
    """go-password's `Generate` with its checks in its order; randomness from `secrets`."""
    letters = (LOWER if no_upper else LOWER + UPPER).encode()
    symbol_bytes = (symbol_characters or DEFAULT_SYMBOLS).encode("utf-8", "surrogateescape")
    chars = length - digits - symbols
    if chars < 0:
        raise PasswordError(ERR_TOTAL)
    if not allow_repeat and chars > len(letters):
        raise PasswordError(ERR_LETTERS)
    if not allow_repeat and digits > len(DIGITS):
        raise PasswordError(ERR_DIGITS)
    if not allow_repeat and symbols > len(symbol_bytes):
        raise PasswordError(ERR_SYMBOLS)
    result: list[str] = []
    _pick_and_insert(result, letters, chars, allow_repeat)
    _pick_and_insert(result, DIGITS.encode(), digits, allow_repeat)
    _pick_and_insert(result, symbol_bytes, symbols, allow_repeat)
    return "".join(result)


def encode_password(password: str, encoding: str) -> str:
    """`encodePassword`: std padded encodings of the UTF-8 bytes; unknown means raw."""
    data = password.encode()
    if encoding == "base64":
        return base64.b64encode(data).decode()
    if encoding == "base64url":
        return base64.urlsafe_b64encode(data).decode()
    if encoding == "base32":
        return base64.b32encode(data).decode()
    if encoding == "hex":
        return data.hex()
    return password


def _int_field(spec: dict[str, Any], name: str) -> int | None:
    value = spec.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise PasswordError(
            f"unable to parse spec: json: cannot unmarshal {type(value).__name__} "
            f"into Go struct field PasswordSpec.spec.{name} of type int"
        )
    return value


def password_outputs(spec: dict[str, Any], *, secret_keys: bool = True) -> dict[str, str]:
    """All outputs of one Password generator run; `secret_keys=False` is the pinned ESO."""
    length = _int_field(spec, "length") or 0
    if length <= 0:
        length = 24
    digits = _int_field(spec, "digits")
    symbols = _int_field(spec, "symbols")
    digits = int(length * 0.25) if digits is None else digits
    symbols = int(length * 0.25) if symbols is None else symbols
    symbol_characters = spec.get("symbolCharacters")
    if symbol_characters is None:
        symbol_characters = DEFAULT_SYMBOLS
    encoding = spec.get("encoding") or "raw"
    keys = ["password"]
    if secret_keys:
        keys = list(spec.get("secretKeys") or []) or ["password"]
        if any(not key for key in keys) or len(set(keys)) != len(keys):
            raise PasswordError(ERR_SECRET_KEYS)
    out: dict[str, str] = {}
    for key in keys:
        raw = generate_password(
            length,
            digits,
            symbols,
            str(symbol_characters),
            bool(spec.get("noUpper", False)),
            bool(spec.get("allowRepeat", False)),
        )
        out[key] = encode_password(raw, str(encoding))
    return out
