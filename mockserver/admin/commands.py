"""`esi-mock journal|fault|rotate|clock|quirk`: the common admin calls from a shell.

Each command reads `admin_url` from the state folder's `connection.json` and calls the admin API
of the running `esi-mock serve`; `cli.py` registers them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from mockserver.admin.client import AdminClient, AdminClientError
from mockserver.admin.clusterfaults import ENDPOINTS as CLUSTER_ENDPOINTS
from mockserver.admin.clusterfaults import KINDS as CLUSTER_KINDS
from mockserver.admin.faults import ACTIONS, LISTENERS, ROUTES, TLS_KINDS

STATE_DIR_HELP = "State folder of a running `esi-mock serve` (its connection.json has admin_url)."

state_dir_option = click.option(
    "--state-dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help=STATE_DIR_HELP,
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print the raw JSON answer.")


def _client(state_dir: Path) -> AdminClient:
    try:
        return AdminClient.from_state_dir(state_dir)
    except (FileNotFoundError, AdminClientError) as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    click.echo(f"esi-mock: {message}", err=True)
    sys.exit(2)


def _run(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except AdminClientError as exc:
        _fail(exc.message if exc.status == 0 else f"admin API answered {exc}")


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


# -- journal -------------------------------------------------------------------------------------


def journal_line(entry: dict[str, Any]) -> str:
    """One line per entry: id, time, listener, method, raw path, status, who, why."""
    response = entry.get("response") or {}
    status = response.get("status", "dropped" if entry.get("dropped") else "-")
    identity = entry.get("identity") or {}
    parts = [
        f"#{entry['id']}",
        entry.get("time_iso", ""),
        entry.get("listener", ""),
        entry.get("method", ""),
        entry.get("path", "") + (f"?{entry['query']}" if entry.get("query") else ""),
        f"-> {status}",
    ]
    if identity.get("subject"):
        parts.append(f"subject={identity['subject']}")
    if entry.get("authorization"):
        parts.append(f"authorization={entry['authorization']}")
    if entry.get("error"):
        parts.append(f"error={entry['error']!r}")
    if entry.get("near_miss"):
        parts.append(f"near_miss={entry['near_miss']!r}")
    if entry.get("fault"):
        parts.append(f"fault={json.dumps(entry['fault'], sort_keys=True)}")
    return "  ".join(str(p) for p in parts)


@click.command()
@state_dir_option
@click.option("--route", type=click.Choice(ROUTES), help="Only this route.")
@click.option("--status", help="Only this status (404) or class (4xx).")
@click.option("--identity", help="Only this subject, issuer or SPIFFE ID.")
@click.option("--listener", type=click.Choice(LISTENERS), help="Only this listener.")
@click.option("--method", help="Only this HTTP method.")
@click.option("--path-prefix", help="Only raw paths starting with this.")
@click.option("--since", type=float, help="Only entries at or after this mock-clock time.")
@click.option("--until", type=float, help="Only entries before this mock-clock time.")
@click.option("--near-miss", is_flag=True, help="Only entries with a near miss.")
@click.option("--limit", type=int, help="Only the newest N matches.")
@click.option("--clear", is_flag=True, help="Empty the journal instead of printing it.")
@json_option
def journal(state_dir: Path, clear: bool, as_json: bool, **filters: Any) -> None:
    """Print the request journal (redacted) of a running mock, oldest first.

    `--json` prints the admin API's object: {"entries", "size", "count", "dropped", "matched"}.
    """
    client = _client(state_dir)
    if clear:
        click.echo(f"cleared {_run(client.clear_journal)} entries")
        return
    filters["near_miss"] = True if filters.pop("near_miss") else None
    answer = _run(client.call, "GET", "/journal", query=filters)
    if as_json:  # the documented object (docs/admin-api.md), not just its entries
        _echo_json(answer)
        return
    for entry in answer["entries"]:
        click.echo(journal_line(entry))


# -- faults --------------------------------------------------------------------------------------


@click.group()
def fault() -> None:
    """Make the running mock misbehave on purpose (see docs/admin-api.md)."""


@fault.command("add")
@state_dir_option
@click.option("--action", type=click.Choice(ACTIONS), help="Default: status when --status given.")
@click.option("--status", type=int, help="Answer this status instead.")
@click.option("--body", help="Body of the --status answer (raw text).")
@click.option("--content-type", help="Content-Type of the --status answer.")
@click.option("--tls", type=click.Choice(TLS_KINDS), help="Bad certificate for new connections.")
@click.option("--route", type=click.Choice(ROUTES), help="Only requests for this route.")
@click.option("--method", help="Only requests with this method.")
@click.option("--path-prefix", help="Only raw paths starting with this.")
@click.option("--listener", type=click.Choice(LISTENERS), help="Only this listener.")
@click.option("--count", type=int, default=1, show_default=True, help="Fire this many times.")
@click.option("--always", is_flag=True, help="Fire until removed (ignores --count).")
@click.option("--probability", type=float, help="Fire with this probability (0..1).")
@click.option("--seed", type=int, help="Seed of the probability draws (printed when chosen).")
@click.option("--delay", type=float, help="Wait this many seconds on the mock's clock first.")
@click.option("--delay-ms", type=int, help="Wait this many real milliseconds first.")
@json_option
def fault_add(always: bool, state_dir: Path, as_json: bool, **spec: Any) -> None:
    """Add a fault on the federation listeners; prints it with its id (and seed)."""
    spec = {k: v for k, v in spec.items() if v is not None}
    if always:
        spec["count"] = None
    added = _run(_client(state_dir).add_fault, spec)
    if as_json:
        _echo_json(added)
    else:
        click.echo(json.dumps(added, sort_keys=True))


@fault.command("cluster")
@state_dir_option
@click.option("--cluster", required=True, help="Fake cluster name.")
@click.option("--kind", required=True, type=click.Choice(CLUSTER_KINDS), help="What breaks.")
@click.option(
    "--endpoint",
    type=click.Choice(CLUSTER_ENDPOINTS),
    default="any",
    show_default=True,
    help="Which of the cluster's endpoints the fault hits.",
)
@click.option("--count", type=int, help="Fire this many times (default: until removed).")
@click.option("--host", help="For jwks-uri-host: the host the discovery document names.")
def fault_cluster(state_dir: Path, **spec: Any) -> None:
    """Break a fake cluster's discovery/JWKS side; prints the fault with its id."""
    spec = {k: v for k, v in spec.items() if v is not None}
    click.echo(json.dumps(_run(_client(state_dir).add_cluster_fault, spec), sort_keys=True))


