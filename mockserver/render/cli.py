"""`esi-mock render`: print the Secret an ESE controller would write, or run one client call.

Register with `main.add_command(render)` (import path `mockserver.render.cli:render`).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

import click

from mockserver.clock import CLOCK
from mockserver.manifests import ManifestError

from .clients import ClientError, Exchange, GeneratorClient, ProviderClient
from .environment import Environment, SetupError, from_state_dir
from .render import diff, load
from .render import render as run_render
from .requeue import RequeueError, mock_clock

OPERATIONS = ("store-get", "generate", "revoke-self")


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"esi-mock render: {message}", err=True)
    sys.exit(code)


def _read_token(path: Path | None) -> str | None:
    if path is None:
        return None
    return path.read_text(encoding="utf-8")


def _environment(
    state_dir: Path | None, server: str | None, cluster: str | None, token: str | None
) -> Environment:
    if state_dir is not None:
        try:
            env = from_state_dir(state_dir, server, cluster)
        except (FileNotFoundError, ManifestError, ValueError) as exc:
            _fail(str(exc))
    elif server is not None:
        env = Environment(federation_url=server)
    else:
        _fail("give --state-dir DIR (a mock started with it) or --server URL")
    if token is not None:
        env.token = token.strip()
    return env


def _trace(exchanges: list[Exchange]) -> None:
    for ex in exchanges:
        status = ex.status if ex.status is not None else "no response"
        body = (
            "chunked body" if ex.chunked else f"{len(ex.body)}-byte body" if ex.body else "no body"
        )
        click.echo(f"{ex.method} {ex.target} ({body}) -> {status}", err=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-f",
    "--filename",
    "files",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Client-side manifests: file or folder (repeatable).",
)
@click.option(
    "--state-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="State folder of `esi-mock serve`: its server URL, CA and fake clusters (tokens).",
)
@click.option("--server", metavar="URL", help="Federation Server base URL (any server).")
@click.option("--cluster", help="Fake cluster for objects without the cluster annotation.")
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Use this token instead of minting (a server that is not the mock).",
)
@click.option("--as-released", is_flag=True, help="Reproduce the released clients' defects.")
@click.option("--diff", "show_diff", is_flag=True, help="Diff correct against as-released.")
@click.option("-v", "--verbose", is_flag=True, help="Print each request line on stderr.")
@click.option(
    "--reconcile",
    "reconciles",
    type=click.IntRange(1, 100),
    default=1,
    show_default=True,
    metavar="N",
    help="Reconcile up to N times, requeued with the controller's backoff on the mock's clock "
    "(a transient failure heals on a later reconcile, a permanent one does not).",
)
@click.option(
    "--operation",
    type=click.Choice(OPERATIONS),
    help="Run one client call instead of rendering (for client-suite adapters).",
)
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Operation: the client-cluster CA (PEM) sent as ca.crt.",
)
@click.option(
    "--server-ca-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Operation, store-get: CA bundle trusted for an https server (server.caRef).",
)
@click.option("--store", help="Operation store-get: the server's ClusterSecretStore.")
@click.option("--key", help="Operation store-get: remoteRef.key.")
@click.option("--property", "prop", default="", help="Operation store-get: remoteRef.property.")
@click.option("--version", default="", help="Operation store-get: remoteRef.version.")
@click.option("--generator", metavar="NS/KIND/NAME", help="Operation generate/revoke-self.")
@click.option(
    "--ca-secret-form",
    type=click.Choice(("base64", "pem")),
    default="base64",
    show_default=True,
    help="Generator: how the caCertSecretRef Secret holds the CA (base64 works as released).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Operation output: store-get a file of the value's bytes, generate a folder with one "
    "file per key (default: stdout).",
)
def render(
    files: tuple[Path, ...],
    state_dir: Path | None,
    server: str | None,
    cluster: str | None,
    token_file: Path | None,
    as_released: bool,
    show_diff: bool,
    verbose: bool,
    reconciles: int,
    operation: str | None,
    ca_file: Path | None,
    server_ca_file: Path | None,
    store: str | None,
    key: str | None,
    prop: str,
    version: str,
    generator: str | None,
    ca_secret_form: str,
    out: Path | None,
) -> None:
    """Print the Secret that ExternalSecrets in FILEs would produce through a Federation Server.

    Each ExternalSecret is reconciled once, as ESO does, through the `externalsecrets` store
    provider or the `Federation` generator; on failure the ExternalSecret's Ready=False status and
    the Warning event with the server's message are printed instead, and the exit status is 1.
    """
    token = _read_token(token_file)
    if operation is not None:
        _operation(
            operation,
            state_dir,
            server,
            token,
            as_released,
            verbose,
            ca_file,
            server_ca_file,
            store,
            key,
            prop,
            version,
            generator,
            ca_secret_form,
            out,
        )
        return
    if not files:
        _fail("give at least one -f FILE (or --operation)")
    env = _environment(state_dir, server, cluster, token)
    try:
        manifests = load(files, env)
    except ManifestError as exc:
        _fail(str(exc))
    except SetupError as exc:
        _fail(str(exc))
    if not manifests.external_secrets:
        _fail("no ExternalSecret in the given files")
    if show_diff:
        correct = run_render(manifests, env, released=False, reconciles=reconciles)
        released = run_render(manifests, env, released=True, reconciles=reconciles)
        click.echo(diff(correct, released) or "no difference\n", nl=False)
        return
    clock = mock_clock(str(state_dir)) if state_dir is not None and reconciles > 1 else CLOCK
    try:
        result = run_render(
            manifests, env, released=as_released, reconciles=reconciles, clock=clock
        )
    except RequeueError as exc:
        _fail(str(exc))
    if verbose:
        _trace(result.exchanges)
        for outcome in result.outcomes:
            es = outcome.external_secret
            for line in outcome.requeues:
                click.echo(f"{es.namespace}/{es.name}: {line}", err=True)
    click.echo(result.yaml(), nl=False)
    sys.exit(1 if result.failed else 0)


def _operation(
    operation: str,
    state_dir: Path | None,
    server: str | None,
    token: str | None,
    released: bool,
    verbose: bool,
    ca_file: Path | None,
    server_ca_file: Path | None,
    store: str | None,
    key: str | None,
    prop: str,
    version: str,
    generator: str | None,
    ca_secret_form: str,
    out: Path | None,
) -> None:
    url = server or (
        _environment(state_dir, None, None, None).federation_url if state_dir else None
    )
    if url is None:
        _fail("give --server URL (or --state-dir)")
    if token is None:
        _fail("--operation needs --token-file")
    if ca_file is None:
        _fail("--operation needs --ca-file (the client-cluster CA sent as ca.crt)")
    ca_pem = ca_file.read_bytes()
    try:
        if operation == "store-get":
            if store is None or key is None:
                _fail("store-get needs --store and --key")
            # An empty file means "no server.caRef" (an http server, or system roots).
            server_ca = None
            if server_ca_file is not None and str(server_ca_file) not in ("", "."):
                if not server_ca_file.is_file():
                    _fail(f"--server-ca-file {server_ca_file}: no such file")
                server_ca = server_ca_file.read_bytes() or None
            # The provider's token comes from a TokenRequest: never with surrounding whitespace.
            client = ProviderClient(url, store, token.strip(), ca_pem, server_ca, released=released)
            try:
                value = client.get_secret(key, prop, version)
            finally:
                if verbose:
                    _trace(client.log)
            _write_value(value, out)
            return
        if generator is None or generator.count("/") != 2:
            _fail(f"{operation} needs --generator NS/KIND/NAME")
        namespace, kind, name = generator.split("/")
        stored_ca = ca_pem if ca_secret_form == "pem" else _b64(ca_pem)
        gen = GeneratorClient(url, namespace, kind, name, token, stored_ca, released=released)
        try:
            if operation == "generate":
                _write_values(gen.generate(), out)
            else:
                gen.cleanup()
        finally:
            if verbose:
                _trace(gen.log)
    except ClientError as exc:
        _fail(str(exc), 1)


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _write_value(value: bytes, out: Path | None) -> None:
    if out is None:
        sys.stdout.buffer.write(value)
        sys.stdout.flush()
    else:
        _atomic_write(out, value)


def _write_values(values: dict[str, bytes], out: Path | None) -> None:
    if out is None:
        text = {k: v.decode("utf-8", "surrogateescape") for k, v in values.items()}
        click.echo(json.dumps(text, ensure_ascii=False, sort_keys=True))
        return
    for name in values:
        if "/" in name or name in ("", ".", ".."):
            _fail(f"generated key {name!r} cannot be a file name", 1)
    for name, value in values.items():
        _atomic_write(out / name, value)
