"""Loading the catalogue: every YAML file under a folder, checked together, IDs unique."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from conformance.requirements import all_requirements
from conformance.scenarios.checker import ParseContext
from conformance.scenarios.model import Scenario
from conformance.scenarios.parse import parse_text
from conformance.scenarios.vocabulary import ScenarioError


def default_scenarios_dir() -> Path:
    """The shipped catalogue: `mockserver.paths` when present, else the repository folder."""
    try:
        from mockserver import paths
    except ImportError:
        return Path(__file__).resolve().parents[2] / "scenarios"
    return Path(paths.default_scenarios_dir())


def load_catalogue(
    root: Path | str | None = None, requirement_ids: set[str] | None = None
) -> list[Scenario]:
    """Every scenario under `root` (default: the shipped catalogue), sorted by file then order.

    Checks requirement IDs against `requirement_ids` (default: the whole registry) and that
    scenario IDs are unique. Raises ScenarioError listing every problem.
    """
    base = Path(root) if root is not None else default_scenarios_dir()
    registry = all_requirements()
    if requirement_ids is None:
        requirement_ids = set(registry)
    ctx = ParseContext(requirement_ids, {rid: r.needs for rid, r in registry.items()})
    errors: list[str] = []
    out: list[Scenario] = []
    seen: dict[str, str] = {}
    files = sorted([*base.rglob("*.yaml"), *base.rglob("*.yml")])
    for path in files:
        shown = f"{base.name}/{path.relative_to(base).as_posix()}"
        for scenario in parse_text(path.read_text(encoding="utf-8"), shown, ctx, errors):
            if scenario.id in seen:
                errors.append(
                    f'{shown}: scenario "{scenario.id}": id: already used in {seen[scenario.id]}'
                )
                continue
            seen[scenario.id] = shown
            out.append(scenario)
    if errors:
        raise ScenarioError(errors)
    return out


def scenarios_by_requirement(scenarios: Sequence[Scenario]) -> dict[str, list[str]]:
    """Requirement ID → IDs of the scenarios exercising it."""
    out: dict[str, list[str]] = {}
    for scenario in scenarios:
        for rid in scenario.requirements:
            out.setdefault(rid, []).append(scenario.id)
    return out
