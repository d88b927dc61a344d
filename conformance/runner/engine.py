"""Runs one scenario against a target: set-up, requests, judgement, undo, evidence.

Result rules: a target that answers wrongly (or drops the connection where an answer was due) is
FAIL; a set-up action, hook or connection attempt that breaks is ERROR; a scenario needing a
capability the target lacks is SKIP with the reason. The first failing step ends the scenario.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.results import ERROR, FAIL, PASS, SKIP, Evidence, ScenarioResult
from conformance.runner.clusters import ClusterSet, SetupError
from conformance.runner.embedded import object_key
from conformance.runner.hooks import HookError, Hooks, Manifest
from conformance.runner.judge import check_response, check_state, check_upstream
from conformance.runner.prepare import Broken, PreparedRequest, prepare
from conformance.runner.redact import EvidenceRedactor
from conformance.runner.reproduce import curl_command
from conformance.runner.target import Target
from conformance.runner.wire import Answer, Unreachable, send
from conformance.scenarios.actions import ACTIONS
from conformance.scenarios.model import Scenario, SetupAction, Step
from mockserver.clock import CLOCK, Clock
from mockserver.idp import IdentityProviders
from mockserver.manifests import read_documents

SKIP_REASONS = {
    "state-hooks": "needs state hooks (apply and delete manifests, list GeneratorStates and "
    "AuthorizedIdentities); give them with --hooks",
    "mtls": "needs an mTLS target (--target-mtls) with the bundle's SPIFFE trust material and "
    "--target-ca",
    "faults": "needs backend fault hooks (--hooks with backend_fault)",
    "mock": "needs the embedded mock (quirks or canned answers)",
    "https": "needs the target's HTTPS port for bearer callers",
    "okta": "needs the bundle's fake Okta org reachable from the target (map esi-mock.okta.com to "
    "it and trust its CA; see the bundle README)",
    "pingone": "needs the bundle's fake PingOne: the real server reaches PingOne at the fixed "
    "public names auth.pingone.<region> through the system trust store, so map those names to "
    "the fake PingOne and trust its CA (see the bundle README)",
}


@dataclass
class Undo:
    """What a scenario changed, to put back afterwards."""

    applied: dict[tuple[str, str, str], Mapping[str, Any]] = field(default_factory=dict)
    deleted: dict[tuple[str, str, str], Mapping[str, Any]] = field(default_factory=dict)
    clock_offset: float | None = None


class _ServerSetup:
    """The target as set-up actions see it during one scenario (`actions.ServerSide`)."""

    def __init__(self, runner: ScenarioRunner, undo: Undo) -> None:
        self.runner = runner
        self.undo = undo

    @property
    def hooks(self) -> Hooks:
        return self.runner.target.hooks

    @property
    def clusters(self) -> ClusterSet:
        return self.runner.target.clusters

    @property
    def idps(self) -> IdentityProviders:
        idps = self.runner.target.idps
        if idps is None:
            raise HookError("the target has no fake identity providers")
        return idps

    def documents(self, args: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The action's manifests with `${clusters.<name>.url}` filled in."""
        if "documents" in args:
            docs = [dict(d) for d in args["documents"]]
        elif "file" in args:
            docs = [d.data for d in read_documents(args["file"])]
        else:
            meta = {"name": args["name"]}
            if args.get("namespace"):
                meta["namespace"] = args["namespace"]
            docs = [{"kind": args["kind"], "metadata": meta}]
        return [_substitute(d, self.runner.variables) for d in docs]

    def remember_applied(self, documents: Sequence[Manifest]) -> None:
        for doc in documents:
            self.undo.applied.setdefault(object_key(doc), doc)

    def remember_deleted(self, documents: Sequence[Manifest]) -> None:
        baseline = self.runner.baseline
        for doc in documents:
            key = object_key(doc)
            if key in baseline:
                self.undo.deleted.setdefault(key, baseline[key])

    def shift_clock(self, seconds: int) -> None:
        clock = self.runner.clock
        if self.undo.clock_offset is None:
            self.undo.clock_offset = clock.offset
        clock.shift(seconds)


