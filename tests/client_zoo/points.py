"""The client zoo's registry of steps, and the mutation operators applied to them.

Every step of the zoo client that a defect could get wrong asks `Points.variant(step)` which
variant is switched on (None: its correct reading). A mutant is one (step, operator) pair. The
operator families apply generically: every path parameter gets every escaping operator, every
outcome path (success and each failure path) every output-channel operator, every failure path
every failure operator; the remaining steps list their own variants. A new parameter, path or
step gets its mutants by being listed here.

Standard library only: the zoo client (run as `python -I`, so without the project on its path)
loads this file by its location. `ZOO_MUTANT=<step>:<operator>` switches one mutant on;
`ZOO_HITS=<file>` makes the client append every step it reaches, one per line (its coverage).
"""

from __future__ import annotations

import os
from typing import NamedTuple

# The path parameters, each escaped on its own (`path-<name>` steps).
PARAMS: dict[str, str] = {
    "store": "the store name of R1's path",
    "key": "the secret key of R1's path (`/` kept raw)",
    "namespace": "the namespace of R2/R3's path",
    "kind": "the generator kind of R2/R3's path",
    "name": "the generator name of R2/R3's path",
    "revoke-namespace": "the namespace of R4's path",
}
PARAM_OPERATORS: dict[str, str] = {
    "unescaped": "the value is put into the path as it is",
    "plus-for-space": "form encoding: a space becomes `+`",
    "escape-slash": "`/` is percent-encoded too",
    "double-escape": "the value is percent-encoded twice",
    "latin1": "non-ASCII characters are percent-encoded as Latin-1, not UTF-8",
    "lower-case": "the value is lower-cased",
    "upper-case": "the value is upper-cased",
    "dropped": "the segment is left out (empty)",
}

# Where a run ends (`on-<path>` steps): the success path and every failure path.
PATHS: dict[str, str] = {
    "success": "a 200 delivered",
    "http-4xx": "an HTTP 4xx answer",
    "http-5xx": "an HTTP 5xx answer",
    "dropped": "a connection closed without an answer",
    "timeout": "no answer within the client's time limit",
    "tls": "the server's certificate refused",
    "malformed": "a 200 that is not the JSON the operation needs",
    "oversized": "an answer larger than 1 MiB",
}
CHANNEL_OPERATORS: dict[str, str] = {
    "token-to-stdout": "the token is printed to stdout",
    "token-to-stderr": "the token is printed to stderr",
    "ca-to-stdout": "the request body (with ca.crt) is printed to stdout",
    "ca-to-stderr": "the request body (with ca.crt) is printed to stderr",
    "value-to-stdout": "the answer (the value) is printed to stdout",
    "value-to-stderr": "the answer (the value) is printed to stderr",
}
FAILURE_OPERATORS: dict[str, str] = {
    "partial-output": "what was received (or nothing) is written to the value file",
    "exit-zero": "the run exits 0",
    "exec-anyway": "the wrapped program is started without values",
    "crash": "the run ends in an unhandled exception (a traceback)",
}

