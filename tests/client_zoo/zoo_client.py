"""A small Federation client (standard library only) for the client suite's self-test.

Without ZOO_MUTANT it conforms. ZOO_MUTANT=<step>:<operator> switches on exactly one mutant of
the registry next to this file (points.py): every step below asks the registry which variant of
it runs, so the suite must fail a requirement for each one. ZOO_HITS=<file> records the steps a
run reaches (the mutation run's coverage).

    zoo_client.py store       COMMON --store S --key K --out FILE
    zoo_client.py generator   COMMON --namespace N --kind K --name N -- PROGRAM [ARG ...]
    zoo_client.py revoke-self COMMON --namespace N --kind K --name N
    zoo_client.py revoke-of   COMMON --namespace N --owner O
    COMMON: --url URL --token-file FILE --ca-file FILE [--server-ca FILE] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import importlib.util
import json
import os
import ssl
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

MAX_BODY = 1 << 20
PATH_SAFE = "$&+,:;=@"  # what Go leaves unescaped in a path segment (besides unreserved)


def _load_points() -> ModuleType:
    """points.py by its location: `python -I` leaves this folder off the import path."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "points.py")
    spec = importlib.util.spec_from_file_location("zoo_points", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["zoo_points"] = module
    spec.loader.exec_module(module)
    return module


points = _load_points()
P: Any = None  # the run's Points, set in main()


class Failed(Exception):
    """The request or the delivery failed on `path` (a failure path of points.PATHS)."""

    def __init__(self, path: str, message: str, answer: bytes = b"") -> None:
        super().__init__(message)
        self.path = path
        self.answer = answer


@dataclass
class Run:
    """One invocation: its options, the token, the wrapped program, the last exchange."""

    opts: argparse.Namespace
    token: str
    program: list[str]
    body: bytes = b""
    answers: list[bytes] = field(default_factory=list)


def main() -> int:
    global P
    try:
        P = points.Points.from_environment()
    except ValueError as exc:
        print(f"zoo: {exc}", file=sys.stderr)
        return 2
    argv = sys.argv[1:]
    program = argv[argv.index("--") + 1 :] if "--" in argv else []
    opts = parse(argv[: argv.index("--")] if "--" in argv else argv)
    run = Run(opts, read_token(opts.token_file), program)
    try:
        return perform(run)
    except Failed as exc:
        return failed(run, exc)


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="zoo_client")
    p.add_argument("op", choices=("store", "generator", "revoke-self", "revoke-of"))
    for name in ("url", "token-file", "ca-file"):
        p.add_argument(f"--{name}", required=True)
    for name in ("server-ca", "store", "key", "out", "namespace", "kind", "name", "owner"):
        p.add_argument(f"--{name}")
    p.add_argument("--timeout", type=float, default=10.0)
    return p.parse_args(argv)


# -- the output channels -------------------------------------------------------------------------


def channels(run: Run, path: str, value: bytes) -> str | None:
    """The output-channel operator of this path, its leaks already done."""
    op = P.variant(points.path_step(path))
    leaked = {
        "token": run.token.encode(),
        "ca": run.body,
        "value": value,
    }
    if op is not None and op.endswith(("-to-stdout", "-to-stderr")):
        what, _, where = op.partition("-to-")
        stream = sys.stdout if where == "stdout" else sys.stderr
        stream.write(f"zoo: {what}: {leaked[what].decode('utf-8', 'replace')}\n")
        stream.flush()
    return op


def failed(run: Run, exc: Failed) -> int:
    """Report a failure; its path's operator decides what else happens."""
    print(f"zoo: error: {exc}", file=sys.stderr)
    op = channels(run, exc.path, exc.answer)
    if op == "partial-output" and run.opts.out:
        write(run.opts.out, exc.answer)
    if op == "exec-anyway" and run.program:
        sys.stderr.flush()
        os.execve(run.program[0], run.program, dict(os.environ))
    if op == "crash":
        raise RuntimeError(str(exc))
    return 0 if op == "exit-zero" else 1


