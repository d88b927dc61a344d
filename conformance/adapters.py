"""Client adapters: how the harness runs a client under test for each operation it supports.

An adapter is a small YAML file (docs/client-adapters.md): per operation an argv with
placeholders, a time limit, and where the client puts what it fetched (files in an output folder,
a JSON object on stdout, or the environment of a program the harness supplies). An operation the
adapter does not declare makes the requirements that need it SKIP.

This module loads and validates adapters with precise errors, expands placeholders, and reads
what a client delivered. Running the process and judging the result is the client runner's job.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import string
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

API_VERSION = "harness.esi-federation.dev/v1alpha1"
KIND = "ClientAdapter"
BUILTIN_DIR = Path(__file__).resolve().parent / "adapters"
DEFAULT_TIMEOUT = 30.0
MAX_TIMEOUT = 600.0

STORE_GET = "store.get"
GENERATE = "generator.generate"
REVOKE_SELF = "generator.revoke_self"
REVOKE_OF = "generator.revoke_of"
OPERATIONS = (STORE_GET, GENERATE, REVOKE_SELF, REVOKE_OF)
FETCHES = (STORE_GET, GENERATE)

COMMON_PLACEHOLDERS = (
    "server_url", "token_file", "client_ca_file", "server_ca_file", "out_dir", "program",
    "program_args", "program_args_csv", "python", "adapter_dir",
)  # fmt: skip
OPERATION_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    STORE_GET: ("store", "key"),
    GENERATE: ("namespace", "kind", "name"),
    REVOKE_SELF: ("namespace", "kind", "name"),
    REVOKE_OF: ("namespace", "owner"),
}
SPLAT = "program_args"  # expands to zero or more argv elements; must be a whole element
OUTPUT_SOURCES = ("files", "stdout", "env")
NAME_RULES = ("esi", "exact")


class AdapterError(ValueError):
    """An adapter file is invalid; the message names the file and the field."""


@dataclass(frozen=True)
class Output:
    """Where a fetch operation's result is read from."""

    source: str  # files | stdout | env
    value: str | None = None  # store.get: file name, member or variable holding the value
    names: str = "esi"  # generator.generate with env: how a key becomes a variable name

    def variable(self, key: str) -> str:
        """The environment variable a generator key is delivered in."""
        return env_name(key) if self.names == "esi" else key


@dataclass(frozen=True)
class Invocation:
    """One ready-to-run command: argv (or a shell script), extra env, time limit."""

    argv: tuple[str, ...]
    env: dict[str, str]
    timeout: float
    shell: bool = False


@dataclass(frozen=True)
class Operation:
    name: str
    command: tuple[str, ...] | str
    shell: bool = False
    timeout: float = DEFAULT_TIMEOUT
    env: dict[str, str] = field(default_factory=dict)
    output: Output | None = None
    refresh_interval: float | None = None  # daemon only

    def render(self, values: Mapping[str, str], program_args: Sequence[str] = ()) -> Invocation:
        """Expand placeholders: `values` must hold every placeholder this operation uses."""
        values = {**values, SPLAT: "", "program_args_csv": ",".join(program_args)}
        if self.refresh_interval is not None:
            values.setdefault("refresh_interval", f"{self.refresh_interval:g}")
        env = {k: expand(v, values) for k, v in self.env.items()}
        if self.shell:
            assert isinstance(self.command, str)
            script = expand(self.command, values, shlex.quote, shlex.join(program_args))
            return Invocation(("/bin/sh", "-c", script), env, self.timeout, shell=True)
        argv: list[str] = []
        for item in self.command:
            if item == "{" + SPLAT + "}":
                argv.extend(program_args)
            else:
                argv.append(expand(item, values))
        return Invocation(tuple(argv), env, self.timeout)

    def value_name(self, values: Mapping[str, str]) -> str | None:
        """The expanded `output.value` (file, member or variable holding a store value)."""
        if self.output is None or self.output.value is None:
            return None
        return expand(self.output.value, values)


