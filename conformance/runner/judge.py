"""Judging answers against a scenario: body and header matchers, the server's answer, state
changes and upstream requests.

Both runners judge with these functions (the client runner for what a client sends), so a
matcher means the same in either direction. Each check returns None or a list of one-line
problems; the scenario model stays pure data.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from conformance.scenarios.model import (
    BodyMatcher,
    Expectation,
    HeaderMatcher,
    StateExpectation,
    UpstreamExpectation,
)
from mockserver.federation.authn import Refusal, read_ca_crt


def _show_bytes(data: bytes, limit: int = 80) -> str:
    text = repr(data)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show_json(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _decode_json(body: bytes) -> tuple[bool, Any, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False, None, f"not UTF-8: {_show_bytes(body)}"
    try:
        return True, json.loads(text), ""
    except ValueError:
        return False, None, f"not JSON: {_show_bytes(body)}"


def _subset(want: Any, got: Any) -> bool:
    if isinstance(want, Mapping):
        return isinstance(got, Mapping) and all(
            k in got and _subset(v, got[k]) for k, v in want.items()
        )
    return bool(want == got)


def _obj_key(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata", {})
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def check_body(
    m: BodyMatcher, body: bytes, ca_pems: Mapping[str, bytes] | None = None
) -> str | None:
    """None when `body` matches, else a one-line reason (`ca_pems`: CA PEM by cluster name)."""
    pems = ca_pems or {}
    if m.kind == "all_of":
        return next((p for sub in m.arg if (p := check_body(sub, body, pems)) is not None), None)
    on_bytes = _ON_BYTES.get(m.kind)
    if on_bytes is not None:
        return on_bytes(m.arg, body)
    ok, value, problem = _decode_json(body)
    if m.kind == "ca_crt_of":  # reads the bytes as the server does, after the JSON check
        return _ca_crt_of(m.arg, body, value, pems) if ok else problem
    on_json = _ON_JSON.get(m.kind)
    if on_json is None:
        raise AssertionError(f"unknown body matcher {m.kind}")
    return on_json(m.arg, value, pems) if ok else problem


def _exact(arg: Any, body: bytes) -> str | None:
    want = arg.encode("utf-8")
    return (
        None if body == want else f"expected exactly {_show_bytes(want)}, got {_show_bytes(body)}"
    )


def _empty(arg: Any, body: bytes) -> str | None:
    return None if body == b"" else f"expected an empty body, got {_show_bytes(body)}"


def _binary(arg: Any, body: bytes) -> str | None:
    want = base64.b64decode(arg)
    if body == want:
        return None
    ok, value, _ = _decode_json(body)
    if ok and isinstance(value, str):
        try:
            if base64.b64decode(value, validate=True) == want:
                return None
        except ValueError:
            pass
    return f"expected the bytes {_show_bytes(want)} raw or base64-encoded, got {_show_bytes(body)}"


def _json(arg: Any, value: Any, pems: Mapping[str, bytes]) -> str | None:
    return None if value == arg else f"expected {_show_json(arg)}, got {_show_json(value)}"


def _json_null(arg: Any, value: Any, pems: Mapping[str, bytes]) -> str | None:
    return None if value is None else f"expected JSON null, got {_show_json(value)}"


def _json_string(arg: Any, value: Any, pems: Mapping[str, bytes]) -> str | None:
    if not isinstance(value, str):
        return f"expected a JSON string, got {_show_json(value)}"
    op, want = next(iter(arg.items()))
    good = {
        "any": True,
        "equals": value == want,
        "prefix": value.startswith(str(want)),
        "contains": str(want) in value,
    }[op]
    if good:
        return None
    return f"expected a string that {op} {_show_json(want)}, got {_show_json(value)}"


def _json_object_of_strings(arg: Any, value: Any, pems: Mapping[str, bytes]) -> str | None:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return f"expected a JSON object of strings, got {_show_json(value)}"
    keys = arg.get("keys")
    if keys is not None and sorted(value) != sorted(keys):
        return f"expected exactly the keys {sorted(keys)}, got {sorted(value)}"
    return None


def _json_object(arg: Any, value: Any, pems: Mapping[str, bytes]) -> str | None:
    if not isinstance(value, dict):
        return f"expected a JSON object, got {_show_json(value)}"
    if _subset(arg, value):
        return None
    return f"expected an object containing {_show_json(arg)}, got {_show_json(value)}"


def _ca_crt_of(arg: Any, body: bytes, value: Any, pems: Mapping[str, bytes]) -> str | None:
    """The body's `ca.crt` read as the real server binds it (docs/protocol.md §2.4: the mock's
    own reader, so `CA.CRT` is the same member and the last match wins)."""
    try:
        ca_crt = read_ca_crt(body, strict=False) if isinstance(value, dict) else ""
    except Refusal:
        ca_crt = ""
    if not ca_crt:
        return "expected a JSON object with a string ca.crt"
    pem = pems.get(arg)
    want = base64.b64encode(pem).decode("ascii") if pem is not None else None
    if ca_crt != want:
        return f"ca.crt is not the padded standard base64 of cluster {arg}'s CA PEM"
    return None


# Matchers on the raw bytes, and matchers on the decoded JSON (a body that is not JSON fails them).
_ON_BYTES: dict[str, Callable[[Any, bytes], str | None]] = {
    "any": lambda arg, body: None,
    "exact": _exact,
    "empty": _empty,
    "binary": _binary,
}
_ON_JSON: dict[str, Callable[[Any, Any, Mapping[str, bytes]], str | None]] = {
    "json": _json,
    "json_null": _json_null,
    "json_string": _json_string,
    "json_object_of_strings": _json_object_of_strings,
    "json_object": _json_object,
}


def check_header(m: HeaderMatcher, value: str | None) -> str | None:
    """None when the header value (None: absent) matches, else a reason."""
    kind, arg = m.kind, m.arg
    if kind == "absent":
        return None if value is None else f"expected no header, got {value!r}"
    if value is None:
        return "missing"
    if kind == "present":
        return None
    if kind == "exact":
        return None if value == arg else f"expected {arg!r}, got {value!r}"
    if kind == "prefix":
        return (
            None if value.startswith(arg) else f"expected a value starting {arg!r}, got {value!r}"
        )
    if kind == "media_type":
        media = value.split(";", 1)[0].strip().lower()
        return None if media == arg.lower() else f"expected media type {arg!r}, got {value!r}"
    items = {v.strip().upper() for v in value.split(",") if v.strip()}
    want = {str(v).upper() for v in arg}
    if kind == "set":
        return None if items == want else f"expected the set {sorted(want)}, got {value!r}"
    if kind == "includes":
        return None if want <= items else f"expected at least {sorted(want)}, got {value!r}"
    raise AssertionError(f"unknown header matcher {kind}")


# -- the server's answer -------------------------------------------------------------------------


def check_response(
    expect: Expectation,
    status: int | None,
    headers: Mapping[str, str],
    body: bytes,
    outcome: str = "response",
    earlier_status: Mapping[str, int] | None = None,
) -> list[str]:
    """Problems with an answer (empty when it conforms); state and upstream are separate.

    `outcome` is what happened on the wire: `response`, `no-response` (connection closed
    without an HTTP response) or `handshake-refused`. `earlier_status` maps step names to the
    statuses they got, for `status_same_as`.
    """
    earlier = earlier_status or {}
    problems = _own(expect, status, headers, body, outcome, earlier)
    if expect.any_of and not problems:
        alternatives = [_own(alt, status, headers, body, outcome, earlier) for alt in expect.any_of]
        if all(alternatives):
            problems.append(
                "no alternative matched: " + " | ".join("; ".join(p) for p in alternatives)
            )
    return problems


def _own(
    expect: Expectation,
    status: int | None,
    headers: Mapping[str, str],
    body: bytes,
    outcome: str,
    earlier: Mapping[str, int],
) -> list[str]:
    if outcome != expect.outcome:
        return [f"expected {expect.outcome}, got {outcome}"]
    if outcome != "response":
        return []
    problems = []
    if expect.status is not None and status not in expect.status:
        want = " or ".join(str(s) for s in expect.status)
        problems.append(f"status: expected {want}, got {status}")
    if expect.status_same_as is not None:
        other = earlier.get(expect.status_same_as)
        if other != status:
            problems.append(
                f"status: expected the same as step {expect.status_same_as!r} "
                f"({other}), got {status}"
            )
    lower = {k.lower(): v for k, v in headers.items()}
    for name, matcher in expect.headers:
        problem = check_header(matcher, lower.get(name.lower()))
        if problem is not None:
            problems.append(f"header {name}: {problem}")
    if expect.body is not None:
        problem = check_body(expect.body, body)
        if problem is not None:
            problems.append(f"body: {problem}")
    return problems


# -- state and upstream --------------------------------------------------------------------------


def select_state(
    expect: StateExpectation, objects: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The objects this expectation is about (kind, namespace, name, labels)."""
    out = []
    for obj in objects:
        meta = obj.get("metadata", {})
        if obj.get("kind") != expect.kind:
            continue
        if expect.namespace is not None and meta.get("namespace") != expect.namespace:
            continue
        if expect.name is not None and meta.get("name") != expect.name:
            continue
        labels = meta.get("labels") or {}
        if any(labels.get(k) != v for k, v in expect.labels.items()):
            continue
        out.append(obj)
    return out


