"""Which requirements and scenarios a run covers, and folding scenario results into a RunResult."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from conformance import __version__, planning
from conformance.results import (
    RunMetadata,
    RunResult,
    ScenarioResult,
    requirement_result,
)
from conformance.scenarios import Scenario

TOOL = "esi-conformance server"
Progress = Callable[[Scenario, ScenarioResult], None]


Plan = planning.Plan
catalogue = planning.catalogue


def plan(profile: str = "full", level: str | None = None,
         requirement_ids: Iterable[str] | None = None,
         scenario_ids: Iterable[str] | None = None,
         scenarios: Sequence[Scenario] | None = None) -> Plan:
    """Server requirements by profile, level and IDs, and their server-direction scenarios."""
    return planning.plan("server", profile, level, requirement_ids, scenario_ids, scenarios)


def fold(plan_: Plan, results: Mapping[str, ScenarioResult], target: str, profile: str,
         level: str | None, started: datetime.datetime,
         expected: Mapping[str, str] | None = None,
         settings: Mapping[str, Any] | None = None) -> RunResult:
    """One RequirementResult per selected requirement from the scenario results."""
    by_req: dict[str, list[ScenarioResult]] = {r.id: [] for r in plan_.requirements}
    for scenario in plan_.scenarios:
        result = results.get(scenario.id)
        if result is None:
            continue
        for rid in scenario.requirements:
            if rid in by_req:
                by_req[rid].append(result)
    planned = {rid for s in plan_.scenarios for rid in s.requirements}
    reqs = tuple(requirement_result(r, by_req[r.id], expected, skip_reason=(
        "its scenarios were not selected in this run" if r.id in planned
        else "no server scenario covers it")) for r in plan_.requirements)
    meta = RunMetadata(tool=TOOL, version=__version__, target=target,
                       started=_iso(started), finished=_iso(_now()), profile=profile,
                       level=level, settings=dict(settings or {}))
    return RunResult(meta, reqs)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
