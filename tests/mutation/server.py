"""Server mutation run: every zoo mutant against the server suite, in this process.

One defect-free zoo, one set of fake clusters and one runner session serve every mutant. First
each MUST-level scenario runs once on the correct zoo, which records the decision points it
reaches (its coverage); then each mutant is switched on in turn and runs only the scenarios that
reach its point, stopping at the first one that FAILs a MUST or MUST-SEC requirement.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from conformance.bundle import Bundle, BundleClusters, create_bundle
from conformance.requirements import select as select_requirements
from conformance.runner.api import ServerSession
from conformance.scenarios import Scenario
from tests.mutation.equivalent import EQUIVALENT
from tests.mutation.outcome import Kill, MutationRun
from tests.zoo.points import Mutant, all_mutants
from tests.zoo.server import ZooServer

MUST_LEVELS = ("MUST", "MUST-SEC")


def _must_ids() -> set[str]:
    return {r.id for r in select_requirements(level="must", direction="server")}


class ServerMutation:
    """A zoo, its session and its coverage; `run(mutants)` judges each mutant."""

    def __init__(self, bundle: Bundle, clusters: BundleClusters, tmp: Path) -> None:
        idps = bundle.info.get("idps") or {}
        self.zoo = ZooServer(
            bundle.root / "manifests.yaml",
            spiffe_bundle=bundle.root / "spiffe" / "bundle.pem",
            idp_routes=clusters.idp_routes(),
            idp_cas=[(bundle.root / e["ca_file"]).read_bytes() for e in idps.values()],
        ).start()
        ca = tmp / "zoo-ca.pem"
        ca.write_bytes(self.zoo.server_ca_pem)
        self.session = ServerSession(
            self.zoo.url,
            bundle=bundle.root,
            hooks=self.zoo.hooks_file(tmp / "hooks.yaml"),
            clusters=clusters,
            target_ca=ca,
            target_mtls=self.zoo.mtls_url,
            level="must",
        ).start()
        self.musts = _must_ids()
        # The zoo reaches the bundle's fake Okta and PingOne as a vendor's mapped names would.
        self.scenarios: list[Scenario] = list(self.session.plan.scenarios)
        self.coverage: dict[str, set[str]] = {}
        self.baseline_failures: dict[str, str] = {}

    def measure_coverage(self) -> None:
        """Run every scenario once on the correct zoo; remember the points each reaches."""
        self.zoo.points.mutant = None
        self.zoo.points.take_hits()
        for scenario in self.scenarios:
            result = self.session.run(scenario)
            if result.status != "PASS":
                self.baseline_failures[scenario.id] = f"{result.status}: {result.message}"
            self.coverage[scenario.id] = self.zoo.points.take_hits()

    def covering(self, mutant: Mutant, first: str | None = None) -> list[Scenario]:
        """The scenarios reaching the mutant's point; `first` (the last known killer) leads."""
        found = [s for s in self.scenarios if mutant.point in self.coverage.get(s.id, ())]
        return sorted(found, key=lambda s: s.id != first)

    def judge(self, mutant: Mutant, first: str | None = None) -> Kill | None:
        """The first covering scenario that FAILs a MUST requirement with this mutant on."""
        self.zoo.points.mutant = mutant
        try:
            for scenario in self.covering(mutant, first):
                musts = sorted(set(scenario.requirements) & self.musts)
                if not musts:
                    continue
                result = self.session.run(scenario)
                if result.status == "FAIL":
                    return Kill(mutant.name, scenario.id, tuple(musts))
        finally:
            self.zoo.points.mutant = None
        return None

    def run(self, mutants: Iterable[Mutant], known: Mapping[str, str]) -> MutationRun:
        run = MutationRun("server")
        for mutant in mutants:
            run.add(mutant.name, self.judge(mutant, known.get(mutant.name)))
        return run

    def stop(self) -> None:
        self.session.stop()
        self.zoo.stop()


def counted_mutants() -> list[Mutant]:
    """Every registered mutant but the equivalent ones."""
    return [m for m in all_mutants() if m.name not in EQUIVALENT]


def run_server_mutation(
    mutants: Iterable[Mutant] | None = None, known: Mapping[str, str] | None = None
) -> MutationRun:
    """A whole server mutation run with its own bundle and clusters; `known` maps a mutant to
    the scenario that killed it last time, tried first."""
    with tempfile.TemporaryDirectory(prefix="zoo-mutation-") as folder:
        tmp = Path(folder)
        bundle = create_bundle(tmp / "bundle")
        clusters = BundleClusters(bundle).start()
        try:
            mutation = ServerMutation(bundle, clusters, tmp)
            try:
                mutation.measure_coverage()
                chosen = counted_mutants() if mutants is None else mutants
                run = mutation.run(chosen, known or {})
                run.baseline_failures = dict(mutation.baseline_failures)
                return run
            finally:
                mutation.stop()
        finally:
            clusters.stop()
