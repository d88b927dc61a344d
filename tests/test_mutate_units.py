"""The mutation runner's own pieces: equivalent keys holding " | ", which function owns a
mutant, and the in-place code swap the fast path relies on."""

from __future__ import annotations

import ast
import re
import sys
import types
from pathlib import Path

import pytest

from tools.mutate import generate, load_equivalent, mutated_code
from tools.mutation_swap import body_owners, swap, swappable

SOURCE = """
import functools

LIMIT = 3

def limit():
    return LIMIT

class Box:
    def size(self):
        return 1

    @property
    def empty(self):
        return False

@functools.lru_cache(maxsize=8)
def cached(x):
    return x + 1
"""


def test_an_equivalent_key_may_hold_a_type_union(tmp_path: Path):
    listed = tmp_path / "equivalent.txt"
    key = "m:<module>:remove:Resource = A | B | C...->pass#0"
    listed.write_text(f"# comment\n\n{key} | an alias read only in annotations\n")
    assert load_equivalent(listed) == {key: "an alias read only in annotations"}


def test_an_equivalent_line_without_a_reason_is_refused(tmp_path: Path):
    listed = tmp_path / "equivalent.txt"
    listed.write_text("m:f:constant:1->2#0\n")
    with pytest.raises(SystemExit, match=re.escape("expected 'KEY#N | reason'")):
        load_equivalent(listed)


def test_body_owners_are_top_level_functions_and_methods_only():
    tree = ast.parse(SOURCE)
    owners = body_owners(tree)
    named = {owners[id(node)] for node in ast.walk(tree) if isinstance(node, ast.Return)}
    assert named == {"limit", "Box.size", "Box.empty", "cached"}
    decorator = tree.body[-1].decorator_list[0]  # type: ignore[attr-defined]
    assert id(decorator) not in owners


def _module(tmp_path: Path, name: str) -> types.ModuleType:
    path = tmp_path / f"{name}.py"
    path.write_text(SOURCE)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    exec(compile(SOURCE, str(path), "exec"), module.__dict__)
    sys.modules[name] = module
    return module


def test_swap_changes_the_live_function_every_reference_sees(tmp_path: Path):
    module = _module(tmp_path, "swap_target")
    alias = module.limit
    box = module.Box()
    try:
        assert module.cached(1) == 2
        mutated = compile(SOURCE.replace("x + 1", "x - 1"), module.__file__, "exec")
        assert swappable(compile(SOURCE, module.__file__, "exec"), mutated, "cached")
        assert swap("swap_target", mutated, "cached")
        assert module.cached(1) == 0  # the cache was cleared too
        mutated = compile(SOURCE.replace("return 1", "return 2"), module.__file__, "exec")
        assert swap("swap_target", mutated, "Box.size") and box.size() == 2
        mutated = compile(SOURCE.replace("return False", "return True"), module.__file__, "exec")
        assert swap("swap_target", mutated, "Box.empty") and box.empty is True
        assert alias() == 3
        assert not swap("swap_target", mutated, "missing")
    finally:
        del sys.modules["swap_target"]


def test_mutants_of_the_routing_module_compile_and_carry_their_owner():
    mutants = generate("mockserver.federation.routing")
    assert mutants and all(m.key.startswith("mockserver.federation.routing:") for m in mutants)
    in_functions = [m for m in mutants if m.function]
    assert in_functions and all(m.users == () for m in in_functions)
    assert isinstance(mutated_code(in_functions[0]), types.CodeType)


def test_only_unlisted_survivors_whose_budget_grows_are_confirmed():
    from tools.mutate import Mutant, Outcome, to_confirm

    def mutant(index: int) -> Mutant:
        return Mutant("m", index, "constant", "1", "2", 1, 1, "f", index, "f")

    # line 1 runs in the primary file and in six slow other tests: a larger budget adds tests
    hits = {f"tests/other.py::t{n}": {"m": [1]} for n in range(30)}
    hits["tests/own.py::t"] = {"m": [1]}
    durations = {t: 1.0 for t in hits}
    trace = {"hits": hits, "durations": durations}
    primary = {"m": ("tests/own.py",)}
    listed, unlisted, killed = mutant(0), mutant(1), mutant(2)
    outcomes = [
        Outcome(listed, "survived", 1.0),
        Outcome(unlisted, "survived", 1.0),
        Outcome(killed, "killed", 1.0),
    ]
    assert to_confirm(outcomes, trace, primary, {listed.key: "why"}) == [unlisted]
    assert to_confirm(outcomes, trace, primary) == [listed, unlisted]
    small = {"hits": {"tests/own.py::t": {"m": [1]}}, "durations": {"tests/own.py::t": 1.0}}
    assert to_confirm(outcomes, small, primary) == []  # no more tests to run: nothing to confirm


def test_a_mutant_hangs_after_a_multiple_of_its_tests_traced_time_capped_by_the_timeout():
    from tools.mutate import HANG_FACTOR, HANG_SECONDS, hang_limit

    trace = {"durations": {"a": 1.5, "b": 0.5, "c": 100.0}}
    assert hang_limit(["a", "b"], trace, 600.0) == HANG_SECONDS + HANG_FACTOR * 2.0
    assert hang_limit(["a", "unknown"], trace, 600.0) == HANG_SECONDS + HANG_FACTOR * 1.5
    assert hang_limit(["a", "c"], trace, 60.0) == 60.0
