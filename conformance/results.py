"""The result tree of one run: per requirement, per scenario, with evidence; and the exit rule.

Status ladder (a parent takes the highest child status): SKIP < PASS < FAIL < ERROR. FAIL means
the target is wrong; ERROR means the harness or the set-up broke. An expected-failures file turns
FAIL into XFAIL and PASS into XPASS; neither fails the run, and an XPASS is reported so its entry
can be removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conformance.requirements import Requirement

PASS, FAIL, SKIP, ERROR, XFAIL, XPASS = "PASS", "FAIL", "SKIP", "ERROR", "XFAIL", "XPASS"
STATUSES = (PASS, FAIL, SKIP, ERROR, XFAIL, XPASS)
_RANK = {SKIP: 0, PASS: 1, FAIL: 2, ERROR: 3}


@dataclass(frozen=True)
class Evidence:
    """One redacted exchange as the runner saw it (the caller redacts; reports escape)."""

    step: str
    request: Mapping[str, Any] = field(default_factory=dict)
    response: Mapping[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "request": dict(self.request),
            "response": dict(self.response),
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class ScenarioResult:
    """The outcome of one scenario: PASS, FAIL, SKIP or ERROR, why, and the evidence."""

    scenario_id: str
    status: str
    message: str = ""
    evidence: tuple[Evidence, ...] = ()
    duration: float = 0.0

    def __post_init__(self) -> None:
        if self.status not in _RANK:
            raise ValueError(f"scenario status must be one of {list(_RANK)}, got {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario_id,
            "status": self.status,
            "message": self.message,
            "duration": round(self.duration, 3),
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class RequirementResult:
    """A requirement's status, derived from its scenarios and the expected-failures list."""

    requirement: Requirement
    status: str
    scenarios: tuple[ScenarioResult, ...] = ()
    reason: str = ""
    expected_failure: str | None = None

    @property
    def counts_as_failure(self) -> bool:
        """Whether this result makes the run exit non-zero (see `exit_status`)."""
        if self.status == ERROR:
            return True
        return self.status == FAIL and self.requirement.level in ("MUST", "MUST-SEC")

    def to_dict(self) -> dict[str, Any]:
        req = self.requirement
        out: dict[str, Any] = {
            "id": req.id,
            "level": req.level,
            "area": req.area,
            "text": req.text,
            "reference": req.reference,
            "needs": list(req.needs),
            "status": self.status,
            "reason": self.reason,
            "scenarios": [s.to_dict() for s in self.scenarios],
        }
        if self.expected_failure is not None:
            out["expected_failure"] = self.expected_failure
        return out


@dataclass(frozen=True)
class RunMetadata:
    """What was run, against what, with which (redacted) settings."""

    tool: str
    version: str
    target: str
    started: str
    finished: str
    profile: str = "full"
    level: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "version": self.version,
            "target": self.target,
            "started": self.started,
            "finished": self.finished,
            "profile": self.profile,
            "level": self.level,
            "settings": dict(self.settings),
        }


@dataclass(frozen=True)
class RunResult:
    """The whole tree: metadata plus one result per selected requirement, in registry order."""

    metadata: RunMetadata
    requirements: tuple[RequirementResult, ...]

    def counts(self) -> dict[str, int]:
        """How many requirements ended in each status (every status present, zero included)."""
        out = dict.fromkeys(STATUSES, 0)
        for r in self.requirements:
            out[r.status] += 1
        return out

    def counts_by_level(self) -> dict[str, dict[str, int]]:
        """Level → status → count, for the summaries."""
        out: dict[str, dict[str, int]] = {}
        for r in self.requirements:
            out.setdefault(r.requirement.level, dict.fromkeys(STATUSES, 0))[r.status] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "metadata": self.metadata.to_dict(),
            "summary": self.counts(),
            "summary_by_level": self.counts_by_level(),
            "exit_status": exit_status(self),
            "requirements": [r.to_dict() for r in self.requirements],
        }


class ExpectedFailuresError(ValueError):
    """An expected-failures file that cannot be used, with every problem listed."""


def load_expected_failures(
    path: Path | str, known_ids: Iterable[str] | None = None
) -> dict[str, str]:
    """Read a YAML list of `{id, reason}` into {requirement ID: reason}.

    A missing or empty reason, an unknown or repeated ID, or any other field is an error: an
    entry nobody can explain is how a suite silently stops checking something.
    """
    name = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot parse"
        raise ExpectedFailuresError(
            f"{name}: not valid YAML{where}: {problem}; expected a list of {{id, reason}}"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, list):
        raise ExpectedFailuresError(f"{name}: expected a list of {{id, reason}} entries")
    known = set(known_ids) if known_ids is not None else None
    out: dict[str, str] = {}
    errors = []
    for i, entry in enumerate(data):
        where = f"{name}: entry {i + 1}"
        if not isinstance(entry, dict):
            errors.append(f"{where}: expected a mapping with id and reason")
            continue
        extra = sorted(str(k) for k in entry if k not in ("id", "reason"))
        if extra:
            errors.append(f"{where}: unknown field {extra[0]} (expected id, reason)")
        rid, reason = entry.get("id"), entry.get("reason")
        if not isinstance(rid, str) or not rid:
            errors.append(f"{where}: id: expected a requirement ID")
            continue
        if not isinstance(reason, str) or not reason.strip():
            errors.append(f"{where} ({rid}): reason: every expected failure needs a reason")
            continue
        if known is not None and rid not in known:
            errors.append(f"{where}: id: unknown requirement {rid}")
            continue
        if rid in out:
            errors.append(f"{where}: id: {rid} is listed twice")
            continue
        out[rid] = reason.strip()
    if errors:
        raise ExpectedFailuresError("\n".join(errors))
    return out


def requirement_result(
    requirement: Requirement,
    scenarios: Sequence[ScenarioResult],
    expected: Mapping[str, str] | None = None,
    skip_reason: str = "",
) -> RequirementResult:
    """Fold scenario results into the requirement's status, then apply expected failures.

    No scenario results means SKIP with `skip_reason`. A SKIP scenario does not hide a PASS of
    another one; FAIL beats PASS and ERROR beats everything.
    """
    if not scenarios:
        status, reason = SKIP, skip_reason or "no scenario ran"
    else:
        status = max((s.status for s in scenarios), key=_RANK.__getitem__)
        reason = next((s.message for s in scenarios if s.status == status and s.message), "")
    xf = (expected or {}).get(requirement.id)
    if xf is not None:
        if status == FAIL:
            status = XFAIL
        elif status == PASS:
            status = XPASS
            reason = "passed although listed as an expected failure; remove the entry"
    return RequirementResult(requirement, status, tuple(scenarios), reason, xf)


def exit_status(run: RunResult) -> int:
    """0 unless a MUST or MUST-SEC requirement FAILed unexpectedly or anything is ERROR."""
    return 1 if any(r.counts_as_failure for r in run.requirements) else 0
