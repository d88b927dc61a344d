"""`esi-conformance client`: judge a command-line client through its adapter.

Registered on the `esi-conformance` group by `conformance/cli.py`; also runnable on its own as
`python -m conformance.client_runner.cli`. Options read `ESI_CONFORMANCE_CLIENT_<OPTION>`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from conformance.adapters import AdapterError, resolve_adapter
from conformance.clicommon import CONTEXT, invoke, option
from conformance.client_runner.suite import plan, run_client_suite
from conformance.console import ProgressPrinter, summary
from conformance.listing import print_listing
from conformance.report import write_reports
from conformance.results import exit_status
from conformance.scenarios import ScenarioError
from conformance.settings import (
    CLIENT_REPORT_DIR,
    ClientSettings,
    SettingsError,
)
from conformance.suiteoptions import (
    expected_failures_option,
    output_options,
    report_dir_option,
    selection_options,
)

EXIT_USAGE = 2
PROG = "esi-conformance client"


def _env(option: str) -> str:
    return "ESI_CONFORMANCE_CLIENT_" + option.upper().replace("-", "_")


@click.command("client", context_settings=CONTEXT)
@option(
    "--adapter",
    "adapter_ref",
    required=True,
    metavar="FILE|NAME",
    envvar=_env("adapter"),
    help="The client's adapter file, or a shipped adapter: reference, curl.",
)
@selection_options(_env, ids="requirement_ids", prefix="CLI")
@option(
    "--scenario",
    "scenario_ids",
    multiple=True,
    metavar="ID",
    envvar=_env("scenario"),
    help="Only this scenario (repeatable).",
)
@expected_failures_option(_env)
@report_dir_option(_env, default=CLIENT_REPORT_DIR, holds="results.json, junit.xml and report.html")
@output_options(
    _env, list_help="Print the requirements and scenarios the run would cover, and stop."
)
def client(
    adapter_ref: str,
    profile: str,
    level: str | None,
    requirement_ids: tuple[str, ...],
    scenario_ids: tuple[str, ...],
    expected_failures: Path | None,
    report_dir: Path,
    list_only: bool,
    as_json: bool,
    quiet: bool,
) -> int:
    """Judge a command-line Federation client against the embedded mock.

    Exit status: 0 when no MUST or MUST-SEC requirement failed and nothing errored, 1 otherwise,
    2 for a usage error (bad adapter, unknown ID, bad expected-failures file).
    """
    try:
        settings = ClientSettings.build(
            adapter=adapter_ref,
            profile=profile,
            level=level,
            requirements=[p for v in requirement_ids for p in v.split()],
            scenarios=[p for v in scenario_ids for p in v.split()],
            expected_failures=expected_failures,
            report_dir=report_dir,
        )
        adapter = resolve_adapter(settings.adapter)
        chosen = plan(
            settings.profile, settings.level, settings.requirement_ids, settings.scenario_ids
        )
    except (AdapterError, SettingsError, ValueError, ScenarioError, OSError) as exc:
        click.echo(f"{PROG}: {exc}", err=True)
        return EXIT_USAGE
    if list_only:
        print_listing("client", chosen, settings.profile, settings.level, as_json)
        return 0
    out = sys.stdout
    printer = ProgressPrinter(chosen, out, settings.expected, quiet=quiet)
    run = run_client_suite(
        adapter,
        profile=settings.profile,
        level=settings.level,
        requirement_ids=settings.requirement_ids,
        scenario_ids=settings.scenario_ids,
        expected=settings.expected,
        progress=printer,
    )
    printer.finish()
    report = None
    if settings.report_dir is not None:
        report = str(write_reports(run, settings.report_dir)["html"])
    out.write(summary(run, "client", report, quiet))
    return exit_status(run)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with `argv` (default: sys.argv[1:]) and return its exit status."""
    return invoke(client, sys.argv[1:] if argv is None else argv, PROG)


if __name__ == "__main__":
    sys.exit(main())
