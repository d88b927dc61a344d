"""Parsing what a step expects: the server's answer (matchers, state, upstream) and the client's
behaviour (outcome, delivery, what it sends, its inputs)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from conformance.scenarios.checker import MISSING, Checker, join
from conformance.scenarios.model import (
    BodyMatcher,
    ClientExpectation,
    ClientInputs,
    Delivery,
    Expectation,
    HeaderMatcher,
    SentRequest,
    StateExpectation,
    UpstreamExpectation,
    UpstreamRequest,
)
from conformance.scenarios.vocabulary import (
    CLIENT_OUTCOMES,
    DELIVERY_SOURCES,
    MUST_NOT,
    OUTCOMES,
    REPORT_ITEMS,
    SERVER_URL_FORMS,
    STATE_KINDS,
    TOKEN_FILE_FORMS,
)


def _body_matcher(c: Checker, value: Any, path: str) -> BodyMatcher | None:
    kind, arg = (
        next(iter(value.items())) if isinstance(value, dict) and len(value) == 1 else ("", None)
    )
    parser = _BODY_PARSERS.get(kind)
    if parser is None:
        c.bad(path, f"a mapping with exactly one of: {', '.join(_BODY_PARSERS)}", value)
        return None
    parsed = parser(c, arg, join(path, str(kind)))
    return None if parsed is MISSING else BodyMatcher(kind, parsed)


def _exact(c: Checker, arg: Any, sub: str) -> Any:
    return arg if c.string(arg, sub, what="the body as text") else MISSING


def _json_string(c: Checker, arg: Any, sub: str) -> Any:
    ops = ("equals", "prefix", "contains", "any")
    if not isinstance(arg, dict) or len(arg) != 1 or next(iter(arg)) not in ops:
        c.bad(sub, f"a mapping with exactly one of: {', '.join(ops)}", arg)
        return MISSING
    op, text = next(iter(arg.items()))
    if op == "any":
        if text is not True:
            c.bad(join(sub, "any"), "true", text)
            return MISSING
    elif not isinstance(text, str):
        c.bad(join(sub, op), "a string", text)
        return MISSING
    return dict(arg)


def _json_object_of_strings(c: Checker, arg: Any, sub: str) -> Any:
    d = c.mapping(arg if arg is not None else {}, sub, (), ("keys",))
    if d is None:
        return MISSING
    if "keys" in d and c.string_list(d["keys"], join(sub, "keys"), what="key") is None:
        return MISSING
    return dict(d)


def _json_object(c: Checker, arg: Any, sub: str) -> Any:
    if not isinstance(arg, dict):
        c.bad(sub, "a mapping of members the object must contain", arg)
        return MISSING
    return arg


def _true(c: Checker, arg: Any, sub: str) -> Any:
    if arg is not True:
        c.bad(sub, "true", arg)
        return MISSING
    return True


def _binary(c: Checker, arg: Any, sub: str) -> Any:
    d = c.mapping(arg, sub, ("base64",), ())
    if d is None:
        return MISSING
    try:
        base64.b64decode(d["base64"], validate=True)
    except (ValueError, TypeError):
        c.bad(join(sub, "base64"), "standard base64", d["base64"])
        return MISSING
    return d["base64"]


def _ca_crt_of(c: Checker, arg: Any, sub: str) -> Any:
    return arg if c.string(arg, sub, what="a cluster name") else MISSING


def _all_of(c: Checker, arg: Any, sub: str) -> Any:
    if not isinstance(arg, list) or not arg:
        c.bad(sub, "a non-empty list of body matchers", arg)
        return MISSING
    subs = [_body_matcher(c, m, join(sub, i)) for i, m in enumerate(arg)]
    return MISSING if None in subs else tuple(subs)


# Each body matcher kind and the parser of its argument, in the order errors list them.
_BODY_PARSERS: dict[str, Callable[[Checker, Any, str], Any]] = {
    "exact": _exact,
    "json_string": _json_string,
    "json_object_of_strings": _json_object_of_strings,
    "json_object": _json_object,
    "json_null": _true,
    "json": lambda c, arg, sub: arg,
    "empty": _true,
    "any": _true,
    "binary": _binary,
    "ca_crt_of": _ca_crt_of,
    "all_of": _all_of,
}


def _header_matchers(
    c: Checker, value: Any, path: str
) -> tuple[tuple[str, HeaderMatcher], ...] | None:
    kinds = ("exact", "prefix", "media_type", "set", "includes", "present", "absent")
    if not isinstance(value, dict):
        c.bad(path, "a mapping of header names to matchers", value)
        return None
    out = []
    for name, spec in value.items():
        sub = join(path, str(name))
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in kinds:
            c.bad(sub, f"a mapping with exactly one of: {', '.join(kinds)}", spec)
            continue
        kind, arg = next(iter(spec.items()))
        if kind in ("present", "absent"):
            if arg is not True:
                c.bad(join(sub, kind), "true", arg)
                continue
        elif kind in ("set", "includes"):
            if c.string_list(arg, join(sub, kind), what="value") is None:
                continue
            arg = tuple(arg)
        elif c.string(arg, join(sub, kind)) is None:
            continue
        out.append((str(name), HeaderMatcher(kind, arg)))
    return tuple(out) if len(out) == len(value) else None


def _state(c: Checker, value: Any, path: str) -> StateExpectation | None:
    d = c.mapping(
        value,
        path,
        ("kind",),
        ("namespace", "name", "labels", "count", "delta", "annotations", "credential"),
    )
    if d is None:
        return None
    kind = c.string(d["kind"], join(path, "kind"), STATE_KINDS)
    ns = d.get("namespace")
    if ns is not None and c.string(ns, join(path, "namespace")) is None:
        return None
    name = d.get("name")
    if name is not None and c.string(name, join(path, "name")) is None:
        return None
    labels = c.string_map(d.get("labels", {}), join(path, "labels"))
    count = delta = None
    if "count" in d:
        count = c.integer(d["count"], join(path, "count"), 0, 10**6, "a count ≥ 0")
    if "delta" in d:
        delta = c.integer(d["delta"], join(path, "delta"), -(10**6), 10**6, "an integer")
    annotations = c.string_list(
        d.get("annotations", []), join(path, "annotations"), what="annotation key"
    )
    credential = d.get("credential")
    if credential is not None and not isinstance(credential, dict):
        c.bad(join(path, "credential"), "a mapping", credential)
        return None
    if "count" not in d and "delta" not in d and credential is None:
        c.bad(path, "at least one of count, delta, credential")
        return None
    if (
        kind is None
        or labels is None
        or annotations is None
        or ("count" in d and count is None)
        or ("delta" in d and delta is None)
    ):
        return None
    return StateExpectation(kind, ns, name, labels, count, delta, annotations, credential)


def _upstream(c: Checker, value: Any, path: str) -> UpstreamExpectation | None:
    d = c.mapping(value, path, ("cluster", "requests"), ())
    if d is None:
        return None
    cluster = c.string(d["cluster"], join(path, "cluster"), what="a cluster name")
    reqs = d["requests"]
    if not isinstance(reqs, list) or not reqs:
        c.bad(join(path, "requests"), "a non-empty list", reqs)
        return None
    out = []
    for i, r in enumerate(reqs):
        sub = join(join(path, "requests"), i)
        rd = c.mapping(r, sub, ("method", "path"), ("headers",))
        if rd is None:
            continue
        method = c.string(rd["method"], join(sub, "method"), what="an HTTP method")
        p = c.string(
            rd["path"], join(sub, "path"), pattern=re.compile(r"^/"), what="a path starting with /"
        )
        headers = _header_matchers(c, rd.get("headers", {}), join(sub, "headers"))
        if method is not None and p is not None and headers is not None:
            out.append(UpstreamRequest(method, p, headers))
    if cluster is None or len(out) != len(reqs):
        return None
    return UpstreamExpectation(cluster, tuple(out))


_EXPECT_KEYS = (
    "status",
    "outcome",
    "body",
    "headers",
    "state",
    "upstream",
    "status_same_as",
    "any_of",
)


def parse_expect(c: Checker, value: Any, path: str, nested: bool = False) -> Expectation | None:
    d = c.mapping(value, path, (), _EXPECT_KEYS if not nested else _EXPECT_KEYS[:-1])
    if d is None:
        return None
    before = len(c.errors)
    status = c.status(d["status"], join(path, "status")) if "status" in d else None
    outcome = c.string(d.get("outcome", "response"), join(path, "outcome"), OUTCOMES)
    body = _body_matcher(c, d["body"], join(path, "body")) if "body" in d else None
    headers = _header_matchers(c, d.get("headers", {}), join(path, "headers"))
    state_in = d.get("state", [])
    if not isinstance(state_in, list):
        c.bad(join(path, "state"), "a list of state expectations", state_in)
        state_in = []
    state = tuple(
        s
        for i, v in enumerate(state_in)
        if (s := _state(c, v, join(join(path, "state"), i))) is not None
    )
    up_in = d.get("upstream", [])
    if not isinstance(up_in, list):
        c.bad(join(path, "upstream"), "a list of upstream expectations", up_in)
        up_in = []
    upstream = tuple(
        u
        for i, v in enumerate(up_in)
        if (u := _upstream(c, v, join(join(path, "upstream"), i))) is not None
    )
    same = None
    if "status_same_as" in d:
        same = c.string(d["status_same_as"], join(path, "status_same_as"), what="a step name")
    alternatives: list[Expectation] = []
    if "any_of" in d:
        if not isinstance(d["any_of"], list) or len(d["any_of"]) < 2:
            c.bad(join(path, "any_of"), "a list of at least two expectations", d["any_of"])
        else:
            for i, alt in enumerate(d["any_of"]):
                e = parse_expect(c, alt, join(join(path, "any_of"), i), nested=True)
                if e is not None:
                    alternatives.append(e)
    if not nested and not d:
        c.bad(path, "at least one of: " + ", ".join(_EXPECT_KEYS))
    if len(c.errors) != before or outcome is None or headers is None:
        return None
    return Expectation(status, outcome, body, headers, state, upstream, same, tuple(alternatives))


def parse_client(c: Checker, value: Any, path: str) -> ClientExpectation | None:
    d = c.mapping(
        value,
        path,
        ("outcome",),
        (
            "delivers",
            "sends",
            "requests",
            "report",
            "must_not",
            "inputs",
            "max_requests",
            "private_files",
        ),
    )
    if d is None:
        return None
    before = len(c.errors)
    outcome = c.string(d["outcome"], join(path, "outcome"), CLIENT_OUTCOMES)
    delivers = None
    if "delivers" in d:
        sub = join(path, "delivers")
        dd = d["delivers"]
        if (
            not isinstance(dd, dict)
            or len(dd) != 1
            or next(iter(dd)) not in ("text", "base64", "values")
        ):
            c.bad(sub, "a mapping with exactly one of: text, base64, values", dd)
        else:
            key, arg = next(iter(dd.items()))
            if key == "text" and isinstance(arg, str):
                delivers = Delivery(text=arg)
            elif key == "base64" and isinstance(arg, str):
                delivers = Delivery(data=base64.b64decode(arg))
            elif key == "values":
                values = c.string_map(arg, join(sub, "values"))
                delivers = Delivery(values=values) if values is not None else None
            else:
                c.bad(join(sub, key), "a string", arg)
        if outcome == "failure":
            c.bad(sub, "no delivery when the outcome is failure")
    sends = None
    if "sends" in d:
        sub = join(path, "sends")
        sd = c.mapping(d["sends"], sub, (), ("method", "path", "headers", "body"))
        if sd is not None:
            method = sd.get("method")
            if method is not None:
                c.string(method, join(sub, "method"), what="an HTTP method")
            spath = sd.get("path")
            if spath is not None:
                c.string(spath, join(sub, "path"), what="a path")
            headers = _header_matchers(c, sd.get("headers", {}), join(sub, "headers"))
            body = _body_matcher(c, sd["body"], join(sub, "body")) if "body" in sd else None
            sends = SentRequest(method, spath, headers or (), body)
    requests = None
    if "requests" in d:
        requests = c.integer(d["requests"], join(path, "requests"), 0, 100, "a count 0–100")
    report = c.string_list(d.get("report", []), join(path, "report"), REPORT_ITEMS) or ()
    must_not = c.string_list(d.get("must_not", []), join(path, "must_not"), MUST_NOT) or ()
    inputs = _client_inputs(c, d.get("inputs", {}), join(path, "inputs"))
    most = None
    if "max_requests" in d:
        most = c.integer(d["max_requests"], join(path, "max_requests"), 0, 100, "a count 0–100")
    private = d.get("private_files", False)
    if not isinstance(private, bool):
        c.bad(join(path, "private_files"), "true or false", private)
    if len(c.errors) != before or inputs is None or outcome is None:
        return None
    return ClientExpectation(
        outcome, delivers, sends, requests, report, must_not, inputs, most, private
    )


def _client_inputs(c: Checker, value: Any, path: str) -> ClientInputs | None:
    d = c.mapping(value, path, (), ("token_file", "server_url", "program_args", "delivery"))
    if d is None:
        return None
    before = len(c.errors)
    token = c.string(d.get("token_file", "plain"), join(path, "token_file"), TOKEN_FILE_FORMS)
    url = c.string(d.get("server_url", "plain"), join(path, "server_url"), SERVER_URL_FORMS)
    args = d.get("program_args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        c.bad(join(path, "program_args"), "a list of strings", args)
    delivery = None
    if "delivery" in d:
        delivery = c.string(d["delivery"], join(path, "delivery"), DELIVERY_SOURCES)
    if len(c.errors) != before:
        return None
    return ClientInputs(token or "plain", url or "plain", tuple(args), delivery)
