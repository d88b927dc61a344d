"""More of sprig's map: the `must*` twins, float math (sprig computes it in decimal), `any`/`all`,
`pluck`, `plural`, `seq`, `chunk`, `deepCopy`, the `os*` path functions (Linux paths), small
string helpers, `urlParse`/`urlJoin`, `randInt`/`randBytes`, sprig's own `slice` (it replaces the
built-in, so a string is refused) and `pkcs12key`/`pkcs12keyPass`/`pkcs12cert`/`pkcs12certPass` of ESO's map."""

from __future__ import annotations

import base64
import copy
import math
import secrets
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from .esofuncs import ordered_chain, pem_encode
from .execute import Func, FuncError
from .gofmt import go_type, sprint_value
from .sprig import SPRIG, _go_base, _go_clean, _go_dir, _go_ext, empty, strval, to_float, to_int

S, N, A, M = "string", "int", "any", "map"


def _decimal(values: tuple[Any, ...]) -> list[Decimal]:
    return [Decimal(repr(to_float(v))) for v in values]


def _float(value: Decimal) -> float:
    return float(value)


def _fold(op: str, first: Any, rest: tuple[Any, ...]) -> float:
    total, *others = _decimal((first, *rest))
    for value in others:
        if op == "+":
            total += value
        elif op == "-":
            total -= value
        elif op == "*":
            total *= value
        else:
            if value == 0:
                raise FuncError("decimal division by 0")
            total /= value
    return _float(total)


def _round(value: Any, places: int, *round_on: Any) -> float:
    threshold = to_float(round_on[0]) if round_on else 0.5
    number = to_float(value)
    scale = 10**places
    whole = math.floor(number * scale)
    frac = number * scale - whole
    return (whole + (1 if frac >= threshold else 0)) / scale


def _seq(*params: Any) -> str:
    ints = [to_int(p) for p in params]
    if len(ints) == 1:
        start, step, end = 1, 1, ints[0]
    elif len(ints) == 2:
        start, end = ints
        step = 1 if end >= start else -1
    elif len(ints) == 3:
        start, step, end = ints
    else:
        return ""
    if step == 0 or (end - start) * step < 0:
        return ""
    return " ".join(str(i) for i in range(start, end + (1 if step > 0 else -1), step))


def _chunk(size: int, items: Any) -> list[list[Any]]:
    if not isinstance(items, list | tuple):
        raise FuncError(f"Cannot chunk type {go_type(items)}")
    return [list(items[i : i + size]) for i in range(0, len(items), max(size, 1))]


def _sprig_slice(items: Any, *indices: Any) -> list[Any]:
    if not isinstance(items, list | tuple):
        kind = "string" if isinstance(items, str) else go_type(items)
        raise FuncError(f"list should be type of slice or array but {kind}")
    bounds = [to_int(i) for i in indices]
    start = bounds[0] if bounds else 0
    end = bounds[1] if len(bounds) > 1 else len(items)
    return list(items[start:end])


def _url_parse(text: str) -> dict[str, Any]:
    parts = urlsplit(text)
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    return {
        "scheme": parts.scheme,
        "host": parts.netloc.rpartition("@")[2],
        "hostname": parts.hostname or "",
        "path": parts.path,
        "query": parts.query,
        "opaque": "",
        "fragment": parts.fragment,
        "userinfo": userinfo,
    }


def _url_join(parts: dict[str, Any]) -> str:
    host = strval(parts.get("host", ""))
    user = strval(parts.get("userinfo", ""))
    netloc = f"{user}@{host}" if user else host
    return urlunsplit(
        (
            strval(parts.get("scheme", "")),
            netloc,
            strval(parts.get("path", "")),
            strval(parts.get("query", "")),
            strval(parts.get("fragment", "")),
        )
    )


def _pkcs12_key(password: str, data: str) -> str:
    try:
        key, _cert, _cas = pkcs12.load_key_and_certificates(
            data.encode("utf-8", "surrogateescape"), password.encode() or None
        )
    except ValueError as exc:
        raise FuncError(f"unable to decode pkcs12 with password: pkcs12: {exc}") from None
    if key is None:
        raise FuncError(
            "unable to decode pkcs12 with password: pkcs12: expected exactly one key bag"
        )
    raw = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem_encode("PRIVATE KEY", raw)


def _pkcs12_cert(password: str, data: str) -> str:
    try:
        _key, cert, cas = pkcs12.load_key_and_certificates(
            data.encode("utf-8", "surrogateescape"), password.encode() or None
        )
    except ValueError as exc:
        raise FuncError(
            f"unable to decode pkcs12 certificate with password: pkcs12: {exc}"
        ) from None
    if cert is None:
        raise FuncError("unable to decode pkcs12 certificate with password: pkcs12: no certificate")
    blocks = [cert, *cas]
    text = "".join(
        pem_encode("CERTIFICATE", c.public_bytes(serialization.Encoding.DER)) for c in blocks
    )
    try:
        chain = ordered_chain(text)
    except FuncError:
        return text
    return "".join(
        pem_encode("CERTIFICATE", c.public_bytes(serialization.Encoding.DER)) for c in chain
    )


