"""Judge one client run: its exit, what it sent (the mock's journal), what it delivered.

Every check returns plain problem strings; an empty list means the run conforms to the step's
`client` block. Some checks apply to every run: a hang (killed at the adapter's limit) and a crash
(killed by a signal, an interpreter traceback, a Go panic) are always problems, and a failure
must never leave a delivery behind.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.adapters import Delivery as Delivered
from conformance.adapters import Output
from conformance.client_runner.process import ProcessResult
from conformance.runner.judge import check_body, check_header
from conformance.scenarios.model import ClientExpectation, Delivery, HeaderMatcher
from mockserver.admin.redaction import Redactor

TOKEN_PLACEHOLDER = "${token}"
CRASH_MARKERS = (
    re.compile(rb"^Traceback \(most recent call last\):", re.M),
    re.compile(rb"^panic: ", re.M),
    re.compile(rb"^goroutine \d+ \[", re.M),
)
# Long values are searched for by their start: any 12 characters of it count as a leak.
SECRET_PREFIX = 1024
# Variables a shell or exec wrapper adds on its own; not deliveries.
ENV_NOISE = ("PWD", "OLDPWD", "SHLVL", "_")


@dataclass(frozen=True)
class Observation:
    """Everything the harness saw of one client run."""

    process: ProcessResult
    exchanges: Sequence[Mapping[str, Any]]
    output: Output | None
    value_name: str | None
    delivered: Delivered | None
    record: Mapping[str, Any] | None
    file_modes: Mapping[str, int] = field(default_factory=dict)


def judge(
    expect: ClientExpectation, seen: Observation, *, token: str, ca_pems: Mapping[str, bytes]
) -> list[str]:
    """Problems of this run against the step's client block (empty: it conforms)."""
    problems = _ending(expect, seen)
    problems += _delivery(expect, seen)
    problems += _sent(expect, seen, token, ca_pems)
    problems += _counts(expect, seen)
    problems += _report(expect, seen)
    # Every step, not only those naming leak-secret: a secret printed on any failure path is a
    # leak (the token, ca.crt and the store values the mock holds).
    problems += _leaks(expect, seen, token, ca_pems)
    return problems


# -- how the process ended -----------------------------------------------------------------------


def _ending(expect: ClientExpectation, seen: Observation) -> list[str]:
    proc = seen.process
    if proc.timed_out:
        return [f"hang: still running after the adapter's limit of {proc.duration:.1f} s; killed"]
    problems = []
    crash = crash_reason(proc)
    if crash is not None:
        problems.append(f"crash: {crash}")
    if expect.outcome == "success" and proc.returncode != 0:
        problems.append(
            f"exit status {proc.returncode}, expected 0 (success); stderr: {tail(proc.stderr)}"
        )
    if expect.outcome == "failure" and proc.returncode == 0:
        problems.append("exit status 0, expected a failure (non-zero exit)")
    return problems


def crash_reason(proc: ProcessResult) -> str | None:
    """Why the run counts as a crash rather than a clean failure, or None."""
    if proc.killed_by_signal:
        return f"killed by signal {-(proc.returncode or 0)}"
    for marker in CRASH_MARKERS:
        if marker.search(proc.stderr):
            return f"stderr shows a crash: {tail(proc.stderr)}"
    return None


def tail(data: bytes, limit: int = 300) -> str:
    text = data.decode("utf-8", "backslashreplace").strip()
    return text if len(text) <= limit else "…" + text[-limit:]


# -- delivery ------------------------------------------------------------------------------------


def _delivery(expect: ClientExpectation, seen: Observation) -> list[str]:
    problems = []
    wrote = wrote_output(seen)
    if expect.outcome == "failure" or "write-output" in expect.must_not:
        if wrote:
            problems.append(f"delivered output although the fetch failed: {wrote}")
    if "exec" in expect.must_not and seen.record is not None:
        problems.append("ran the wrapped program although the fetch failed")
    if expect.outcome == "success" and expect.delivers is not None and seen.output is not None:
        problems += _compare(expect.delivers, seen)
    if expect.outcome == "success" and expect.inputs.program_args and seen.record is not None:
        argv = list(seen.record.get("argv") or [])
        if argv != list(expect.inputs.program_args):
            problems.append(
                f"the program got arguments {argv!r}, expected {list(expect.inputs.program_args)!r}"
            )
    if expect.private_files:
        loose = {n: oct(m) for n, m in seen.file_modes.items() if m & 0o077}
        if loose:
            problems.append(f"files readable by others than their owner: {loose}")
    return problems


def wrote_output(seen: Observation) -> str:
    """What counts as output on a failure: any file, a program run, a JSON object on stdout."""
    if seen.record is not None:
        return "the wrapped program was run"
    if seen.file_modes:
        return "files " + ", ".join(sorted(seen.file_modes))
    if (
        seen.output is not None
        and seen.output.source == "stdout"
        and seen.delivered is not None
        and seen.delivered.values
    ):
        return "values on stdout"
    return ""


def _compare(want: Delivery, seen: Observation) -> list[str]:
    assert seen.output is not None
    delivered = seen.delivered or Delivered({})
    got = {
        k: v
        for k, v in delivered.values.items()
        if not (seen.output.source == "env" and k in ENV_NOISE)
    }
    problems = [f"delivery: {p}" for p in delivered.problems]
    if want.values is not None:
        expected = {
            seen.output.variable(k) if seen.output.source == "env" else k: v.encode("utf-8")
            for k, v in want.values.items()
        }
    else:
        data = want.data if want.data is not None else (want.text or "").encode("utf-8")
        expected = {seen.value_name or "value": data}
    for name, value in expected.items():
        if name not in got:
            problems.append(f"{name}: not delivered")
        elif got[name] != value:
            problems.append(f"{name}: delivered {got[name]!r}, expected {value!r}")
    extra = sorted(set(got) - set(expected))
    if extra:
        problems.append(f"also delivered, but not in the answer: {extra}")
    return problems


