"""Go's `text/template` built-in functions (`and or not len index slice print printf println
eq ne lt le gt ge html js urlquery`) with Go's semantics: `and`/`or` short-circuit and return
an operand, comparisons refuse mixed kinds (`incompatible types for comparison`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

from .execute import Func, FuncError, truth
from .gofmt import NO_VALUE, StrMap, go_type, sprint, sprintf, sprintln


def _and(*thunks: Callable[[], Any]) -> Any:
    value: Any = None
    for thunk in thunks:
        value = thunk()
        if not truth(value):
            return value
    return value


def _or(*thunks: Callable[[], Any]) -> Any:
    value: Any = None
    for thunk in thunks:
        value = thunk()
        if truth(value):
            return value
    return value


def _len(item: Any) -> int:
    if isinstance(item, str):
        return len(item.encode("utf-8", "surrogateescape"))
    if isinstance(item, bytes | list | tuple | dict):
        return len(item)
    raise FuncError(f"len of type {go_type(item)}")


def _int_index(value: Any, cap: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FuncError(f"cannot index slice/array with type {go_type(value)}")
    if value < 0 or value > cap:
        raise FuncError(f"index out of range: {value}")
    return value


def _index(item: Any, *indexes: Any) -> Any:
    for index in indexes:
        if item is None or item is NO_VALUE:
            raise FuncError("index of untyped nil")
        if isinstance(item, dict):
            if index is None:
                raise FuncError("value is nil; should be of type string")
            if not isinstance(index, str):
                raise FuncError(f"value has type {go_type(index)}; should be string")
            if index in item:
                item = item[index]
            else:
                item = "" if isinstance(item, StrMap) else None
        elif isinstance(item, list | tuple | str | bytes):
            data = item.encode("utf-8", "surrogateescape") if isinstance(item, str) else item
            position = _int_index(index, len(data) - 1)
            item = data[position]
        else:
            raise FuncError(f"can't index item of type {go_type(item)}")
    return item


def _slice(item: Any, *indexes: Any) -> Any:
    if item is None or item is NO_VALUE:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if not isinstance(item, str | list | tuple):
        raise FuncError(f"can't slice item of type {go_type(item)}")
    if isinstance(item, str) and len(indexes) == 3:
        raise FuncError("cannot 3-index slice a string")
    data: Any = item.encode("utf-8", "surrogateescape") if isinstance(item, str) else list(item)
    bounds = [_int_index(i, len(data)) for i in indexes]
    start = bounds[0] if bounds else 0
    end = bounds[1] if len(bounds) > 1 else len(data)
    if start > end:
        raise FuncError(f"invalid slice index: {start} > {end}")
    out = data[start:end]
    return out.decode("utf-8", "surrogateescape") if isinstance(item, str) else out


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "other"


def _eq(first: Any, *others: Any) -> bool:
    if not others:
        raise FuncError("missing argument for comparison")
    for other in others:
        if first is None or other is None:
            if first is None and other is None:
                return True
            if _kind(first) != "other" or _kind(other) != "other":
                continue
        k1, k2 = _kind(first), _kind(other)
        if k1 == "other" or k2 == "other":
            if isinstance(first, list | dict) or isinstance(other, list | dict):
                raise FuncError(f"non-comparable type {sprint([first])}: {go_type(first)}")
            if first == other:
                return True
            continue
        if k1 != k2:
            raise FuncError("incompatible types for comparison")
        if first == other:
            return True
    return False


def _ne(a: Any, b: Any) -> bool:
    return not _eq(a, b)


def _lt(a: Any, b: Any) -> bool:
    k1, k2 = _kind(a), _kind(b)
    if k1 in ("other", "bool") or k2 in ("other", "bool"):
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        raise FuncError("incompatible types for comparison")
    return bool(a < b)


def _le(a: Any, b: Any) -> bool:
    return _lt(a, b) or _eq(a, b)


def _gt(a: Any, b: Any) -> bool:
    return not _le(a, b)


def _ge(a: Any, b: Any) -> bool:
    return not _lt(a, b)


def _eval_args(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(list(args))


def html_escape(text: str) -> str:
    """`template.HTMLEscapeString`."""
    table = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\0": "\ufffd"}
    return "".join(table.get(ch, ch) for ch in text)


def js_escape(text: str) -> str:
    """`template.JSEscapeString`."""
    out = []
    for ch in text:
        if ch in "\\'\"":
            out.append("\\" + ch)
        elif ch in "<>&=":
            out.append(f"\\u{ord(ch):04X}")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or not ch.isprintable():
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _urlquery(*args: Any) -> str:
    return quote_plus(_eval_args(args).encode("utf-8", "surrogateescape"), safe="-_.~")


BUILTINS: dict[str, Func] = {
    "and": Func(_and, ("any",), "any", lazy=True),
    "or": Func(_or, ("any",), "any", lazy=True),
    "not": Func(lambda v: not truth(v), ("any",)),
    "len": Func(_len, ("any",)),
    "index": Func(_index, ("any",), "any"),
    "slice": Func(_slice, ("any",), "any"),
    "print": Func(lambda *a: sprint(list(a)), (), "any"),
    "printf": Func(lambda f, *a: sprintf(f, list(a)), ("string",), "any"),
    "println": Func(lambda *a: sprintln(list(a)), (), "any"),
    "eq": Func(_eq, ("any",), "any"),
    "ne": Func(_ne, ("any", "any")),
    "lt": Func(_lt, ("any", "any")),
    "le": Func(_le, ("any", "any")),
    "gt": Func(_gt, ("any", "any")),
    "ge": Func(_ge, ("any", "any")),
    "html": Func(lambda *a: html_escape(_eval_args(a)), (), "any"),
    "js": Func(lambda *a: js_escape(_eval_args(a)), (), "any"),
    "urlquery": Func(_urlquery, (), "any"),
}
