"""Client mutation run: every client-zoo mutant against the client suite.

The suite's client scenarios are split into one scenario per step (a step is judged on its own:
its scenario's `given`, its own set-up, one client run). Each step runs once on the conforming
zoo client, which appends the steps of the registry it reaches to a hits file (its coverage).
Then each mutant runs only the steps that reach its step, the one that killed it last time
first, and stops at the first that FAILs a MUST or MUST-SEC requirement (a requirement of any
level for a mutant that breaks a SHOULD rule only, `points.SHOULD_ONLY`). Two workers, each with
a mock of its own, share the mutants: a client run spends most of its time starting Python.
"""

from __future__ import annotations

import dataclasses
import functools
import http.client
import queue
import tempfile
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import yaml

from conformance.adapters import Adapter, load_adapter
from conformance.client_runner import ClientMock, plan
from conformance.client_runner.engine import ClientScenarioRunner
from conformance.requirements import all_requirements
from conformance.results import PASS, ScenarioResult
from conformance.scenarios import Scenario
from tests.client_zoo.points import JUDGED_BY, SHOULD_ONLY, Mutant, all_mutants, read_hits
from tests.mutation.client_equivalent import EQUIVALENT
from tests.mutation.outcome import Kill, MutationRun

ZOO = Path(__file__).resolve().parents[1] / "client_zoo"
WORKERS = 2
CLIENT_TIMEOUT = "1.5"
"""The zoo's own limit in this run (seconds): what the never-answering steps cost."""
HARNESS_TIMEOUT = 3.5
"""The adapter's limit: what a mutant without a time limit costs."""
MUST_LEVELS = ("MUST", "MUST-SEC")
T = TypeVar("T")


def counted_mutants() -> list[Mutant]:
    """Every registered client mutant but the equivalent ones."""
    return [m for m in all_mutants() if m.name not in EQUIVALENT]


def step_scenarios(scenarios: Iterable[Scenario]) -> list[Scenario]:
    """One scenario per step (`<scenario>/<step>`), keeping the scenario's given and IDs."""
    out = []
    for scenario in scenarios:
        if len(scenario.steps) == 1:
            out.append(scenario)
            continue
        for step in scenario.steps:
            out.append(
                dataclasses.replace(scenario, id=f"{scenario.id}/{step.name}", steps=(step,))
            )
    return out


@functools.cache
def _zoo_document() -> str:
    return (ZOO / "zoo.yaml").read_text("utf-8")


def checks(scenario: Scenario, part: str | None) -> bool:
    """Whether the (one-step) scenario's `sends` block checks this part of the request."""
    sends = scenario.steps[0].client.sends if scenario.steps[0].client else None
    if part is None or sends is None:
        return False
    if part.startswith("header:"):
        return any(name.lower() == part[7:] for name, _m in sends.headers)
    return getattr(sends, part) is not None


def zoo_adapter(path: Path, mutant: Mutant | None, hits: Path) -> Adapter:
    """The zoo adapter with this run's short limits, the mutant and the hits file set."""
    document = yaml.safe_load(_zoo_document())
    for op in document["spec"]["operations"].values():
        command = [part.replace("{adapter_dir}", str(ZOO)) for part in op["command"]]
        command[command.index("--timeout") + 1] = CLIENT_TIMEOUT
        op["command"] = command
        op["timeout"] = HARNESS_TIMEOUT
        op["env"] = {"ZOO_HITS": str(hits), **({"ZOO_MUTANT": mutant.name} if mutant else {})}
    path.write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")
    return load_adapter(path)


def padded_mock() -> ClientMock:
    """A mock whose alpha CA PEM needs base64 padding (its length is not a multiple of 3), so
    that dropping the padding shows; the CA is random per mock, one in three needs none."""
    for _ in range(10):
        mock = ClientMock().start()
        if len(mock.ca_pems()["alpha"]) % 3:
            return warmed(mock)
        mock.stop()
    raise RuntimeError("ten mocks in a row had an alpha CA without padding")


def warmed(mock: ClientMock) -> ClientMock:
    """The mock after one oversized answer: the first 2 MiB body a mock serves costs it most
    of a second (its journal learns the value's encoded forms), longer than the zoo's limit."""
    mock.respond({"status": 200, "body": {"oversized": 2 * 1024 * 1024}})
    url = urllib.parse.urlsplit(mock.base_url("http"))
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
    try:
        conn.request("POST", "/secretstore/app-store/secrets/plain", body=b"{}")
        conn.getresponse().read()
    finally:
        conn.close()
        mock.reset()
    return mock


