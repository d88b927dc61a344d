"""`--list` for both suites: the requirements a run covers with their scenarios, as text or as
one JSON object (`--list --json`)."""

from __future__ import annotations

import json
from typing import Any

import click

from conformance.planning import Plan
from conformance.report import short_title


def _by_requirement(chosen: Plan) -> dict[str, list[str]]:
    by_req: dict[str, list[str]] = {}
    for scenario in chosen.scenarios:
        for rid in scenario.requirements:
            by_req.setdefault(rid, []).append(scenario.id)
    return by_req


def listing(suite: str, chosen: Plan, profile: str, level: str | None) -> dict[str, Any]:
    """The `--list --json` object."""
    by_req = _by_requirement(chosen)
    return {
        "suite": suite,
        "profile": profile,
        "level": level or "all",
        "requirements": [
            {
                "id": req.id,
                "level": req.level,
                "title": short_title(req.text),
                "scenarios": by_req.get(req.id, []),
            }
            for req in chosen.requirements
        ],
        "scenarios": [s.id for s in chosen.scenarios],
    }


def print_listing(
    suite: str, chosen: Plan, profile: str, level: str | None, as_json: bool = False
) -> None:
    if as_json:
        click.echo(json.dumps(listing(suite, chosen, profile, level), indent=2, ensure_ascii=False))
        return
    by_req = _by_requirement(chosen)
    click.echo(
        f"profile {profile}, level {level or 'all'}: {len(chosen.requirements)} "
        f"requirements, {len(chosen.scenarios)} scenarios"
    )
    for req in chosen.requirements:
        ids = ", ".join(by_req.get(req.id, [])) or "(no scenario: SKIP)"
        click.echo(f"{req.id:<16} {req.level:<8} {ids}")
