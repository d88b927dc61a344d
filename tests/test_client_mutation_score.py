"""The client suite's mutation score: every client-zoo mutant (tests/client_zoo/points.py) is
killed by a client-suite step that FAILs a MUST or MUST-SEC requirement (any requirement for a
mutant that breaks a SHOULD rule only), and the client section of docs/mutation-score.md
records which.

Each mutant runs only the steps that reach its step, the step that killed it last time first,
on two workers with a mock each; the score and any survivors are in the assertion message and
in the terminal summary (the `mutation_score` property tests/conftest.py prints)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.client_zoo.points import (
    CHANNEL_OPERATORS,
    FAILURE_OPERATORS,
    JUDGED_BY,
    PARAM_OPERATORS,
    PARAMS,
    PATHS,
    SHOULD_ONLY,
    STEPS,
    Mutant,
    Points,
    all_mutants,
    read_hits,
    variants,
)
from tests.mutation.client import (
    ZOO,
    checks,
    counted_mutants,
    run_client_mutation,
    step_scenarios,
)
from tests.mutation.client_equivalent import EQUIVALENT
from tests.mutation.client_table import DOC, known_killers, known_kills, render
from tests.mutation.outcome import assert_all_killed
from tests.mutation.table import split


def test_every_step_gets_its_family_of_operators_by_registration() -> None:
    names = {m.name for m in all_mutants()}
    assert len(names) == (
        len(PARAMS) * len(PARAM_OPERATORS)
        + len(PATHS) * len(CHANNEL_OPERATORS)
        + (len(PATHS) - 1) * len(FAILURE_OPERATORS)
        + sum(map(len, STEPS.values()))
    )
    assert {f"path-key:{op}" for op in PARAM_OPERATORS} <= names
    assert {f"on-timeout:{op}" for op in [*CHANNEL_OPERATORS, *FAILURE_OPERATORS]} <= names
    assert "on-success:exit-zero" not in names
    assert set(EQUIVALENT) <= names
    assert set(SHOULD_ONLY) <= names - set(EQUIVALENT)
    assert len(counted_mutants()) == len(names) - len(EQUIVALENT)


def test_points_switch_one_step_and_record_the_steps_reached(tmp_path: Path) -> None:
    hits = tmp_path / "hits"
    points = Points(Mutant("path-key", "unescaped"), str(hits))
    assert points.variant("path-key") == "unescaped"
    assert points.variant("path-store") is None
    assert points.on("path-key", "unescaped")
    assert hits.read_text() == "path-key\npath-store\n"
    assert read_hits(str(hits)) == {"path-key", "path-store"}
    assert read_hits(str(tmp_path / "none")) == set()
    with pytest.raises(ValueError, match="unknown mutant 'path-key:reverse'"):
        Mutant.parse("path-key:reverse")


def test_the_zoo_client_reads_its_mutant_from_the_environment(tmp_path: Path) -> None:
    """A run with no server still reaches the request-building steps and records them."""
    token, ca = tmp_path / "token", tmp_path / "ca.pem"
    token.write_text("t\n")
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n")
    hits = tmp_path / "hits"
    proc = subprocess.run(
        [sys.executable, "-I", str(ZOO / "zoo_client.py"), "store", "--url", "http://127.0.0.1:9",
         "--token-file", str(token), "--ca-file", str(ca), "--store", "s", "--key", "k",
         "--out", str(tmp_path / "out" / "value"), "--timeout", "1"],
        env={**os.environ, "ZOO_MUTANT": "on-dropped:exit-zero", "ZOO_HITS": str(hits)},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("zoo: error: POST /secretstore/s/secrets/k: ConnectionRefused")
    assert {"token-file", "path-store", "path-key", "ca-encoding", "on-dropped"} <= read_hits(
        str(hits)
    )
    assert not (tmp_path / "out").exists()


def test_the_table_is_read_back() -> None:
    text = (
        "| `store-name:prefix` | SRV-AUTHZ-001 | `nearmiss-store-name` |\n"
        "<!-- client section: x -->\n"
        "| `method:get` | CLI-HTTP-001, CLI-AUTH-001 | `client-store-request` |\n"
        "| `path-key:dropped` | CLI-HTTP-002 | `client-hard-keys/slash` |\n"
        "| `timeout:none` | SURVIVES | `none` |\n"
    )
    assert known_killers(text) == {
        "method:get": "client-store-request",
        "path-key:dropped": "client-hard-keys/slash",
    }
    assert known_kills(text)["method:get"] == (
        "client-store-request",
        ("CLI-HTTP-001", "CLI-AUTH-001"),
    )
    assert split(text)[0] == "| `store-name:prefix` | SRV-AUTHZ-001 | `nearmiss-store-name` |\n"


def test_step_scenarios_keep_given_and_requirements() -> None:
    from conformance.client_runner import plan

    chosen = plan(scenario_ids=["client-hard-keys", "client-store-request"]).scenarios
    split_up = step_scenarios(chosen)
    assert [s.id for s in split_up][:2] == ["client-hard-keys/slash", "client-hard-keys/space"]
    assert split_up[-1].id == "client-store-request"
    hard = split_up[0]
    assert (hard.given, hard.requirements, len(hard.steps)) == (
        chosen[0].given,
        chosen[0].requirements,
        1,
    )


def test_client_mutation_score_is_100_percent(
    record_property: Callable[[str, object], None],
) -> None:
    run = run_client_mutation(known=known_killers())
    record_property("mutation_score", run.summary())
    assert_all_killed(
        run,
        {m.name for m in counted_mutants()},
        render(run),
        str(DOC),
        "python -m tests.mutation.client_table",
    )


def test_request_steps_are_tried_first_where_their_part_is_checked() -> None:
    from conformance.client_runner import plan

    assert set(JUDGED_BY) <= set(variants())
    chosen = plan(scenario_ids=["client-store-request", "client-token-file-newline"]).scenarios
    by_id = {s.id: s for s in step_scenarios(chosen)}
    store, newline = by_id["client-store-request"], by_id["client-token-file-newline/newline"]
    assert checks(store, "method") and checks(store, "header:x-workload-token")
    assert checks(newline, "header:authorization")
    assert not checks(newline, "method") and not checks(newline, "body")
    assert not checks(store, None)
