"""JSON parsed as Go's `encoding/json` parses it, with Go's error texts.

Every body, JWT segment, workload token and upstream document the mock reads goes through here, so
hostile input is refused as the real server refuses it: nesting deeper than 10,000 is
`exceeded max depth`, numbers of any length are handled (no Python digit limit, no recursion
limit), and syntax errors carry the scanner's texts. Two entry points mirror the two ways Go
reads JSON: `json.Unmarshal` (whole input validated first, trailing data refused) and
`json.NewDecoder(r).Decode` (first value only, `EOF` / `unexpected EOF` at the end of input),
which echo's binder uses. Behaviour settled from golang/go `src/encoding/json/{scanner,decode,
stream}.go`; the texts are Go's, the code is not.

Inputs that are provably safe (few brackets, valid UTF-8, no surrogate escapes) take the stdlib
parser, which hands every number to a length check; everything else, and every failure, takes
the iterative parser.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from mockserver.gojson import go_string_from_bytes

__all__ = [
    "MAX_DEPTH",
    "Document",
    "GoJSONError",
    "GoSyntaxError",
    "GoTypeError",
    "Member",
    "decode_first",
    "kind_of",
    "parse",
    "string_fields",
    "unmarshal",
]

MAX_DEPTH = 10000
"""Go's `maxNestingDepth`."""

_FAST_MAX_BRACKETS = 200
_FLOAT64_SAFE_DIGITS = 308
_EOF_UNMARSHAL = "unexpected end of JSON input"
_WS = re.compile(rb"[ \t\n\r]*")
_STRING = re.compile(rb'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"')
_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATES = re.compile("[\ud800-\udfff]")
_LITERALS = {0x74: (b"true", True), 0x66: (b"false", False), 0x6E: (b"null", None)}
_GO_QUOTE_ESCAPES = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}


