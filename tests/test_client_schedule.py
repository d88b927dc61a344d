"""The client suite's concurrent schedule: the long scenario first, a mock per worker with its own
clock and journal, every scenario run once and reported once, the same verdicts as one mock."""

from __future__ import annotations

import threading

from conformance.client_runner import ClientMock, plan, run_client_suite
from conformance.client_runner.schedule import longest_first, waits_out_a_timeout
from conformance.results import ERROR, PASS
from tests.test_client_runner import fast_copy


def test_the_scenario_that_waits_out_a_client_timeout_starts_first():
    scenarios = plan().scenarios
    ordered = longest_first(scenarios)
    hangs = ["client-server-never-answers", "client-store-server-never-answers"]
    assert [s.id for s in ordered if waits_out_a_timeout(s)] == hangs
    assert [s.id for s in ordered[:2]] == hangs
    assert [s.id for s in ordered[2:]] == [s.id for s in scenarios if s.id not in hangs]


def test_each_mock_has_its_own_clock_and_journal():
    with ClientMock() as one, ClientMock() as two:
        one.admin.shift_clock(3600)
        assert one.server.clock is not two.server.clock
        assert two.server.clock.offset == 0.0
        assert one.server.clock.offset == 3600.0
        one.clear_journal()
        two.clear_journal()
        assert one.base_url("http") != two.base_url("http")


def test_concurrent_run_passes_everything_and_reports_each_scenario_once(tmp_path):
    seen: list[str] = []
    threads: set[str] = set()

    def progress(scenario, result):
        seen.append(scenario.id)
        threads.add(threading.current_thread().name)

    run = run_client_suite(fast_copy("reference", tmp_path), progress=progress, jobs=3)
    assert {r.requirement.id: r.status for r in run.requirements} == {
        r.requirement.id: PASS for r in run.requirements
    }
    assert sorted(seen) == sorted(s.id for s in plan().scenarios)
    assert len(threads) >= 2  # scenarios ran on more than one worker


def test_a_mock_that_cannot_start_makes_its_scenarios_error(tmp_path):
    missing = tmp_path / "no-fixtures"
    from conformance.adapters import resolve_adapter
    from conformance.client_runner.schedule import run_concurrently

    chosen = plan(requirement_ids=["CLI-HTTP-001"]).scenarios
    results = run_concurrently(
        resolve_adapter("reference"), chosen, tmp_path / "work", jobs=2, fixtures=missing
    )
    assert sorted(results) == sorted(s.id for s in chosen)
    assert {r.status for r in results.values()} == {ERROR}
    assert all(r.message.startswith("the embedded mock did not start: ") for r in results.values())
