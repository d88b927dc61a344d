"""`esi-conformance client`: judge a command-line client through its adapter.

Registered on the `esi-conformance` group by `conformance/cli.py`; also runnable on its own as
`python -m conformance.client_runner.cli`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from conformance.adapters import AdapterError, resolve_adapter
from conformance.client_runner.suite import plan, run_client_suite
from conformance.report import terminal_summary, write_reports
from conformance.requirements import PROFILES, all_requirements
from conformance.results import ExpectedFailuresError, exit_status, load_expected_failures
from conformance.scenarios import Scenario, ScenarioError

EXIT_USAGE = 2


@click.command("client")
@click.option(
    "--adapter",
    "adapter_ref",
    required=True,
    metavar="FILE|NAME",
    help="The client's adapter file, or a shipped adapter: reference, curl.",
)
@click.option(
    "--profile",
    type=click.Choice(PROFILES),
    default="full",
    show_default=True,
    help="smoke: one MUST per operation; core: every MUST and MUST-SEC; full: all.",
)
@click.option(
    "--level",
    metavar="LEVEL",
    default=None,
    help="must (MUST and MUST-SEC), should (all), or MUST, MUST-SEC, SHOULD.",
)
@click.option(
    "--requirement",
    "requirement_ids",
    multiple=True,
    metavar="ID",
    help="Only these CLI-… requirements (repeatable).",
)
@click.option(
    "--scenario",
    "scenario_ids",
    multiple=True,
    metavar="ID",
    help="Only these scenarios (repeatable).",
)
@click.option(
    "--expected-failures",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML list of {id, reason}: FAIL becomes XFAIL, PASS becomes XPASS.",
)
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write results.json, junit.xml and report.html here.",
)
@click.option(
    "--list",
    "list_only",
    is_flag=True,
    help="Print the requirements and scenarios the run would cover, and stop.",
)
@click.option("-q", "--quiet", is_flag=True, help="No per-scenario progress lines.")
def client(
    adapter_ref: str,
    profile: str,
    level: str | None,
    requirement_ids: tuple[str, ...],
    scenario_ids: tuple[str, ...],
    expected_failures: Path | None,
    report_dir: Path | None,
    list_only: bool,
    quiet: bool,
) -> None:
    """Judge a command-line Federation client against the embedded mock.

    Exit status: 0 when no MUST or MUST-SEC requirement failed and nothing errored, 1 otherwise,
    2 for a usage error (bad adapter, unknown ID, bad expected-failures file).
    """
    try:
        adapter = resolve_adapter(adapter_ref)
        chosen = plan(profile, level, requirement_ids or None, scenario_ids or None)
        expected = (
            load_expected_failures(expected_failures, all_requirements())
            if expected_failures
            else None
        )
    except (AdapterError, ValueError, ScenarioError, ExpectedFailuresError, OSError) as exc:
        click.echo(f"esi-conformance client: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if list_only:
        for req in chosen.requirements:
            click.echo(f"{req.id} [{req.level}] {req.text}")
        for scenario in chosen.scenarios:
            click.echo(f"  {scenario.id}: {scenario.title}")
        return

    def progress(scenario: Scenario, result: object) -> None:
        if not quiet:
            status = getattr(result, "status", "?")
            click.echo(f"{status:<5} {scenario.id}", err=True)

    run = run_client_suite(
        adapter,
        profile=profile,
        level=level,
        requirement_ids=requirement_ids or None,
        scenario_ids=scenario_ids or None,
        expected=expected,
        progress=progress,
    )
    if report_dir is not None:
        paths = write_reports(run, report_dir)
        click.echo(f"reports: {', '.join(str(p) for p in paths.values())}", err=True)
    click.echo(terminal_summary(run), nl=False)
    sys.exit(exit_status(run))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with `argv` (default: sys.argv[1:]) and return its exit status."""
    try:
        client.main(
            args=list(sys.argv[1:] if argv is None else argv),
            prog_name="esi-conformance client",
            standalone_mode=True,
        )
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