@fault.command("list")
@state_dir_option
def fault_list(state_dir: Path) -> None:
    """Print the active faults (request, TLS and cluster) as JSON."""
    client = _client(state_dir)
    _echo_json({"faults": _run(client.faults), "cluster_faults": _run(client.cluster_faults)})


@fault.command("clear")
@state_dir_option
@click.argument("fault_id", type=int, required=False)
@click.option("--cluster", "cluster_side", is_flag=True, help="The id is a cluster fault's.")
def fault_clear(state_dir: Path, fault_id: int | None, cluster_side: bool) -> None:
    """Remove one fault by id, or every fault (request, TLS and cluster) without an id."""
    client = _client(state_dir)
    if fault_id is None:
        count = _run(client.clear_faults) + _run(client.clear_cluster_faults)
        click.echo(f"cleared {count} faults")
        return
    _run(client.remove_cluster_fault if cluster_side else client.remove_fault, fault_id)
    click.echo(f"removed fault {fault_id}")


# -- keys, clock, quirks -------------------------------------------------------------------------


@click.command()
@state_dir_option
@click.option("--cluster", required=True, help="Fake cluster name.")
@click.option(
    "--step",
    type=click.Choice(["full", "add", "sign", "retire"]),
    default="full",
    show_default=True,
    help="full = publish a new key and sign with it; add/sign/retire = one step.",
)
@click.option("--kid", help="The key for --step sign or retire.")
@click.option(
    "--key-type",
    type=click.Choice(["rsa", "ec"]),
    default="rsa",
    show_default=True,
    help="Type of the new signing key.",
)
def rotate(state_dir: Path, cluster: str, step: str, kid: str | None, key_type: str) -> None:
    """Rotate a fake cluster's signing keys in the running mock; prints the key set."""
    answer = _run(_client(state_dir).rotate_keys, cluster, step=step, kid=kid, key_type=key_type)
    click.echo(f"kid {answer['kid']}; signing with {answer['signing_kid']}")
    for key in answer["keys"]:
        mark = " (signing)" if key["signing"] else ""
        click.echo(f"  {key['kid']}  {key['alg']}{mark}")


@click.command()
@state_dir_option
@click.option("--shift", type=float, help="Move the mock's clock by this many seconds.")
@click.option("--offset", type=float, help="Set the clock's offset from real time.")
def clock(state_dir: Path, shift: float | None, offset: float | None) -> None:
    """Show or move the running mock's clock (expiry without sleeping)."""
    client = _client(state_dir)
    if shift is not None and offset is not None:
        _fail("give --shift or --offset, not both")
    if shift is not None:
        answer = _run(client.shift_clock, shift)
    elif offset is not None:
        answer = _run(client.set_clock_offset, offset)
    else:
        answer = _run(client.clock)
    click.echo(f"now {answer['now']:.3f}  offset {answer['offset']:+.3f}s")


@click.command()
@state_dir_option
@click.option("--on", "enable", multiple=True, metavar="NAME", help="Turn a quirk on.")
@click.option("--off", "disable", multiple=True, metavar="NAME", help="Turn a quirk off.")
def quirk(state_dir: Path, enable: tuple[str, ...], disable: tuple[str, ...]) -> None:
    """Show or switch the running mock's quirks."""
    client = _client(state_dir)
    for name in enable:
        _run(client.enable_quirk, name)
    for name in disable:
        _run(client.disable_quirk, name)
    answer = _run(client.quirks)
    click.echo(f"strict: {str(answer['strict']).lower()}")
    click.echo("quirks on: " + (", ".join(answer["quirks"]) or "(none)"))


COMMANDS = (journal, fault, rotate, clock, quirk)
