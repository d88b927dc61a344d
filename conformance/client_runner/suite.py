"""The client suite: which CLI requirements and scenarios a run covers, running them, folding.

`run_client_suite()` is the Python entry point behind `esi-conformance client`.
"""

from __future__ import annotations

import datetime
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from conformance import planning
from conformance.adapters import Adapter, resolve_adapter
from conformance.client_runner.engine import ClientScenarioRunner
from conformance.client_runner.mock import ClientMock
from conformance.client_runner.schedule import DEFAULT_JOBS, run_concurrently, run_sequentially
from conformance.results import RunResult, ScenarioResult
from conformance.scenarios import Scenario

TOOL = "esi-conformance client"
Progress = Callable[[Scenario, ScenarioResult], None]


ClientPlan = planning.Plan
catalogue = planning.catalogue


def plan(
    profile: str = "full",
    level: str | None = None,
    requirement_ids: Iterable[str] | None = None,
    scenario_ids: Iterable[str] | None = None,
    scenarios: Sequence[Scenario] | None = None,
) -> ClientPlan:
    """CLI requirements by profile, level and IDs; the client scenarios listing any of them."""
    return planning.plan("client", profile, level, requirement_ids, scenario_ids, scenarios)


def run_client_suite(
    adapter: Adapter | str | Path,
    *,
    profile: str = "full",
    level: str | None = None,
    requirement_ids: Iterable[str] | None = None,
    scenario_ids: Iterable[str] | None = None,
    expected: Mapping[str, str] | None = None,
    mock: ClientMock | None = None,
    progress: Progress | None = None,
    jobs: int = DEFAULT_JOBS,
) -> RunResult:
    """Judge one client, given its adapter (a file, a shipped adapter's name, or loaded).

    `mock`: a running `ClientMock` to share between runs (it is reset after every scenario);
    the scenarios then run one after the other on it. Without one, `jobs` workers each start and
    stop a mock of their own and run the scenarios concurrently (`schedule.py`).
    """
    if not isinstance(adapter, Adapter):
        adapter = resolve_adapter(str(adapter))
    chosen = plan(profile, level, requirement_ids, scenario_ids)
    started = _now()
    with tempfile.TemporaryDirectory(prefix="esi-client-runs-") as work:
        if mock is not None:
            runner = ClientScenarioRunner(adapter, mock, Path(work))
            results = run_sequentially(runner, chosen.scenarios, progress)
        else:
            results = run_concurrently(adapter, chosen.scenarios, Path(work), jobs, progress)
    settings = {
        "adapter": adapter.name,
        "adapter_file": str(adapter.path),
        "operations": sorted(adapter.operations),
    }
    return fold(chosen, results, adapter.name, profile, level, started, expected, settings)


def fold(
    chosen: ClientPlan,
    results: Mapping[str, ScenarioResult],
    target: str,
    profile: str,
    level: str | None,
    started: datetime.datetime,
    expected: Mapping[str, str] | None = None,
    settings: Mapping[str, object] | None = None,
) -> RunResult:
    """One requirement result per selected requirement, from the scenarios that list it."""
    return planning.fold(
        chosen,
        results,
        tool=TOOL,
        direction="client",
        target=target,
        profile=profile,
        level=level,
        started=started,
        expected=expected,
        settings=settings,
    )


_now = planning.now
