"""`esi-mock`: serve the mock, mint tokens, issue SVIDs."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from mockserver import __version__
from mockserver.admin.commands import COMMANDS as ADMIN_COMMANDS
from mockserver.admin.hooks import HOOKS_FILE
from mockserver.bundlefolder import CLUSTERS_FILE, is_bundle, prepare_state, write_hooks_file
from mockserver.federation.modes import QUIRKS, UnknownQuirk
from mockserver.idp.group import mint_offline
from mockserver.idp.minting import BROKEN_KINDS as IDP_BROKEN_KINDS
from mockserver.idp.minting import TokenRequest as IdPTokenRequest
from mockserver.manifests import ManifestError
from mockserver.render.cli import render
from mockserver.servesettings import ServeSettings
from mockserver.state import StateDir, write_private_file
from mockserver.tokens import BROKEN_KINDS, TokenRequestError

if TYPE_CHECKING:
    from mockserver.clock import Clock
    from mockserver.cluster import FakeCluster

SERVER_COMMIT = "external-secrets-inc/federation-server at ed0c3e9"
STATE_DIR_HELP = "State folder written by `esi-mock serve` (holds connection.json and keys)."


def _fail(message: str) -> NoReturn:
    click.echo(f"esi-mock: {message}", err=True)
    sys.exit(2)


class OneLineErrors(click.Group):
    """A usage error is one line naming the fix and exit 2; a closed pipe ends quietly."""

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> Any:
        if not extra.pop("standalone_mode", True):
            return super().main(args, prog_name, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.format_message())
            sys.exit(2)
        except click.UsageError as exc:
            name = exc.ctx.command_path if exc.ctx is not None else "esi-mock"
            click.echo(f"{name}: {exc.format_message().rstrip('.')}; see `{name} --help`", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"esi-mock: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            sys.exit(130)
        except BrokenPipeError:
            sys.stdout = open(os.devnull, "w")
            sys.exit(0)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__,
    prog_name="esi-mock",
    message=f"esi-mock {__version__} (follows {SERVER_COMMIT})",
)
def main() -> None:
    """Offline mock of the External Secrets Enterprise Federation Server and fake clusters."""


F = TypeVar("F", bound=Callable[..., Any])


def _env(option: str) -> str:
    return "ESI_MOCK_" + option.upper().replace("-", "_")


def serve_option(name: str, *decls: str, **kwargs: Any) -> Callable[[F], F]:
    """An `esi-mock serve` option with its ESI_MOCK_<OPTION> variable shown in --help."""
    return click.option(name, *decls, envvar=_env(name.lstrip("-")), show_envvar=True, **kwargs)


PORT = click.IntRange(0, 65535)
PORT_HELP = "Fixed port of the {what} (0: a free port, printed at start)."


@main.command(context_settings={"show_default": True})
@serve_option(
    "--fixtures",
    type=click.Path(exists=True, path_type=Path),
    help="Manifest file or folder (default: the shipped fixtures).",
)
@serve_option(
    "--bundle",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Serve a conformance bundle as a vendor's server loads it: its manifests.yaml as "
    "written (federation URLs at the harness's clusters) and its clusters' workloads and keys.",
)
@serve_option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to keep connection.json, keys and SA volumes (default: a temporary folder, "
    "removed on exit).",
)
@serve_option(
    "--host",
    default="127.0.0.1",
    help="Address of the federation listeners. Loopback unless asked: another address "
    "(0.0.0.0) exposes the mock beyond this machine and prints a warning.",
)
@serve_option("--port", type=PORT, default=0, help=PORT_HELP.format(what="plain HTTP listener"))
@serve_option("--tls-port", type=PORT, default=0, help=PORT_HELP.format(what="HTTPS listener"))
@serve_option(
    "--mtls-port", type=PORT, default=0, help=PORT_HELP.format(what="SPIFFE mTLS listener")
)
@serve_option("--admin-port", type=PORT, default=0, help=PORT_HELP.format(what="admin API"))
@serve_option(
    "--quirk",
    "quirks",
    multiple=True,
    metavar="NAME",
    help="Reproduce a real-server defect (repeatable; `esi-mock quirks` lists them).",
)
@serve_option(
    "--strict",
    is_flag=True,
    help="Hardened behaviour: audience check, exp required, no bearer forwarding.",
)
@serve_option(
    "--access-log",
    is_flag=True,
    help="Print one line per request on stderr (no headers, no bodies; secrets scrubbed).",
)
@serve_option(
    "--journal-size",
    type=click.IntRange(min=1),
    default=1000,
    help="Requests the journal keeps (a ring buffer: the oldest go first).",
)
@serve_option(
    "--admin-host",
    default="127.0.0.1",
    help="Loopback address of the admin API (anything else is refused).",
)
@serve_option(
    "--unredacted",
    is_flag=True,
    help="Show tokens, keys and secret values in the journal and logs (local debugging only).",
)
@serve_option(
    "--upstream-cache",
    type=click.FloatRange(min=0),
    default=0.0,
    metavar="SECONDS",
    help="Reuse discovery and JWKS of clusters this process does not serve for SECONDS "
    "(0: fetch on every request, as the real server does).",
)
@serve_option(
    "--ephemeral",
    is_flag=True,
    help="Keep GeneratorStates, AuthorizedIdentities and leak records in memory only "
    "(by default they are kept in the state folder across restarts).",
)
@serve_option(
    "--results",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A conformance results.json the console at the admin listener's root offers to open.",
)
def serve(**options: Any) -> None:
    """Start the fake clusters and the mock Federation Server until SIGINT or SIGTERM."""
    from mockserver.runtime import MockServer, is_loopback

    settings = ServeSettings(**options)
    host, strict, quirks = settings.host, settings.strict, settings.quirks
    if not is_loopback(host):
        click.echo(
            f"esi-mock: warning: --host {host} exposes the federation listeners beyond this "
            "machine; use it only on a network you trust",
            err=True,
        )
    _check_ports(settings)
    # Before anything starts, so a SIGTERM right after the banner still stops cleanly.
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    started = time.perf_counter()
    scratch = None
    state_dir: str | Path | None = settings.state_dir
    if state_dir is None:
        scratch = tempfile.TemporaryDirectory(prefix="esi-mock-")
        state_dir = scratch.name
    try:
        kwargs = settings.server_kwargs(state_dir)
        if settings.bundle is not None:
            if settings.fixtures is not None:
                raise ValueError("--bundle and --fixtures exclude each other; choose one")
            kwargs["fixtures"] = prepare_state(settings.bundle, Path(state_dir))
        server = MockServer(**kwargs)
        if settings.bundle is not None:
            server.before_ready.append(lambda s: write_hooks_file(s.state.root, s.admin_url))
        server.start()
    except (ManifestError, UnknownQuirk, ValueError) as exc:
        _cleanup(scratch)
        _fail(str(exc))
    except OSError as exc:
        _cleanup(scratch)
        _fail(f"cannot start: {exc.strerror or exc}; choose another port or stop what uses it")
    for listener in [*server.listeners.values(), server.admin_listener]:
        if listener is not None:
            listener.set_access_log(settings.access_log)
    elapsed = time.perf_counter() - started
    info = server.connection()
    click.echo(f"esi-mock {__version__} ready in {elapsed:.2f}s")
    removed = " (removed on exit)" if scratch is not None else ""
    click.echo(f"  state:       {info['state_dir']}{removed}")
    click.echo(f"  connection:  {server.state.connection_file}")
    click.echo(
        f"  federation:  {info['federation_url']}  (TLS {info['federation_tls_url']}, "
        f"mTLS {info['federation_mtls_url']})"
    )
    click.echo(f"  admin:       {info['admin_url']}")
    click.echo(f"  console:     {info['console_url']}")
    if settings.bundle is not None:
        hooks_file = Path(info["state_dir"]) / HOOKS_FILE
        click.echo(f"  hooks:       {hooks_file}  (esi-conformance server --hooks)")
    for name, cluster in info["clusters"].items():
        click.echo(f"  cluster {name}: {cluster['url']}  issuer {cluster['issuer']}")
    mode = "strict" if strict else "default"
    if quirks:
        mode += " + quirks " + ", ".join(quirks)
    click.echo(f"  mode:        {mode}")
    if settings.unredacted:
        click.echo("  journal:     UNREDACTED (secrets in clear)")
    sys.stdout.flush()
    done.wait()
    server.stop()
    _cleanup(scratch)
    click.echo("esi-mock stopped")


def _check_ports(settings: ServeSettings) -> None:
    """A fixed port already taken is one line here, before the server library prints its own."""
    for option, host, port in (
        ("--port", settings.host, settings.port),
        ("--tls-port", settings.host, settings.tls_port),
        ("--mtls-port", settings.host, settings.mtls_port),
        ("--admin-port", settings.admin_host, settings.admin_port),
    ):
        if not port:
            continue
        probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        try:
            probe.bind((host, port))
        except OSError as exc:
            _fail(
                f"cannot listen on {host}:{port} ({option}): {exc.strerror or exc}; choose "
                "another port or stop what uses it"
            )
        finally:
            probe.close()


def _cleanup(scratch: tempfile.TemporaryDirectory[str] | None) -> None:
    if scratch is not None:
        scratch.cleanup()


@main.command(context_settings={"show_default": True})
@click.option(
    "--state-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    envvar="ESI_MOCK_STATE_DIR",
    show_envvar=True,
    help="State folder the `esi-mock serve` to wait for writes (its --state-dir).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=30.0,
    help="Seconds to wait before giving up (exit 1).",
)
def wait(state_dir: Path, timeout: float) -> None:
    """Wait until `esi-mock serve --state-dir DIR` answers (for scripts and CI)."""
    from mockserver.readiness import wait_ready

    reason = wait_ready(state_dir, timeout)
    if reason is not None:
        click.echo(
            f"esi-mock: not ready after {timeout:g}s: {reason}; is "
            f"`esi-mock serve --state-dir {state_dir}` running?",
            err=True,
        )
        sys.exit(1)
    click.echo(f"ready: {StateDir(state_dir).read_connection()['federation_url']}")


@main.command()
def quirks() -> None:
    """List the quirks --quirk accepts, with the reference of each."""
    for quirk in QUIRKS.values():
        click.echo(f"{quirk.name}\n    {quirk.summary}\n    ({quirk.reference})")


def _offline_cluster(state: StateDir, name: str) -> FakeCluster:
    """The named fake cluster, rebuilt from the fixtures with the keys kept in the state folder."""
    from mockserver.manifests import fake_cluster_specs, read_documents
    from mockserver.runtime import build_clusters

    if is_bundle(state.root):  # a conformance bundle mints with its clusters' kept keys
        documents = read_documents(state.root / CLUSTERS_FILE)
    else:
        try:
            connection = state.read_connection()
        except (FileNotFoundError, ValueError) as exc:
            _fail(str(exc))
        documents = read_documents(connection["fixtures"])
    try:
        clusters = build_clusters(fake_cluster_specs(documents), state, clock=_clock())
    except ValueError as exc:  # a damaged state folder, named with the fix
        _fail(str(exc))
    if name not in clusters:
        _fail(f"no cluster {name!r}; clusters: {', '.join(clusters)}")
    return clusters[name]


def _clock() -> Clock:
    from mockserver.clock import CLOCK

    return CLOCK


@main.command()
@click.option(
    "--state-dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help=STATE_DIR_HELP,
)
@click.option("--cluster", help="Fake cluster name (see connection.json).")
@click.option("--sa", metavar="NS/NAME", help="Service account (with --cluster).")
@click.option("--idp", help="Fake identity provider instead of a cluster: okta or pingone.")
@click.option("--subject", help="With --idp: the token's sub (a user or machine).")
@click.option("--client-id", help="With --idp: the client id (alone: a client-credentials token).")
@click.option("--scope", "scopes", multiple=True, help="With --idp: a scope (repeatable).")
@click.option(
    "--server",
    "server_id",
    help="With --idp: Okta authorization server (org, default, ...) or PingOne environment.",
)
@click.option(
    "--audience",
    "audiences",
    multiple=True,
    help="Token audience (repeatable; default: the cluster's API audiences).",
)
@click.option(
    "--duration",
    type=int,
    default=3600,
    show_default=True,
    help="Lifetime in seconds (600 at least, as Kubernetes requires).",
)
@click.option("--pod", help="Bind the token to this pod (name or ns/name).")
@click.option(
    "--legacy",
    is_flag=True,
    help="A legacy secret-based token (issuer kubernetes/serviceaccount, no exp).",
)
@click.option(
    "--broken",
    type=click.Choice(sorted(set(BROKEN_KINDS) | set(IDP_BROKEN_KINDS))),
    help="A deliberately broken token for negative tests.",
)
def token(
    state_dir: Path,
    cluster: str | None,
    sa: str | None,
    idp: str | None,
    subject: str | None,
    client_id: str | None,
    scopes: tuple[str, ...],
    server_id: str | None,
    audiences: tuple[str, ...],
    duration: int,
    pod: str | None,
    legacy: bool,
    broken: str | None,
) -> None:
    """Print one service-account or identity-provider token signed with kept keys."""
    if idp is not None:
        if cluster or sa or pod or legacy:
            _fail("--idp mints an identity-provider token: drop --cluster, --sa, --pod, --legacy")
        try:
            click.echo(
                mint_offline(
                    StateDir(state_dir).root / "idps",
                    idp,
                    IdPTokenRequest(
                        subject=subject,
                        client_id=client_id,
                        scopes=scopes,
                        audience=audiences[0] if audiences else None,
                        duration=duration,
                    ),
                    server_id,
                    broken,
                )
            )
        except (KeyError, ValueError) as exc:
            _fail(str(exc).strip("'\""))
        return
    if cluster is None or sa is None:
        _fail("give --cluster and --sa (a service-account token) or --idp (okta or pingone)")
    if broken is not None and broken not in BROKEN_KINDS:
        _fail(f"--broken {broken} is for --idp tokens; cluster kinds: {', '.join(BROKEN_KINDS)}")
    fake = _offline_cluster(StateDir(state_dir), cluster)
    try:
        click.echo(
            fake.mint(
                sa,
                audiences=list(audiences) or None,
                duration=duration,
                pod=pod,
                legacy=legacy,
                broken=broken,
            )
        )
    except (TokenRequestError, KeyError, ValueError) as exc:
        _fail(str(exc))


@main.command()
@click.option(
    "--state-dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help=STATE_DIR_HELP,
)
@click.option(
    "--id",
    "spiffe_id",
    required=True,
    help="SPIFFE ID an Authorization names, e.g. the fixtures' spiffe://example.org/frontend/ns/"
    "web/sa/6f1c2a4e-1b0d-4c52-9a1e-2f3b4c5d6e07/frontend/pod/0c8e7d6a-2f3b-4a1c-8d9e-"
    "7a6b5c4d3e03/frontend-5c7d9 (others are refused at the handshake, and logged).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for svid.pem, svid.key and bundle.pem.",
)
def svid(state_dir: Path, spiffe_id: str, out: Path) -> None:
    """Write an X.509-SVID (certificate and key, mode 0600) signed by the mock's SPIFFE CA."""
    from mockserver.tls import CertificateAuthority, SpiffeAuthority

    state = StateDir(state_dir)
    ca_dir = state.spiffe_dir / "ca"
    if not CertificateAuthority.exists(ca_dir):
        _fail(
            f"no SPIFFE CA in {ca_dir}: start `esi-mock serve --state-dir {state_dir}` once first"
        )
    authority = SpiffeAuthority("mock", CertificateAuthority.load(ca_dir))
    try:
        cert_pem, key_pem = authority.issue_svid(spiffe_id)
    except ValueError as exc:
        _fail(str(exc))
    write_private_file(out / "svid.pem", cert_pem)
    write_private_file(out / "svid.key", key_pem)
    write_private_file(out / "bundle.pem", authority.trust_bundle_pem, 0o644)
    click.echo(
        json.dumps(
            {
                "cert_file": str(out / "svid.pem"),
                "key_file": str(out / "svid.key"),
                "bundle_file": str(out / "bundle.pem"),
            },
            indent=2,
        )
    )


for _command in ADMIN_COMMANDS:
    main.add_command(_command)
main.add_command(render)


if __name__ == "__main__":
    main()
