"""The runner's Python entry point: `run_server_suite(...) -> RunResult`.

A caller that runs many targets against one set of fake clusters starts them once
(`BundleClusters(bundle).start()`) and passes them as `clusters=`; the embedded mock is started
once with `EmbeddedMock()` and passed as `target=`.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from conformance.report import write_reports
from conformance.results import ERROR, RunResult, ScenarioResult, load_expected_failures
from conformance.runner.clusters import ClusterSet
from conformance.runner.embedded import EmbeddedHooks
from conformance.runner.engine import ScenarioRunner
from conformance.runner.hooks import Hooks, NoHooks
from conformance.runner.idpprobe import reached_idps
from conformance.runner.redact import EvidenceRedactor, fixture_values
from conformance.runner.suite import Progress, _now, fold, plan
from conformance.runner.target import Target
from conformance.scenarios import Scenario
from conformance.settings import ServerSettings
from mockserver.manifests import read_documents
from mockserver.runtime import MockServer


class EmbeddedMock:
    """The mock with the default fixtures, as a target with every hook (start once, reuse)."""

    def __init__(
        self, state_dir: str | Path | None = None, quirks: Iterable[str] = (), strict: bool = False
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="esi-conformance-")
            state_dir = self._tmp.name
        self.server = MockServer(
            state_dir=state_dir, quirks=quirks, strict=strict, refresh_volumes=False, ephemeral=True
        )
        self.target: Target | None = None

    def start(self) -> Target:
        server = self.server.start()
        assert server.server_ca is not None
        self.target = Target(
            name="embedded mock",
            http_url=server.listeners["http"].url,
            clusters=ClusterSet(server.clusters),
            hooks=EmbeddedHooks(server),
            https_url=server.listeners["https"].url,
            mtls_url=server.listeners["mtls"].url,
            server_ca_pem=server.server_ca.cert_pem,
            spiffe=server.spiffe,
            variables={f"clusters.{n}.url": c.url for n, c in server.clusters.items()},
            idps=server.idps,
            idps_reached=frozenset({"okta", "pingone"}),
        )
        return self.target

    def stop(self) -> None:
        if self.target is not None:
            self.target.clusters.detach()
        self.server.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Target:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def runner_for(target: Target) -> ScenarioRunner:
    """A ScenarioRunner whose redactor knows the fixture values it may show in clear."""
    if isinstance(target.hooks, EmbeddedHooks):
        documents = [d.data for d in read_documents(target.hooks.server.fixtures)]
        redactor = EvidenceRedactor(clear=fixture_values(documents))
        return ScenarioRunner(
            target, variables=target.variables, redactor=redactor, self_resetting_hooks=True
        )
    redactor = EvidenceRedactor(clear=fixture_values(target.baseline))
    return ScenarioRunner(
        target, baseline=target.baseline, variables=target.variables, redactor=redactor
    )


class ServerSession:
    """One run: resolves and starts the target, runs scenarios one at a time, folds the result.

    Both `run_server_suite` and the pytest plugin drive it, so they judge identically.
    """

    def __init__(
        self,
        target: Target | str | None = None,
        *,
        bundle: str | Path | None = None,
        hooks: Hooks | str | Path | None = None,
        clusters: Any = None,
        target_ca: str | Path | None = None,
        target_mtls: str | None = None,
        profile: str = "full",
        level: str | None = None,
        requirement_ids: Iterable[str] | None = None,
        scenario_ids: Iterable[str] | None = None,
        expected_failures: str | Path | Mapping[str, str] | None = None,
    ) -> None:
        self.started = _now()
        self.profile, self.level = profile, level
        self.requirement_ids = sorted(requirement_ids) if requirement_ids else None
        self.plan = plan(profile, level, self.requirement_ids, scenario_ids)
        if expected_failures is None or isinstance(expected_failures, Mapping):
            self.expected = expected_failures
        else:
            self.expected = load_expected_failures(
                expected_failures, [r.id for r in self.plan.requirements]
            )
        self._args = (target, bundle, hooks, clusters, target_ca, target_mtls)
        self.bundle = bundle
        self.mock_options: dict[str, Any] = {}
        self._owned: list[Any] = []
        self.target: Target | None = None
        self.runner: ScenarioRunner | None = None
        self.results: dict[str, ScenarioResult] = {}

    @classmethod
    def from_settings(cls, settings: ServerSettings) -> ServerSession:
        """A session for checked settings (the expected failures are already loaded)."""
        session = cls(
            settings.target,
            bundle=settings.bundle,
            hooks=settings.hooks,
            target_ca=settings.target_ca,
            target_mtls=settings.target_mtls,
            profile=settings.profile,
            level=settings.level,
            requirement_ids=settings.requirement_ids,
            scenario_ids=settings.scenario_ids,
            expected_failures=settings.expected,
        )
        session.mock_options = {"strict": settings.strict, "quirks": settings.quirks}
        return session

    def start(self) -> ServerSession:
        if self.runner is not None:
            return self
        try:
            self.target = _resolve_target(
                *self._args, owned=self._owned, mock_options=self.mock_options
            )
            self.runner = runner_for(self.target)
        except BaseException:
            self.stop()
            raise
        return self

    def run(self, scenario: Scenario) -> ScenarioResult:
        """Run one scenario, starting the session first; a set-up that cannot start is an
        ERROR of the scenario (the harness broke), never a SKIP or a FAIL of the target."""
        if self.runner is None:
            try:
                self.start()
            except Exception as exc:
                result = ScenarioResult(scenario.id, ERROR, f"set-up failed: {exc}")
                self.results[scenario.id] = result
                return result
        assert self.runner is not None  # start() sets it or raises
        result = self.runner.run(scenario)
        self.results[scenario.id] = result
        return result

    def result(self) -> RunResult:
        target = self.target
        settings = {
            "capabilities": sorted(target.capabilities) if target else [],
            "http_url": target.http_url if target else None,
            "https_url": target.https_url if target else None,
            "mtls_url": target.mtls_url if target else None,
            "bundle": str(self.bundle) if self.bundle is not None else None,
            "requirement_ids": self.requirement_ids,
        }
        return fold(
            self.plan,
            self.results,
            target.name if target else "(not started)",
            self.profile,
            self.level,
            self.started,
            self.expected,
            settings,
        )

    def stop(self) -> None:
        owned, self._owned = self._owned, []
        for thing in reversed(owned):
            thing.close() if isinstance(thing, Hooks) else thing.stop()


def run_server_suite(
    target: Target | str | None = None,
    *,
    bundle: str | Path | None = None,
    hooks: Hooks | str | Path | None = None,
    clusters: Any = None,
    target_ca: str | Path | None = None,
    target_mtls: str | None = None,
    profile: str = "full",
    level: str | None = None,
    requirement_ids: Iterable[str] | None = None,
    scenario_ids: Iterable[str] | None = None,
    expected_failures: str | Path | Mapping[str, str] | None = None,
    report_dir: str | Path | None = None,
    progress: Progress | None = None,
    settings: ServerSettings | None = None,
) -> RunResult:
    """Run the server suite and return the result tree (reports written when `report_dir`).

    `target`: a started `Target` (e.g. from `EmbeddedMock`), a URL of a vendor server (then
    `bundle` is required; `clusters` may be already started `BundleClusters` to share), or None
    for a freshly started embedded mock. `settings`: checked `ServerSettings` instead of the
    keyword arguments (what the command line builds), reports going to its `report_dir`.
    """
    if settings is not None:
        return _run(ServerSession.from_settings(settings), settings.report_dir, progress)
    session = ServerSession(
        target,
        bundle=bundle,
        hooks=hooks,
        clusters=clusters,
        target_ca=target_ca,
        target_mtls=target_mtls,
        profile=profile,
        level=level,
        requirement_ids=requirement_ids,
        scenario_ids=scenario_ids,
        expected_failures=expected_failures,
    )
    return _run(session, report_dir, progress)


def _run(
    session: ServerSession, report_dir: str | Path | None, progress: Progress | None
) -> RunResult:
    session.start()
    try:
        for scenario in session.plan.scenarios:
            result = session.run(scenario)
            if progress is not None:
                progress(scenario, result)
        run = session.result()
    finally:
        session.stop()
    if report_dir is not None:
        write_reports(run, report_dir)
    return run


def _resolve_target(
    target: Target | str | None,
    bundle: str | Path | None,
    hooks: Hooks | str | Path | None,
    clusters: Any,
    target_ca: str | Path | None,
    target_mtls: str | None,
    *,
    owned: list[Any],
    mock_options: Mapping[str, Any] | None = None,
) -> Target:
    if isinstance(target, Target):
        return target
    if target is None:
        mock = EmbeddedMock(**dict(mock_options or {}))
        owned.append(mock)
        return mock.start()
    from conformance.bundle import Bundle, BundleClusters
    from conformance.runner.hooksfile import load_hooks

    if bundle is None:
        raise ValueError("a vendor target needs --bundle (the directory `bundle` wrote)")
    loaded = Bundle.load(bundle)
    if clusters is None:
        clusters = BundleClusters(loaded)
        owned.append(clusters)
        clusters.start()
    if isinstance(hooks, Hooks):
        resolved_hooks = hooks
    else:
        resolved_hooks = load_hooks(hooks) if hooks is not None else NoHooks()
        owned.append(resolved_hooks)
    server_ca = Path(target_ca).read_bytes() if target_ca is not None else None
    https_url = target if target.startswith("https://") else None
    idps = getattr(clusters, "idps", None)
    resolved = Target(
        name=target,
        http_url=target,
        clusters=clusters.cluster_set,
        hooks=resolved_hooks,
        https_url=https_url,
        mtls_url=target_mtls,
        server_ca_pem=server_ca,
        spiffe=loaded.spiffe,
        baseline=tuple(loaded.documents),
        variables=dict(loaded.variables),
        token_state=str(loaded.root),
        target_ca_file=str(target_ca) if target_ca is not None else None,
        idps=idps,
    )
    reached = reached_idps(
        idps, target, resolved.https_context if https_url else None, loaded.documents
    )
    return dataclasses.replace(resolved, idps_reached=reached)
