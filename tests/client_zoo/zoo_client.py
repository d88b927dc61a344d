"""A small Federation client (standard library only) for the client suite's self-test.

Without ZOO_DEFECT it conforms. ZOO_DEFECT=<name> switches on exactly one defect (see DEFECTS),
each a mistake real clients make, so the suite must fail the matching requirement.

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
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

DEFECTS = {
    "get-method": "GET instead of POST for a store fetch",
    "no-escaping": "the key is put into the path as it is",
    "double-slash": "no trailing / trimmed from the server URL",
    "lowercase-kind": "the generator kind is lower-cased",
    "lowercase-bearer": "'bearer' in lower case",
    "token-newline": "the token is used with its trailing newline",
    "raw-pem-ca": "ca.crt is the raw PEM text",
    "urlsafe-ca": "ca.crt is URL-safe base64 without padding",
    "delete-without-body": "DELETE is sent without a body",
    "no-401-retry": "a 401 is final",
    "empty-workload-token": "an empty x-workload-token header is always sent",
    "skip-verify": "the server certificate is not verified",
    "no-timeout": "no time limit on requests",
    "keep-quotes": "the store answer is written as received, JSON quotes and all",
    "coerce-values": "non-string generator members are turned into strings",
    "retry-500": "a generator POST is repeated after a 500",
    "revoke-without-namespace": "revoke-of sends owner only",
    "null-is-failure": "200 null from DELETE is taken as a failure",
    "output-on-404": "the error body is written to the output file after a 404",
    "garbage-200": "a 200 that is not JSON is written as the value",
    "crash-on-drop": "a dropped connection ends in an unhandled exception",
    "exec-on-failure": "the program is started even when the fetch failed",
    "print-token": "the token is printed in error messages",
}
DEFECT = os.environ.get("ZOO_DEFECT", "")
MAX_BODY = 1 << 20
PATH_SAFE = "$&+,:;=@"  # what Go leaves unescaped in a path segment (besides unreserved)


class Failed(Exception):
    """The request or the delivery failed; nothing has been written."""


def main() -> int:
    if DEFECT and DEFECT not in DEFECTS:
        print(f"zoo: unknown ZOO_DEFECT {DEFECT!r}", file=sys.stderr)
        return 2
    argv = sys.argv[1:]
    program = argv[argv.index("--") + 1 :] if "--" in argv else []
    opts = parse(argv[: argv.index("--")] if "--" in argv else argv)
    token = read_token(opts.token_file)
    try:
        return run(opts, token, program)
    except Failed as exc:
        message = str(exc)
        if DEFECT == "print-token":
            message += f" (token {token})"
        print(f"zoo: error: {message}", file=sys.stderr)
        if DEFECT == "exec-on-failure" and program:
            subprocess.run(program, check=False)
        return 1


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="zoo_client")
    p.add_argument("op", choices=("store", "generator", "revoke-self", "revoke-of"))
    for name in ("url", "token-file", "ca-file"):
        p.add_argument(f"--{name}", required=True)
    for name in ("server-ca", "store", "key", "out", "namespace", "kind", "name", "owner"):
        p.add_argument(f"--{name}")
    p.add_argument("--timeout", type=float, default=10.0)
    return p.parse_args(argv)


def read_token(path: str) -> str:
    with open(path, encoding="ascii") as handle:
        text = handle.read()
    return text if DEFECT == "token-newline" else text.strip()


def ca_member(path: str) -> str:
    with open(path, "rb") as handle:
        pem = handle.read()
    if DEFECT == "raw-pem-ca":
        return pem.decode("ascii")
    if DEFECT == "urlsafe-ca":
        return base64.urlsafe_b64encode(pem).decode("ascii").rstrip("=")
    return base64.b64encode(pem).decode("ascii")


def segment(text: str, keep_slash: bool = False) -> str:
    if DEFECT == "no-escaping":
        return text
    return urllib.parse.quote(text, safe=PATH_SAFE + ("/" if keep_slash else ""))


def target(opts: argparse.Namespace) -> tuple[str, str, dict[str, str]]:
    """Method, path and extra body members of the operation."""
    if opts.op == "store":
        method = "GET" if DEFECT == "get-method" else "POST"
        return method, f"/secretstore/{segment(opts.store)}/secrets/{segment(opts.key, True)}", {}
    if opts.op == "revoke-of":
        members = {"owner": opts.owner, "namespace": opts.namespace}
        if DEFECT == "revoke-without-namespace":
            del members["namespace"]
        return "POST", f"/generators/{segment(opts.namespace)}/revoke", members
    kind = opts.kind.lower() if DEFECT == "lowercase-kind" else opts.kind
    path = f"/generators/{segment(opts.namespace)}/{segment(kind)}/{segment(opts.name, True)}"
    return ("DELETE" if opts.op == "revoke-self" else "POST"), path, {}


def connect(opts: argparse.Namespace) -> tuple[http.client.HTTPConnection, str]:
    url = urllib.parse.urlsplit(opts.url)
    timeout = None if DEFECT == "no-timeout" else opts.timeout
    prefix = url.path if DEFECT == "double-slash" else url.path.rstrip("/")
    if url.scheme == "https":
        context = ssl.create_default_context(cafile=opts.server_ca)
        if DEFECT == "skip-verify":
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(
            url.hostname, url.port, timeout=timeout, context=context
        ), prefix
    return http.client.HTTPConnection(url.hostname, url.port, timeout=timeout), prefix


def send(opts: argparse.Namespace, token: str) -> tuple[int, bytes]:
    method, path, members = target(opts)
    body = json.dumps({"ca.crt": ca_member(opts.ca_file), **members}).encode()
    headers = {
        "Authorization": ("bearer " if DEFECT == "lowercase-bearer" else "Bearer ") + token,
        "Content-Type": "application/json",
    }
    if DEFECT == "empty-workload-token":
        headers["x-workload-token"] = ""
    if method == "DELETE" and DEFECT == "delete-without-body":
        body, headers = b"", {"Authorization": headers["Authorization"]}
    conn, prefix = connect(opts)
    try:
        if DEFECT == "crash-on-drop":
            conn.request(method, prefix + path, body=body, headers=headers)
            answer = conn.getresponse()
            return answer.status, answer.read()
        try:
            conn.request(method, prefix + path, body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read(MAX_BODY + 1)
        except TimeoutError as exc:
            raise Failed(f"{method} {path}: no answer within {opts.timeout} s") from exc
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise Failed(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if len(data) > MAX_BODY:
            raise Failed(f"{method} {path}: the answer is larger than {MAX_BODY} bytes")
        return answer.status, data
    finally:
        conn.close()


def run(opts: argparse.Namespace, token: str, program: list[str]) -> int:
    status, data = send(opts, token)
    if status == 401 and DEFECT != "no-401-retry":
        time.sleep(0.05)
        status, data = send(opts, token)
    if status == 500 and opts.op == "generator" and DEFECT == "retry-500":
        status, data = send(opts, token)
    if opts.op == "revoke-self" and status == 204:
        return 0
    if status != 200:
        if status == 404 and DEFECT == "output-on-404" and opts.op == "store":
            write(opts.out, data)
        raise Failed(f"the server answered {status} {message(data)}")
    try:
        value = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        if DEFECT == "garbage-200" and opts.op == "store":
            write(opts.out, data)
            return 0
        raise Failed("the 200 answer is not JSON") from exc
    if opts.op == "store":
        if DEFECT == "keep-quotes":
            write(opts.out, data)
            return 0
        if not isinstance(value, str):
            raise Failed("the 200 answer is not a JSON string")
        write(opts.out, value.encode("utf-8"))
        return 0
    if opts.op == "generator":
        return deliver(generator_values(value), program)
    if opts.op == "revoke-self" and (value is not None or DEFECT == "null-is-failure"):
        raise Failed("the DELETE answer is not null")
    if opts.op == "revoke-of" and not isinstance(value, str):
        raise Failed("the revoke answer is not a JSON string")
    return 0


def generator_values(value: object) -> dict[str, str]:
    if DEFECT == "coerce-values":
        if isinstance(value, list):
            value = {str(i): v for i, v in enumerate(value)}
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise Failed("the 200 answer is not a JSON object of strings")
    return value


def message(data: bytes) -> str:
    try:
        value = json.loads(data)
    except ValueError:
        return repr(data[:200])
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        return value["message"]
    return value if isinstance(value, str) else repr(value)


def write(path: str, data: bytes) -> None:
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".zoo.")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def deliver(values: dict[str, str], program: list[str]) -> int:
    if not program:
        raise Failed("no program to run")
    env = dict(os.environ)
    for key, value in values.items():
        env["".join(c if c.isalnum() and c.isascii() else "_" for c in key).upper()] = value
    os.execve(program[0], program, env)
    return 127


if __name__ == "__main__":
    sys.exit(main())