class ScenarioRunner:
    """Runs scenarios against one target; `baseline` maps object keys to the loaded manifests
    (what `manifests.*` actions are undone to)."""

    def __init__(
        self,
        target: Target,
        baseline: Sequence[Mapping[str, Any]] = (),
        variables: Mapping[str, str] | None = None,
        redactor: EvidenceRedactor | None = None,
        clock: Clock = CLOCK,
        self_resetting_hooks: bool = False,
    ) -> None:
        self.target = target
        self.baseline = {object_key(d): d for d in baseline}
        self.variables = dict(variables or {})
        self.redactor = redactor or EvidenceRedactor()
        self.clock = clock
        self.self_resetting_hooks = self_resetting_hooks

    # -- one scenario ----------------------------------------------------------------------------

    def skip_reason(self, scenario: Scenario) -> str | None:
        caps = self.target.capabilities
        for need in scenario.needs:
            if need not in caps:
                return SKIP_REASONS.get(need, f"needs {need}")
        if self.target.https_url is None and any(
            s.request.transport == "https" for s in scenario.steps
        ):
            return SKIP_REASONS["https"]
        return None

    def run(self, scenario: Scenario) -> ScenarioResult:
        started = time.perf_counter()
        reason = self.skip_reason(scenario)
        if reason is not None:
            return ScenarioResult(scenario.id, SKIP, reason)
        evidence: list[Evidence] = []
        undo = Undo()
        status, message = PASS, ""
        try:
            self._actions(scenario.given, undo)
            earlier: dict[str, int] = {}
            for step in scenario.steps:
                problems = self._step(step, undo, earlier, evidence)
                if problems:
                    status = FAIL
                    message = self.redactor.text(f"step {step.name}: {problems[0]}")
                    break
        except (Broken, SetupError, HookError, Unreachable) as exc:
            status, message = ERROR, self.redactor.text(f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a harness bug must still be reported, never crash the run
            status, message = ERROR, self.redactor.text(f"harness error: {exc!r}")
        finally:
            try:
                self._undo(undo)
            except Exception as exc:
                if status != ERROR:
                    status, message = ERROR, self.redactor.text(f"undo failed: {exc}")
        return ScenarioResult(
            scenario.id, status, message, tuple(evidence), time.perf_counter() - started
        )

    def _step(
        self, step: Step, undo: Undo, earlier: dict[str, int], evidence: list[Evidence]
    ) -> list[str]:
        self._actions(step.setup, undo)
        state_checks = step.expect.state
        before = self._state() if state_checks else []
        clusters = self.target.clusters
        clusters.reset_journals()
        prepared = prepare(step.request, self.target, self.redactor.learn)
        answer = self._send(prepared)
        attempts = 0
        while (
            step.retry is not None
            and answer.outcome == "response"
            and answer.status in step.retry.on_status
            and attempts < step.retry.max
        ):
            attempts += 1
            answer = self._send(prepared)
        problems = check_response(
            step.expect, answer.status, answer.headers, answer.body, answer.outcome, earlier
        )
        if answer.status is not None:
            earlier[step.name] = answer.status
        if state_checks:
            after = self._state()
            problems += [
                p for s in state_checks if (p := check_state(s, before, after)) is not None
            ]
        for up in step.expect.upstream:
            problem = check_upstream(up, clusters.journal(up.cluster))
            if problem is not None:
                problems.append(problem)
        evidence.append(self._evidence(step, prepared, answer, attempts, problems))
        return problems

    def _send(self, prepared: PreparedRequest) -> Answer:
        p = prepared
        return send(p.base_url, p.method, p.path, p.headers, p.body, context=p.context, mtls=p.mtls)

    def _state(self) -> list[dict[str, Any]]:
        return self.target.hooks.state()

    # -- set-up and undo -------------------------------------------------------------------------

    def _actions(self, actions: Sequence[SetupAction], undo: Undo) -> None:
        side = _ServerSetup(self, undo)
        for action in actions:
            apply = ACTIONS[action.action].server
            if apply is None:
                raise Broken(f"set-up action {action.action} is for the client direction only")
            apply(side, action.args)

    def _undo(self, undo: Undo) -> None:
        hooks = self.target.hooks
        try:
            if not self.self_resetting_hooks:
                restore = [self.baseline[k] for k in undo.applied if k in self.baseline]
                restore += [d for k, d in undo.deleted.items() if k not in undo.applied]
                remove = [d for k, d in undo.applied.items() if k not in self.baseline]
                if remove:
                    hooks.delete(remove)
                if restore:
                    hooks.apply(restore)
            hooks.end_scenario()
        finally:
            self.target.clusters.undo()
            if self.target.idps is not None:
                self.target.idps.undo()
            if undo.clock_offset is not None:
                self.clock.set_offset(undo.clock_offset)

    # -- evidence --------------------------------------------------------------------------------

    def _evidence(
        self,
        step: Step,
        prepared: PreparedRequest,
        answer: Answer,
        retries: int,
        problems: list[str],
    ) -> Evidence:
        r = self.redactor
        request = {
            "method": prepared.method,
            "path": r.text(prepared.path),
            "transport": step.request.transport,
            "headers": r.headers(prepared.headers),
            "body": r.body(prepared.body),
        }
        response: dict[str, Any] = {"outcome": answer.outcome}
        if answer.outcome == "response":
            response.update(
                status=answer.status,
                headers=r.headers(answer.headers),
                body=r.answer(step.request.operation, answer.status, answer.body),
            )
        if answer.detail:
            response["detail"] = r.text(answer.detail)
        if retries:
            response["retries"] = retries
        request["curl"] = curl_command(
            step.request,
            prepared,
            prepared.ca_text,
            self.target.token_state,
            self.target.target_ca_file,
            r.text,
        )
        return Evidence(step.name, request, response, tuple(r.text(p) for p in problems))


def _substitute(value: Any, variables: Mapping[str, str]) -> Any:
    """`${clusters.<name>.url}` in every string of a manifest."""
    if isinstance(value, str):
        for name, replacement in variables.items():
            value = value.replace("${" + name + "}", replacement)
        return value
    if isinstance(value, dict):
        return {k: _substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, variables) for v in value]
    return value