# Steps with variants of their own.
STEPS: dict[str, dict[str, str]] = {
    "method": {
        "get": "GET instead of POST or DELETE",
        "swap": "POST and DELETE swapped",
    },
    "url-join": {
        "keep-slash": "the server URL's trailing `/` is kept (double slash)",
        "extra-slash": "a `/` is always added between base and route",
    },
    "bearer-scheme": {
        "lower-case": "`bearer <token>`",
        "upper-case": "`BEARER <token>`",
        "no-space": "`Bearer<token>`",
        "two-spaces": "`Bearer  <token>`",
        "bare": "the token without a scheme",
    },
    "token-file": {
        "keep-newline": "the file's trailing newline stays in the token",
        "not-read": "the token is empty",
    },
    "ca-encoding": {
        "raw-pem": "ca.crt is the PEM text",
        "urlsafe": "URL-safe base64",
        "unpadded": "standard base64 without `=` padding",
        "urlsafe-unpadded": "URL-safe base64 without padding",
        "der": "base64 of the DER certificate",
        "server-ca": "the server CA file is sent instead of the client-cluster CA",
    },
    "body-member": {
        "upper-case": "the member is `CA.CRT`",
        "underscore": "the member is `ca_crt`",
        "dropped": "the body is `{}`",
    },
    "revoke-members": {
        "no-namespace": "R4's body has owner only",
        "no-owner": "R4's body has namespace only",
        "upper-case": "R4's members are `Owner` and `Namespace`",
    },
    "delete-body": {
        "empty": "DELETE is sent without a body",
        "no-ca": "DELETE is sent with `{}`",
    },
    "workload-token": {
        "empty": "an empty x-workload-token header is always sent",
        "bearer-copy": "the bearer token is sent as x-workload-token",
    },
    "content-type": {
        "missing": "no Content-Type",
        "text-plain": "Content-Type text/plain",
    },
    "tls-verify": {
        "off": "the server certificate is not verified",
        "no-hostname": "the chain is verified but not the host name",
    },
    "timeout": {
        "none": "no time limit on requests",
    },
    "retry": {
        "no-401-retry": "a 401 is final",
        "twice-after-401": "a 401 is retried twice",
        "after-4xx": "any 4xx is retried once",
        "after-500": "a generator POST is repeated after a 500",
        "after-timeout": "a request is repeated after a timeout",
        "after-drop": "a request is repeated (three times) after a dropped connection",
    },
    "store-answer": {
        "keep-quotes": "the answer is written as received, JSON quotes and all",
        "double-decode": "a value that is JSON is decoded once more",
        "trim": "surrounding whitespace is trimmed",
        "strip-newline": "one trailing newline is removed",
        "add-newline": "a newline is added",
        "coerce": "a non-string answer is written as its JSON text",
        "null-as-empty": "`null` is written as an empty value",
        "non-json-raw": "a 200 that is not JSON is written as the value",
        "lenient-truncated": "an unterminated JSON string is written as far as it goes",
    },
    "generator-answer": {
        "coerce": "non-string members are turned into strings",
        "keep-quotes": "each member is delivered as its JSON text",
        "trim": "surrounding whitespace of each member is trimmed",
        "double-decode": "a member that is JSON is decoded once more",
        "array-accepted": "an array is delivered under its indexes",
        "null-as-empty": "a `null` member is delivered empty",
    },
    "revoke-answer": {
        "null-is-failure": "200 null from DELETE is taken as a failure",
        "string-is-failure": "200 with a string from revoke-of is taken as a failure",
        "204-is-failure": "204 from DELETE is taken as a failure",
    },
    "answer-size": {
        "unbounded": "an answer of any size is read and used",
    },
    "error-report": {
        "no-status": "the failure report leaves out the status",
        "no-message": "the failure report leaves out the server's message",
    },
    "deliver-env": {
        "token-in-env": "the program's environment also gets the token (ESI_TOKEN)",
        "raw-names": "variables keep the key's own spelling (no upper-casing)",
    },
    "file-mode": {
        "world-readable": "the value file is written 0644",
        "group-readable": "the value file is written 0640",
    },
}

# Mutants that break a SHOULD rule only (a SHOULD requirement may kill them); all others break a
# MUST or MUST-SEC rule and must fail one.
SHOULD_ONLY: dict[str, str] = {
    "answer-size:unbounded": "CLI-ERR-004 (CC-16) is SHOULD",
    "on-oversized:partial-output": "delivering an oversized answer breaks CLI-ERR-004 only",
    "on-oversized:exit-zero": "accepting an oversized answer breaks CLI-ERR-004 only",
    "revoke-answer:204-is-failure": "CLI-REVOKE-003 (CC-15) is SHOULD",
    "file-mode:world-readable": "CLI-OUT-003 (CC-27) is SHOULD",
    "file-mode:group-readable": "CLI-OUT-003 (CC-27) is SHOULD",
}


# The part of the request each request-building step makes, as a scenario's `sends` block checks
# it (`method`, `path`, `body`, `header:<name>`): the mutation run tries the steps that check
# that part first, so a kill names the requirement about it where one exists.
JUDGED_BY: dict[str, str] = {
    **{f"path-{param}": "path" for param in PARAMS},
    "method": "method",
    "url-join": "path",
    "bearer-scheme": "header:authorization",
    "token-file": "header:authorization",
    "ca-encoding": "body",
    "body-member": "body",
    "revoke-members": "body",
    "delete-body": "body",
    "workload-token": "header:x-workload-token",
    "content-type": "header:content-type",
}