@dataclass(frozen=True)
class Adapter:
    name: str
    description: str
    path: Path
    operations: dict[str, Operation]
    daemon: Operation | None = None
    daemon_of: str | None = None  # the fetch the daemon repeats

    def operation(self, name: str) -> Operation | None:
        """The declared operation, or None: requirements that need it are SKIP."""
        return self.operations.get(name)

    def skip_reason(self, name: str) -> str | None:
        if name == "daemon":
            return None if self.daemon else f"adapter {self.name} declares no daemon mode"
        if name in self.operations:
            return None
        return f"adapter {self.name} declares no {name} operation"

    def base_values(self) -> dict[str, str]:
        """The placeholders the adapter itself fixes: `{python}` and `{adapter_dir}`."""
        return {"python": sys.executable, "adapter_dir": str(self.path.resolve().parent)}


def env_name(key: str) -> str:
    """esi-cli's documented rule: upper-case, every non-alphanumeric character becomes `_`."""
    return re.sub(r"[^A-Za-z0-9]", "_", key).upper()


# -- placeholders --------------------------------------------------------------------------------


def placeholders_in(template: str) -> list[str]:
    """Names used in `template`; `{{` and `}}` are literal braces. Raises ValueError."""
    names = []
    for _literal, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if spec or conversion or not re.fullmatch(r"[a-z_]+", name):
            raise ValueError(f"bad placeholder {{{name}{'!' + conversion if conversion else ''}}}")
        names.append(name)
    return names


def expand(
    template: str,
    values: Mapping[str, str],
    quote: Any = None,
    splat: str | None = None,
) -> str:
    """Replace each `{name}`; in shell commands every value is shell-quoted."""
    out = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out.append(literal)
        if name is None:
            continue
        if name == SPLAT and splat is not None:
            out.append(splat)
            continue
        if name not in values:
            raise AdapterError(f"no value for placeholder {{{name}}}")
        out.append(quote(values[name]) if quote else values[name])
    return "".join(out)


# -- loading -------------------------------------------------------------------------------------


