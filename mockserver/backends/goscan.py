"""Go `encoding/json` syntax errors, for the fake provider's `unable to unmarshal secret: …`.

Go's `Unmarshal` validates the whole input first, so its error for a malformed value is the
scanner's message at the first offending byte. Settled from golang/go
`src/encoding/json/scanner.go` (state functions and `quoteChar`); the texts are the scanner's,
the code is not.
"""

from __future__ import annotations

from mockserver.godecode import go_quote_char

__all__ = ["go_syntax_error"]

_WS = b" \t\r\n"
_EOF = "unexpected end of JSON input"


class _Fail(Exception):
    pass


class _Scanner:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.i = 0

    def fail(self, context: str) -> _Fail:
        if self.i >= len(self.data):
            return _Fail(_EOF)
        return _Fail(f"invalid character {go_quote_char(self.data[self.i])} {context}")

    def peek(self) -> int | None:
        return self.data[self.i] if self.i < len(self.data) else None

    def skip_ws(self) -> None:
        while self.i < len(self.data) and self.data[self.i] in _WS:
            self.i += 1

    def value(self) -> None:
        self.skip_ws()
        c = self.peek()
        if c is None:
            raise _Fail(_EOF)
        if c == 0x7B:
            self.obj()
        elif c == 0x5B:
            self.arr()
        elif c == 0x22:
            self.string()
        elif c == 0x2D or 0x30 <= c <= 0x39:
            self.number()
        elif c in b"tfn":
            self.literal({0x74: b"true", 0x66: b"false", 0x6E: b"null"}[c])
        else:
            raise self.fail("looking for beginning of value")

    def obj(self) -> None:
        self.i += 1
        self.skip_ws()
        if self.peek() == 0x7D:
            self.i += 1
            return
        while True:
            self.skip_ws()
            if self.peek() != 0x22:
                raise self.fail("looking for beginning of object key string")
            self.string()
            self.skip_ws()
            if self.peek() != 0x3A:
                raise self.fail("after object key")
            self.i += 1
            self.value()
            self.skip_ws()
            c = self.peek()
            if c == 0x2C:
                self.i += 1
                continue
            if c == 0x7D:
                self.i += 1
                return
            raise self.fail("after object key:value pair")

    def arr(self) -> None:
        self.i += 1
        self.skip_ws()
        if self.peek() == 0x5D:
            self.i += 1
            return
        while True:
            self.value()
            self.skip_ws()
            c = self.peek()
            if c == 0x2C:
                self.i += 1
                continue
            if c == 0x5D:
                self.i += 1
                return
            raise self.fail("after array element")

    def string(self) -> None:
        self.i += 1
        while True:
            c = self.peek()
            if c is None:
                raise _Fail(_EOF)
            if c == 0x22:
                self.i += 1
                return
            if c < 0x20:
                raise self.fail("in string literal")
            self.i += 1
            if c != 0x5C:
                continue
            e = self.peek()
            if e is None:
                raise _Fail(_EOF)
            if e in b'bfnrt\\/"':
                self.i += 1
            elif e == 0x75:
                self.i += 1
                for _ in range(4):
                    h = self.peek()
                    if h is None:
                        raise _Fail(_EOF)
                    if h not in b"0123456789abcdefABCDEF":
                        raise self.fail("in \\u hexadecimal character escape")
                    self.i += 1
            else:
                raise self.fail("in string escape code")

    def digits(self) -> None:
        while (c := self.peek()) is not None and 0x30 <= c <= 0x39:
            self.i += 1

    def number(self) -> None:
        if self.peek() == 0x2D:
            self.i += 1
            c = self.peek()
            if c is None:
                raise _Fail(_EOF)
            if not 0x30 <= c <= 0x39:
                raise self.fail("in numeric literal")
        if self.peek() == 0x30:
            self.i += 1
        else:
            self.digits()
        if self.peek() == 0x2E:
            self.i += 1
            c = self.peek()
            if c is None:
                raise _Fail(_EOF)
            if not 0x30 <= c <= 0x39:
                raise self.fail("after decimal point in numeric literal")
            self.digits()
        if self.peek() in (0x65, 0x45):
            self.i += 1
            if self.peek() in (0x2B, 0x2D):
                self.i += 1
            c = self.peek()
            if c is None:
                raise _Fail(_EOF)
            if not 0x30 <= c <= 0x39:
                raise self.fail("in exponent of numeric literal")
            self.digits()

    def literal(self, word: bytes) -> None:
        self.i += 1
        for expected in word[1:]:
            c = self.peek()
            if c is None:
                raise _Fail(_EOF)
            if c != expected:
                raise self.fail(f"in literal {word.decode()} (expecting {go_quote_char(expected)})")
            self.i += 1


def go_syntax_error(data: bytes) -> str | None:
    """Go's `Unmarshal` syntax error text for `data`, or None if it is one valid JSON value."""
    scanner = _Scanner(data)
    try:
        scanner.value()
        scanner.skip_ws()
        if scanner.peek() is not None:
            raise scanner.fail("after top-level value")
    except _Fail as exc:
        return str(exc)
    return None