# -- request building ----------------------------------------------------------------------------


def read_token(path: str) -> str:
    with open(path, encoding="ascii") as handle:
        text = handle.read()
    op = P.variant("token-file")
    if op == "not-read":
        return ""
    return text if op == "keep-newline" else text.strip()


def ca_member(opts: argparse.Namespace) -> str:
    op = P.variant("ca-encoding")
    with open(opts.server_ca if op == "server-ca" else opts.ca_file, "rb") as handle:
        pem = handle.read()
    if op == "raw-pem":
        return pem.decode("ascii")
    if op == "der":
        return base64.b64encode(ssl.PEM_cert_to_DER_cert(pem.decode("ascii"))).decode("ascii")
    encode = base64.urlsafe_b64encode if op in ("urlsafe", "urlsafe-unpadded") else base64.b64encode
    text = encode(pem).decode("ascii")
    return text.rstrip("=") if op in ("unpadded", "urlsafe-unpadded") else text


def segment(param: str, text: str, keep_slash: bool = False) -> str:
    op = P.variant(points.param_step(param))
    if op == "unescaped":
        return text
    if op == "dropped":
        return ""
    if op in ("lower-case", "upper-case"):
        text = text.lower() if op == "lower-case" else text.upper()
    safe = PATH_SAFE + ("/" if keep_slash and op != "escape-slash" else "")
    if op == "plus-for-space":
        return urllib.parse.quote_plus(text, safe=safe)
    if op == "latin1":
        return urllib.parse.quote(text, safe=safe, encoding="latin-1", errors="replace")
    quoted = urllib.parse.quote(text, safe=safe)
    return urllib.parse.quote(quoted, safe=safe) if op == "double-escape" else quoted


def target(opts: argparse.Namespace) -> tuple[str, str, dict[str, str]]:
    """Method, path and extra body members of the operation."""
    if opts.op == "store":
        store, key = segment("store", opts.store), segment("key", opts.key, True)
        return "POST", f"/secretstore/{store}/secrets/{key}", {}
    if opts.op == "revoke-of":
        op = P.variant("revoke-members")
        members = {"owner": opts.owner, "namespace": opts.namespace}
        if op == "no-namespace":
            del members["namespace"]
        if op == "no-owner":
            del members["owner"]
        if op == "upper-case":
            members = {k.capitalize(): v for k, v in members.items()}
        return "POST", f"/generators/{segment('revoke-namespace', opts.namespace)}/revoke", members
    namespace = segment("namespace", opts.namespace)
    kind, name = segment("kind", opts.kind), segment("name", opts.name, True)
    method = "DELETE" if opts.op == "revoke-self" else "POST"
    return method, f"/generators/{namespace}/{kind}/{name}", {}


def method_of(method: str) -> str:
    op = P.variant("method")
    if op == "get":
        return "GET"
    if op == "swap":
        return "POST" if method == "DELETE" else "DELETE"
    return method


def request_body(run: Run, members: dict[str, str]) -> bytes:
    op = P.variant("body-member")
    ca = (
        {}
        if op == "dropped"
        else {
            {"upper-case": "CA.CRT", "underscore": "ca_crt"}.get(op or "", "ca.crt"): ca_member(
                run.opts
            )
        }
    )
    return json.dumps({**ca, **members}).encode()


def request_headers(token: str) -> dict[str, str]:
    scheme = {
        "lower-case": "bearer ",
        "upper-case": "BEARER ",
        "no-space": "Bearer",
        "two-spaces": "Bearer  ",
        "bare": "",
    }.get(P.variant("bearer-scheme") or "", "Bearer ")
    headers = {"Authorization": scheme + token}
    content = P.variant("content-type")
    if content != "missing":
        headers["Content-Type"] = "text/plain" if content == "text-plain" else "application/json"
    workload = P.variant("workload-token")
    if workload is not None:
        headers["x-workload-token"] = token if workload == "bearer-copy" else ""
    return headers


