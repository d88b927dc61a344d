"""Parsing scenario files: the file, each scenario, its steps and set-up, and the needs it implies.

Every problem is collected with its place (file, scenario, field path) and raised together as
one `ScenarioError`, so a whole folder is fixed in one pass.
"""

from __future__ import annotations

from typing import Any

import yaml

from conformance.requirements import NEEDS
from conformance.scenarios.actions import ACTIONS, SETUP_ACTIONS
from conformance.scenarios.checker import MISSING, Checker, ParseContext, join
from conformance.scenarios.model import (
    IdPIdentity,
    Retry,
    Scenario,
    SetupAction,
    SpiffeIdentity,
    Step,
)
from conformance.scenarios.parse_expect import parse_client, parse_expect
from conformance.scenarios.parse_request import parse_request
from conformance.scenarios.vocabulary import DIRECTIONS, SCENARIO_ID, ScenarioError


def _setup(c: Checker, value: Any, path: str) -> tuple[SetupAction, ...] | None:
    if not isinstance(value, list):
        c.bad(path, "a list of set-up actions", value)
        return None
    out = []
    before = len(c.errors)
    for i, item in enumerate(value):
        sub = join(path, i)
        if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in ACTIONS:
            c.bad(sub, f"a mapping with exactly one of: {', '.join(SETUP_ACTIONS)}", item)
            continue
        action, arg = next(iter(item.items()))
        parsed = ACTIONS[action].parse(c, arg, join(sub, action))
        if parsed is not MISSING:
            out.append(SetupAction(action, parsed))
    return tuple(out) if len(c.errors) == before else None


_STEP_KEYS = ("request", "expect", "setup", "client", "retry")
_SINGLE = _STEP_KEYS[:2]


def _step(
    c: Checker, value: dict[str, Any], path: str, name: str, ctx: ParseContext
) -> Step | None:
    before = len(c.errors)
    request = parse_request(c, value["request"], join(path, "request"), ctx)
    expect = parse_expect(c, value["expect"], join(path, "expect"))
    setup = _setup(c, value.get("setup", []), join(path, "setup"))
    client = parse_client(c, value["client"], join(path, "client")) if "client" in value else None
    retry = None
    if "retry" in value:
        sub = join(path, "retry")
        d = c.mapping(value["retry"], sub, ("on_status", "max"), ())
        if d is not None:
            on = c.status(d["on_status"], join(sub, "on_status"))
            most = c.integer(d["max"], join(sub, "max"), 1, 3, "an integer 1–3")
            if on is not None and most is not None:
                retry = Retry(on, most)
    if len(c.errors) != before or request is None or expect is None:
        return None
    return Step(name, request, expect, setup or (), client, retry)


def parse_scenario(c: Checker, value: Any, file: str, ctx: ParseContext) -> Scenario | None:
    """One scenario mapping (`c` names the file and scenario), or None after recording why."""
    d = c.mapping(
        value,
        "",
        ("id", "title", "requirements"),
        ("direction", "needs", "given", "notes", "steps", *_STEP_KEYS),
    )
    if d is None:
        return None
    before = len(c.errors)
    c.string(d["title"], "title", what="a one-line title")
    reqs = _requirements(c, d["requirements"], ctx)
    direction = c.string(
        d.get("direction", "both" if _has_client(d) else "server"), "direction", DIRECTIONS
    )
    needs = c.string_list(d.get("needs", []), "needs", (*NEEDS, "mock"))
    given = _setup(c, d.get("given", []), "given") or ()
    notes = d.get("notes", "")
    if not isinstance(notes, str):
        c.bad("notes", "a string", notes)
    steps = _steps(c, d, ctx) if "steps" in d else _single_step(c, d, ctx)
    if direction is not None:
        _check_direction(c, direction, given, steps)
    if len(c.errors) != before or direction is None:
        return None
    derived = _derived_needs(set(needs or ()), reqs, given, steps, ctx)
    return Scenario(d["id"], d["title"], file, reqs, steps, given, direction, derived, notes)


def _requirements(c: Checker, value: Any, ctx: ParseContext) -> tuple[str, ...]:
    reqs = c.string_list(value, "requirements", what="requirement ID")
    if reqs is None:
        return ()
    if not reqs:
        c.bad("requirements", "at least one requirement ID", value)
    for i, rid in enumerate(reqs):
        if ctx.requirement_ids is not None and rid not in ctx.requirement_ids:
            c.bad(join("requirements", i), "a registered requirement ID", rid)
    return reqs


def _single_step(c: Checker, d: dict[str, Any], ctx: ParseContext) -> tuple[Step, ...]:
    """The shorthand: `request`, `expect` (and the other step keys) on the scenario itself."""
    for key in _SINGLE:
        if key not in d:
            c.missing(key)
    if not all(k in d for k in _SINGLE):
        return ()
    step = _step(c, d, "", "1", ctx)
    return () if step is None else (step,)


