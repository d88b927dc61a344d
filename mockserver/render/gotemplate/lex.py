"""The lexer of Go's `text/template/parse`: text, actions between `{{` and `}}`, trim markers
(`{{- ` and ` -}}` trim the surrounding white space, the space after/before the dash is
required), comments (`{{/* */}}`), and the tokens inside actions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

KEYWORDS = (
    "if",
    "else",
    "end",
    "range",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
    "nil",
    "true",
    "false",
)
_SPACE = " \t\r\n"


class T(Enum):
    TEXT = "text"
    LEFT = "{{"
    RIGHT = "}}"
    FIELD = "field"
    VARIABLE = "variable"
    IDENT = "identifier"
    STRING = "string"
    RAW = "raw string"
    CHAR = "char"
    NUMBER = "number"
    PIPE = "|"
    LPAREN = "("
    RPAREN = ")"
    DECLARE = ":="
    ASSIGN = "="
    COMMA = ","
    DOT = "."
    SPACE = "space"
    KEYWORD = "keyword"
    OTHER = "character"
    EOF = "EOF"


@dataclass(frozen=True)
class Token:
    kind: T
    value: str
    pos: int
    line: int


class LexError(Exception):
    """A lexing problem; `line` is where Go reports it."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def _is_alnum(ch: str) -> bool:
    return ch == "_" or ch.isalnum()


def lex(text: str, left: str = "{{", right: str = "}}") -> list[Token]:
    """Every token of `text`, ending with EOF."""
    out: list[Token] = []
    pos = 0
    line = 1
    n = len(text)
    while pos < n:
        start = text.find(left, pos)
        if start < 0:
            out.append(Token(T.TEXT, text[pos:], pos, line))
            line += text.count("\n", pos)
            pos = n
            break
        inner = start + len(left)
        trim_left = text.startswith("-", inner) and inner + 1 < n and text[inner + 1] in _SPACE
        chunk = text[pos:start]
        if trim_left:
            chunk = chunk.rstrip(_SPACE)
        if chunk:
            out.append(Token(T.TEXT, chunk, pos, line))
        line += text.count("\n", pos, start)
        pos = inner + (2 if trim_left else 0)
        if text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            if end < 0:
                raise LexError("unclosed comment", line)
            line += text.count("\n", pos, end)
            after = end + 2
            trim_right = text.startswith(" -" + right, after)
            if trim_right:
                after += 2
            elif not text.startswith(right, after):
                raise LexError("comment ends before closing delimiter", line)
            pos = after + len(right)
            if trim_right:
                while pos < n and text[pos] in _SPACE:
                    line += text[pos] == "\n"
                    pos += 1
            continue
        out.append(Token(T.LEFT, left, start, line))
        pos, line, trim_right = _lex_action(text, pos, line, right, out)
        if trim_right:
            while pos < n and text[pos] in _SPACE:
                line += text[pos] == "\n"
                pos += 1
    out.append(Token(T.EOF, "", n, line))
    return out


def _lex_action(
    text: str, pos: int, line: int, right: str, out: list[Token]
) -> tuple[int, int, bool]:
    n = len(text)
    paren = 0
    while True:
        if pos >= n:
            raise LexError("unclosed action", line)
        if text[pos] in _SPACE:
            end = pos
            while end < n and text[end] in _SPACE:
                end += 1
            if text.startswith("-" + right, end) and end > pos:
                out.append(Token(T.RIGHT, right, end, line))
                line += text.count("\n", pos, end)
                return end + 1 + len(right), line, True
            if text.startswith(right, end):
                line += text.count("\n", pos, end)
                pos = end
                continue
            out.append(Token(T.SPACE, text[pos:end], pos, line))
            line += text.count("\n", pos, end)
            pos = end
            continue
        if text.startswith(right, pos):
            if paren:
                raise LexError("unclosed left paren", line)
            out.append(Token(T.RIGHT, right, pos, line))
            return pos + len(right), line, False
        ch = text[pos]
        if ch == "|":
            out.append(Token(T.PIPE, ch, pos, line))
            pos += 1
        elif ch == "(":
            paren += 1
            out.append(Token(T.LPAREN, ch, pos, line))
            pos += 1
        elif ch == ")":
            paren -= 1
            if paren < 0:
                raise LexError("unexpected right paren", line)
            out.append(Token(T.RPAREN, ch, pos, line))
            pos += 1
        elif ch == ",":
            out.append(Token(T.COMMA, ch, pos, line))
            pos += 1
        elif text.startswith(":=", pos):
            out.append(Token(T.DECLARE, ":=", pos, line))
            pos += 2
        elif ch == "=":
            out.append(Token(T.ASSIGN, ch, pos, line))
            pos += 1
        elif ch == '"':
            end = pos + 1
            while end < n and text[end] != '"':
                if text[end] == "\\":
                    end += 1
                if end >= n or text[end] == "\n":
                    raise LexError("unterminated quoted string", line)
                end += 1
            if end >= n:
                raise LexError("unterminated quoted string", line)
            out.append(Token(T.STRING, text[pos : end + 1], pos, line))
            pos = end + 1
        elif ch == "`":
            end = text.find("`", pos + 1)
            if end < 0:
                raise LexError("unterminated raw quoted string", line)
            out.append(Token(T.RAW, text[pos : end + 1], pos, line))
            line += text.count("\n", pos, end)
            pos = end + 1
        elif ch == "'":
            end = pos + 1
            while end < n and text[end] != "'":
                if text[end] == "\\":
                    end += 1
                end += 1
            if end >= n:
                raise LexError("unterminated character constant", line)
            out.append(Token(T.CHAR, text[pos : end + 1], pos, line))
            pos = end + 1
        elif ch == "$":
            end = pos + 1
            while end < n and _is_alnum(text[end]):
                end += 1
            out.append(Token(T.VARIABLE, text[pos:end], pos, line))
            pos = end
        elif ch == ".":
            if pos + 1 < n and text[pos + 1].isdigit():
                pos = _number(text, pos, line, out)
                continue
            end = pos + 1
            while end < n and _is_alnum(text[end]):
                end += 1
            kind = T.DOT if end == pos + 1 else T.FIELD
            out.append(Token(kind, text[pos:end], pos, line))
            pos = end
        elif ch.isdigit() or (ch in "+-" and pos + 1 < n and (text[pos + 1].isdigit())):
            pos = _number(text, pos, line, out)
        elif _is_alnum(ch):
            end = pos
            while end < n and _is_alnum(text[end]):
                end += 1
            word = text[pos:end]
            kind = T.KEYWORD if word in KEYWORDS else T.IDENT
            out.append(Token(kind, word, pos, line))
            pos = end
        elif ord(ch) < 0x80 and ch.isprintable():
            # Go emits other printable ASCII as itemChar; the parser then refuses it in place.
            out.append(Token(T.OTHER, ch, pos, line))
            pos += 1
        else:
            raise LexError(f"unrecognized character in action: U+{ord(ch):04X} '{ch}'", line)


def _number(text: str, pos: int, line: int, out: list[Token]) -> int:
    end = pos
    n = len(text)
    if text[end] in "+-":
        end += 1
    while end < n and (_is_alnum(text[end]) or text[end] == "." or text[end] in "+-"):
        if text[end] in "+-" and text[end - 1] not in "eEpP":
            break
        end += 1
    out.append(Token(T.NUMBER, text[pos:end], pos, line))
    return end