class GoJSONError(ValueError):
    """A decoding failure; `str()` is what Go's `err.Error()` says."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class GoSyntaxError(GoJSONError):
    """`*json.SyntaxError` (`offset` is Go's: bytes read up to and including the bad one)."""


class GoEndOfInput(GoJSONError):
    """A Decoder's `io.EOF` (nothing but whitespace) or `io.ErrUnexpectedEOF` (cut short)."""


class GoTypeError(GoJSONError):
    """`*json.UnmarshalTypeError`: a JSON value of the wrong kind for its Go target."""

    def __init__(
        self, value: str, type_name: str, offset: int, struct: str = "", field: str = ""
    ) -> None:
        self.value = value
        self.type_name = type_name
        self.field = field
        where = f"Go struct field {struct}.{field} of type" if field else "Go value of type"
        super().__init__(f"json: cannot unmarshal {value} into {where} {type_name}", offset)


@dataclass(frozen=True)
class Member:
    """One member of the top-level object, with where its value lies (for Go's offsets)."""

    key: str
    value: Any
    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Document:
    """One parsed JSON value. `overflow` is the first number literal outside float64's range
    (Go fails to decode it only where the target is a float64 or `interface{}`)."""

    value: Any
    kind: str
    start: int
    end: int
    members: tuple[Member, ...] | None = None
    overflow: str | None = None


def kind_of(value: Any) -> str:
    """Go's name for a JSON value's kind in `cannot unmarshal <kind>` texts."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return "number"


def go_quote_char(c: int) -> str:
    """Go's `quoteChar`: one byte as a Go quoted rune in single quotes."""
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    if c in _GO_QUOTE_ESCAPES:
        return f"'{_GO_QUOTE_ESCAPES[c]}'"
    if c < 0x20 or c == 0x7F:
        return f"'\\x{c:02x}'"
    ch = chr(c)
    if ch == " " or ch.isprintable():
        return f"'{ch}'"
    return f"'\\u{c:04x}'"


class _Unsafe(Exception):
    """The stdlib parser's answer would differ from Go's: take the careful parser."""


def _checked_int(text: str) -> int:
    if len(text) > _FLOAT64_SAFE_DIGITS:
        raise _Unsafe
    return int(text)


def _checked_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Unsafe
    return value


def _reject_constant(text: str) -> None:
    raise _Unsafe


class _Pairs(list[tuple[str, Any]]):
    """An object's members in document order, duplicates kept (stdlib fast path)."""


def _fast(data: bytes, pairs: bool = False) -> Any:
    """The stdlib parser where it provably agrees with Go, else raises _Unsafe."""
    if data.count(b"[") + data.count(b"{") > _FAST_MAX_BRACKETS or _SURROGATE_ESCAPE.search(data):
        raise _Unsafe
    try:
        text = data.decode("utf-8")
        return json.loads(
            text,
            parse_float=_checked_float,
            parse_int=_checked_int,
            parse_constant=_reject_constant,
            object_pairs_hook=_Pairs if pairs else None,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Unsafe from exc


class _Parser:
    """An iterative parser (explicit stack) that reports errors as Go's scanner does."""

    def __init__(self, data: bytes, stream: bool) -> None:
        self.data = data
        self.stream = stream
        self.overflow: str | None = None

    # -- errors ----------------------------------------------------------------------------------

    def _at_end(self) -> GoJSONError:
        if self.stream:
            return GoEndOfInput("unexpected EOF", len(self.data))
        return GoSyntaxError(_EOF_UNMARSHAL, len(self.data))

    def _bad(self, i: int, context: str) -> GoJSONError:
        if i >= len(self.data):
            return self._at_end()
        return GoSyntaxError(f"invalid character {go_quote_char(self.data[i])} {context}", i + 1)

    def _bad_in_token(self, i: int, context: str) -> GoJSONError:
        """A token cut by the end of input: Go's Unmarshal feeds the scanner one space."""
        if i < len(self.data) or self.stream:
            return self._bad(i, context)
        return GoSyntaxError(f"invalid character ' ' {context}", len(self.data))

    # -- tokens ----------------------------------------------------------------------------------

    def _ws(self, i: int) -> int:
        match = _WS.match(self.data, i)
        return match.end() if match else i

    def _string(self, i: int) -> tuple[str, int]:
        match = _STRING.match(self.data, i)
        if match is None:
            raise self._string_error(i)
        raw = match.group()
        try:
            quoted = raw.decode("utf-8")
        except UnicodeDecodeError:
            # Go's unquote: one U+FFFD per byte utf8.DecodeRune rejects (a cut sequence is one
            # per byte, where Python's "replace" writes one for the whole cut sequence)
            quoted = go_string_from_bytes(raw)
        if "\\" not in quoted:
            return quoted[1:-1], match.end()
        return _SURROGATES.sub("\ufffd", json.loads(quoted)), match.end()

    def _string_error(self, i: int) -> GoJSONError:
        data, n = self.data, len(self.data)
        j = i + 1
        while j < n:
            c = data[j]
            if c == 0x22:
                break
            if c < 0x20:
                return self._bad(j, "in string literal")
            if c == 0x5C:
                j += 1
                if j >= n:
                    return self._bad_in_token(j, "in string escape code")
                e = data[j]
                if e == 0x75:
                    for k in range(j + 1, j + 5):
                        if k >= n:
                            return self._bad_in_token(k, "in \\u hexadecimal character escape")
                        if data[k] not in b"0123456789abcdefABCDEF":
                            return self._bad(k, "in \\u hexadecimal character escape")
                    j += 4
                elif e not in b'"\\/bfnrt':
                    return self._bad(j, "in string escape code")
            j += 1
        return self._at_end()

    def _number(self, i: int) -> tuple[Any, int]:
        match = _NUMBER.match(self.data, i)
        end = match.end() if match else i
        if match is None or (end < len(self.data) and self.data[end] in b".eE"):
            error = self._number_error(i)
            if error is not None:
                raise error
        # the pattern fails only where the grammar walk above finds an error; a complete
        # number followed by '.', 'e' or 'E' (`1.5.`) ends here, and what follows is judged next
        assert match is not None
        token = match.group()
        if b"." in token or b"e" in token or b"E" in token:
            value: Any = float(token)
        elif len(token.lstrip(b"-")) <= _FLOAT64_SAFE_DIGITS:
            return int(token), end
        else:
            value = float(token)
            if not math.isinf(value):
                value = int(token)
        if isinstance(value, float) and math.isinf(value) and self.overflow is None:
            self.overflow = token.decode()
        return value, end

    def _number_error(self, i: int) -> GoJSONError | None:
        """The scanner's error inside the number at i, or None when the number is complete."""
        data, n = self.data, len(self.data)

        def digit(k: int) -> bool:
            return k < n and 0x30 <= data[k] <= 0x39

        j = i
        if data[j] == 0x2D:
            j += 1
            if not digit(j):
                return self._bad_in_token(j, "in numeric literal")
        if data[j] == 0x30:
            j += 1
        while digit(j):
            j += 1
        if j < n and data[j] == 0x2E:
            j += 1
            if not digit(j):
                return self._bad_in_token(j, "after decimal point in numeric literal")
            while digit(j):
                j += 1
        if j < n and data[j] in b"eE":
            j += 1
            if j < n and data[j] in b"+-":
                j += 1
            if not digit(j):
                return self._bad_in_token(j, "in exponent of numeric literal")
        return None

    def _literal(self, i: int) -> tuple[Any, int]:
        word, value = _LITERALS[self.data[i]]
        for k, expected in enumerate(word[1:], start=i + 1):
            if k >= len(self.data) or self.data[k] != expected:
                context = f"in literal {word.decode()} (expecting {go_quote_char(expected)})"
                if k >= len(self.data):
                    raise self._bad_in_token(k, context)
                raise self._bad(k, context)
        return value, i + len(word)

    # -- values ----------------------------------------------------------------------------------

    def parse(self) -> Document:
        """The first value of the input (its members if an object), with Go's errors."""
        data, n = self.data, len(self.data)
        i = self._ws(0)
        if i >= n:
            if self.stream:
                raise GoEndOfInput("EOF", 0)
            raise GoSyntaxError(_EOF_UNMARSHAL, 0)
        start = i
        # Each frame: [container, pending key, start of the container].
        stack: list[list[Any]] = []
        members: list[Member] = []
        value: Any = None
        while True:
            # A value begins at i.
            i = self._ws(i)
            if i >= n:
                raise self._at_end()
            c = data[i]
            value_start = i
            if c == 0x7B or c == 0x5B:
                if len(stack) + 1 > MAX_DEPTH:
                    raise self._bad(i, "exceeded max depth")
                is_object = c == 0x7B
                container: Any = {} if is_object else []
                stack.append([container, None, i])
                i = self._ws(i + 1)
                closer = 0x7D if is_object else 0x5D
                if i < n and data[i] == closer:
                    value = stack.pop()[0]
                    i += 1
                elif is_object:
                    i = self._key(i, stack[-1])
                    continue
                else:
                    continue
            elif c == 0x22:
                value, i = self._string(i)
            elif c == 0x2D or 0x30 <= c <= 0x39:
                value, i = self._number(i)
            elif c in _LITERALS:
                value, i = self._literal(i)
            else:
                raise self._bad(i, "looking for beginning of value")
            # A value ended at i: store it and find what follows, closing containers.
            while True:
                if not stack:
                    return self._top(value, start, i, members)
                frame = stack[-1]
                container = frame[0]
                if isinstance(container, dict):
                    container[frame[1]] = value
                    if len(stack) == 1:
                        members.append(Member(frame[1], value, kind_of(value), value_start, i))
                else:
                    container.append(value)
                i = self._ws(i)
                if i < n and data[i] == 0x2C:
                    i += 1
                    if isinstance(container, dict):
                        i = self._key(self._ws(i), frame)
                    break
                closer = 0x7D if isinstance(container, dict) else 0x5D
                if i < n and data[i] == closer:
                    stack.pop()
                    value, value_start, i = container, frame[2], i + 1
                    continue
                where = "after object key:value pair" if closer == 0x7D else "after array element"
                raise self._bad(i, where)

    def _key(self, i: int, frame: list[Any]) -> int:
        """Read `"key" :` at i into the frame; returns where the value begins."""
        if i >= len(self.data) or self.data[i] != 0x22:
            raise self._bad(i, "looking for beginning of object key string")
        frame[1], i = self._string(i)
        i = self._ws(i)
        if i >= len(self.data) or self.data[i] != 0x3A:
            raise self._bad(i, "after object key")
        return i + 1

    def _top(self, value: Any, start: int, end: int, members: list[Member]) -> Document:
        if not self.stream:
            after = self._ws(end)
            if after < len(self.data):
                raise self._bad(after, "after top-level value")
        return Document(
            value,
            kind_of(value),
            start,
            end,
            tuple(members) if isinstance(value, dict) else None,
            self.overflow,
        )


def parse(data: bytes) -> Document:
    """`json.Unmarshal`'s reading of data (syntax only): the value, its spans, any overflow."""
    return _Parser(data, stream=False).parse()


def decode_first(data: bytes) -> Document:
    """`json.NewDecoder(bytes).Decode`'s reading: the first value; trailing data is not read."""
    return _Parser(data, stream=True).parse()


def unmarshal(data: bytes) -> Any:
    """`json.Unmarshal` into `interface{}`: the value, or Go's error for the input.

    Numbers outside float64's range fail as Go's do; other integers stay Python ints (Go would
    hold a float64 of the same magnitude, which compares the same way).
    """
    try:
        return _fast(data)
    except _Unsafe:
        pass
    document = parse(data)
    if document.overflow is not None:
        raise GoTypeError(f"number {document.overflow}", "float64", document.end)
    return document.value


def string_fields(
    data: bytes,
    fields: tuple[str, ...],
    type_name: str,
    *,
    struct: str = "",
    stream: bool = False,
) -> dict[str, str]:
    """Decode into a Go struct whose fields are all strings, named by their JSON keys.

    Keys match exactly or case-insensitively, the last matching member wins, other members are
    skipped, `null` leaves a field empty, and the first wrong kind is Go's `UnmarshalTypeError`
    (with the offsets Go reports). Missing fields are "".
    """
    found: dict[str, str] = {}
    if not stream:
        try:
            value = _fast(data, pairs=True)
        except _Unsafe:
            pass
        else:
            quick = _quick_fields(value, fields)
            if quick is not None:
                return quick
    document = decode_first(data) if stream else parse(data)
    if document.kind == "null":
        return {name: "" for name in fields}
    if document.members is None:
        offset = document.start + 1 if document.kind == "array" else document.end
        raise GoTypeError(document.kind, type_name, offset)
    folded = {name.casefold(): name for name in fields}
    for member in document.members:
        name = member.key if member.key in fields else folded.get(member.key.casefold())
        if name is None or member.kind == "null":
            continue
        if member.kind != "string":
            offset = member.start + 1 if member.kind in ("array", "object") else member.end
            raise GoTypeError(member.kind, "string", offset, struct=struct, field=name)
        found[name] = member.value
    return {name: found.get(name, "") for name in fields}


def _quick_fields(value: Any, fields: tuple[str, ...]) -> dict[str, str] | None:
    """The struct's fields from a stdlib-parsed value, or None when Go would say more."""
    if value is None:
        return {name: "" for name in fields}
    if not isinstance(value, _Pairs):
        return None
    folded = {name.casefold(): name for name in fields}
    found: dict[str, str] = {}
    for key, item in value:
        name = key if key in fields else folded.get(key.casefold())
        if name is None or item is None:
            continue
        if not isinstance(item, str):
            return None
        found[name] = item
    return {name: found.get(name, "") for name in fields}