def _steps(c: Checker, d: dict[str, Any], ctx: ParseContext) -> tuple[Step, ...]:
    stray = [k for k in _STEP_KEYS if k in d]
    if stray:
        c.errors.append(f"{c.where}: {stray[0]}: not allowed next to steps (put it in a step)")
        return ()
    if not isinstance(d["steps"], list) or not d["steps"]:
        c.bad("steps", "a non-empty list of steps", d["steps"])
        return ()
    steps: list[Step] = []
    order: list[str] = []
    for i, raw in enumerate(d["steps"]):
        sub = join("steps", i)
        sd = c.mapping(raw, sub, _SINGLE, ("name", *_STEP_KEYS[2:]))
        if sd is None:
            continue
        name = sd.get("name", str(i + 1))
        if not isinstance(name, str) or not name or name in order:
            c.bad(join(sub, "name"), "a step name unique in the scenario", name)
            continue
        order.append(name)
        step = _step(c, sd, sub, name, ctx)
        if step is None:
            continue
        steps.append(step)
        same = step.expect.status_same_as
        if same is not None and same not in order[:-1]:
            c.bad(join(sub, "expect.status_same_as"), "the name of an earlier step", same)
    return tuple(steps)


def _check_direction(
    c: Checker, direction: str, given: tuple[SetupAction, ...], steps: tuple[Step, ...]
) -> None:
    if direction == "server" and any(s.client for s in steps):
        c.bad("direction", "both or client when a step has a client block", direction)
    if direction in ("server", "both"):
        for action in (*given, *(a for s in steps for a in s.setup)):
            if ACTIONS[action.action].server is None:
                c.bad("direction", f"client when a set-up action is {action.action}", direction)
                break


def _derived_needs(
    derived: set[str],
    reqs: tuple[str, ...],
    given: tuple[SetupAction, ...],
    steps: tuple[Step, ...],
    ctx: ParseContext,
) -> tuple[str, ...]:
    """Its own needs plus those of its requirements, set-up actions, identities and checks."""
    for rid in reqs:
        derived |= set(ctx.needs_of.get(rid, ()))
    for action in (*given, *(a for s in steps for a in s.setup)):
        derived |= ACTIONS[action.action].needs
    if any(
        isinstance(s.request.identity, SpiffeIdentity) or s.request.transport == "mtls"
        for s in steps
    ):
        derived.add("mtls")
    for s in steps:
        if isinstance(s.request.identity, IdPIdentity):
            derived.add(s.request.identity.need)
    if any(s.expect.all_state() for s in steps):
        derived.add("state-hooks")
    return tuple(sorted(derived))


def _has_client(d: dict[str, Any]) -> bool:
    if "client" in d:
        return True
    steps = d.get("steps")
    return isinstance(steps, list) and any(isinstance(s, dict) and "client" in s for s in steps)


# libyaml parses the catalogue about ten times faster than the pure-Python parser.
_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """The YAML value of `text`, with libyaml when installed; a broken text is parsed again by
    the pure-Python parser, so error messages (line and problem) are the same either way."""
    try:
        return yaml.load(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        return yaml.safe_load(text)


def parse_file(text: str, file: str, requirement_ids: set[str] | None = None) -> list[Scenario]:
    """Scenarios of one YAML text; `file` is how errors name it. Raises ScenarioError."""
    errors: list[str] = []
    scenarios = parse_text(text, file, ParseContext(requirement_ids), errors)
    if errors:
        raise ScenarioError(errors)
    return scenarios


def parse_text(text: str, file: str, ctx: ParseContext, errors: list[str]) -> list[Scenario]:
    fc = Checker(file, errors)
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        errors.append(f"{file}: not valid YAML{where}: {getattr(exc, 'problem', exc)}")
        return []
    d = fc.mapping(data, "(top level)", ("scenarios",), ("description",))
    if d is None:
        return []
    if not isinstance(d["scenarios"], list) or not d["scenarios"]:
        fc.bad("scenarios", "a non-empty list of scenarios", d["scenarios"])
        return []
    out = []
    for i, raw in enumerate(d["scenarios"]):
        sid = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(sid, str) or not SCENARIO_ID.match(sid):
            fc.bad(
                f"scenarios[{i}].id",
                "a scenario ID of lower-case letters, digits and '-'",
                sid if isinstance(raw, dict) and "id" in raw else None,
            )
            continue
        scenario = parse_scenario(Checker(f'{file}: scenario "{sid}"', errors), raw, file, ctx)
        if scenario is not None:
            out.append(scenario)
    return out
