"""Which requirements and scenarios a run covers, and folding scenario results into a RunResult."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from conformance import planning
from conformance.results import (
    RunResult,
    ScenarioResult,
)
from conformance.scenarios import Scenario

TOOL = "esi-conformance server"
Progress = Callable[[Scenario, ScenarioResult], None]


Plan = planning.Plan
catalogue = planning.catalogue


def plan(
    profile: str = "full",
    level: str | None = None,
    requirement_ids: Iterable[str] | None = None,
    scenario_ids: Iterable[str] | None = None,
    scenarios: Sequence[Scenario] | None = None,
) -> Plan:
    """Server requirements by profile, level and IDs, and their server-direction scenarios."""
    return planning.plan("server", profile, level, requirement_ids, scenario_ids, scenarios)


def fold(
    plan_: Plan,
    results: Mapping[str, ScenarioResult],
    target: str,
    profile: str,
    level: str | None,
    started: datetime.datetime,
    expected: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> RunResult:
    """One RequirementResult per selected requirement from the scenario results."""
    return planning.fold(
        plan_,
        results,
        tool=TOOL,
        direction="server",
        target=target,
        profile=profile,
        level=level,
        started=started,
        expected=expected,
        settings=settings,
    )


_now = planning.now