def connect(opts: argparse.Namespace) -> tuple[http.client.HTTPConnection, str]:
    url = urllib.parse.urlsplit(opts.url)
    timeout = None if P.variant("timeout") == "none" else opts.timeout
    join = P.variant("url-join")
    prefix = url.path if join == "keep-slash" else url.path.rstrip("/")
    if join == "extra-slash":
        prefix += "/"
    if url.scheme == "https":
        context = ssl.create_default_context(cafile=opts.server_ca)
        verify = P.variant("tls-verify")
        if verify is not None:
            context.check_hostname = False
        if verify == "off":
            context.verify_mode = ssl.CERT_NONE
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            url.hostname or "", url.port, timeout=timeout, context=context
        )
        return conn, prefix
    return http.client.HTTPConnection(url.hostname or "", url.port, timeout=timeout), prefix


def send(run: Run) -> tuple[int, bytes]:
    opts = run.opts
    method, path, members = target(opts)
    method = method_of(method)
    body = run.body = request_body(run, members)
    headers = request_headers(run.token)
    if opts.op == "revoke-self":
        op = P.variant("delete-body")
        if op == "empty":
            body, headers = b"", {"Authorization": headers["Authorization"]}
        elif op == "no-ca":
            body = b"{}"
    conn, prefix = connect(opts)
    where = f"{method} {path}"
    try:
        try:
            conn.request(method, prefix + path, body=body, headers=headers)
            answer = conn.getresponse()
            unbounded = P.variant("answer-size") == "unbounded"
            data = answer.read() if unbounded else answer.read(MAX_BODY + 1)
        except ssl.SSLError as exc:
            raise Failed("tls", f"{where}: TLS: {exc.__class__.__name__}") from exc
        except TimeoutError as exc:
            raise Failed("timeout", f"{where}: no answer within {opts.timeout} s") from exc
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise Failed("dropped", f"{where}: {type(exc).__name__}: {exc}") from exc
        if len(data) > MAX_BODY and not unbounded:
            raise Failed("oversized", f"{where}: the answer is larger than {MAX_BODY} bytes", data)
        run.answers.append(data)
        return answer.status, data
    finally:
        conn.close()


def exchange(run: Run) -> tuple[int, bytes]:
    """Send, with the one retry after a 401 and no other repeat."""
    retry = P.variant("retry")
    try:
        status, data = send(run)
    except Failed as exc:
        if (exc.path, retry) == ("timeout", "after-timeout"):
            status, data = send(run)
        elif (exc.path, retry) == ("dropped", "after-drop"):
            for _ in range(2):
                try:
                    return send(run)
                except Failed:
                    pass
            status, data = send(run)
        else:
            raise
    if status == 401 and retry != "no-401-retry":
        time.sleep(0.05)
        status, data = send(run)
        if status == 401 and retry == "twice-after-401":
            status, data = send(run)
    elif 400 <= status < 500 and retry == "after-4xx":
        status, data = send(run)
    if status == 500 and run.opts.op == "generator" and retry == "after-500":
        status, data = send(run)
    return status, data


# -- answers -------------------------------------------------------------------------------------


def perform(run: Run) -> int:
    status, data = exchange(run)
    opts = run.opts
    if opts.op == "revoke-self" and status == 204:
        if P.on("revoke-answer", "204-is-failure"):
            raise Failed("malformed", "the DELETE answer is 204, expected 200 null", data)
        return succeeded(run, b"")
    if status != 200:
        path = "http-5xx" if status >= 500 else "http-4xx"
        report = P.variant("error-report")
        said = "" if report == "no-message" else f" {message(data)}"
        shown = "" if report == "no-status" else f" {status}"
        raise Failed(path, f"the server answered{shown}{said}", data)
    if opts.op == "store":
        return store_answer(run, data)
    value = decode(data)
    if opts.op == "generator":
        return deliver(run, generator_values(value, data))
    answer = P.variant("revoke-answer")
    if opts.op == "revoke-self" and (value is not None or answer == "null-is-failure"):
        raise Failed("malformed", "the DELETE answer is not null", data)
    if opts.op == "revoke-of" and (not isinstance(value, str) or answer == "string-is-failure"):
        raise Failed("malformed", "the revoke answer is not a JSON string", data)
    return succeeded(run, data)


