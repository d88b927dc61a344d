"""A minimal tidwall/gjson (v1.18) path evaluator for the fake provider's `property`.

The fake provider runs `gjson.Get(value, property)` and returns `Result.String()`; the mock has
to give the same text, which is not what a Python JSON round trip gives (raw sub-documents keep
their whitespace, `1.50` prints as `1.5`, `null` exists but prints as "").

Settled by reading tidwall/gjson v1.18.0 `gjson.go` (`Get`, `parseObject`, `parseArray`,
`parseObjectPath`, `parseArrayPath`, `unescape`, `Result.String`) and tidwall/match.

Supported: dotted paths, `\\` escapes in object keys, `*`/`?` wildcards in object keys (first
matching key in document order whose remaining path resolves wins), array indexes, `#` (length),
`#.rest` (the rest applied to every element, results collected into a JSON array). Like gjson, the
document starts at the first `{` or `[` anywhere in the text. Not supported (treated as plain key
text): `@modifiers`, `|` pipes, `#(...)` queries, `[...]`/`{...}` multipaths, `..` JSON lines.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from mockserver.gojson import go_format_float_f

__all__ = ["GjsonResult", "ResultType", "get", "go_parse_float", "object_members"]


class ResultType(enum.Enum):
    NULL = "Null"
    FALSE = "False"
    NUMBER = "Number"
    STRING = "String"
    TRUE = "True"
    JSON = "JSON"


@dataclass(frozen=True)
class GjsonResult:
    """gjson's `Result`: its type, the raw source text, and the unescaped string or number."""

    type: ResultType = ResultType.NULL
    raw: str = ""
    str_value: str = ""
    num: float = 0.0

    @property
    def exists(self) -> bool:
        return self.type is not ResultType.NULL or self.raw != ""

    def string(self) -> str:
        """`Result.String()`: integer literals raw, other numbers via FormatFloat 'f' -1."""
        if self.type is ResultType.FALSE:
            return "false"
        if self.type is ResultType.TRUE:
            return "true"
        if self.type is ResultType.STRING:
            return self.str_value
        if self.type is ResultType.JSON:
            return self.raw
        if self.type is ResultType.NUMBER:
            if not self.raw:
                return go_format_float_f(self.num)
            digits = self.raw[1:] if self.raw.startswith("-") else self.raw
            if all("0" <= c <= "9" for c in digits):
                return self.raw
            return go_format_float_f(self.num)
        return ""


_NOT_FOUND = GjsonResult()
_NUMBER_START = set("+-0123456789iIN")
_VALUE_START = _NUMBER_START | set('"{[tfn')


def go_parse_float(raw: str) -> float:
    """Go `strconv.ParseFloat(raw, 64)` with the error ignored, as gjson does (0 on failure)."""
    if "_" in raw:
        return 0.0
    try:
        return float(raw)  # out-of-range values give ±Inf, as Go's ParseFloat does
    except ValueError:
        return 0.0


@dataclass
class _Node:
    kind: ResultType
    raw: str
    text: str = ""
    members: list[tuple[str, _Node]] = field(default_factory=list)
    elements: list[_Node] = field(default_factory=list)

    def result(self) -> GjsonResult:
        num = go_parse_float(self.raw) if self.kind is ResultType.NUMBER else 0.0
        return GjsonResult(self.kind, self.raw, self.text, num)


def _unescape(body: str) -> str:
    """gjson's `unescape`: stops at a control character or an unknown escape."""
    out: list[str] = []
    simple = {"\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", '"': '"'}
    i = 0
    while i < len(body):
        c = body[i]
        if c < " ":
            break
        if c != "\\":
            out.append(c)
            i += 1
            continue
        i += 1
        if i >= len(body):
            break
        e = body[i]
        if e in simple:
            out.append(simple[e])
            i += 1
            continue
        if e != "u" or i + 5 > len(body):
            break
        r = _hex4(body[i + 1 : i + 5])
        i += 5
        if 0xD800 <= r < 0xE000:
            if body[i : i + 2] == "\\u" and len(body) - i >= 6:
                r2 = _hex4(body[i + 2 : i + 6])
                i += 6
                if 0xD800 <= r < 0xDC00 and 0xDC00 <= r2 < 0xE000:
                    r = 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00)
                else:
                    r = 0xFFFD
            else:
                r = 0xFFFD
        out.append(chr(r))
    return "".join(out)


def _hex4(text: str) -> int:
    try:
        return int(text, 16)
    except ValueError:
        return 0


def _scan_string(s: str, i: int) -> tuple[int, str, bool]:
    """From the opening quote at i: (index after the closing quote, raw, had escapes)."""
    j = i + 1
    escaped = False
    while j < len(s):
        c = s[j]
        if c == "\\":
            escaped = True
            j += 2
            continue
        if c == '"':
            return j + 1, s[i : j + 1], escaped
        j += 1
    return len(s), s[i:], escaped


