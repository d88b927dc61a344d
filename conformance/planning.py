"""Which requirements and scenarios a run covers, and folding scenario results into a
RunResult, for either direction of the suite."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from conformance import __version__
from conformance.requirements import Requirement, select
from conformance.results import RunMetadata, RunResult, ScenarioResult, requirement_result
from conformance.scenarios.load import load_catalogue
from conformance.scenarios.model import Scenario


@cache
def catalogue() -> tuple[Scenario, ...]:
    """The shipped catalogue, loaded once per process."""
    return tuple(load_catalogue())


@dataclass(frozen=True)
class Plan:
    """The selected requirements and the scenarios of that direction that exercise them."""

    requirements: tuple[Requirement, ...]
    scenarios: tuple[Scenario, ...]


def _runnable(scenario: Scenario, direction: str) -> bool:
    if not scenario.runs_in(direction):
        return False
    # The client runner judges a client at every step, so each step needs a client block.
    return direction != "client" or (
        bool(scenario.steps) and all(step.client is not None for step in scenario.steps)
    )


def plan(
    direction: str,
    profile: str = "full",
    level: str | None = None,
    requirement_ids: Iterable[str] | None = None,
    scenario_ids: Iterable[str] | None = None,
    scenarios: Sequence[Scenario] | None = None,
) -> Plan:
    """Requirements of `direction` by profile, level and IDs, and the scenarios listing any of
    them (only `scenario_ids` when given; an unknown scenario ID is a ValueError)."""
    reqs = tuple(select(level=level, profile=profile, direction=direction, ids=requirement_ids))
    wanted = {r.id for r in reqs}
    pool = catalogue() if scenarios is None else tuple(scenarios)
    only = set(scenario_ids) if scenario_ids is not None else None
    if only is not None:
        unknown = sorted(only - {s.id for s in pool})
        if unknown:
            raise ValueError(f"unknown scenario IDs: {', '.join(unknown)}")
    chosen = tuple(
        s
        for s in pool
        if _runnable(s, direction)
        and wanted & set(s.requirements)
        and (only is None or s.id in only)
    )
    return Plan(reqs, chosen)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def fold(
    chosen: Plan,
    results: Mapping[str, ScenarioResult],
    *,
    tool: str,
    direction: str,
    target: str,
    profile: str,
    level: str | None,
    started: datetime.datetime,
    expected: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> RunResult:
    """One requirement result per selected requirement, from the scenarios that list it."""
    by_req: dict[str, list[ScenarioResult]] = {r.id: [] for r in chosen.requirements}
    for scenario in chosen.scenarios:
        result = results.get(scenario.id)
        if result is None:
            continue
        for rid in scenario.requirements:
            if rid in by_req:
                by_req[rid].append(result)
    planned = {rid for s in chosen.scenarios for rid in s.requirements}
    reqs = tuple(
        requirement_result(
            r,
            by_req[r.id],
            expected,
            skip_reason=(
                "its scenarios were not selected in this run"
                if r.id in planned
                else f"no {direction} scenario covers it"
            ),
        )
        for r in chosen.requirements
    )
    meta = RunMetadata(
        tool=tool,
        version=__version__,
        target=target,
        started=_iso(started),
        finished=_iso(now()),
        profile=profile,
        level=level,
        settings=dict(settings or {}),
    )
    return RunResult(meta, reqs)
