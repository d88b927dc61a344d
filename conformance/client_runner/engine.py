"""Run one scenario against one client: set-up, one client run per step, judgement, evidence.

Each step: apply its set-up through the mock's admin operations, mint a token, write the run's
inputs, clear the journal (so every recorded request belongs to this run), run the client through
its adapter, then judge exit status, journal and delivery. The mock is reset after the scenario.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance.adapters import Adapter, AdapterError, Operation, read_delivery
from conformance.client_runner.judge import Observation, judge, request_target
from conformance.client_runner.mock import ClientMock, SetupError
from conformance.client_runner.process import ProcessResult, client_environment, run
from conformance.client_runner.workspace import Workspace, prepare
from conformance.results import ERROR, FAIL, PASS, SKIP, Evidence, ScenarioResult
from conformance.scenarios.model import KubeIdentity, Scenario, Step
from mockserver.admin.redaction import Redactor, fingerprint


class ClientScenarioRunner:
    """Drives scenarios for one adapter against one running `ClientMock`."""

    def __init__(self, adapter: Adapter, mock: ClientMock, work_dir: Path) -> None:
        self.adapter = adapter
        self.mock = mock
        self.work_dir = work_dir

    def skip_reason(self, scenario: Scenario) -> str | None:
        """Why this adapter cannot run the scenario (an undeclared operation or delivery)."""
        for step in scenario.steps:
            if step.client is None:
                return f"step {step.name} has no client block"
            op = self.adapter.operation(step.request.operation)
            if op is None:
                return self.adapter.skip_reason(step.request.operation)
            wanted = step.client.inputs.delivery
            if wanted is not None and (op.output is None or op.output.source != wanted):
                have = op.output.source if op.output else "nothing"
                return (
                    f"adapter {self.adapter.name} delivers {step.request.operation} to "
                    f"{have}, the scenario needs {wanted}"
                )
            if not isinstance(step.request.identity, KubeIdentity):
                return "the client runner drives Kubernetes identities only"
        return None

    def run(self, scenario: Scenario) -> ScenarioResult:
        started = time.monotonic()
        reason = self.skip_reason(scenario)
        if reason is not None:
            return ScenarioResult(scenario.id, SKIP, reason)
        evidence: list[Evidence] = []
        status, message = PASS, ""
        try:
            self.mock.apply(scenario.given)
            for step in scenario.steps:
                problems, ev = self._step(step)
                evidence.append(ev)
                if problems and status == PASS:
                    status, message = FAIL, f"step {step.name}: {problems[0]}"
        except (SetupError, AdapterError) as exc:
            status, message = ERROR, str(exc)
        except OSError as exc:
            status, message = ERROR, f"cannot run the client: {exc}"
        finally:
            errors = self.mock.take_errors()
            self.mock.reset()
        if errors and status != ERROR:
            status, message = ERROR, "the mock failed while serving: " + "; ".join(errors)
        return ScenarioResult(
            scenario.id, status, message, tuple(evidence), time.monotonic() - started
        )

    def _step(self, step: Step) -> tuple[list[str], Evidence]:
        request, expect, identity = step.request, step.client, step.request.identity
        assert expect is not None and isinstance(identity, KubeIdentity)
        op = self.adapter.operation(request.operation)
        assert op is not None
        self.mock.apply(step.setup)
        token = self.mock.mint(identity)
        ca_name = (
            request.ca_crt.split(":", 1)[1]
            if request.ca_crt.startswith("cluster:")
            else identity.cluster
        )
        if request.ca_crt != "cluster" and not request.ca_crt.startswith("cluster:"):
            raise SetupError(f"ca_crt {request.ca_crt} is a wire form; a client is given a CA")
        pems = self.mock.ca_pems()
        if ca_name not in pems:
            raise SetupError(f"no fake cluster {ca_name!r} to take a CA from")
        space = prepare(
            self.work_dir,
            self.adapter,
            request,
            expect.inputs,
            token=token,
            client_ca=pems[ca_name],
            server_ca=self.mock.server_ca_pem(),
            base_url=self.mock.base_url(request.transport),
        )
        invocation = op.render(space.values, expect.inputs.program_args)
        env = client_environment(invocation.env)
        self.mock.clear_journal()
        proc = run(invocation, space.root, env)
        seen = self._observe(op, space, proc, env)
        problems = judge(expect, seen, token=token, ca_pems=pems)
        return problems, self._evidence(step, seen, problems, token)

    def _observe(
        self, op: Operation, space: Workspace, proc: ProcessResult, env: Mapping[str, str]
    ) -> Observation:
        exchanges = self.mock.journal()
        record = space.recorder.read()
        delivered = None
        if op.output is not None:
            delivered = read_delivery(
                op.output, out_dir=space.out_dir, stdout=proc.stdout, record=record, base_env=env
            )
        return Observation(
            proc,
            exchanges,
            op.output,
            op.value_name(space.values),
            delivered,
            record,
            _file_modes(space.out_dir),
        )

    def _evidence(self, step: Step, seen: Observation, problems: list[str], token: str) -> Evidence:
        """The step as a report shows it: the token and ca.crt fingerprinted; the values the
        harness's mock served (its own fixtures) in clear, so a vendor sees what was expected."""
        assert step.client is not None
        scrub = Redactor()
        scrub.add(token, "token", pinned=True)
        scrub.add_many(p.decode() for p in self.mock.ca_pems().values())
        sent = [_exchange_view(e, scrub) for e in seen.exchanges]
        proc = seen.process
        client: dict[str, Any] = {
            "operation": step.request.operation,
            "exit_status": proc.returncode,
            "timed_out": proc.timed_out,
            "duration": round(proc.duration, 3),
            "stdout": scrub.scrub(proc.stdout[-2000:].decode("utf-8", "backslashreplace")),
            "stderr": scrub.scrub(proc.stderr[-2000:].decode("utf-8", "backslashreplace")),
            "delivered": {
                k: scrub.scrub(v.decode("utf-8", "backslashreplace"))
                for k, v in (seen.delivered.values if seen.delivered else {}).items()
            },
            "program_ran": seen.record is not None,
        }
        return Evidence(
            step.name, {"sent": sent}, {"client": client}, tuple(scrub.scrub(p) for p in problems)
        )


def _exchange_view(entry: Mapping[str, Any], scrub: Redactor) -> dict[str, Any]:
    headers = {}
    for name, value in (entry.get("headers") or {}).items():
        if name.lower() in ("authorization", "x-workload-token"):
            scheme, _, rest = str(value).partition(" ")
            headers[name] = f"{scheme} {fingerprint(rest)}" if rest else fingerprint(str(value))
        else:
            headers[name] = scrub.scrub(str(value))
    response = entry.get("response") or {}
    return {
        "method": entry.get("method"),
        "target": scrub.scrub(request_target(entry)),
        "headers": headers,
        "body": scrub.scrub(str(entry.get("body", ""))[:2000]),
        "status": response.get("status"),
        "answer": scrub.scrub(str(response.get("body", ""))[:500]),
        "dropped": entry.get("dropped"),
    }


def _file_modes(out_dir: Path) -> dict[str, int]:
    modes = {}
    for dirpath, _dirs, files in os.walk(out_dir):
        for name in files:
            path = Path(dirpath) / name
            modes[str(path.relative_to(out_dir))] = path.lstat().st_mode & 0o777
    return modes