def check_state(
    expect: StateExpectation,
    before: Sequence[Mapping[str, Any]],
    after: Sequence[Mapping[str, Any]],
) -> str | None:
    """None when the state change matches, else a reason (objects in Kubernetes shape)."""
    was, now = select_state(expect, before), select_state(expect, after)
    what = f"{expect.kind} {expect.describe()}"
    if expect.count is not None and len(now) != expect.count:
        return f"{what}: expected {expect.count} after the step, found {len(now)}"
    if expect.delta is not None and len(now) - len(was) != expect.delta:
        return (
            f"{what}: expected a change of {expect.delta:+d}, found {len(was)} before and "
            f"{len(now)} after"
        )
    new_names = {_obj_key(o) for o in now} - {_obj_key(o) for o in was}
    for obj in now:
        if expect.delta is not None and _obj_key(obj) not in new_names:
            continue
        annotations = obj.get("metadata", {}).get("annotations") or {}
        missing = [a for a in expect.annotations if a not in annotations]
        if missing:
            return f"{what}: {_obj_key(obj)} lacks annotations {missing}"
    if expect.credential is not None:
        if not now:
            return f"{what}: no such object"
        for obj in now:
            entries = (obj.get("spec") or {}).get("issuedCredentials") or []
            if not any(_subset(expect.credential, e) for e in entries):
                return f"{what}: no issued credential contains {_show_json(expect.credential)}"
    return None


def check_upstream(expect: UpstreamExpectation, journal: Sequence[Mapping[str, Any]]) -> str | None:
    """`journal`: the cluster's requests during the step, each `{method, path, headers}`."""
    position = 0
    for want in expect.requests:
        while position < len(journal):
            got = journal[position]
            position += 1
            if got.get("method") != want.method or got.get("path") != want.path:
                continue
            headers = {k.lower(): v for k, v in (got.get("headers") or {}).items()}
            problem = next(
                (
                    p
                    for name, m in want.headers
                    if (p := check_header(m, headers.get(name.lower()))) is not None
                ),
                None,
            )
            if problem is None:
                break
        else:
            return (
                f"cluster {expect.cluster} did not receive {want.method} {want.path} "
                "(with the expected headers, in order)"
            )
    return None