def decode(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise Failed("malformed", "the 200 answer is not JSON", data) from exc


def store_answer(run: Run, data: bytes) -> int:
    op = P.variant("store-answer")
    if op == "keep-quotes":
        return stored(run, data)
    try:
        value = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        if op == "non-json-raw":
            return stored(run, data)
        if op == "lenient-truncated" and data.startswith(b'"'):
            return stored(run, json.loads(data + b'"').encode("utf-8"))
        raise Failed("malformed", "the 200 answer is not JSON", data) from exc
    if value is None and op == "null-as-empty":
        value = ""
    if not isinstance(value, str):
        if op != "coerce":
            raise Failed("malformed", "the 200 answer is not a JSON string", data)
        value = json.dumps(value)
    return stored(run, transform(op, value).encode("utf-8"))


def transform(op: str | None, value: str) -> str:
    """A decoded string as an answer-decoding operator leaves it."""
    if op == "double-decode":
        try:
            again = json.loads(value)
        except ValueError:
            return value
        return again if isinstance(again, str) else json.dumps(again)
    if op == "trim":
        return value.strip()
    if op == "strip-newline":
        return value[:-1] if value.endswith("\n") else value
    if op == "add-newline":
        return value + "\n"
    if op == "keep-quotes":
        return json.dumps(value)
    return value


def stored(run: Run, value: bytes) -> int:
    write(run.opts.out, value)
    return succeeded(run, value)


def generator_values(value: Any, data: bytes) -> dict[str, str]:
    op = P.variant("generator-answer")
    if op == "array-accepted" and isinstance(value, list):
        value = {str(i): v for i, v in enumerate(value)}
    if not isinstance(value, dict):
        raise Failed("malformed", "the 200 answer is not a JSON object", data)
    out = {}
    for key, member in value.items():
        if member is None and op == "null-as-empty":
            member = ""
        if not isinstance(member, str):
            if op != "coerce":
                raise Failed("malformed", "the 200 answer is not a JSON object of strings", data)
            member = str(member)
        else:
            member = transform(op, member)
        out[key] = member
    return out


def message(data: bytes) -> str:
    try:
        value = json.loads(data)
    except ValueError:
        return repr(data[:200])
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        return value["message"]
    return value if isinstance(value, str) else repr(value)


# -- delivery ------------------------------------------------------------------------------------


def succeeded(run: Run, value: bytes) -> int:
    channels(run, "success", value)
    return 0


def write(path: str, data: bytes) -> None:
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".zoo.")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    mode = {"world-readable": 0o644, "group-readable": 0o640}.get(P.variant("file-mode") or "")
    if mode is not None:
        os.chmod(tmp, mode)
    os.replace(tmp, path)


def deliver(run: Run, values: dict[str, str]) -> int:
    if not run.program:
        raise Failed("malformed", "no program to run")
    env = dict(os.environ)
    op = P.variant("deliver-env")
    for key, value in values.items():
        name = "".join(c if c.isalnum() and c.isascii() else "_" for c in key)
        env[name if op == "raw-names" else name.upper()] = value
    if op == "token-in-env":
        env["ESI_TOKEN"] = run.token
    channels(run, "success", json.dumps(values).encode())
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(run.program[0], run.program, env)
    return 127


if __name__ == "__main__":
    sys.exit(main())
