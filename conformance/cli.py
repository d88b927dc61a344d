"""`esi-conformance`: write a vendor bundle, or run the server or the client suite.

One click group; every option has help, a shown default and an environment variable
(`ESI_CONFORMANCE_<OPTION>` for `server`, `ESI_CONFORMANCE_CLIENT_<OPTION>` for `client`,
`ESI_CONFORMANCE_BUNDLE_<OPTION>` for `bundle`). Every bad input is one line and exit 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from conformance import __version__
from conformance.clicommon import CONTEXT, invoke, option
from conformance.client_runner.cli import client
from conformance.listing import print_listing
from conformance.settings import (
    SERVER_REPORT_DIR,
    ServerSettings,
    SettingsError,
)
from conformance.suiteoptions import (
    expected_failures_option,
    output_options,
    report_dir_option,
    selection_options,
)

PROG = "esi-conformance"
SERVER_COMMIT = "external-secrets-inc/federation-server at ed0c3e9"
VERSION = f"{PROG} {__version__} (the embedded mock follows {SERVER_COMMIT})"
EXIT_USAGE = 2


def _env(option: str, prefix: str = "ESI_CONFORMANCE") -> str:
    return f"{prefix}_{option.upper().replace('-', '_')}"


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", message=VERSION)
def group() -> None:
    """Conformance suites for Federation Servers (`server`) and clients (`client`).

    Exit status: 0 when no MUST or MUST-SEC requirement failed and nothing errored; 1 otherwise;
    2 for bad input or a failed preflight check (one line naming the cause and the fix).
    """


@group.command("bundle")
@option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    envvar=_env("out", "ESI_CONFORMANCE_BUNDLE"),
    help="Folder to write the bundle into.",
)
@option(
    "--issuer-url",
    metavar="URL",
    envvar=_env("issuer-url", "ESI_CONFORMANCE_BUNDLE"),
    help="https://HOST[:PORT] where the fake clusters will be reached "
    "(default: 127.0.0.1 and free ports).",
)
@option(
    "--bind",
    envvar=_env("bind", "ESI_CONFORMANCE_BUNDLE"),
    help="Address the fake clusters listen on (default: 127.0.0.1; 0.0.0.0 with "
    "--advertise-host or --cluster-url, with a warning).",
)
@option(
    "--advertise-host",
    metavar="HOST",
    envvar=_env("advertise-host", "ESI_CONFORMANCE_BUNDLE"),
    help="Host the server under test reaches this machine by (e.g. host.docker.internal or a "
    "kind network gateway); every cluster URL names it.",
)
@option(
    "--cluster-url",
    "cluster_urls",
    multiple=True,
    metavar="NAME=URL",
    envvar=_env("cluster-url", "ESI_CONFORMANCE_BUNDLE"),
    help="The exact URL of one fake cluster, https://HOST[:PORT] (repeatable); the cluster "
    "listens on its port (443 without one).",
)
@option(
    "--force",
    is_flag=True,
    envvar=_env("force", "ESI_CONFORMANCE_BUNDLE"),
    help="Replace a bundle (or other files) already in --out: new keys and ports, so the server "
    "must load the new manifests.",
)
@option(
    "--anonymous-discovery",
    is_flag=True,
    envvar=_env("anonymous-discovery", "ESI_CONFORMANCE_BUNDLE"),
    help="Let the clusters answer discovery without the caller's token.",
)
@option(
    "--fixtures",
    type=click.Path(exists=True, path_type=Path),
    envvar=_env("fixtures", "ESI_CONFORMANCE_BUNDLE"),
    help="Manifests folder (default: the shipped fixtures).",
)
def bundle(
    out: Path,
    issuer_url: str | None,
    bind: str | None,
    advertise_host: str | None,
    cluster_urls: tuple[str, ...],
    force: bool,
    anonymous_discovery: bool,
    fixtures: Path | None,
) -> int:
    """Write what a server under test must load: manifests, CAs and the fake clusters' places."""
    from conformance.bundle import BundleError, create_bundle, default_bind
    from mockserver.runtime import is_loopback

    urls: dict[str, str] = {}
    for item in (p for v in cluster_urls for p in v.split()):
        name, sep, url = item.partition("=")
        if not sep or not name:
            click.echo(
                f"{PROG} bundle: --cluster-url expects NAME=URL (e.g. alpha=https://host:9443), "
                f"got {item!r}",
                err=True,
            )
            return EXIT_USAGE
        urls[name] = url
    bind = default_bind(bind, advertise_host, urls)
    try:
        made = create_bundle(
            out,
            issuer_url=issuer_url,
            bind=bind,
            anonymous_discovery=anonymous_discovery,
            fixtures=fixtures,
            force=force,
            advertise_host=advertise_host,
            cluster_urls=urls,
        )
    except BundleError as exc:
        click.echo(f"{PROG} bundle: {exc}", err=True)
        return EXIT_USAGE
    if not is_loopback(bind):
        click.echo(
            f"{PROG} bundle: warning: the fake clusters will listen on {bind}, beyond this "
            "machine; use it only on a network you trust",
            err=True,
        )
    click.echo(f"bundle written to {made.root.resolve()}")
    for name, p in made.placements.items():
        click.echo(f"  {name:<8} {p.url}  (listens on {p.bind_host}:{p.bind_port})")
    click.echo(
        f"apply {made.root / 'kubernetes.yaml'}, then load {made.root / 'manifests.yaml'} into "
        f"the server under test; see {made.root / 'README.md'}"
    )
    return 0


