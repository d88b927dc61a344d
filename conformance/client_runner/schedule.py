"""Running the client suite's scenarios concurrently, each on a mock of its own worker.

Client scenarios are independent: each one sets up the mock, runs the client and resets the mock.
Isolation comes from giving every worker thread its own `ClientMock` (own listeners, journal,
faults and clock), so no scenario sees another's requests or faults. A client's own timeout is
the floor of a run (the scenario where the server never answers waits out the client's 10 s),
so scenarios that make the mock hang start first, while the other workers take the rest.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conformance.adapters import Adapter
from conformance.client_runner.engine import ClientScenarioRunner
from conformance.client_runner.mock import ClientMock
from conformance.results import ERROR, ScenarioResult
from conformance.scenarios import Scenario

DEFAULT_JOBS = 4
"""Workers (and mocks) of a run: the suite waits on clients far more than it computes."""

Progress = Callable[[Scenario, ScenarioResult], None]


def waits_out_a_timeout(scenario: Scenario) -> bool:
    """Whether the scenario makes the mock hang, so its client runs into its own timeout."""
    for action in scenario.setup_actions():
        if (
            action.action == "respond"
            and isinstance(action.args, Mapping)
            and action.args.get("hang")
        ):
            return True
    return False


def longest_first(scenarios: Sequence[Scenario]) -> list[Scenario]:
    """The scenarios waiting out a client timeout first, the rest in catalogue order."""
    return sorted(scenarios, key=lambda s: not waits_out_a_timeout(s))


def run_sequentially(
    runner: ClientScenarioRunner, scenarios: Sequence[Scenario], progress: Progress | None
) -> dict[str, ScenarioResult]:
    """Every scenario on one runner (one shared mock), in order."""
    results = {}
    for scenario in scenarios:
        results[scenario.id] = result = runner.run(scenario)
        if progress is not None:
            progress(scenario, result)
    return results


def run_concurrently(
    adapter: Adapter,
    scenarios: Sequence[Scenario],
    work_dir: Path,
    jobs: int = DEFAULT_JOBS,
    progress: Progress | None = None,
    fixtures: str | Path | None = None,
) -> dict[str, ScenarioResult]:
    """Every scenario, on `jobs` workers each owning a started `ClientMock` (stopped here)."""
    todo: queue.SimpleQueue[Scenario] = queue.SimpleQueue()
    for scenario in longest_first(scenarios):
        todo.put(scenario)
    results: dict[str, ScenarioResult] = {}
    lock = threading.Lock()
    first_up = threading.Event()  # the first worker takes the long scenario: its mock first

    def finished(scenario: Scenario, result: ScenarioResult) -> None:
        with lock:
            results[scenario.id] = result
            if progress is not None:
                progress(scenario, result)

    def worker(index: int) -> None:
        own = work_dir / f"worker-{index}"
        own.mkdir(parents=True, exist_ok=True)
        if index > 0:
            first_up.wait()
        try:
            mock = ClientMock(fixtures).start()
        except Exception as exc:  # a mock that cannot start makes what is left ERROR
            _drain(todo, finished, f"the embedded mock did not start: {exc}")
            return
        finally:
            first_up.set()
        try:
            runner = ClientScenarioRunner(adapter, mock, own)
            while True:
                try:
                    scenario = todo.get_nowait()
                except queue.Empty:
                    return
                finished(scenario, runner.run(scenario))
        finally:
            mock.stop()

    count = max(1, min(jobs, len(scenarios)))
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="client-suite") as pool:
        for future in [pool.submit(worker, i) for i in range(count)]:
            future.result()
    return results


def _drain(
    todo: queue.SimpleQueue[Scenario],
    finished: Callable[[Scenario, ScenarioResult], None],
    reason: str,
) -> None:
    while True:
        try:
            scenario = todo.get_nowait()
        except queue.Empty:
            return
        finished(scenario, ScenarioResult(scenario.id, ERROR, reason))
