"""pytest plugin: the server suite as pytest items, one per scenario.

Two ways in. `esi-conformance server` builds `ServerSettings` and registers a
`ServerSuitePlugin(settings)` object directly. A pytest user loads this module explicitly (it is
no entry point, so the project's own test run never sees it):
`pytest -p conformance.runner.plugin --esi-target embedded -k store`; its options are turned
into the same `ServerSettings`. Items carry the level, area and needs as markers
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
from conformance.runner.suite import Progress
from conformance.scenarios import Scenario
from conformance.settings import LEVEL_CHOICES, ServerSettings, SettingsError

EMBEDDED = "embedded"
PLUGIN_NAME = "esi-conformance-server-suite"
_RUN = pytest.StashKey[RunResult]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("esi", "Federation Server conformance")
    group.addoption("--esi-target", help="URL of the server under test, or 'embedded'")
    group.addoption("--esi-bundle", help="bundle folder (esi-conformance bundle)")
    group.addoption("--esi-hooks", help="vendor hooks file (docs/vendor-bundle.md)")
    group.addoption("--esi-target-ca", help="PEM CA of the target's TLS ports")
    group.addoption("--esi-target-mtls", help="URL of the target's mTLS (SPIFFE) port")
    group.addoption("--esi-profile", default="full", choices=("smoke", "core", "full"))
    group.addoption("--esi-level", default=None, choices=LEVEL_CHOICES)
    group.addoption(
        "--esi-requirement",
        action="append",
        default=None,
        help="only this requirement ID, any case (repeatable)",
    )
    group.addoption("--esi-expected-failures", help="YAML list of {id, reason}")
    group.addoption("--esi-report-dir", help="write junit.xml, results.json, report.html here")


def pytest_configure(config: pytest.Config) -> None:
    """pytest options → ServerSettings (the one settings step) → the suite plugin."""
    if not config.getoption("--esi-target"):
        return
    try:
        settings = ServerSettings.build(
            target=config.getoption("--esi-target"),
            bundle=config.getoption("--esi-bundle"),
            hooks=config.getoption("--esi-hooks"),
            target_ca=config.getoption("--esi-target-ca"),
            target_mtls=config.getoption("--esi-target-mtls"),
            profile=config.getoption("--esi-profile"),
            level=config.getoption("--esi-level"),
            requirements=config.getoption("--esi-requirement"),
            expected_failures=config.getoption("--esi-expected-failures"),
            report_dir=config.getoption("--esi-report-dir"),
        )
    except SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.pluginmanager.register(ServerSuitePlugin(settings, summary=True), PLUGIN_NAME)


class ServerSuitePlugin:
    """The suite's hooks over one `ServerSession`; `progress` sees every scenario result."""

    def __init__(
        self, settings: ServerSettings, progress: Progress | None = None, summary: bool = False
    ) -> None:
        self.settings = settings
        self.session = ServerSession.from_settings(settings)
        self.progress = progress
        self.summary = summary
        self.run: RunResult | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
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

    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> bool:
        """No test files: the scenarios are the items."""
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        from conformance.requirements import all_requirements

        registry = all_requirements()
        for scenario in self.session.plan.scenarios:
            item = ScenarioItem.from_parent(
                session, name=scenario.id, scenario=scenario, suite=self
            )
            for rid in scenario.requirements:
                item.extra_keyword_matches.add(rid)
                level = registry[rid].level.lower().replace("-", "_")
                item.add_marker(level)
                item.add_marker(registry[rid].area.lower())
            for need in scenario.needs:
                item.add_marker(need.replace("-", "_"))
            items.append(item)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.session.stop()
        run = self.session.result()
        self.run = run
        session.config.stash[_RUN] = run
        if self.summary and self.settings.report_dir is not None:
            write_reports(run, self.settings.report_dir)
        if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            session.exitstatus = exit_status(run)

    def pytest_terminal_summary(
        self, terminalreporter: Any, exitstatus: int, config: pytest.Config
    ) -> None:
        if not self.summary or self.run is None:
            return
        terminalreporter.write_sep("=", "conformance summary")
        terminalreporter.write(terminal_summary(self.run))
        if self.settings.report_dir is not None:
            terminalreporter.write_line(
                f"reports: {self.settings.report_dir.resolve()}/"
                "{junit.xml,results.json,report.html}"
            )


class ScenarioItem(pytest.Item):
    """One scenario; runs in set-up so ERROR shows as a pytest error."""

    def __init__(self, *, scenario: Scenario, suite: ServerSuitePlugin, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.suite = suite
        self.outcome: ScenarioResult | None = None

    def setup(self) -> None:
        self.outcome = self.suite.session.run(self.scenario)
        if self.suite.progress is not None:
            self.suite.progress(self.scenario, self.outcome)
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
        return str(super().repr_failure(excinfo))

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