def param_step(name: str) -> str:
    return f"path-{name}"


def path_step(name: str) -> str:
    return f"on-{name}"


def variants() -> dict[str, dict[str, str]]:
    """Every step and its operators: the generic families first, then the own variants."""
    found: dict[str, dict[str, str]] = {}
    for param in PARAMS:
        found[param_step(param)] = dict(PARAM_OPERATORS)
    for path in PATHS:
        ops = dict(CHANNEL_OPERATORS)
        if path != "success":
            ops.update(FAILURE_OPERATORS)
        found[path_step(path)] = ops
    found.update(STEPS)
    return found


def step_text(step: str) -> str:
    """What a step is, for the generated table."""
    if step.startswith("path-") and step[5:] in PARAMS:
        return "escaping of " + PARAMS[step[5:]]
    if step.startswith("on-") and step[3:] in PATHS:
        return "the output channels on " + PATHS[step[3:]]
    return {
        "method": "the request method",
        "url-join": "joining the server URL and the route",
        "bearer-scheme": "the Authorization header's scheme",
        "token-file": "reading the token file",
        "ca-encoding": "encoding the client-cluster CA file as ca.crt",
        "body-member": "the body's ca.crt member",
        "revoke-members": "R4's owner and namespace members",
        "delete-body": "R3's DELETE body",
        "workload-token": "the x-workload-token header",
        "content-type": "the Content-Type header",
        "tls-verify": "verifying the server's certificate",
        "timeout": "the client's time limit",
        "retry": "when a request is sent again",
        "store-answer": "decoding R1's answer",
        "generator-answer": "decoding R2's answer",
        "revoke-answer": "accepting R3/R4's answer",
        "answer-size": "the answer size limit",
        "error-report": "the failure report",
        "deliver-env": "the wrapped program's environment",
        "file-mode": "the value file's mode",
    }[step]


class Mutant(NamedTuple):
    """One step and one of its operators."""

    step: str
    operator: str

    @property
    def name(self) -> str:
        return f"{self.step}:{self.operator}"

    @classmethod
    def parse(cls, text: str) -> Mutant:
        step, _, operator = text.partition(":")
        mutant = cls(step, operator)
        if mutant not in all_mutants():
            raise ValueError(f"unknown mutant {text!r}: see tests/client_zoo/points.py")
        return mutant


def all_mutants() -> list[Mutant]:
    """Every step under every operator registered for it."""
    return [Mutant(step, op) for step, ops in variants().items() for op in ops]


class Points:
    """The zoo client's steps: at most one mutant on; the steps reached appended to a file."""

    def __init__(self, mutant: Mutant | None = None, hits: str | None = None) -> None:
        self.mutant = mutant
        self.hits = hits
        self._seen: set[str] = set()
        self._steps = variants()

    @classmethod
    def from_environment(cls) -> Points:
        """ZOO_MUTANT and ZOO_HITS as the harness set them (ValueError: an unknown mutant)."""
        text = os.environ.get("ZOO_MUTANT", "")
        return cls(Mutant.parse(text) if text else None, os.environ.get("ZOO_HITS") or None)

    def variant(self, step: str) -> str | None:
        """The operator switched on at `step`, or None for the correct reading."""
        assert step in self._steps, step
        if self.hits and step not in self._seen:
            self._seen.add(step)
            with open(self.hits, "a", encoding="ascii") as handle:
                handle.write(step + "\n")
        if self.mutant is not None and self.mutant.step == step:
            return self.mutant.operator
        return None

    def on(self, step: str, operator: str) -> bool:
        """Whether `operator` is switched on at `step` (the step counts as reached)."""
        return self.variant(step) == operator


def read_hits(path: str) -> set[str]:
    """The steps a run appended to its hits file."""
    try:
        with open(path, encoding="ascii") as handle:
            return {line.strip() for line in handle if line.strip()}
    except FileNotFoundError:
        return set()