class Worker:
    """One mock, one folder; runs a step scenario with a mutant (or none) and reads its hits."""

    def __init__(self, index: int, root: Path) -> None:
        self.folder = root / f"worker-{index}"
        self.folder.mkdir()
        self.hits = self.folder / "hits"
        self.mock = padded_mock()
        self._adapter: tuple[Mutant | None, Adapter] | None = None

    def adapter(self, mutant: Mutant | None) -> Adapter:
        """The zoo adapter for this mutant (made once per mutant and worker)."""
        if self._adapter is None or self._adapter[0] != mutant:
            self._adapter = (mutant, zoo_adapter(self.folder / "zoo.yaml", mutant, self.hits))
        return self._adapter[1]

    def run(self, scenario: Scenario, mutant: Mutant | None) -> tuple[ScenarioResult, set[str]]:
        self.hits.write_text("", "ascii")
        result = ClientScenarioRunner(self.adapter(mutant), self.mock, self.folder).run(scenario)
        return result, read_hits(str(self.hits))

    def stop(self) -> None:
        self.mock.stop()


def in_parallel(workers: Sequence[Worker], items: Iterable[T], job: Callable[[Worker, T], None]):
    """`job(worker, item)` for every item, each worker taking the next item when free."""
    todo: queue.SimpleQueue[T] = queue.SimpleQueue()
    for item in items:
        todo.put(item)

    def drain(worker: Worker) -> None:
        while True:
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            job(worker, item)

    with ThreadPoolExecutor(len(workers), thread_name_prefix="client-mutation") as pool:
        for future in [pool.submit(drain, w) for w in workers]:
            future.result()


class ClientMutation:
    """The step scenarios, their coverage on the conforming zoo, and the judging of mutants."""

    def __init__(self, workers: Sequence[Worker]) -> None:
        self.workers = workers
        self.scenarios = step_scenarios(plan().scenarios)
        self.levels = {r.id: r.level for r in all_requirements().values()}
        self.coverage: dict[str, set[str]] = {}
        self.baseline_failures: dict[str, str] = {}
        self._lock = threading.Lock()

    def measure_coverage(self) -> None:
        """Every step scenario once on the conforming zoo; the steps each one reaches."""

        def job(worker: Worker, scenario: Scenario) -> None:
            result, hits = worker.run(scenario, None)
            with self._lock:
                self.coverage[scenario.id] = hits
                if result.status != PASS:
                    self.baseline_failures[scenario.id] = f"{result.status}: {result.message}"

        in_parallel(self.workers, self.scenarios, job)

    def killing_requirements(self, mutant: Mutant, scenario: Scenario) -> tuple[str, ...]:
        """The scenario's requirements whose FAIL counts as a kill of this mutant."""
        if mutant.name in SHOULD_ONLY:
            return tuple(sorted(scenario.requirements))
        return tuple(sorted(r for r in scenario.requirements if self.levels[r] in MUST_LEVELS))

    def covering(self, mutant: Mutant, first: str | None) -> list[Scenario]:
        """The steps reaching the mutant's step: the last killer, then those checking the part
        of the request the step builds (`points.JUDGED_BY`), then catalogue order."""
        found = [s for s in self.scenarios if mutant.step in self.coverage.get(s.id, ())]
        part = JUDGED_BY.get(mutant.step)
        return sorted(found, key=lambda s: (s.id != first, not checks(s, part)))

    def judge(self, worker: Worker, mutant: Mutant, first: str | None) -> Kill | None:
        """The first covering step scenario that FAILs a counting requirement."""
        for scenario in self.covering(mutant, first):
            requirements = self.killing_requirements(mutant, scenario)
            if not requirements:
                continue
            result, _hits = worker.run(scenario, mutant)
            if result.status == "FAIL":
                return Kill(mutant.name, scenario.id, requirements)
        return None

    def run(self, mutants: Iterable[Mutant], known: Mapping[str, str]) -> MutationRun:
        chosen = list(mutants)
        kills: dict[str, Kill | None] = {}

        def job(worker: Worker, mutant: Mutant) -> None:
            kill = self.judge(worker, mutant, known.get(mutant.name))
            with self._lock:
                kills[mutant.name] = kill

        in_parallel(self.workers, chosen, job)
        run = MutationRun("client")
        for mutant in chosen:
            run.add(mutant.name, kills[mutant.name])
        run.baseline_failures = dict(self.baseline_failures)
        return run


def run_client_mutation(
    mutants: Iterable[Mutant] | None = None, known: Mapping[str, str] | None = None
) -> MutationRun:
    """A whole client mutation run; `known` maps a mutant to the step that killed it last."""
    with tempfile.TemporaryDirectory(prefix="client-mutation-") as folder:
        root = Path(folder)
        workers: list[Worker] = []
        try:
            for index in range(WORKERS):
                workers.append(Worker(index, root))
            mutation = ClientMutation(workers)
            mutation.measure_coverage()
            return mutation.run(counted_mutants() if mutants is None else mutants, known or {})
        finally:
            for worker in workers:
                worker.stop()
