"""`esi-mock`: serve the mock, mint tokens, issue SVIDs."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mockserver import __version__
from mockserver.admin.commands import COMMANDS as ADMIN_COMMANDS
from mockserver.federation.modes import QUIRKS, UnknownQuirk
from mockserver.manifests import ManifestError
from mockserver.render.cli import render
from mockserver.state import StateDir, write_private_file
from mockserver.tokens import BROKEN_KINDS, TokenRequestError

if TYPE_CHECKING:
    from mockserver.clock import Clock
    from mockserver.cluster import FakeCluster

STATE_DIR_HELP = "State folder written by `esi-mock serve` (holds connection.json and keys)."


def _fail(message: str) -> None:
    click.echo(f"esi-mock: {message}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="esi-mock")
def main() -> None:
    """Offline mock of the External Secrets Enterprise Federation Server and fake clusters."""


@main.command()
@click.option(
    "--fixtures",
    type=click.Path(exists=True, path_type=Path),
    help="Manifest file or folder (default: the shipped fixtures).",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to keep connection.json, keys and SA volumes (default: a new temporary folder).",
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Loopback address for every listener."
)
@click.option(
    "--quirk",
    "quirks",
    multiple=True,
    metavar="NAME",
    help="Reproduce a real-server defect (repeatable; `esi-mock quirks` lists them).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Hardened behaviour: audience check, exp required, no bearer forwarding.",
)
@click.option(
    "--access-log",
    is_flag=True,
    help="Print one line per request on stderr (no headers, no bodies; secrets scrubbed).",
)
@click.option(
    "--journal-size",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Requests the journal keeps (a ring buffer: the oldest go first).",
)
@click.option(
    "--admin-host",
    default="127.0.0.1",
    show_default=True,
    help="Loopback address of the admin API (anything else is refused).",
)
@click.option(
    "--unredacted",
    is_flag=True,
    help="Show tokens, keys and secret values in the journal and logs (local debugging only).",
)
@click.option(
    "--ephemeral",
    is_flag=True,
    help="Keep GeneratorStates, AuthorizedIdentities and leak records in memory only.",
)
def serve(
    fixtures: Path | None,
    state_dir: Path | None,
    host: str,
    quirks: tuple[str, ...],
    strict: bool,
    access_log: bool,
    journal_size: int,
    admin_host: str,
    unredacted: bool,
    ephemeral: bool,
) -> None:
    """Start the fake clusters and the mock Federation Server until SIGINT or SIGTERM."""
    from mockserver.runtime import MockServer

    started = time.perf_counter()
    try:
        server = MockServer(
            fixtures,
            state_dir,
            host=host,
            quirks=quirks,
            strict=strict,
            unredacted=unredacted,
            journal_size=journal_size,
            admin_host=admin_host,
            ephemeral=ephemeral,
        )
        server.start()
    except (ManifestError, UnknownQuirk, ValueError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot start: {exc}")
    for listener in [*server.listeners.values(), server.admin_listener]:
        if listener is not None:
            listener.set_access_log(access_log)
    elapsed = time.perf_counter() - started
    info = server.connection()
    click.echo(f"esi-mock {__version__} ready in {elapsed:.2f}s")
    click.echo(f"  state:       {info['state_dir']}")
    click.echo(f"  connection:  {server.state.connection_file}")
    click.echo(
        f"  federation:  {info['federation_url']}  (TLS {info['federation_tls_url']}, "
        f"mTLS {info['federation_mtls_url']})"
    )
    click.echo(f"  admin:       {info['admin_url']}")
    for name, cluster in info["clusters"].items():
        click.echo(f"  cluster {name}: {cluster['url']}  issuer {cluster['issuer']}")
    mode = "strict" if strict else "default"
    if quirks:
        mode += " + quirks " + ", ".join(quirks)
    click.echo(f"  mode:        {mode}")
    if unredacted:
        click.echo("  journal:     UNREDACTED (secrets in clear)")
    sys.stdout.flush()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    server.stop()
    click.echo("esi-mock stopped")


@main.command()
def quirks() -> None:
    """List the quirks --quirk accepts, with the reference of each."""
    for quirk in QUIRKS.values():
        click.echo(f"{quirk.name}\n    {quirk.summary}\n    ({quirk.reference})")


def _offline_cluster(state: StateDir, name: str) -> FakeCluster:
    """The named fake cluster, rebuilt from the fixtures with the keys kept in the state folder."""
    from mockserver.manifests import fake_cluster_specs, read_documents
    from mockserver.runtime import build_clusters

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
@click.option("--cluster", required=True, help="Fake cluster name (see connection.json).")
@click.option("--sa", required=True, metavar="NS/NAME", help="Service account.")
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
    type=click.Choice(sorted(BROKEN_KINDS)),
    help="A deliberately broken token for negative tests.",
)
def token(
    state_dir: Path,
    cluster: str,
    sa: str,
    audiences: tuple[str, ...],
    duration: int,
    pod: str | None,
    legacy: bool,
    broken: str | None,
) -> None:
    """Print one service-account token signed with the keys kept in the state folder."""
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
    help="SPIFFE ID, e.g. spiffe://mock/app/ns/NS/sa/UID/NAME/pod/UID/NAME.",
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