@group.command("server", context_settings={"ignore_unknown_options": False})
@option(
    "--target",
    metavar="URL",
    envvar=_env("target"),
    help="URL of the server under test (http:// or https://); without it, the embedded mock.",
)
@option(
    "--target-ca",
    type=click.Path(path_type=Path),
    envvar=_env("target-ca"),
    help="PEM CA that signed the target's TLS certificate (needed for an https:// target).",
)
@option(
    "--target-mtls", metavar="URL", envvar=_env("target-mtls"), help="URL of the SPIFFE mTLS port."
)
@option(
    "--bundle",
    "bundle_dir",
    type=click.Path(path_type=Path),
    envvar=_env("bundle"),
    help="Bundle folder the target loaded (needed with --target).",
)
@option(
    "--hooks",
    type=click.Path(path_type=Path),
    envvar=_env("hooks"),
    help="Vendor state hooks file (docs/vendor-bundle.md).",
)
@selection_options(_env, ids="requirements", prefix="SRV")
@expected_failures_option(_env)
@report_dir_option(
    _env, default=SERVER_REPORT_DIR, holds="results.json, junit.xml, report.html and pytest.log"
)
@option(
    "--strict",
    is_flag=True,
    envvar=_env("strict"),
    help="Embedded mock only: hardened behaviour instead of the real server's defects.",
)
@option(
    "--quirk",
    "quirks",
    multiple=True,
    metavar="NAME",
    envvar=_env("quirk"),
    help="Embedded mock only: reproduce this defect too (repeatable; `esi-mock quirks`).",
)
@output_options(
    _env, list_help="Print the requirements and scenarios a run would execute, and stop."
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- PYTEST_ARGS]")
def server(
    target: str | None,
    target_ca: Path | None,
    target_mtls: str | None,
    bundle_dir: Path | None,
    hooks: Path | None,
    profile: str,
    level: str | None,
    requirements: tuple[str, ...],
    expected_failures: Path | None,
    report_dir: Path,
    strict: bool,
    quirks: tuple[str, ...],
    list_only: bool,
    as_json: bool,
    quiet: bool,
    pytest_args: tuple[str, ...],
) -> int:
    """Run the server suite against --target, or against the embedded mock.

    A vendor target is checked once before any scenario (reachable, speaking HTTP(S), trusted
    TLS, free bundle ports, a valid hooks file). pytest runs the scenarios underneath; its own
    output goes to REPORT_DIR/pytest.log.
    """
    try:
        settings = ServerSettings.build(
            target=target,
            bundle=bundle_dir,
            hooks=hooks,
            target_ca=target_ca,
            target_mtls=target_mtls,
            profile=profile,
            level=level,
            requirements=_split(requirements),
            expected_failures=expected_failures,
            report_dir=report_dir,
            strict=strict,
            quirks=quirks,
        )
    except SettingsError as exc:
        click.echo(f"{PROG} server: {exc}", err=True)
        return EXIT_USAGE
    if list_only:
        from conformance.runner.suite import plan

        chosen = plan(settings.profile, settings.level, settings.requirement_ids)
        print_listing("server", chosen, settings.profile, settings.level, as_json)
        return 0
    from conformance.runner.command import run_server_command

    return run_server_command(
        settings, sys.stdout, sys.stderr, pytest_args=pytest_args, quiet=quiet
    )


def _split(values: Sequence[str]) -> list[str]:
    """Repeated options and space-separated environment values alike."""
    return [part for value in values for part in value.split()]


group.add_command(client)


def main(argv: Sequence[str] | None = None) -> int:
    return invoke(group, sys.argv[1:] if argv is None else argv, PROG)


if __name__ == "__main__":
    sys.exit(main())