def _abbrev(width: int, text: str) -> str:
    if width < 4:
        raise FuncError("minimum abbreviation width is 4")
    return text if len(text) <= width else text[: width - 3] + "..."


def _initials(text: str) -> str:
    return "".join(word[0] for word in text.split() if word)


def _untitle(text: str) -> str:
    out, previous = [], " "
    for ch in text:
        out.append(ch.lower() if previous.isspace() else ch)
        previous = ch
    return "".join(out)


def _octal(value: Any) -> int:
    """sprig `toDecimal`: the value read as an octal number (0 when it is not one)."""
    try:
        return int(sprint_value(value), 8)
    except ValueError:
        return 0


def _must(name: str) -> Func:
    return SPRIG[name]


def _pluck(name: str, *dicts: Any) -> list[Any]:
    return [d[name] for d in dicts if isinstance(d, dict) and name in d]


MORE: dict[str, Func] = {
    **{
        f"must{n[0].upper()}{n[1:]}": _must(n)
        for n in (
            "first",
            "last",
            "rest",
            "initial",
            "reverse",
            "uniq",
            "without",
            "has",
            "push",
            "append",
            "prepend",
            "compact",
            "merge",
            "mergeOverwrite",
            "regexFind",
            "regexFindAll",
            "regexReplaceAll",
            "regexReplaceAllLiteral",
            "regexSplit",
        )
    },
    "slice": Func(_sprig_slice, (A,), A),
    "mustSlice": Func(_sprig_slice, (A,), A),
    "any": Func(lambda *v: any(not empty(x) for x in v), (), A),
    "all": Func(lambda *v: all(not empty(x) for x in v), (), A),
    "pluck": Func(_pluck, (S,), M),
    "plural": Func(lambda one, many, n: one if n == 1 else many, (S, S, N)),
    "seq": Func(_seq, (), A),
    "chunk": Func(_chunk, (N, A)),
    "mustChunk": Func(_chunk, (N, A)),
    "deepCopy": Func(copy.deepcopy, (A,)),
    "mustDeepCopy": Func(copy.deepcopy, (A,)),
    "hello": Func(lambda: "Hello!", ()),
    "osBase": Func(_go_base, (S,)),
    "osClean": Func(_go_clean, (S,)),
    "osDir": Func(_go_dir, (S,)),
    "osExt": Func(_go_ext, (S,)),
    "osIsAbs": Func(lambda p: p.startswith("/"), (S,)),
    "abbrev": Func(_abbrev, (N, S)),
    "initials": Func(_initials, (S,)),
    "untitle": Func(_untitle, (S,)),
    "swapcase": Func(str.swapcase, (S,)),
    "typeIsLike": Func(lambda t, v: go_type(v) in (t, t.lstrip("*")), (S, A)),
    "addf": Func(lambda *v: _fold("+", 0, v), (), A),
    "add1f": Func(lambda v: _fold("+", v, (1,)), (A,)),
    "subf": Func(lambda a, *v: _fold("-", a, v), (A,), A),
    "mulf": Func(lambda a, *v: _fold("*", a, v), (A,), A),
    "divf": Func(lambda a, *v: _fold("/", a, v), (A,), A),
    "maxf": Func(lambda a, *v: max(to_float(x) for x in (a, *v)), (A,), A),
    "minf": Func(lambda a, *v: min(to_float(x) for x in (a, *v)), (A,), A),
    "floor": Func(lambda v: float(math.floor(to_float(v))), (A,)),
    "ceil": Func(lambda v: float(math.ceil(to_float(v))), (A,)),
    "round": Func(_round, (A, N), A),
    "untilStep": Func(lambda a, b, s: list(range(a, b, s)) if s else [], (N, N, N)),
    "randInt": Func(lambda lo, hi: lo + secrets.randbelow(hi - lo), (N, N)),
    "randBytes": Func(lambda n: base64.b64encode(secrets.token_bytes(n)).decode(), (N,)),
    "urlParse": Func(_url_parse, (S,)),
    "urlJoin": Func(_url_join, (M,)),
    "pkcs12key": Func(lambda data: _pkcs12_key("", data), (S,)),
    "pkcs12keyPass": Func(_pkcs12_key, (S, S)),
    "pkcs12cert": Func(lambda data: _pkcs12_cert("", data), (S,)),
    "pkcs12certPass": Func(_pkcs12_cert, (S, S)),
    "toDecimal": Func(_octal, (A,)),
}