# -- what was sent -------------------------------------------------------------------------------


def request_target(entry: Mapping[str, Any]) -> str:
    """The request target as the client sent it (path plus `?query` when there was one)."""
    query = entry.get("query")
    return f"{entry.get('path', '')}?{query}" if query else str(entry.get("path", ""))


def _header(entry: Mapping[str, Any], name: str) -> str | None:
    for key, value in (entry.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _sent(
    expect: ClientExpectation, seen: Observation, token: str, ca_pems: Mapping[str, bytes]
) -> list[str]:
    sends = expect.sends
    if sends is None:
        return []
    if not seen.exchanges:
        return ["sent no request the mock could record"] if expect.outcome == "success" else []
    problems = []
    for i, entry in enumerate(seen.exchanges, 1):
        where = f"request {i}"
        if sends.method is not None and entry.get("method") != sends.method:
            problems.append(f"{where}: method {entry.get('method')}, expected {sends.method}")
        target = request_target(entry)
        if sends.path is not None and target != sends.path:
            problems.append(f"{where}: path {target!r}, expected {sends.path!r}")
        for name, matcher in sends.headers:
            if matcher.kind == "exact" and TOKEN_PLACEHOLDER in str(matcher.arg):
                matcher = HeaderMatcher("exact", str(matcher.arg).replace(TOKEN_PLACEHOLDER, token))
            problem = check_header(matcher, _header(entry, name))
            if problem is not None:
                problems.append(f"{where}: header {name}: {problem}")
        if sends.body is not None:
            body = str(entry.get("body", "")).encode("utf-8", "surrogateescape")
            problem = check_body(sends.body, body, ca_pems)
            if problem is not None:
                problems.append(f"{where}: body: {problem}")
    return problems


def _counts(expect: ClientExpectation, seen: Observation) -> list[str]:
    n = len(seen.exchanges)
    problems = []
    if expect.requests is not None and n != expect.requests:
        problems.append(f"sent {n} requests, expected exactly {expect.requests}")
    if expect.max_requests is not None and n > expect.max_requests:
        problems.append(f"sent {n} requests, expected at most {expect.max_requests}")
    if "repeat-request" in expect.must_not and n > 1:
        first = (seen.exchanges[0].get("response") or {}).get("status")
        if not (n == 2 and first == 401):
            problems.append(f"sent the request {n} times (only one retry after a 401 is allowed)")
    return problems


# -- the failure report --------------------------------------------------------------------------


def answer_message(entry: Mapping[str, Any]) -> str | None:
    """The decoded message of an error answer: a JSON string, or an object's `message`."""
    body = (entry.get("response") or {}).get("body")
    try:
        value = json.loads(body) if isinstance(body, str) else None
    except ValueError:
        return None
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        return value["message"]
    return value if isinstance(value, str) else None


def _report(expect: ClientExpectation, seen: Observation) -> list[str]:
    if not expect.report or seen.process.timed_out:
        return []
    answered = [e for e in seen.exchanges if e.get("response")]
    if not answered:
        return []
    last = answered[-1]
    said = (seen.process.stdout + b"\n" + seen.process.stderr).decode("utf-8", "replace")
    problems = []
    status = str(last["response"]["status"])
    if "status" in expect.report and not re.search(rf"(?<!\d){status}(?!\d)", said):
        problems.append(f"the failure report does not name the status {status}")
    message = answer_message(last)
    if "message" in expect.report and message:
        forms = (message, json.dumps(message)[1:-1], json.dumps(message, ensure_ascii=False)[1:-1])
        if not any(f in said for f in forms):
            problems.append(f"the failure report does not include the server's message {message!r}")
    return problems


# -- secrets in the client's own output ----------------------------------------------------------


def planted_secrets(expect: ClientExpectation, seen: Observation, token: str) -> list[str]:
    """The token, the expected values, and every string a 200 answer carried."""
    out = [token]
    if expect.delivers is not None:
        if expect.delivers.text is not None:
            out.append(expect.delivers.text)
        out += list((expect.delivers.values or {}).values())
    for entry in seen.exchanges:
        response = entry.get("response") or {}
        if response.get("status") == 200:
            out += _strings(_loads(response.get("body")))
    return [s[:SECRET_PREFIX] for s in out if s]


def _leaks(
    expect: ClientExpectation, seen: Observation, token: str, ca_pems: Mapping[str, bytes]
) -> list[str]:
    scanner = Redactor()
    scanner.add_many(planted_secrets(expect, seen, token))
    # the ca.crt member as sent (standard base64 of the PEM), by its start
    scanner.add_many([base64.b64encode(pem).decode()[:SECRET_PREFIX] for pem in ca_pems.values()])
    streams = {"stderr": seen.process.stderr}
    delivers_on_stdout = seen.output is not None and seen.output.source == "stdout"
    if not (delivers_on_stdout and expect.outcome == "success"):
        streams["stdout"] = seen.process.stdout
    problems = []
    for name, data in streams.items():
        text = data[-64 * 1024 :].decode("utf-8", "replace")
        scrubbed = scanner.scrub(text)
        if scrubbed != text:
            problems.append(f"{name} shows a secret or the token: {tail(scrubbed.encode())}")
    return problems


def _loads(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
