"""One console style for both suites: a progress line per requirement as soon as its last
scenario ran, then a short summary whose last line agrees with the exit status.

FAIL and ERROR lines carry their reason here, once; the summary only counts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO

from conformance.planning import Plan
from conformance.report import short_title
from conformance.requirements import LEVELS
from conformance.results import (
    ERROR,
    FAIL,
    STATUSES,
    XPASS,
    RunResult,
    ScenarioResult,
    exit_status,
    requirement_result,
)
from conformance.scenarios import Scenario

LOUD = (FAIL, ERROR, XPASS)


class ProgressPrinter:
    """Prints `STATUS  ID  title` when a requirement's last scenario has run.

    `quiet` keeps only FAIL, ERROR and XPASS lines. Requirements without a scenario are
    printed by `finish`.
    """

    def __init__(
        self,
        chosen: Plan,
        out: TextIO,
        expected: Mapping[str, str] | None = None,
        quiet: bool = False,
    ) -> None:
        self.out, self.expected, self.quiet = out, expected, quiet
        self.requirements = {r.id: r for r in chosen.requirements}
        self.pending: dict[str, set[str]] = {rid: set() for rid in self.requirements}
        for scenario in chosen.scenarios:
            for rid in scenario.requirements:
                if rid in self.pending:
                    self.pending[rid].add(scenario.id)
        self.results: dict[str, list[ScenarioResult]] = {rid: [] for rid in self.requirements}
        self.printed: set[str] = set()
        self.errors: set[str] = set()  # a harness failure is explained once

    def __call__(self, scenario: Scenario, result: ScenarioResult) -> None:
        for rid in scenario.requirements:
            if rid not in self.pending:
                continue
            self.pending[rid].discard(scenario.id)
            self.results[rid].append(result)
            if not self.pending[rid]:
                self._line(rid)

    def finish(self) -> None:
        """Print what is left (requirements whose scenarios did not all run, or none exist)."""
        for rid in self.requirements:
            if rid not in self.printed:
                self._line(rid)

    def _line(self, rid: str) -> None:
        if rid in self.printed:
            return
        self.printed.add(rid)
        req = self.requirements[rid]
        res = requirement_result(req, self.results[rid], self.expected)
        if self.quiet and res.status not in LOUD:
            return
        line = f"{res.status:<5} {rid:<16} {short_title(req.text)}"
        if res.status in LOUD and res.reason:
            seen = res.status == ERROR and res.reason in self.errors
            line += "\n      (the same error as above)" if seen else f"\n      {res.reason}"
            if res.status == ERROR:
                self.errors.add(res.reason)
        self.out.write(line + "\n")
        self.out.flush()


def summary(run: RunResult, suite: str, report: str | None = None, quiet: bool = False) -> str:
    """Totals per level, then one last line that states the exit status and where the report is
    (`quiet`: the last line only)."""
    lines = []
    if not quiet:
        lines.append(
            f"{run.metadata.tool} {run.metadata.version} against {run.metadata.target}: "
            f"{len(run.requirements)} requirements, profile {run.metadata.profile}"
        )
        for level, by in sorted(
            run.counts_by_level().items(),
            key=lambda i: LEVELS.index(i[0]) if i[0] in LEVELS else len(LEVELS),
        ):
            lines.append(f"  {level:<8} " + "  ".join(f"{s} {by[s]}" for s in STATUSES if by[s]))
    lines.append(last_line(run, suite, report))
    return "\n".join(lines) + "\n"


def last_line(run: RunResult, suite: str, report: str | None = None) -> str:
    """`server suite: PASS 59  XFAIL 4: exit 0 (no MUST failure, no error); report …`."""
    counts = run.counts()
    totals = "  ".join(f"{s} {counts[s]}" for s in STATUSES if counts[s]) or "nothing selected"
    code = exit_status(run)
    verdict = (
        "a MUST requirement failed or the run had errors" if code else "no MUST failure, no error"
    )
    where = f"; report {report}" if report else ""
    return f"{suite} suite: {totals}: exit {code} ({verdict}){where}"