class _Checker:
    """Validates one document, raising AdapterError with `file: field: problem`."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> AdapterError:
        return AdapterError(f"{self.source}: {where}: {problem}")

    def mapping(self, value: Any, where: str, allowed: Sequence[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"must be a mapping, got {_type(value)}")
        unknown = [k for k in value if k not in allowed]
        if unknown:
            raise self.fail(where, f"unknown field {unknown[0]!r} (allowed: {', '.join(allowed)})")
        return value

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(where, f"must be a non-empty string, got {_type(value)}")
        return value

    def seconds(self, value: Any, where: str, default: float) -> float:
        if value is None:
            return default
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0 < value <= MAX_TIMEOUT
        ):
            raise self.fail(
                where, f"must be a number of seconds in (0, {MAX_TIMEOUT:g}], got {value!r}"
            )
        return float(value)

    def template(self, text: str, where: str, allowed: Sequence[str], whole_splat: bool) -> None:
        try:
            names = placeholders_in(text)
        except ValueError as error:
            raise self.fail(where, str(error)) from None
        for name in names:
            if name not in allowed:
                raise self.fail(
                    where,
                    f"unknown placeholder {{{name}}} here (allowed: "
                    + ", ".join("{" + n + "}" for n in allowed)
                    + ")",
                )
            if name == SPLAT and not whole_splat:
                raise self.fail(where, "{program_args} must be a whole argv element")


def _type(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: repr(value), bool: repr(value)}.get(
        type(value), repr(value)
    )


def _operation(
    check: _Checker, raw: Any, where: str, name: str, fetch: str, daemon: bool = False
) -> Operation:
    fields = ["command", "shell", "timeout", "env", "output"]
    if daemon:
        fields[:0] = ["operation", "refresh_interval"]
    body = check.mapping(raw, where, fields)
    allowed = COMMON_PLACEHOLDERS + OPERATION_PLACEHOLDERS[fetch]
    if daemon:
        allowed += ("refresh_interval",)
    shell = body.get("shell", False)
    if not isinstance(shell, bool):
        raise check.fail(f"{where}.shell", f"must be true or false, got {_type(shell)}")
    if "command" not in body:
        raise check.fail(where, "missing field 'command'")
    command = body["command"]
    used: list[str] = []
    if shell:
        text = check.string(command, f"{where}.command")
        check.template(text, f"{where}.command", allowed, whole_splat=True)
        used = placeholders_in(text)
        parsed: tuple[str, ...] | str = text
    else:
        if not isinstance(command, list) or not command:
            raise check.fail(
                f"{where}.command",
                f"must be a non-empty list of strings (or a string with shell: true), "
                f"got {_type(command)}",
            )
        for i, item in enumerate(command):
            if not isinstance(item, str):
                raise check.fail(f"{where}.command[{i}]", f"must be a string, got {_type(item)}")
            check.template(
                item, f"{where}.command[{i}]", allowed, whole_splat=item == "{" + SPLAT + "}"
            )
            used += placeholders_in(item)
        parsed = tuple(command)
    env = body.get("env", {})
    check.mapping(env, f"{where}.env", list(env) if isinstance(env, dict) else [])
    for key, value in env.items():
        if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise check.fail(f"{where}.env", f"{key!r} is not a variable name")
        check.template(
            check.string(value, f"{where}.env.{key}"), f"{where}.env.{key}", allowed, False
        )
        used += placeholders_in(value)
    timeout = check.seconds(body.get("timeout"), f"{where}.timeout", DEFAULT_TIMEOUT)
    output = _output(check, body.get("output"), f"{where}.output", name, fetch, daemon, used)
    interval = None
    if daemon:
        if "refresh_interval" not in body:
            raise check.fail(where, "missing field 'refresh_interval'")
        interval = check.seconds(body["refresh_interval"], f"{where}.refresh_interval", 0)
    return Operation(name, parsed, shell, timeout, dict(env), output, interval)


def _output(
    check: _Checker, raw: Any, where: str, name: str, fetch: str, daemon: bool, used: list[str]
) -> Output | None:
    if name not in FETCHES and not daemon:
        if raw is not None:
            raise check.fail(where, f"{name} delivers nothing; judge it by exit status only")
        return None
    if raw is None:
        raise check.fail(where.rsplit(".", 1)[0], "missing field 'output'")
    body = check.mapping(raw, where, ["from", "value", "names"])
    source = body.get("from")
    if source not in OUTPUT_SOURCES:
        raise check.fail(
            f"{where}.from", f"must be one of {', '.join(OUTPUT_SOURCES)}, got {_type(source)}"
        )
    if daemon and source != "files":
        raise check.fail(f"{where}.from", "a daemon delivers files only")
    value = body.get("value")
    if fetch == STORE_GET:
        if value is None:
            if source == "env":
                raise check.fail(where, "missing field 'value' (the variable holding the value)")
            value = "value"
        check.template(
            check.string(value, f"{where}.value"),
            f"{where}.value",
            OPERATION_PLACEHOLDERS[STORE_GET],
            False,
        )
    elif value is not None:
        raise check.fail(f"{where}.value", "only store.get names a single value")
    names = body.get("names", "esi")
    if names not in NAME_RULES:
        raise check.fail(
            f"{where}.names", f"must be one of {', '.join(NAME_RULES)}, got {_type(names)}"
        )
    if "names" in body and not (fetch == GENERATE and source == "env"):
        raise check.fail(f"{where}.names", "applies to generator.generate with from: env only")
    if source == "env" and "program" not in used:
        raise check.fail(
            where.rsplit(".", 1)[0] + ".command", "from: env needs {program} in the command"
        )
    return Output(source, value, names)


def parse_adapter(document: Any, path: Path) -> Adapter:
    """Validate one parsed YAML document."""
    check = _Checker(str(path))
    top = check.mapping(document, "(top level)", ["apiVersion", "kind", "metadata", "spec"])
    if top.get("apiVersion") != API_VERSION:
        raise check.fail("apiVersion", f"must be {API_VERSION}, got {_type(top.get('apiVersion'))}")
    if top.get("kind") != KIND:
        raise check.fail("kind", f"must be {KIND}, got {_type(top.get('kind'))}")
    metadata = check.mapping(top.get("metadata"), "metadata", ["name", "description"])
    name = check.string(metadata.get("name"), "metadata.name")
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", name):
        raise check.fail("metadata.name", f"must be lower-case letters, digits and -, got {name!r}")
    description = metadata.get("description", "")
    if not isinstance(description, str):
        raise check.fail("metadata.description", f"must be a string, got {_type(description)}")
    spec = check.mapping(top.get("spec"), "spec", ["operations", "daemon"])
    raw_ops = check.mapping(spec.get("operations", {}), "spec.operations", OPERATIONS)
    operations = {
        op: _operation(check, raw, f"spec.operations.{op}", op, op) for op, raw in raw_ops.items()
    }
    daemon = daemon_of = None
    if spec.get("daemon") is not None:
        raw = spec["daemon"]
        if isinstance(raw, dict):
            daemon_of = raw.get("operation", STORE_GET)
            if daemon_of not in FETCHES:
                raise check.fail(
                    "spec.daemon.operation",
                    f"must be one of {', '.join(FETCHES)}, got {_type(daemon_of)}",
                )
        daemon = _operation(check, raw, "spec.daemon", "daemon", daemon_of or STORE_GET, True)
    if not operations and daemon is None:
        raise check.fail("spec", "declares no operation (give spec.operations or spec.daemon)")
    return Adapter(name, description, path, operations, daemon, daemon_of)


def load_adapter(path: str | Path) -> Adapter:
    """Read and validate an adapter file."""
    path = Path(path)
    try:
        documents = list(yaml.safe_load_all(path.read_text()))
    except OSError as error:
        raise AdapterError(f"{path}: cannot read: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise AdapterError(f"{path}: not valid YAML: {error}") from None
    if len(documents) != 1:
        raise AdapterError(f"{path}: must hold exactly one YAML document, found {len(documents)}")
    return parse_adapter(documents[0], path)


def builtin_adapters() -> dict[str, Path]:
    """The adapters shipped with the harness, by file stem (`reference`, `curl`)."""
    return {p.stem: p for p in sorted(BUILTIN_DIR.glob("*.yaml"))}


def resolve_adapter(name_or_path: str) -> Adapter:
    """A shipped adapter by name, or an adapter file by path."""
    builtin = builtin_adapters()
    if name_or_path in builtin:
        return load_adapter(builtin[name_or_path])
    if not Path(name_or_path).exists() and not name_or_path.endswith((".yaml", ".yml")):
        raise AdapterError(
            f"no adapter {name_or_path!r}: give an adapter file or a shipped adapter "
            f"({', '.join(sorted(builtin))})"
        )
    return load_adapter(name_or_path)


# -- reading what a client delivered -------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """What the client delivered, by file name, stdout member or variable, as exact bytes."""

    values: dict[str, bytes]
    problems: tuple[str, ...] = ()


def read_files(out_dir: Path) -> Delivery:
    """Every entry directly in the output folder (hidden ones too: leftovers are extra keys)."""
    values: dict[str, bytes] = {}
    problems: list[str] = []
    if not out_dir.is_dir():
        return Delivery({})
    for entry in sorted(out_dir.iterdir()):
        if entry.is_file() and not entry.is_symlink():
            values[entry.name] = entry.read_bytes()
        else:
            problems.append(f"{entry.name} in the output folder is not a regular file")
    return Delivery(values, tuple(problems))


def read_stdout(stdout: bytes) -> Delivery:
    """stdout must be one JSON object of strings."""
    try:
        value = json.loads(stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        return Delivery({}, (f"stdout is not one JSON value: {error}",))
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return Delivery({}, ("stdout is not a JSON object of strings",))
    return Delivery({k: v.encode("utf-8") for k, v in value.items()})


def read_env(record: Mapping[str, Any] | None, base_env: Mapping[str, str]) -> Delivery:
    """Variables the program saw that are new or changed relative to the client's own env."""
    if record is None:
        return Delivery({}, ("the program was not run",))
    env = record.get("env", {})
    return Delivery(
        {k: v.encode("utf-8", "surrogateescape") for k, v in env.items() if base_env.get(k) != v}
    )


def read_delivery(
    output: Output,
    *,
    out_dir: Path,
    stdout: bytes = b"",
    record: Mapping[str, Any] | None = None,
    base_env: Mapping[str, str] | None = None,
) -> Delivery:
    """Read a fetch operation's result the way its adapter declares."""
    if output.source == "files":
        return read_files(out_dir)
    if output.source == "stdout":
        return read_stdout(stdout)
    return read_env(record, base_env or {})
