"""The few Go standard-library behaviours the emulated clients' output depends on.

`net/url` (how a string-formatted URL becomes a request target), `encoding/base64` (ESO's
decoding strategies and their error offsets) and `regexp.ReplaceAllString`'s `$1` expansion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNRESERVED = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")
_PATH_KEEP = _UNRESERVED | set("$&+,/:;=@")
_VALID_ENCODED_EXTRA = set("!$&'()*+,;=:@[]%")


class GoURLError(ValueError):
    """`url.Parse` refused the URL; `str()` is Go's message."""


def escape_path(text: str) -> str:
    """`url.PathEscape`-like escaping Go applies to a path (`encodePath` mode): `/` stays."""
    out = []
    for byte in text.encode("utf-8", "surrogateescape"):
        ch = chr(byte)
        out.append(ch if byte < 0x80 and ch in _PATH_KEEP else f"%{byte:02X}")
    return "".join(out)


def _unhex(c: str) -> bool:
    return c in "0123456789abcdefABCDEF"


def _unescape(text: str, raw: str) -> str:
    data = text.encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    while i < len(data):
        if data[i] == 0x25:  # %
            chunk = data[i : i + 3].decode("latin-1")
            if len(chunk) < 3 or not _unhex(chunk[1]) or not _unhex(chunk[2]):
                raise GoURLError(f'parse "{raw}": invalid URL escape "{chunk}"')
            out.append(int(chunk[1:], 16))
            i += 3
        else:
            out.append(data[i])
            i += 1
    return out.decode("utf-8", "surrogateescape")


def _valid_encoded(text: str) -> bool:
    for ch in text:
        if ch in _VALID_ENCODED_EXTRA:
            continue
        if ord(ch) >= 0x80 or ch not in _PATH_KEEP:
            return False
    return True


@dataclass(frozen=True)
class GoURL:
    """What `url.Parse` keeps of an absolute http(s) URL and the request target Go sends."""

    scheme: str
    host: str
    path: str
    raw_path: str
    raw_query: str
    force_query: bool

    @property
    def escaped_path(self) -> str:
        """`URL.EscapedPath`: the raw form when it is a valid encoding of the path."""
        if self.raw_path and _valid_encoded(self.raw_path):
            try:
                if _unescape(self.raw_path, self.raw_path) == self.path:
                    return self.raw_path
            except GoURLError:
                pass
        return escape_path(self.path)

    @property
    def request_uri(self) -> str:
        """`URL.RequestURI`: escaped path plus the query, as written on the request line."""
        uri = self.escaped_path or "/"
        if self.force_query or self.raw_query:
            uri += "?" + self.raw_query
        return uri


def parse_url(raw: str) -> GoURL:
    """`url.Parse` for `scheme://host/path?query#fragment` as the released clients build it."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise GoURLError(f'parse "{raw}": net/url: invalid control character in URL')
    rest, _, _fragment = raw.partition("#")
    scheme, sep, rest = rest.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise GoURLError(f'unsupported protocol scheme "{scheme if sep else ""}"')
    force_query = rest.endswith("?") and rest.count("?") == 1
    rest, _, query = rest.partition("?")
    host, slash, path = rest.partition("/")
    path = slash + path
    decoded = _unescape(path, raw)
    raw_path = "" if escape_path(decoded) == path else path
    return GoURL(scheme.lower(), host, decoded, raw_path, query, force_query and not query)


class GoBase64Error(ValueError):
    """`base64.CorruptInputError`: `illegal base64 data at input byte N`."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"illegal base64 data at input byte {offset}")
        self.offset = offset


_STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64decode(data: bytes, *, urlsafe: bool = False) -> bytes:
    """Go's padded `StdEncoding`/`URLEncoding.DecodeString`: CR and LF are skipped, the first
    problem is reported at Go's byte offset."""
    alphabet = {ord(c): i for i, c in enumerate(_URL if urlsafe else _STD)}
    out = bytearray()
    si = 0
    n = len(data)
    while si < n:
        quantum = [0, 0, 0, 0]
        dlen = 4
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return bytes(out)
                raise GoBase64Error(si - j)
            ch = data[si]
            si += 1
            if ch in alphabet:
                quantum[j] = alphabet[ch]
                j += 1
                continue
            if ch in (0x0A, 0x0D):
                continue
            if ch != 0x3D:  # '='
                raise GoBase64Error(si - 1)
            if j in (0, 1):
                raise GoBase64Error(si - 1)
            if j == 2:
                while si < n and data[si] in (0x0A, 0x0D):
                    si += 1
                if si == n:
                    raise GoBase64Error(n)
                if data[si] != 0x3D:
                    raise GoBase64Error(si - 1)
                si += 1
            while si < n and data[si] in (0x0A, 0x0D):
                si += 1
            if si < n:
                raise GoBase64Error(si)
            dlen = j
            break
        value = quantum[0] << 18 | quantum[1] << 12 | quantum[2] << 6 | quantum[3]
        chunk = bytes([(value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF])
        out += chunk[: dlen - 1]
        if dlen < 4:
            return bytes(out)
    return bytes(out)


_EXPAND = re.compile(r"\$(\$|\{([A-Za-z0-9_]*)\}|([A-Za-z0-9_]+))")


def replace_all(pattern: re.Pattern[str], template: str, text: str) -> str:
    """`Regexp.ReplaceAllString`: `$1`, `${1}`, `$name` expand (a name is as long as it can be,
    so `$1x` means the group named `1x`, which is empty); `$$` is a dollar."""

    def expand(match: re.Match[str]) -> str:
        def one(ref: re.Match[str]) -> str:
            if ref.group(1) == "$":
                return "$"
            name = ref.group(2) if ref.group(2) is not None else ref.group(3)
            if name is None or name == "":
                return ref.group(0) if ref.group(2) is None else ""
            if name.isdigit():
                index = int(name)
                if index <= (pattern.groups or 0):
                    return match.group(index) or ""
                return ""
            if name in pattern.groupindex:
                return match.group(name) or ""
            return ""

        return _EXPAND.sub(one, template)

    return pattern.sub(expand, text)
