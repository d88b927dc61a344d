"""The requirements registry: IDs, levels, selection, coverage by scenarios, generated document."""

from __future__ import annotations

import pytest

from conformance import docs
from conformance.requirements import (
    ID_PATTERN,
    LEVELS,
    NOT_COVERED,
    REQUIREMENTS,
    Requirement,
    all_requirements,
    register,
    select,
)
from conformance.scenarios import load_catalogue, scenarios_by_requirement


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def test_ids_are_well_formed_and_match_their_area():
    for rid, req in all_requirements().items():
        assert rid == req.id
        match = ID_PATTERN.match(rid)
        assert match is not None, rid
        assert match.group(2) == req.area
        assert req.level in LEVELS
        assert req.text.strip() and req.reference.strip()


def test_ids_are_unique_numbering_per_area():
    seen = set()
    for rid in all_requirements():
        prefix, area, number = rid.split("-")
        assert (prefix, area, number) not in seen
        seen.add((prefix, area, number))


def test_every_requirement_has_a_scenario(catalogue):
    covered = scenarios_by_requirement(catalogue)
    missing = [rid for rid in all_requirements() if rid.startswith("SRV-") and rid not in covered]
    assert missing == []


def test_every_scenario_names_registered_requirements(catalogue):
    known = set(all_requirements())
    unknown = {(s.id, r) for s in catalogue for r in s.requirements if r not in known}
    assert unknown == set()


def test_requirement_needs_reach_every_scenario(catalogue):
    registry = all_requirements()
    for scenario in catalogue:
        for rid in scenario.requirements:
            assert set(registry[rid].needs) <= set(scenario.needs), (scenario.id, rid)


def test_okta_and_ping_items_are_covered_by_idp_requirements():
    items = ("S20", "S21", "S22", "S23", "S24", "S25", "S37")
    assert not set(items) & set(NOT_COVERED)
    registry = all_requirements()
    covering = {r.reference: r.id for r in registry.values() if r.area == "IDP"}
    # S13, S32 and S41 (issuer, subject, AuthorizedIdentity) have Okta/Ping requirements too
    assert sorted(covering) == sorted((*items, "S13", "S32", "S41"))
    assert all({"okta", "pingone"} & set(registry[rid].needs) for rid in covering.values())


def test_smoke_profile_is_one_must_per_route_plus_401_and_404():
    assert [r.id for r in select(profile="smoke")] == [
        "SRV-HTTP-004",
        "SRV-AUTHZ-001",
        "SRV-STORE-001",
        "SRV-GEN-001",
        "SRV-REVOKE-001",
        "SRV-REVOKE-002",
    ]


def test_core_profile_is_every_must_and_must_sec():
    core = select(profile="core")
    expected = [
        r
        for r in all_requirements().values()
        if r.direction == "server" and r.level in ("MUST", "MUST-SEC")
    ]
    assert core == expected


def test_level_selection():
    assert {r.level for r in select(level="must")} == {"MUST", "MUST-SEC"}
    assert {r.level for r in select(level="MUST-SEC")} == {"MUST-SEC"}
    assert {r.level for r in select(level="should")} == set(LEVELS)
    assert len(select()) == len([r for r in all_requirements() if r.startswith("SRV-")])
    assert [r.id for r in select(ids=["SRV-AUTH-008"])] == ["SRV-AUTH-008"]


def test_selection_rejects_unknown_values():
    with pytest.raises(ValueError, match="unknown profile 'quick'"):
        select(profile="quick")
    with pytest.raises(ValueError, match="unknown level 'may'"):
        select(level="may")
    with pytest.raises(ValueError, match="unknown requirement IDs: SRV-NOPE-001"):
        select(ids=["SRV-NOPE-001"])


def test_register_refuses_bad_and_conflicting_entries():
    with pytest.raises(ValueError, match="ID must look like"):
        register(Requirement("SRV-HTTP-1", "MUST", "HTTP", "t", "S1"))
    with pytest.raises(ValueError, match="area 'AUTH' does not match"):
        register(Requirement("SRV-HTTP-900", "MUST", "AUTH", "t", "S1"))
    with pytest.raises(ValueError, match="unknown level"):
        register(Requirement("SRV-HTTP-900", "MAY", "HTTP", "t", "S1"))
    with pytest.raises(ValueError, match="registered twice"):
        register(Requirement("SRV-HTTP-001", "MUST", "HTTP", "different text", "S1"))
    assert "SRV-HTTP-900" not in REQUIREMENTS


def test_client_requirements_register_into_the_same_registry():
    extra = Requirement("CLI-REQ-999", "MUST", "REQ", "A test-only client requirement.", "C1")
    try:
        register(extra)
        assert all_requirements()["CLI-REQ-999"] is extra
        assert extra.direction == "client"
        assert extra not in select()
        assert extra in select(direction="client")
    finally:
        REQUIREMENTS.pop("CLI-REQ-999")


def test_committed_requirements_document_is_current():
    committed = docs.DOCUMENT.read_text(encoding="utf-8")
    assert committed == docs.current_document(), "run: .venv/bin/python -m conformance.docs"


def test_document_lists_scenarios_and_not_covered_items(catalogue):
    text = docs.render(all_requirements(), catalogue, NOT_COVERED)
    assert "| SRV-AUTH-008 | MUST-SEC |" in text
    assert "`auth-no-kid`" in text
    assert "| S7 | Byte-exact binary values" in text
    assert "| SRV-IDP-001 | MUST |" in text
    assert "**none**" not in text
