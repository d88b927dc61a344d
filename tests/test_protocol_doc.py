"""docs/protocol.md defines every ID the requirements and quirks cite, and the docs cite only it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.bundle import create_bundle
from conformance.requirements import NOT_COVERED, all_requirements
from mockserver.admin.hooks import hooks_file_text
from mockserver.federation.modes import QUIRKS, STRICT_ITEMS

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")

# A reference string is a comma-separated list of item IDs (S12, C3, CC-06) and sections (§2.5).
ITEM = re.compile(r"^(S\d+|C\d+|CC-\d{2}|§\d+(?:\.\d+)?)$")
# Files and notes the project's users do not have.
FOREIGN_SOURCES = ("server-protocol.md", "clients.md", "kubernetes-and-eso.md", "design note")


def defined_items() -> set[str]:
    """Item IDs as the first cell of a table row, and section numbers from the headings."""
    items = set(re.findall(r"^\| (S\d+|C\d+|CC-\d{2}) \|", PROTOCOL, re.M))
    for number in re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", PROTOCOL, re.M):
        items.add(f"§{number}")
    return items


def defect_names() -> set[str]:
    """The quirk-style names in the defect table of §6 (`| D9 | `first-request-401` | …`)."""
    return set(re.findall(r"^\| D\d+ \| `([a-z0-9-]+)` \|", PROTOCOL, re.M))


def cited_items() -> set[str]:
    cited = set()
    for req in all_requirements().values():
        for part in req.reference.split(","):
            part = part.strip()
            assert ITEM.match(part), f"{req.id}: reference {part!r} is not an item ID or a section"
            cited.add(part)
    for key in NOT_COVERED:
        cited.update(re.findall(r"\b(?:CC-\d{2}|[SC]\d+)\b", key))
    return cited


def test_every_cited_item_is_defined_in_protocol_md() -> None:
    missing = sorted(cited_items() - defined_items())
    assert missing == []


def test_item_ids_are_defined_once() -> None:
    rows = re.findall(r"^\| (S\d+|C\d+|CC-\d{2}|D\d+) \|", PROTOCOL, re.M)
    assert sorted(r for r in set(rows) if rows.count(r) > 1) == []


def test_every_quirk_is_a_defect_id_in_protocol_md() -> None:
    assert sorted(set(QUIRKS) - defect_names()) == []


def test_every_strict_item_cites_items_protocol_md_defines() -> None:
    defects = set(re.findall(r"^\| (D\d+) \|", PROTOCOL, re.M))
    for item in STRICT_ITEMS:
        assert item.reference.startswith("protocol.md "), item.name
        parts = {p.strip() for p in item.reference.removeprefix("protocol.md ").split(",")}
        assert sorted(parts - defined_items() - defects) == [], item.name


def test_the_defect_table_names_the_lock_and_allowlist_defects() -> None:
    assert {"global-oidc-lock", "spiffe-allowlist-delete"} <= defect_names()


@pytest.mark.parametrize(
    "path",
    [
        *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")),
        "README.md",
        "fixtures/README.md",
        "CHANGELOG.md",
        *sorted(
            str(p.relative_to(ROOT))
            for package in ("mockserver", "conformance", "tests", "bench", "tools")
            for p in (ROOT / package).rglob("*.py")
            if p.name != "test_protocol_doc.py"
        ),
    ],
)
def test_docs_cite_protocol_md_not_sources_users_lack(path: str) -> None:
    text = (ROOT / path).read_text(encoding="utf-8")
    assert [s for s in FOREIGN_SOURCES if s in text] == []


# Data files the wheel ships and users read: expected failures, adapters, scenarios, fixtures.
SHIPPED_DATA = ("conformance/expected", "conformance/adapters", "scenarios", "fixtures")


def shipped_data_files() -> list[str]:
    return sorted(
        str(p.relative_to(ROOT))
        for folder in SHIPPED_DATA
        for p in (ROOT / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


def test_shipped_data_is_scanned() -> None:
    files = shipped_data_files()
    assert "conformance/expected/embedded-mock.yaml" in files
    assert "conformance/adapters/reference.yaml" in files
    assert "scenarios/store/r1.yaml" in files and "fixtures/README.md" in files


@pytest.mark.parametrize("path", shipped_data_files())
def test_shipped_data_cites_protocol_md_not_sources_users_lack(path: str) -> None:
    text = (ROOT / path).read_text(encoding="utf-8")
    assert [s for s in FOREIGN_SOURCES if s in text] == []


def test_a_written_bundle_and_hooks_file_cite_no_source_users_lack(tmp_path: Path) -> None:
    """What users get from the tools themselves: every text file of a bundle (its README
    included) and the hooks file `esi-mock serve --bundle` writes."""
    bundle = create_bundle(tmp_path / "bundle").root
    texts = {"hooks.yaml": hooks_file_text("http://127.0.0.1:1")}
    for p in bundle.rglob("*"):
        if p.is_file() and p.suffix in (".md", ".yaml", ".json"):
            texts[str(p.relative_to(bundle))] = p.read_text(encoding="utf-8")
    assert "README.md" in texts and "manifests.yaml" in texts
    cited = {name: [s for s in FOREIGN_SOURCES if s in text] for name, text in texts.items()}
    assert {name: found for name, found in cited.items() if found} == {}
