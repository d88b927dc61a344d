"""Go values as templates see them, and Go's `fmt` printing of them (`Sprint`, `Sprintln`,
`Sprintf` with the verbs templates use), including Go's bad-verb texts (`%!d(string=x)`).

Python stands in for Go types: `str` string, `bytes` []byte, `bool`, `int` int, `float`
float64, `None` nil, `list` []interface{}, `dict` map[string]interface{}, `StrMap`
map[string]string (the data ESO passes to templates) and `NO_VALUE` (an invalid value, printed
`<no value>`)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any


class _NoValue:
    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE: Any = _NoValue()


class StrMap(dict[str, str]):
    """A Go `map[string]string`: a missing key indexes to "" (not nil)."""


def go_type(value: Any) -> str:
    """The `%T` name of a value."""
    if value is None or value is NO_VALUE:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes | bytearray):
        return "[]uint8"
    if isinstance(value, StrMap):
        return "map[string]string"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    return type(value).__name__


def format_float(value: float, verb: str = "g", prec: int = -1) -> str:
    """`strconv.FormatFloat(f, verb, prec, 64)` for `g` (prec -1: shortest), `f` and `e`."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if verb == "f":
        return f"{value:.{6 if prec < 0 else prec}f}"
    if verb == "e":
        return f"{value:.{6 if prec < 0 else prec}e}"
    if prec >= 0:
        return f"{value:.{prec or 1}g}"
    return go_v_float(value)


def go_v_float(value: float) -> str:
    """`%v` of a float64: shortest digits; `%e` form when the decimal exponent is < -4 or
    >= 6 (strconv's rule for the shortest `g`), so 1e6 prints `1e+06`."""
    if value != value or value in (float("inf"), float("-inf")):
        return format_float(value)
    sign = "-" if str(value).startswith("-") else ""
    if value == 0:
        return sign + "0"
    tup = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(str(d) for d in tup.digits)
    exponent = int(tup.exponent)
    point = len(digits) + exponent
    exp10 = point - 1
    if exp10 < -4 or exp10 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def sprint_value(value: Any, verb: str = "v") -> str:
    """`fmt.Sprint` of one value (`%v`)."""
    if value is NO_VALUE:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_v_float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return "[" + " ".join(str(b) for b in value) + "]"
    if isinstance(value, dict):
        items = " ".join(f"{sprint_value(k)}:{sprint_value(value[k])}" for k in sorted(value))
        return f"map[{items}]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(sprint_value(v) for v in value) + "]"
    return str(value)


def sprint(args: list[Any]) -> str:
    """`fmt.Sprint`: a space between operands when neither is a string."""
    out = []
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(sprint_value(arg))
    return "".join(out)


def sprintln(args: list[Any]) -> str:
    """`fmt.Sprintln`: spaces always, and a newline."""
    return " ".join(sprint_value(a) for a in args) + "\n"


_VERB = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d*))?([a-zA-Z%])")


def _bad(verb: str, arg: Any) -> str:
    return f"%!{verb}({go_type(arg)}={sprint_value(arg)})"


def _pad(text: str, flags: str, width: int | None) -> str:
    if width is None or len(text) >= width:
        return text
    if "-" in flags:
        return text.ljust(width)
    if "0" in flags and text[:1] in "+-" and text[1:2].isdigit():
        return text[0] + text[1:].rjust(width - 1, "0")
    if "0" in flags and (text[:1].isdigit()):
        return text.rjust(width, "0")
    return text.rjust(width)


def go_quote(text: str) -> str:
    """`strconv.Quote`: Go escapes, non-printable runes as `\\u`/`\\x`."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch in "\a\b\f\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif not ch.isprintable() and ch != " ":
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _one(verb: str, flags: str, prec: int | None, arg: Any) -> str:
    if verb == "v":
        if isinstance(arg, float) and prec is not None:
            return format_float(arg, "g", prec)
        return sprint_value(arg)
    if verb == "T":
        return go_type(arg)
    if isinstance(arg, list | tuple) and verb != "s" and verb != "q":
        return "[" + " ".join(_one(verb, flags, prec, a) for a in arg) + "]"
    if verb in "sq":
        if isinstance(arg, bytes | bytearray):
            arg = arg.decode("utf-8", "surrogateescape")
        if isinstance(arg, list | tuple):
            return "[" + " ".join(_one(verb, flags, prec, a) for a in arg) + "]"
        if not isinstance(arg, str):
            if verb == "s" and isinstance(arg, dict):
                return sprint_value(arg)
            if verb == "q" and isinstance(arg, int) and not isinstance(arg, bool):
                return "'" + chr(arg) + "'"
            return _bad(verb, arg)
        if prec is not None:
            arg = arg[:prec]
        return go_quote(arg) if verb == "q" else arg
    if verb == "t":
        return ("true" if arg else "false") if isinstance(arg, bool) else _bad(verb, arg)
    if verb in "dboxXc":
        if isinstance(arg, bool) or not isinstance(arg, int):
            if verb in "xX" and isinstance(arg, str | bytes):
                data = arg.encode("utf-8", "surrogateescape") if isinstance(arg, str) else arg
                text = data.hex()
                return text.upper() if verb == "X" else text
            return _bad(verb, arg)
        if verb == "c":
            return chr(arg)
        base = {"d": "d", "b": "b", "o": "o", "x": "x", "X": "X"}[verb]
        text = format(abs(arg), base)
        if "#" in flags and verb in "xX":
            text = ("0x" if verb == "x" else "0X") + text
        sign = "-" if arg < 0 else "+" if "+" in flags else " " if " " in flags else ""
        return sign + text
    if verb in "feEgG":
        if isinstance(arg, bool) or not isinstance(arg, int | float):
            return _bad(verb, arg)
        value = float(arg)
        text = format_float(value, verb.lower(), -1 if prec is None else prec)
        if verb == "E":
            text = text.upper()
        if "+" in flags and value >= 0:
            text = "+" + text
        return text
    return f"%!{verb}({go_type(arg)}={sprint_value(arg)})"


def sprintf(fmt: str, args: list[Any]) -> str:
    """`fmt.Sprintf` for the verbs `%v %s %q %d %b %o %x %X %c %t %f %e %g %T %%`."""
    out: list[str] = []
    index = 0
    pos = 0
    for match in _VERB.finditer(fmt):
        out.append(fmt[pos : match.start()])
        pos = match.end()
        flags, width_text, prec_text, verb = match.groups()
        if verb == "%":
            out.append("%")
            continue
        width = None
        if width_text == "*":
            width = args[index] if index < len(args) and isinstance(args[index], int) else None
            index += 1
        elif width_text:
            width = int(width_text)
        prec = None
        if prec_text is not None:
            if prec_text == "*":
                prec = args[index] if index < len(args) else 0
                index += 1
            else:
                prec = int(prec_text or "0")
        if index >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        out.append(_pad(_one(verb, flags, prec, args[index]), flags, width))
        index += 1
    out.append(fmt[pos:])
    if index < len(args):
        extra = ", ".join(f"{go_type(a)}={sprint_value(a)}" for a in args[index:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
