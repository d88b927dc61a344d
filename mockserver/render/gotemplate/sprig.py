"""The part of ESO's vendored sprig function map (`runtime/template/v2/sprig/functions.go`)
that Secret templates use: strings, encodings, hashes, lists and dicts, defaults, JSON, regexes,
integer math, paths. Behaviour follows sprig's Go code: `b64dec` returns the error text as its
value, `fromJson` swallows errors into an empty map, `keys` is sorted here (Go's map order is
random; templates sort it with `sortAlpha` anyway)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import posixpath
import re
import secrets
import string
import uuid
import zlib
from typing import Any

from mockserver.gojson import go_json, go_marshal

from ..gocompat import GoBase64Error, b64decode, replace_all
from .execute import Func, FuncError, truth
from .gofmt import NO_VALUE, go_quote, go_type, sprint_value


def strval(value: Any) -> str:
    """sprig `strval`: strings as they are, `[]byte` decoded, else `%v`."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return sprint_value(value)


def to_int(value: Any) -> int:
    """`cast.ToInt64`: numbers truncated, strings parsed (base prefixes allowed), else 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip().replace("_", ""), 0) if value.strip() else 0
        except ValueError:
            try:
                return int(float(value))
            except ValueError:
                return 0
    return 0


def to_float(value: Any) -> float:
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return 0.0
    return 0.0


def empty(value: Any) -> bool:
    return not truth(value)


def _default(default: Any, *given: Any) -> Any:
    if not given or empty(given[0]):
        return default
    return given[0]


def _coalesce(*values: Any) -> Any:
    for value in values:
        if not empty(value):
            return value
    return None


def _go_div(a: int, b: int) -> int:
    if b == 0:
        raise FuncError("runtime error: integer divide by zero")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _go_mod(a: int, b: int) -> int:
    if b == 0:
        raise FuncError("runtime error: integer divide by zero")
    return a - b * _go_div(a, b)


def _strslice(value: Any) -> list[str]:
    if value is None or value is NO_VALUE:
        return []
    if isinstance(value, list | tuple):
        return [strval(v) for v in value if v is not None]
    return [strval(value)]


def _as_list(value: Any, name: str) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    raise FuncError(f"Cannot {name} on type {go_type(value)}")


def _to_json(value: Any) -> str:
    try:
        return go_marshal(_jsonable(value)).decode("utf-8", "surrogateescape")
    except (TypeError, ValueError):
        return ""


def _to_pretty_json(value: Any) -> str:
    try:
        text = go_json(_jsonable(value), pretty=True).decode("utf-8", "surrogateescape")
    except (TypeError, ValueError):
        return ""
    return text.rstrip("\n")


def _to_raw_json(value: Any) -> str:
    text = _to_json(value)
    for escaped, raw in (("\\u003c", "<"), ("\\u003e", ">"), ("\\u0026", "&")):
        text = text.replace(escaped, raw)
    return text


def _jsonable(value: Any) -> Any:
    if value is NO_VALUE:
        return None
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _from_json_value(text: str) -> Any:
    return json.loads(text, parse_int=float, parse_constant=lambda c: float(c))


def _from_json(text: str) -> Any:
    try:
        value = _from_json_value(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _must_from_json(text: str) -> Any:
    try:
        return _from_json_value(text)
    except ValueError as exc:
        raise FuncError(str(exc)) from None


def _b64dec(text: str) -> str:
    try:
        return b64decode(text.encode("utf-8", "surrogateescape")).decode("utf-8", "surrogateescape")
    except GoBase64Error as exc:
        return str(exc)


def _b32dec(text: str) -> str:
    try:
        return base64.b32decode(text).decode("utf-8", "surrogateescape")
    except (binascii.Error, ValueError) as exc:
        return f"illegal base32 data: {exc}"


def _hexdec(text: str) -> str:
    try:
        return bytes.fromhex(text).decode("utf-8", "surrogateescape")
    except ValueError as exc:
        raise FuncError(f"encoding/hex: {exc}") from None


def _b(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _dict(*pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    items = list(pairs) + ([""] if len(pairs) % 2 else [])
    for i in range(0, len(items), 2):
        out[strval(items[i])] = items[i + 1]
    return out


def _dig(*args: Any) -> Any:
    if len(args) < 3:
        raise FuncError("dig needs at least three arguments")
    keys, default, data = args[:-2], args[-2], args[-1]
    for key in keys:
        if not isinstance(data, dict) or strval(key) not in data:
            return default
        data = data[strval(key)]
    return data


def _merge(overwrite: bool, dst: Any, *sources: Any) -> Any:
    def deep(into: dict[str, Any], src: dict[str, Any]) -> None:
        for key, value in src.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                deep(into[key], value)
            elif key not in into or overwrite or empty(into[key]):
                into[key] = value

    for src in sources:
        if isinstance(src, dict) and isinstance(dst, dict):
            deep(dst, src)
    return dst


def _uniq(items: Any) -> list[Any]:
    out: list[Any] = []
    for item in _as_list(items, "uniq"):
        if item not in out:
            out.append(item)
    return out


def _title(text: str) -> str:
    out, previous = [], " "
    for ch in text:
        out.append(ch.upper() if not (previous.isalnum() or previous == "_") else ch)
        previous = ch
    return "".join(out)


def _indent(spaces: int, text: str) -> str:
    pad = " " * spaces
    return pad + text.replace("\n", "\n" + pad)


def _substr(start: int, end: int, text: str) -> str:
    if start < 0:
        return text[:end]
    if end < 0 or end > len(text):
        return text[start:]
    return text[start:end]


def _trunc(count: int, text: str) -> str:
    if count < 0 and len(text) + count > 0:
        return text[len(text) + count :]
    if count >= 0 and len(text) > count:
        return text[:count]
    return text


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise FuncError(f"error parsing regexp: {exc}") from None


def _find_all(pattern: str, text: str, n: int) -> list[str]:
    found = [m.group(0) for m in _regex(pattern).finditer(text)]
    return found if n < 0 else found[:n]


def _regex_split(pattern: str, text: str, n: int) -> list[str]:
    if n == 0:
        return []
    parts = _regex(pattern).split(text, maxsplit=0 if n < 0 else n - 1)
    return parts


def _rand(alphabet: str, count: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(count))


def _kind_of(value: Any) -> str:
    kind = go_type(value)
    return {"[]interface {}": "slice", "map[string]interface {}": "map"}.get(
        kind, "map" if kind.startswith("map") else "slice" if kind.startswith("[]") else kind
    )


def _go_clean(path: str) -> str:
    if path == "":
        return "."
    cleaned = posixpath.normpath(path)
    return (
        "/" if cleaned.startswith("//") and cleaned.strip("/") == "" else cleaned.replace("//", "/")
    )


def _go_base(path: str) -> str:
    if path == "":
        return "."
    stripped = path.rstrip("/")
    return "/" if not stripped else stripped.rsplit("/", 1)[-1]


def _go_dir(path: str) -> str:
    head = path[: path.rfind("/") + 1]
    return _go_clean(head)


def _go_ext(path: str) -> str:
    base = path.rsplit("/", 1)[-1]
    dot = base.rfind(".")
    return base[dot:] if dot >= 0 else ""


S, N, A, M = "string", "int", "any", "map"

SPRIG: dict[str, Func] = {
    # strings
    "trim": Func(lambda s: s.strip(" \t\n\r\v\f\x85\xa0"), (S,)),
    "upper": Func(str.upper, (S,)),
    "lower": Func(str.lower, (S,)),
    "title": Func(_title, (S,)),
    "trimAll": Func(lambda cut, s: s.strip(cut), (S, S)),
    "trimall": Func(lambda cut, s: s.strip(cut), (S, S)),
    "trimSuffix": Func(lambda suf, s: s[: -len(suf)] if suf and s.endswith(suf) else s, (S, S)),
    "trimPrefix": Func(lambda pre, s: s[len(pre) :] if s.startswith(pre) else s, (S, S)),
    "contains": Func(lambda sub, s: sub in s, (S, S)),
    "hasPrefix": Func(lambda pre, s: s.startswith(pre), (S, S)),
    "hasSuffix": Func(lambda suf, s: s.endswith(suf), (S, S)),
    "repeat": Func(lambda n, s: s * max(n, 0), (N, S)),
    "replace": Func(lambda old, new, s: s.replace(old, new), (S, S, S)),
    "substr": Func(_substr, (N, N, S)),
    "trunc": Func(_trunc, (N, S)),
    "nospace": Func(lambda s: "".join(s.split()), (S,)),
    "quote": Func(lambda *a: " ".join(go_quote(strval(v)) for v in a if v is not None), (), A),
    "squote": Func(lambda *a: " ".join(f"'{strval(v)}'" for v in a if v is not None), (), A),
    "cat": Func(lambda *a: " ".join(strval(v) for v in a if v is not None), (), A),
    "indent": Func(_indent, (N, S)),
    "nindent": Func(lambda n, s: "\n" + _indent(n, s), (N, S)),
    "toString": Func(strval, (A,)),
    "split": Func(lambda sep, s: {f"_{i}": p for i, p in enumerate(s.split(sep))}, (S, S)),
    "splitList": Func(lambda sep, s: s.split(sep) if sep else list(s), (S, S)),
    "splitn": Func(
        lambda sep, n, s: {f"_{i}": p for i, p in enumerate(s.split(sep, n - 1 if n > 0 else -1))},
        (S, N, S),
    ),
    "join": Func(lambda sep, v: sep.join(_strslice(v)), (S, A)),
    "toStrings": Func(_strslice, (A,)),
    "sortAlpha": Func(lambda v: sorted(_strslice(v)), (A,)),
    "randAlphaNum": Func(lambda n: _rand(string.ascii_letters + string.digits, n), (N,)),
    "randAlpha": Func(lambda n: _rand(string.ascii_letters, n), (N,)),
    "randNumeric": Func(lambda n: _rand(string.digits, n), (N,)),
    "randAscii": Func(lambda n: _rand("".join(chr(c) for c in range(32, 127)), n), (N,)),
    "uuidv4": Func(lambda: str(uuid.uuid4()), ()),
    # encodings and hashes
    "b64enc": Func(lambda s: base64.b64encode(_b(s)).decode(), (S,)),
    "b64dec": Func(_b64dec, (S,)),
    "b32enc": Func(lambda s: base64.b32encode(_b(s)).decode(), (S,)),
    "b32dec": Func(_b32dec, (S,)),
    "hexdec": Func(_hexdec, (S,)),
    "sha1sum": Func(lambda s: hashlib.sha1(_b(s)).hexdigest(), (S,)),
    "sha256sum": Func(lambda s: hashlib.sha256(_b(s)).hexdigest(), (S,)),
    "sha512sum": Func(lambda s: hashlib.sha512(_b(s)).hexdigest(), (S,)),
    "adler32sum": Func(lambda s: str(zlib.adler32(_b(s))), (S,)),
    # numbers
    "atoi": Func(lambda s: to_int(s) if re.fullmatch(r"[+-]?\d+", s) else 0, (S,)),
    "int": Func(to_int, (A,)),
    "int64": Func(to_int, (A,)),
    "float64": Func(to_float, (A,)),
    "add1": Func(lambda v: to_int(v) + 1, (A,)),
    "add": Func(lambda *v: sum(to_int(x) for x in v), (), A),
    "sub": Func(lambda a, b: to_int(a) - to_int(b), (A, A)),
    "mul": Func(lambda a, *v: _product(to_int(a), v), (A,), A),
    "div": Func(lambda a, b: _go_div(to_int(a), to_int(b)), (A, A)),
    "mod": Func(lambda a, b: _go_mod(to_int(a), to_int(b)), (A, A)),
    "max": Func(lambda a, *v: max([to_int(a), *(to_int(x) for x in v)]), (A,), A),
    "biggest": Func(lambda a, *v: max([to_int(a), *(to_int(x) for x in v)]), (A,), A),
    "min": Func(lambda a, *v: min([to_int(a), *(to_int(x) for x in v)]), (A,), A),
    "until": Func(lambda n: list(range(n)) if n >= 0 else list(range(0, n, -1)), (N,)),
    # defaults and JSON
    "default": Func(_default, (A,), A),
    "empty": Func(empty, (A,)),
    "coalesce": Func(_coalesce, (), A),
    "ternary": Func(lambda t, f, c: t if c else f, (A, A, "bool")),
    "fromJson": Func(_from_json, (S,)),
    "mustFromJson": Func(_must_from_json, (S,)),
    "toJson": Func(_to_json, (A,)),
    "mustToJson": Func(_to_json, (A,)),
    "toPrettyJson": Func(_to_pretty_json, (A,)),
    "mustToPrettyJson": Func(_to_pretty_json, (A,)),
    "toRawJson": Func(_to_raw_json, (A,)),
    "mustToRawJson": Func(_to_raw_json, (A,)),
    "fail": Func(lambda msg: (_ for _ in ()).throw(FuncError(msg)), (S,)),
    # reflection
    "typeOf": Func(go_type, (A,)),
    "typeIs": Func(lambda t, v: go_type(v) == t, (S, A)),
    "kindOf": Func(_kind_of, (A,)),
    "kindIs": Func(lambda k, v: _kind_of(v) == k, (S, A)),
    "deepEqual": Func(lambda a, b: a == b and type(a) is type(b), (A, A)),
    # paths
    "base": Func(_go_base, (S,)),
    "dir": Func(_go_dir, (S,)),
    "clean": Func(_go_clean, (S,)),
    "ext": Func(_go_ext, (S,)),
    "isAbs": Func(lambda p: p.startswith("/"), (S,)),
    # lists and dicts
    "list": Func(lambda *v: list(v), (), A),
    "tuple": Func(lambda *v: list(v), (), A),
    "dict": Func(_dict, (), A),
    "get": Func(lambda d, k: d.get(k, "") if isinstance(d, dict) else "", (M, S)),
    "set": Func(lambda d, k, v: _set(d, k, v), (M, S, A)),
    "unset": Func(lambda d, k: (d.pop(k, None), d)[1], (M, S)),
    "hasKey": Func(lambda d, k: k in (d or {}), (M, S)),
    "keys": Func(lambda *ds: sorted(k for d in ds if d for k in d), (), M),
    "values": Func(lambda d: [d[k] for k in sorted(d or {})], (M,)),
    "pick": Func(lambda d, *ks: {k: d[k] for k in ks if k in (d or {})}, (M,), S),
    "omit": Func(lambda d, *ks: {k: v for k, v in (d or {}).items() if k not in ks}, (M,), S),
    "merge": Func(lambda d, *s: _merge(False, d, *s), (M,), M),
    "mergeOverwrite": Func(lambda d, *s: _merge(True, d, *s), (M,), M),
    "dig": Func(_dig, (), A),
    "first": Func(lambda v: _as_list(v, "find first")[0] if v else None, (A,)),
    "last": Func(lambda v: _as_list(v, "find last")[-1] if v else None, (A,)),
    "rest": Func(lambda v: _as_list(v, "find rest")[1:] if v else [], (A,)),
    "initial": Func(lambda v: _as_list(v, "find initial")[:-1] if v else [], (A,)),
    "append": Func(lambda v, x: [*_as_list(v or [], "push"), x], (A, A)),
    "push": Func(lambda v, x: [*_as_list(v or [], "push"), x], (A, A)),
    "prepend": Func(lambda v, x: [x, *_as_list(v or [], "prepend")], (A, A)),
    "concat": Func(lambda *vs: [x for v in vs for x in _as_list(v, "concat")], (), A),
    "has": Func(lambda x, v: x in _as_list(v or [], "find has"), (A, A)),
    "without": Func(
        lambda v, *xs: [x for x in _as_list(v, "find without") if x not in xs], (A,), A
    ),
    "uniq": Func(_uniq, (A,)),
    "reverse": Func(lambda v: _as_list(v, "find reverse")[::-1], (A,)),
    "compact": Func(lambda v: [x for x in _as_list(v, "compact") if not empty(x)], (A,)),
    # regular expressions (Go RE2 syntax; Python's engine accepts the common subset)
    "regexMatch": Func(lambda p, s: _regex(p).search(s) is not None, (S, S)),
    "mustRegexMatch": Func(lambda p, s: _regex(p).search(s) is not None, (S, S)),
    "regexFind": Func(lambda p, s: m.group(0) if (m := _regex(p).search(s)) else "", (S, S)),
    "regexFindAll": Func(_find_all, (S, S, N)),
    "regexReplaceAll": Func(lambda p, s, r: replace_all(_regex(p), r, s), (S, S, S)),
    "regexReplaceAllLiteral": Func(lambda p, s, r: _regex(p).sub(lambda _m: r, s), (S, S, S)),
    "regexSplit": Func(_regex_split, (S, S, N)),
    "regexQuoteMeta": Func(lambda s: re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", s), (S,)),
}


def _product(start: int, values: tuple[Any, ...]) -> int:
    for value in values:
        start *= to_int(value)
    return start


def _set(d: Any, k: str, v: Any) -> Any:
    if d is None:
        d = {}
    d[k] = v
    return d
