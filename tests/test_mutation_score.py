"""The server suite's mutation score: every zoo mutant (tests/zoo/points.py) is killed by a
scenario that FAILs a MUST or MUST-SEC requirement, and docs/mutation-score.md records which.

The mutants run in this process against one zoo, each only on the scenarios that reach its
point, the scenario that killed it last time first; the score and any survivors are in the
assertion message and in the terminal summary (`mutation_score` property)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.mutation.equivalent import EQUIVALENT
from tests.mutation.outcome import assert_all_killed
from tests.mutation.server import counted_mutants, run_server_mutation
from tests.mutation.table import DOC, known_killers, render
from tests.zoo.points import COMPARISONS, OPERATORS, PARSE_STEPS, Mutant, Points, all_mutants


def test_every_point_gets_every_operator_by_registration() -> None:
    names = {m.name for m in all_mutants()}
    assert len(names) == len(COMPARISONS) * len(OPERATORS) + sum(map(len, PARSE_STEPS.values()))
    assert {f"store-name:{op}" for op in OPERATORS} <= names
    assert set(EQUIVALENT) <= names
    assert len(counted_mutants()) == len(names) - len(EQUIVALENT)


def test_points_compare_exactly_unless_mutated() -> None:
    points = Points()
    assert points.compare("store-name", "app-store", "app-store")
    assert not points.compare("store-name", "app-store", "app-stor")
    points.mutant = Mutant("store-name", "prefix")
    assert points.compare("store-name", "app-store", "app-stor")
    assert not points.compare("subject", "app-store", "app-stor")
    points.mutant = Mutant("store-name", "unicode-nfkc")
    assert points.compare("store-name", "app-store", "app-\u017ftore")
    assert points.take_hits() == {"store-name", "subject"}
    assert points.take_hits() == set()
    with pytest.raises(ValueError, match="unknown mutant 'store-name:reverse'"):
        Mutant.parse("store-name:reverse")


def test_the_table_is_read_back() -> None:
    text = "| `store-name:prefix` | SRV-AUTHZ-001 | `nearmiss-store-name` |\n| other |"
    assert known_killers(text) == {"store-name:prefix": "nearmiss-store-name"}


def test_server_mutation_score_is_100_percent(
    record_property: Callable[[str, object], None],
) -> None:
    run = run_server_mutation(known=known_killers())
    record_property("mutation_score", run.summary())
    assert_all_killed(
        run,
        {m.name for m in counted_mutants()},
        render(run),
        str(DOC),
        "python -m tests.mutation.table",
    )
