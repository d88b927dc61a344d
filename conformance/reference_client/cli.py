"""`esi-client`: esi-cli's documented federation flags, implemented as a conforming client.

Exit codes: 0 success; 1 a fetch or delivery failed (nothing written, nothing run); 2 usage;
126/127 the program could not be run (as a shell reports it). See docs/reference-client.md.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import click

from conformance.reference_client import __version__, answers
from conformance.reference_client.config import (
    EnvMapping,
    FileMapping,
    Generator,
    Resolver,
    parse_duration,
    parse_env,
    parse_files,
    parse_generators,
    parse_stores,
)
from conformance.reference_client.delivery import Fetched, environment, files, write_atomically
from conformance.reference_client.errors import (
    EXIT_CANNOT_EXECUTE,
    EXIT_FAILED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    ClientError,
    UsageError,
)
from conformance.reference_client.transport import (
    DEFAULT_MAX_BODY,
    Transport,
    generator_path,
    revoke_path,
    store_path,
)

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
PROG = "esi-client"
SERVER_COMMIT = "external-secrets-inc/federation-server at ed0c3e9"
MODE_NAMES = ("init", "daemon", "revoke-self", "revoke-of")


VERSION = (
    f"{PROG} {__version__} (esi-cli's federation flags; server protocol as of {SERVER_COMMIT})"
)
CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True}


def _namespace_default() -> str:
    return os.environ.get("KUBERNETES_NAMESPACE") or "default"


_option = click.option


def _options(command: Callable[..., Any]) -> Callable[..., Any]:
    """esi-cli's federation flags, with the same names, defaults and repeatability."""
    decorators = [
        _option("--mode", required=True, type=click.Choice(MODE_NAMES), help="What to do."),
        _option("--federated-server-url", required=True, metavar="URL", help="Server base URL."),
        _option(
            "--federated-auth",
            default="kubernetes",
            type=click.Choice(("kubernetes", "spiffe")),
            help="Bearer service-account token, or a SPIFFE client certificate.",
        ),
        _option(
            "--federated-store", metavar="NAME", help="Store to read (repeatable).", multiple=True
        ),
        _option(
            "--federated-generators",
            metavar="NS/KIND/NAME[,...]",
            help="Generators to run (repeatable, comma-joined allowed).",
            multiple=True,
        ),
        _option(
            "--namespace",
            default=_namespace_default,
            show_default="$KUBERNETES_NAMESPACE, else default",
            help="Namespace for KIND/NAME generators and revoke-of.",
        ),
        _option(
            "--federated-token",
            default=f"{SA_DIR}/token",
            metavar="FILE",
            help="Service-account token file.",
        ),
        _option(
            "--federated-ca-crt",
            default=f"{SA_DIR}/ca.crt",
            metavar="FILE",
            help="Cluster CA sent as ca.crt.",
        ),
        _option(
            "--federated-server-ca",
            metavar="FILE|system",
            help="Trust for the server's TLS certificate (default: --federated-ca-crt, as esi-cli).",
        ),
        _option("--tls-client-cert", metavar="FILE", help="SPIFFE: client certificate (SVID)."),
        _option("--tls-client-key", metavar="FILE", help="SPIFFE: its private key."),
        _option(
            "--inject-on-env",
            metavar="ENV=SOURCE.KEY|*",
            help="Hand a value to the program as a variable (repeatable).",
            multiple=True,
        ),
        _option(
            "--inject-on-file",
            metavar="/PATH=SOURCE.KEY",
            help="Write a value to a file (repeatable).",
            multiple=True,
        ),
        _option(
            "--binary-path", metavar="PROGRAM", help="Program to run (esi-cli form; prefer --)."
        ),
        _option(
            "--args", metavar="A,B,...", help="Comma-joined arguments (esi-cli form; prefer --)."
        ),
        _option(
            "--daemon-refresh-interval",
            default="2m",
            metavar="DURATION",
            help="Daemon: time between refreshes.",
        ),
        _option("--max-refreshes", type=int, metavar="N", help="Daemon: stop after N refreshes."),
        _option("--timeout", default="10s", metavar="DURATION", help="Per request."),
        _option(
            "--retry-delay", default="500ms", metavar="DURATION", help="Before the retry after 401."
        ),
        _option(
            "--max-body-bytes",
            type=int,
            default=DEFAULT_MAX_BODY,
            metavar="N",
            help="Largest answer body read.",
        ),
        _option("--revoke-owner", metavar="OWNER", help="revoke-of: the owner to revoke."),
        _option(
            "--revoke-namespace",
            metavar="NS",
            help="revoke-of: body namespace (default: --namespace).",
        ),
        _option(
            "-v", "--verbose", is_flag=True, help="Say what was fetched and written (no values)."
        ),
        click.version_option(__version__, "--version", message=VERSION),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


@click.command(
    PROG,
    context_settings=CONTEXT,
    options_metavar="--mode MODE --federated-server-url URL [OPTIONS] [-- PROGRAM [ARG ...]]",
    epilog="Exit codes: 0 ok, 1 fetch or delivery failed, 2 usage, 126/127 program not run.",
)
@_options
def command(**_: Any) -> None:
    """Fetch values from a Federation Server and hand them to a program or files."""


class HelpShown(Exception):
    """--help or --version printed; the process ends with this status."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def parse_options(argv: Sequence[str]) -> SimpleNamespace:
    """The flags as attributes (option names with _), or UsageError with click's one line."""
    try:
        ctx = command.make_context(PROG, list(argv))
    except click.exceptions.Exit as done:
        raise HelpShown(done.exit_code) from None
    except click.UsageError as exc:
        raise UsageError(exc.format_message()) from None
    params = dict(ctx.params)
    for name in ("federated_store", "federated_generators", "inject_on_env", "inject_on_file"):
        params[name] = list(params[name])
    return SimpleNamespace(**params)


@dataclass
class Plan:
    """Parsed, validated options: what to fetch, where to deliver it, what to run."""

    mode: str
    server_url: str
    stores: list[str]
    generators: list[Generator]
    env: list[EnvMapping]
    files: list[FileMapping]
    program: list[str]
    namespace: str
    options: SimpleNamespace

    def store_keys(self) -> list[tuple[str, str]]:
        refs = [m.ref for m in self.env if m.ref] + [m.ref for m in self.files]
        keys = [(r.store, r.key) for r in refs if r.store is not None and r.key is not None]
        return list(dict.fromkeys(keys))

    def generators_needed(self) -> list[Generator]:
        if any(m.name is None for m in self.env):
            return self.generators
        refs = [m.ref for m in self.env if m.ref] + [m.ref for m in self.files]
        return list(dict.fromkeys(r.generator for r in refs if r.generator is not None))


def parse(argv: Sequence[str]) -> Plan:
    """Parse and cross-check the flags; raise UsageError (exit 2) before anything is sent."""
    argv = list(argv)
    program: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, program = argv[:cut], argv[cut + 1 :]
        if not program:
            raise UsageError("nothing follows --; give PROGRAM [ARG ...]")
    options = parse_options(argv)
    url = urlsplit(options.federated_server_url)
    if url.scheme not in ("http", "https") or not url.netloc or url.query or url.fragment:
        raise UsageError(
            f"--federated-server-url {options.federated_server_url!r} is not an http(s) base URL"
        )
    if options.binary_path:
        if program:
            raise UsageError("give the program either with --binary-path or after --, not both")
        args = options.args.split(",") if options.args else []
        program = [options.binary_path, *args]
    elif options.args is not None:
        raise UsageError("--args needs --binary-path")
    stores = parse_stores(options.federated_store)
    generators = parse_generators(options.federated_generators, options.namespace)
    resolver = Resolver(stores, generators)
    env = parse_env(options.inject_on_env, resolver)
    file_maps = parse_files(options.inject_on_file, resolver)
    plan = Plan(
        options.mode,
        options.federated_server_url,
        stores,
        generators,
        env,
        file_maps,
        program,
        options.namespace,
        options,
    )
    _check_mode(plan)
    for name in ("timeout", "retry_delay", "daemon_refresh_interval"):
        try:
            setattr(options, name, parse_duration(getattr(options, name)))
        except UsageError as error:
            raise UsageError(f"--{name.replace('_', '-')}: {error}") from None
    if options.federated_auth == "spiffe" and not (
        options.tls_client_cert and url.scheme == "https"
    ):
        raise UsageError("--federated-auth spiffe needs an https URL and --tls-client-cert")
    if bool(options.tls_client_key) and not options.tls_client_cert:
        raise UsageError("--tls-client-key needs --tls-client-cert")
    return plan


def _check_mode(plan: Plan) -> None:
    o = plan.options
    if plan.mode == "init":
        if plan.env and not plan.program:
            raise UsageError("--inject-on-env needs a program: --binary-path or -- PROGRAM")
        if not (plan.env or plan.files or plan.program):
            raise UsageError("init mode has nothing to do: give --inject-on-env/-file or a program")
        if any(m.name is None for m in plan.env) and not plan.generators:
            raise UsageError("--inject-on-env '*' needs --federated-generators")
    elif plan.mode == "daemon":
        if plan.env or plan.program:
            raise UsageError("daemon mode writes files only: drop --inject-on-env and the program")
        if not plan.files:
            raise UsageError("daemon mode needs --inject-on-file")
        if o.max_refreshes is not None and o.max_refreshes < 0:
            raise UsageError("--max-refreshes must be 0 or more")
    elif plan.mode == "revoke-self":
        if not plan.generators:
            raise UsageError("revoke-self needs --federated-generators")
    elif plan.mode == "revoke-of":
        if not o.revoke_owner:
            raise UsageError("revoke-of needs a non-empty --revoke-owner")
        if (o.revoke_namespace if o.revoke_namespace is not None else plan.namespace) == "":
            raise UsageError(
                "revoke-of needs a non-empty namespace (an empty one revokes in every namespace)"
            )
    if plan.mode != "init" and plan.program:
        raise UsageError(f"{plan.mode} mode runs no program")


def make_transport(plan: Plan) -> Transport:
    o = plan.options
    kubernetes = o.federated_auth == "kubernetes"
    return Transport(
        base_url=plan.server_url,
        token_file=Path(o.federated_token) if kubernetes else None,
        client_ca_file=Path(o.federated_ca_crt) if kubernetes else None,
        server_ca=o.federated_server_ca or o.federated_ca_crt,
        client_cert=Path(o.tls_client_cert) if o.tls_client_cert else None,
        client_key=Path(o.tls_client_key) if o.tls_client_key else None,
        timeout=o.timeout,
        max_body=o.max_body_bytes,
        retry_delay=o.retry_delay,
    )


def _say(plan: Plan, text: str) -> None:
    if plan.options.verbose:
        print(f"{PROG}: {text}", file=sys.stderr, flush=True)


def fetch(plan: Plan, transport: Transport) -> Fetched:
    """Every value the mappings need; stores first (no side effects), then generators."""
    fetched = Fetched({}, {})
    for store, key in plan.store_keys():
        answer = transport.call("POST", store_path(store, key))
        fetched.stores[(store, key)] = answers.store_value(answer)
        _say(plan, f"fetched {store}.{key}")
    for generator in plan.generators_needed():
        answer = transport.call(
            "POST", generator_path(generator.namespace, generator.kind, generator.name)
        )
        fetched.generators[generator] = answers.generator_values(answer)
        _say(plan, f"generated {generator.label} ({len(fetched.generators[generator])} keys)")
    return fetched


def deliver_files(plan: Plan, fetched: Fetched, only_if_changed: bool = False) -> None:
    for path, data in files(plan.files, fetched):
        if write_atomically(path, data, only_if_changed):
            _say(plan, f"wrote {path}")


def run_init(plan: Plan, transport: Transport) -> int:
    try:
        fetched = fetch(plan, transport)
        added = environment(plan.env, fetched)
        files(plan.files, fetched)  # every file name and value checked before the first write
    except ClientError as error:
        raise ClientError(f"{error}; nothing was written or run") from None
    try:
        deliver_files(plan, fetched)
    except ClientError as error:
        raise ClientError(f"{error}; the program was not run") from None
    if not plan.program:
        return EXIT_OK
    _say(plan, f"running {plan.program[0]} with {len(added)} added variable(s)")
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(plan.program[0], plan.program, {**os.environ, **added})
    except OSError as error:
        print(f"{PROG}: cannot run {plan.program[0]}: {error.strerror}", file=sys.stderr)
        return EXIT_NOT_FOUND if isinstance(error, FileNotFoundError) else EXIT_CANNOT_EXECUTE
    return EXIT_FAILED  # unreachable: exec does not return


class _Stop(BaseException):
    """SIGTERM or SIGINT in daemon mode: leave at once, files stay as last written."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop()


def run_daemon(plan: Plan, transport: Transport) -> int:
    """Fetch, write changed files, wait the refresh interval, repeat; a failed cycle keeps the
    last good files and is retried at the next interval."""

    def cycle() -> bool:
        try:
            deliver_files(plan, fetch(plan, transport), only_if_changed=True)
            return True
        except ClientError as error:
            _error(transport, f"{error}; keeping the last written files")
            return False

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        ok = cycle()
        refreshes = 0
        limit = plan.options.max_refreshes
        while limit is None or refreshes < limit:
            time.sleep(plan.options.daemon_refresh_interval)
            ok = cycle()
            refreshes += 1
    except _Stop:
        return EXIT_OK
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return EXIT_OK if ok else EXIT_FAILED


def run_revoke_self(plan: Plan, transport: Transport) -> int:
    for g in plan.generators:
        path = generator_path(g.namespace, g.kind, g.name)
        answers.revoke_self_done(transport.call("DELETE", path))
        _say(plan, f"revoked own credentials of {g.label}")
    return EXIT_OK


def run_revoke_of(plan: Plan, transport: Transport) -> int:
    o = plan.options
    body_namespace = o.revoke_namespace if o.revoke_namespace is not None else plan.namespace
    answer = transport.call(
        "POST", revoke_path(plan.namespace), {"owner": o.revoke_owner, "namespace": body_namespace}
    )
    answers.revoke_of_done(answer)
    _say(plan, f"revoked credentials of owner {o.revoke_owner} in {body_namespace}")
    return EXIT_OK


MODES = {
    "init": run_init,
    "daemon": run_daemon,
    "revoke-self": run_revoke_self,
    "revoke-of": run_revoke_of,
}


def _error(transport: Transport | None, text: str) -> None:
    if transport is not None:
        text = transport.redact(text)
    print(f"{PROG}: error: {text}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line; return the exit code."""
    try:
        plan = parse(sys.argv[1:] if argv is None else argv)
    except HelpShown as shown:
        return shown.code
    except UsageError as error:
        print(f"{PROG}: usage error: {error}", file=sys.stderr)
        return EXIT_USAGE
    transport: Transport | None = None
    try:
        transport = make_transport(plan)
        return MODES[plan.mode](plan, transport)
    except ClientError as error:
        _error(transport, str(error))
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