def _parse_value(s: str, i: int) -> tuple[int, _Node]:
    c = s[i]
    if c == '"':
        end, raw, escaped = _scan_string(s, i)
        body = raw[1:-1] if raw.endswith('"') and len(raw) > 1 else raw[1:]
        return end, _Node(ResultType.STRING, raw, _unescape(body) if escaped else body)
    if c == "{":
        return _parse_object(s, i)
    if c == "[":
        return _parse_array(s, i)
    if c in "tf" or (c == "n" and s[i + 1 : i + 2] == "u"):
        j = i + 1
        while j < len(s) and "a" <= s[j] <= "z":
            j += 1
        kind = {"t": ResultType.TRUE, "f": ResultType.FALSE, "n": ResultType.NULL}[c]
        return j, _Node(kind, s[i:j])
    j = i + 1
    while j < len(s) and not (s[j] <= " " or s[j] in ",]}"):
        j += 1
    return j, _Node(ResultType.NUMBER, s[i:j])


def _parse_object(s: str, i: int) -> tuple[int, _Node]:
    node = _Node(ResultType.JSON, "")
    j = i + 1
    while j < len(s):
        c = s[j]
        if c == "}":
            j += 1
            break
        if c != '"':
            j += 1
            continue
        j, raw_key, escaped = _scan_string(s, j)
        body = raw_key[1:-1]
        key = _unescape(body) if escaped else body
        while j < len(s) and s[j] not in _VALUE_START and s[j] != "}":
            j += 1
        if j >= len(s) or s[j] == "}":
            continue
        j, value = _parse_value(s, j)
        node.members.append((key, value))
    node.raw = s[i:j]
    return j, node


def _parse_array(s: str, i: int) -> tuple[int, _Node]:
    node = _Node(ResultType.JSON, "")
    j = i + 1
    while j < len(s):
        c = s[j]
        if c == "]":
            j += 1
            break
        if c not in _VALUE_START:
            j += 1
            continue
        j, value = _parse_value(s, j)
        node.elements.append(value)
    node.raw = s[i:j]
    return j, node


def _split_object_part(path: str) -> tuple[str, str | None, bool]:
    """(key pattern, rest of the path or None, has wildcard); `\\x` takes x literally."""
    part: list[str] = []
    wild = False
    i = 0
    while i < len(path):
        c = path[i]
        if c == "\\":
            if i + 1 < len(path):
                part.append("\\" + path[i + 1])
            i += 2
            continue
        if c == ".":
            return "".join(part), path[i + 1 :], wild
        if c in "*?":
            wild = True
        part.append(c)
        i += 1
    return "".join(part), None, wild


def _literal(pattern: str) -> str:
    return re.sub(r"\\(.)", r"\1", pattern, flags=re.DOTALL)


def _glob(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _descend(node: _Node, rest: str) -> GjsonResult:
    if node.kind is ResultType.JSON and node.raw.startswith("{"):
        return _eval_object(node, rest)
    if node.kind is ResultType.JSON and node.raw.startswith("["):
        return _eval_array(node, rest)
    return _NOT_FOUND


def _eval_object(node: _Node, path: str) -> GjsonResult:
    pattern, rest, wild = _split_object_part(path)
    if wild:
        regex = _glob(pattern)
        matches = lambda key: regex.fullmatch(key) is not None  # noqa: E731
    else:
        wanted = _literal(pattern)
        matches = lambda key: key == wanted  # noqa: E731
    for key, value in node.members:
        if not matches(key):
            continue
        if rest is None:
            return value.result()
        found = _descend(value, rest)
        if found.exists:
            return found
    return _NOT_FOUND


def _eval_array(node: _Node, path: str) -> GjsonResult:
    part, dot, rest = path.partition(".")
    if part == "#":
        if not dot:
            count = len(node.elements)
            return GjsonResult(ResultType.NUMBER, str(count), "", float(count))
        raws = []
        for element in node.elements:
            found = get(element.raw, rest)
            if found.exists:
                raws.append(found.raw or found.string())
        return GjsonResult(ResultType.JSON, "[" + ",".join(raws) + "]")
    if not part or not part.isascii() or not part.isdigit():
        return _NOT_FOUND
    index = int(part)
    if index >= len(node.elements):
        return _NOT_FOUND
    element = node.elements[index]
    if not dot:
        return element.result()
    return _descend(element, rest)


def get(json_text: str, path: str) -> GjsonResult:
    """`gjson.Get(json_text, path)` for the supported path subset."""
    for i, c in enumerate(json_text):
        if c == "{":
            return _eval_object(_parse_object(json_text, i)[1], path)
        if c == "[":
            return _eval_array(_parse_array(json_text, i)[1], path)
    return _NOT_FOUND


def object_members(json_text: str) -> list[tuple[str, GjsonResult]]:
    """Members of the object that starts `json_text` (after whitespace), in document order.

    Each value keeps its raw source text, which is what Go's `json.RawMessage` holds.
    """
    stripped = json_text.lstrip(" \t\r\n")
    if not stripped.startswith("{"):
        return []
    _, node = _parse_object(stripped, 0)
    return [(key, value.result()) for key, value in node.members]
