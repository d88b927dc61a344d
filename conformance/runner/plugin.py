"""pytest plugin: the server suite as pytest items, one per scenario.

Load it explicitly (it is not registered as an entry point, so the project's own test run never
sees it): `pytest -p conformance.runner.plugin --esi-target embedded -k store`. With
`--esi-target` only the scenarios are collected. Items carry the level, area and needs as markers
(`-m "must and not state_hooks"`) and the requirement IDs as keywords (`-k SRV-AUTH-001`).

A scenario that is ERROR (harness or set-up broke) is reported in the set-up phase, so pytest
shows it as an error, never as a failure; SKIP is a pytest skip with the reason. The exit status
follows the suite's rule: non-zero only for an unexpected MUST/MUST-SEC FAIL or any ERROR.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.report import terminal_summary, write_reports
from conformance.results import ERROR, FAIL, SKIP, RunResult, ScenarioResult, exit_status
from conformance.runner.api import ServerSession
from conformance.scenarios import Scenario

EMBEDDED = "embedded"
_SESSION = pytest.StashKey[ServerSession]()
_RUN = pytest.StashKey[RunResult]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("esi", "Federation Server conformance")
    group.addoption("--esi-target", help="URL of the server under test, or 'embedded'")
    group.addoption("--esi-bundle", help="bundle folder (esi-conformance bundle)")
    group.addoption("--esi-hooks", help="vendor hooks file (docs/vendor-bundle.md)")
    group.addoption("--esi-target-ca", help="PEM CA of the target's TLS ports")
    group.addoption("--esi-target-mtls", help="URL of the target's mTLS (SPIFFE) port")
    group.addoption("--esi-profile", default="full", choices=("smoke", "core", "full"))
    group.addoption("--esi-level", default=None, choices=("must", "should"))
    group.addoption(
        "--esi-requirement",
        action="append",
        default=None,
        help="only this requirement ID (repeatable)",
    )
    group.addoption("--esi-expected-failures", help="YAML list of {id, reason}")
    group.addoption("--esi-report-dir", help="write junit.xml, results.json, report.html here")


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("--esi-target"))


def pytest_configure(config: pytest.Config) -> None:
    if not _enabled(config):
        return
    from conformance.requirements import AREAS

    markers = (
        "must",
        "must_sec",
        "should",
        "state_hooks",
        "mtls",
        "faults",
        "mock",
        *(a.lower() for a in AREAS),
    )
    for marker in markers:
        config.addinivalue_line("markers", f"{marker}: conformance scenario marker")
    target = config.getoption("--esi-target")
    session = ServerSession(
        None if target == EMBEDDED else target,
        bundle=config.getoption("--esi-bundle"),
        hooks=config.getoption("--esi-hooks"),
        target_ca=config.getoption("--esi-target-ca"),
        target_mtls=config.getoption("--esi-target-mtls"),
        profile=config.getoption("--esi-profile"),
        level=config.getoption("--esi-level"),
        requirement_ids=config.getoption("--esi-requirement"),
        expected_failures=config.getoption("--esi-expected-failures"),
    )
    config.stash[_SESSION] = session


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With --esi-target, no test files: the scenarios are the items."""
    return True if _enabled(config) else None


class ScenarioItem(pytest.Item):
    """One scenario; runs in set-up so ERROR shows as a pytest error."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.outcome: ScenarioResult | None = None

    def setup(self) -> None:
        session = self.config.stash[_SESSION]
        self.outcome = session.run(self.scenario)
        if self.outcome.status == SKIP:
            pytest.skip(self.outcome.message)
        if self.outcome.status == ERROR:
            raise HarnessError(self.outcome.message)

    def runtest(self) -> None:
        assert self.outcome is not None
        if self.outcome.status == FAIL:
            raise ScenarioFailed(self.outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed | HarnessError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[str, int, str]:
        reqs = ", ".join(self.scenario.requirements)
        return self.scenario.file, 0, f"{self.scenario.id} ({reqs})"


class ScenarioFailed(AssertionError):
    """The target answered wrongly (FAIL)."""

    def __init__(self, result: ScenarioResult) -> None:
        lines = [f"FAIL {result.scenario_id}: {result.message}"]
        for ev in result.evidence:
            for problem in ev.problems:
                lines.append(f"  step {ev.step}: {problem}")
        super().__init__("\n".join(lines))


class HarnessError(RuntimeError):
    """The harness or the set-up broke (ERROR)."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not _enabled(config):
        return
    from conformance.requirements import all_requirements

    registry = all_requirements()
    for scenario in config.stash[_SESSION].plan.scenarios:
        item = ScenarioItem.from_parent(session, name=scenario.id, scenario=scenario)
        for rid in scenario.requirements:
            item.extra_keyword_matches.add(rid)
            level = registry[rid].level.lower().replace("-", "_")
            item.add_marker(level)
            item.add_marker(registry[rid].area.lower())
        for need in scenario.needs:
            item.add_marker(need.replace("-", "_"))
        items.append(item)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not _enabled(config) or _SESSION not in config.stash:
        return
    suite = config.stash[_SESSION]
    suite.stop()
    run = suite.result()
    config.stash[_RUN] = run
    report_dir = config.getoption("--esi-report-dir")
    if report_dir:
        write_reports(run, report_dir)
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = exit_status(run)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _enabled(config) or _RUN not in config.stash:
        return
    terminalreporter.write_sep("=", "conformance summary")
    terminalreporter.write(terminal_summary(config.stash[_RUN]))
    report_dir = config.getoption("--esi-report-dir")
    if report_dir:
        terminalreporter.write_line(
            f"reports: {Path(report_dir).resolve()}/{{junit.xml,results.json,report.html}}"
        )
