"""Mutation testing for the core modules: does a wrong line make some test fail?

Mutants come from the module's AST (operator swaps, changed constants and texts, removed
statements, negated conditions, dropped slice bounds). The test files of
`tools/mutation_targets.py` are traced once, so each mutant runs only the tests that executed
its lines, fastest first, stopping at the first failure. Each run is a fork of a process that
has already imported pytest and the third-party libraries; the mutated module is compiled from
the AST and served by an import hook, so nothing on disk changes. Survivors listed in
`tools/mutation_equivalent.txt` (stable key, then ` | ` and the reason) count as equivalent.
A survivor not listed runs again with a larger test budget before it is reported; a run that
takes HANG_FACTOR times its tests' traced time (plus HANG_SECONDS) is a timeout, which kills;
Hypothesis does not shrink in mutant runs (a failure is a failure).

    python -m tools.mutate [--module NAME] [--jobs 2] [--timeout 60] [--list]
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib.abc
import importlib.util
import json
import os
import pkgutil
import re
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, FrameType, ModuleType
from typing import Any

from tools.mutation_swap import body_owners, swap, swappable

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = ("mockserver", "conformance")
EQUIVALENT_FILE = ROOT / "tools" / "mutation_equivalent.txt"
PRELOAD = ("pytest", "hypothesis", "flask", "werkzeug", "jwt", "cryptography", "trustme", "yaml")

COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
BINOP_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Mod: ast.Mult,
    ast.BitOr: ast.BitAnd,
    ast.BitAnd: ast.BitOr,
}
# Beyond the module's own test file, the fastest covering tests whose traced run times add up
# to this many seconds (at least MIN_OTHER_TESTS of them): a cap can only lower the score.
OTHER_TESTS_SECONDS = 12.0
SETUP = "@setup"  # suffix of a test's key in the trace for the lines its fixtures ran
CONFIRM_SECONDS = 120.0  # a survivor runs again with this budget before it is reported
MIN_OTHER_TESTS = 25
HANG_SECONDS = 10.0  # a mutant's run is hung after this plus HANG_FACTOR x its traced time
HANG_FACTOR = 4.0
KEY_AND_REASON = re.compile(r"^(?P<key>.*?#\d+) \| (?P<reason>.*)$")
SWAP_FAILED = 71  # a fast child found no function to swap: the mutant is reported, not killed
STATUS_TEXT = {"uncovered": "not covered: no traced test runs this line", "error": "not run"}
ALIVE = ("survived", "uncovered", "error")
REMOVABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.Return, ast.Raise, ast.Continue, ast.Break)


@dataclass(frozen=True)
class Mutant:
    module: str
    index: int  # position of the node in the module's ast.walk order
    kind: str
    original: str
    replacement: str
    line: int
    end_line: int
    qualname: str
    occurrence: int = 0
    function: str = ""  # the function whose body holds the mutant ("" when none): fast path
    # for a mutant outside any function body: the lines that read a name its top-level
    # statement binds, so the tests that use a constant or class are the ones chosen
    users: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        """Stable across line moves: module, enclosing function, operator, texts, occurrence."""
        return (
            f"{self.module}:{self.qualname}:{self.kind}:"
            f"{self.original}->{self.replacement}#{self.occurrence}"
        )


# -- generation ----------------------------------------------------------------------------------


def module_path(module: str) -> Path:
    """The source file of a dotted module name, found without importing it."""
    parts = module.split(".")
    for base in [ROOT, *map(Path, sys.path)]:
        for candidate in (
            base.joinpath(*parts).with_suffix(".py"),
            base.joinpath(*parts, "__init__.py"),
        ):
            if candidate.is_file():
                return candidate
    raise SystemExit(
        f"mutate: module {module} not found; it may have moved: update TARGETS in "
        "tools/mutation_targets.py"
    )


def _skipped_nodes(tree: ast.Module) -> set[int]:
    """ids of nodes never mutated: docstrings, imports, annotations, TYPE_CHECKING blocks."""
    skipped: set[int] = set()

    def skip(node: ast.AST | None) -> None:
        if node is not None:
            skipped.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                skip(body[0])
        if isinstance(node, ast.Import | ast.ImportFrom):
            skip(node)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            skip(node)  # an attribute docstring, or a Protocol method's `...`
        if isinstance(node, ast.arg):
            skip(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            skip(node.returns)
        if isinstance(node, ast.AnnAssign):
            skip(node.annotation)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip(node)
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            skip(node)
    return skipped


def _qualnames(tree: ast.Module) -> dict[int, str]:
    names: dict[int, str] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = prefix
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}.{child.name}" if prefix else child.name
            names[id(child)] = name or "<module>"
            visit(child, name)

    visit(tree, "")
    return names


def _users_of_top_level(tree: ast.Module) -> dict[int, tuple[int, ...]]:
    """id(node) -> the lines that load a name bound by the node's top-level statement."""
    loads: dict[str, set[int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loads.setdefault(node.id, set()).add(node.lineno)
    users: dict[int, tuple[int, ...]] = {}
    for statement in tree.body:
        bound: set[str] = set()
        if isinstance(statement, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            bound.add(statement.name)
        for target in getattr(statement, "targets", [getattr(statement, "target", None)]):
            if target is not None:
                bound.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        lines = tuple(sorted({line for name in bound for line in loads.get(name, ())}))
        users.update((id(node), lines) for node in ast.walk(statement))
    return users


def _constant_replacement(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "X" if value else "X"
    if isinstance(value, bytes):
        return value + b"X" if value else b"X"
    return None


def _short(node: ast.AST) -> str:
    text = ast.unparse(node).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def _mutations(node: ast.AST) -> Iterator[tuple[str, str, str]]:
    """(kind, original, replacement) for each way this node can be mutated."""
    if isinstance(node, ast.Compare):
        for position, op in enumerate(node.ops):
            if type(op) in COMPARE_SWAPS:
                yield "compare", f"{position}:{type(op).__name__}", COMPARE_SWAPS[type(op)].__name__
    elif isinstance(node, ast.BoolOp):
        yield "boolop", type(node.op).__name__, "Or" if isinstance(node.op, ast.And) else "And"
    elif isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAPS:
        yield "binop", type(node.op).__name__, BINOP_SWAPS[type(node.op)].__name__
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "drop-not", _short(node), _short(node.operand)
    elif isinstance(node, ast.Constant):
        replacement = _constant_replacement(node.value)
        if replacement is not None:
            yield "constant", repr(node.value)[:60], repr(replacement)[:60]
    elif isinstance(node, ast.Slice):
        if node.lower is not None:
            yield "slice-lower", _short(node), "<none>"
        if node.upper is not None:
            yield "slice-upper", _short(node), "<none>"
    if isinstance(node, ast.If | ast.While | ast.IfExp | ast.Assert):
        if not (isinstance(node.test, ast.Constant) and node.test.value is True):
            yield "negate", _short(node.test), f"not ({_short(node.test)})"
    if isinstance(node, REMOVABLE):
        yield "remove", _short(node), "pass"


def generate(module: str) -> list[Mutant]:
    tree = ast.parse(module_path(module).read_text())
    skipped = _skipped_nodes(tree)
    qualnames = _qualnames(tree)
    owners = body_owners(tree)
    users = _users_of_top_level(tree)
    mutants: list[Mutant] = []
    seen: Counter[tuple[str, str, str, str]] = Counter()
    for index, node in enumerate(ast.walk(tree)):
        if id(node) in skipped or not hasattr(node, "lineno"):
            continue
        for kind, original, replacement in _mutations(node):
            qualname = qualnames.get(id(node), "<module>")
            slot = (qualname, kind, original, replacement)
            mutants.append(
                Mutant(
                    module,
                    index,
                    kind,
                    original,
                    replacement,
                    node.lineno,
                    getattr(node, "end_lineno", None) or node.lineno,
                    qualname,
                    seen[slot],
                    owners.get(id(node), ""),
                    () if owners.get(id(node)) else users.get(id(node), ()),
                )
            )
            seen[slot] += 1
    return mutants


class _Apply(ast.NodeTransformer):
    """Applies one mutant: finds its node by walk index and rewrites it."""

    def __init__(self, mutant: Mutant, target: ast.AST) -> None:
        self.mutant = mutant
        self.target = target

    def visit(self, node: ast.AST) -> Any:
        if node is not self.target:
            return super().visit(node)
        m = self.mutant
        if m.kind == "compare":
            assert isinstance(node, ast.Compare)
            position = int(m.original.split(":")[0])
            node.ops[position] = COMPARE_SWAPS[type(node.ops[position])]()
        elif m.kind == "boolop":
            assert isinstance(node, ast.BoolOp)
            node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        elif m.kind == "binop":
            assert isinstance(node, ast.BinOp)
            node.op = BINOP_SWAPS[type(node.op)]()
        elif m.kind == "drop-not":
            assert isinstance(node, ast.UnaryOp)
            return node.operand
        elif m.kind == "constant":
            assert isinstance(node, ast.Constant)
            node.value = _constant_replacement(node.value)  # type: ignore[assignment]
        elif m.kind == "slice-lower":
            assert isinstance(node, ast.Slice)
            node.lower = None
        elif m.kind == "slice-upper":
            assert isinstance(node, ast.Slice)
            node.upper = None
        elif m.kind == "negate":
            assert isinstance(node, ast.If | ast.While | ast.IfExp | ast.Assert)
            node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
        elif m.kind == "remove":
            return ast.Pass()
        return node


def mutated_code(mutant: Mutant) -> CodeType:
    path = module_path(mutant.module)
    tree = ast.parse(path.read_text())
    target = list(ast.walk(tree))[mutant.index]
    tree = _Apply(mutant, target).visit(copy.copy(tree))
    ast.fix_missing_locations(tree)
    return compile(tree, str(path), "exec")


# -- running -------------------------------------------------------------------------------------


class _MutatedLoader(importlib.abc.Loader):
    def __init__(self, code: CodeType) -> None:
        self.code = code

    def create_module(self, spec: Any) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        exec(self.code, module.__dict__)


def install(name: str, code: CodeType) -> None:
    """Import the mutated module under its own name before anything else imports it (pytest's
    assertion-rewriting hook would otherwise load the file from disk)."""
    parent, _, child = name.rpartition(".")
    package = importlib.import_module(parent) if parent else None
    spec = importlib.util.spec_from_file_location(
        name, code.co_filename, loader=_MutatedLoader(code)
    )
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    if package is not None:
        setattr(package, child, module)


def _pytest_args(nodeids: Sequence[str]) -> list[str]:
    return [
        *nodeids,
        "-x",
        "-q",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",
        "-o",
        "addopts=",
        "--no-header",
        "--assert=plain",  # rewriting every imported project module costs seconds per mutant
    ]


class _NoShrink:
    """Hypothesis stops at the first failing example instead of shrinking it: a mutant's run
    only asks whether some test fails, and shrinking costs seconds per kill. Loaded after the
    conftest has chosen the profile, which it keeps in every other setting."""

    def pytest_configure(self, config: Any) -> None:
        from hypothesis import Phase, settings

        settings.register_profile(
            "mutate-no-shrink",
            parent=settings.default,
            phases=(Phase.explicit, Phase.reuse, Phase.generate),
        )
        settings.load_profile("mutate-no-shrink")


def hang_limit(tests: Sequence[str], trace: dict[str, Any], timeout: float) -> float:
    """Seconds after which a mutant's run counts as hung (a timeout kills it): HANG_FACTOR times
    what its tests took when traced, plus HANG_SECONDS for start-up, never above `timeout`."""
    durations: dict[str, float] = trace["durations"]
    expected = sum(durations.get(t, 0.0) for t in tests)
    return min(timeout, HANG_SECONDS + HANG_FACTOR * expected)


def _child_pytest(nodeids: Sequence[str], plugins: Sequence[object] = ()) -> int:
    import pytest

    os.chdir(ROOT)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    return int(pytest.main(_pytest_args(nodeids), plugins=list(plugins)))


def _fork(work: Any) -> int:
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            code = work()
        finally:
            os._exit(code)
    return pid


class _Tracer:
    """Per test, the lines of the target files it executed (threads included)."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files  # real path -> module
        self._seen: dict[str, str | None] = {}
        self.current = "<import>"
        self.hits: dict[str, dict[str, set[int]]] = {}
        self.durations: dict[str, float] = {}
        self._started = 0.0

    def trace(self, frame: FrameType, event: str, arg: object) -> Any:
        filename = frame.f_code.co_filename
        module = self._seen.get(filename, "")
        if module == "":
            module = self._seen[filename] = self.files.get(os.path.realpath(filename))
        if module is None:
            return None
        lines = self.hits.setdefault(self.current, {}).setdefault(module, set())
        lines.add(frame.f_lineno)

        def local(frame: FrameType, event: str, arg: object) -> Any:
            if event == "line":
                lines_now = self.hits.setdefault(self.current, {}).setdefault(module, set())
                lines_now.add(frame.f_lineno)
            return local

        return local

    def pytest_runtest_setup(self, item: Any) -> None:
        self.current = item.nodeid + SETUP
        self._started = time.monotonic()

    def pytest_runtest_call(self, item: Any) -> None:
        self.current = item.nodeid

    def pytest_runtest_teardown(self, item: Any) -> None:
        self.durations[item.nodeid] = time.monotonic() - self._started


def trace_tests(test_files: Sequence[str], modules: Sequence[str]) -> dict[str, Any]:
    """Run the test files once, unmutated, recording which tests execute which lines."""
    files = {os.path.realpath(module_path(m)): m for m in modules}
    out = Path(tempfile.mkstemp(suffix=".json")[1])

    def work() -> int:
        tracer = _Tracer(files)
        sys.settrace(tracer.trace)
        threading.settrace(tracer.trace)
        status = _child_pytest([f for f in test_files if (ROOT / f).exists()], [tracer])
        sys.settrace(None)
        hits = {
            test: {m: sorted(lines) for m, lines in per.items()}
            for test, per in tracer.hits.items()
        }
        out.write_text(json.dumps({"status": status, "hits": hits, "durations": tracer.durations}))
        return 0

    os.waitpid(_fork(work), 0)
    data = json.loads(out.read_text() or "{}") if out.stat().st_size else {}
    out.unlink()
    if not data or data["status"] != 0:
        raise SystemExit("mutate: the unmutated tests do not pass; fix them first")
    return data


def covering_tests(
    mutant: Mutant,
    trace: dict[str, Any],
    primary: Sequence[str] = (),
    budget: float = OTHER_TESTS_SECONDS,
) -> list[str]:
    """The tests that ran a line of the mutant: all of the module's own (primary) test files,
    then the fastest others; every test of the module when the lines run only at import time,
    and the whole primary file for those too (a test of a constant may call nothing)."""
    span = set(range(mutant.line, mutant.end_line + 1)) | set(mutant.users)
    hit = [
        test
        for test, per in trace["hits"].items()
        if test != "<import>" and span & set(per.get(mutant.module, ()))
    ]
    tests = sorted({t.removesuffix(SETUP) for t in hit})
    # A shared fixture's set-up is traced under the first test that asks for it; the tests of
    # that file after it use what it built, so they are candidates too.
    fixture_files = {t.split("::")[0] for t in hit if t.endswith(SETUP)}
    tests += [t for t in trace["durations"] if t.split("::")[0] in fixture_files]
    tests = list(dict.fromkeys(tests))
    imported = set(trace["hits"].get("<import>", {}).get(mutant.module, ()))
    if not tests and (mutant.qualname == "<module>" or span & imported):
        # module-level code runs at import; a multi-line literal traces only its first line
        users = {t.removesuffix(SETUP) for t, per in trace["hits"].items() if mutant.module in per}
        tests = [t for t in trace["durations"] if t in users]
        tests += [t for t in trace["durations"] if t.split("::")[0] in primary and t not in tests]
    if not mutant.function:
        # a class attribute or a default runs at import: the module's own tests may read it
        # without tracing its line, so they always run
        tests += [t for t in trace["durations"] if t.split("::")[0] in primary and t not in tests]
    durations: dict[str, float] = trace["durations"]
    fastest: dict[str, float] = {}
    for test in tests:
        file = test.split("::")[0]
        fastest[file] = min(fastest.get(file, 1e9), durations.get(test, 0.0))

    # one file at a time, so module-scoped fixtures start once per mutant
    def order(test: str) -> tuple[bool, float, str, float]:
        file = test.split("::")[0]
        return (file not in primary, fastest[file], file, durations.get(test, 0.0))

    ordered = sorted(tests, key=order)
    chosen = [t for t in ordered if t.split("::")[0] in primary]
    others = [t for t in ordered if t not in chosen]
    others.sort(key=lambda t: durations.get(t, 0.0))
    spent = 0.0
    for count, test in enumerate(others):
        spent += durations.get(test, 0.0)
        if count >= MIN_OTHER_TESTS and spent > budget:
            break
        chosen.append(test)
    kept = set(chosen)
    return [t for t in ordered if t in kept]  # grouped by file again


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # killed | survived | timeout | uncovered | error (counted as alive)
    seconds: float


def run_mutants(
    mutants: Sequence[Mutant],
    trace: dict[str, Any],
    jobs: int,
    timeout: float,
    primary: dict[str, tuple[str, ...]],
    fast: bool = False,
    budget: float = OTHER_TESTS_SECONDS,
) -> list[Outcome]:
    """Fork one child per mutant, `jobs` at a time. `fast`: this process has imported the
    project and each child swaps one function's code; otherwise each child imports the mutant."""
    outcomes: list[Outcome] = []
    pending = list(mutants)
    running: dict[int, tuple[Mutant, float, float]] = {}
    while pending or running:
        while pending and len(running) < jobs:
            mutant = pending.pop(0)
            tests = covering_tests(mutant, trace, primary.get(mutant.module, ()), budget)
            if not tests:
                outcomes.append(Outcome(mutant, "uncovered", 0.0))
                continue
            code = mutated_code(mutant)

            def work(
                mutant: Mutant = mutant, code: CodeType = code, tests: list[str] = tests
            ) -> int:
                if not fast:
                    install(mutant.module, code)
                elif not swap(mutant.module, code, mutant.function):
                    return SWAP_FAILED
                return _child_pytest(tests, [_NoShrink()])

            running[_fork(work)] = (mutant, time.monotonic(), hang_limit(tests, trace, timeout))
        pid, wait_status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            now = time.monotonic()
            for child, (mutant, started, limit) in list(running.items()):
                if now - started > limit:
                    os.kill(child, signal.SIGKILL)
                    os.waitpid(child, 0)
                    del running[child]
                    outcomes.append(Outcome(mutant, "timeout", now - started))
            time.sleep(0.01)
            continue
        if pid not in running:
            continue
        mutant, started, _ = running.pop(pid)
        exit_code = os.waitstatus_to_exitcode(wait_status)
        status = {0: "survived", SWAP_FAILED: "error"}.get(exit_code, "killed")
        outcomes.append(Outcome(mutant, status, time.monotonic() - started))
        if status == "error":
            print(f"error: could not swap {mutant.function} for {mutant.key}", file=sys.stderr)
        if outcomes[-1].status == "survived":
            print(f"survived: {mutant.key} (line {mutant.line})", file=sys.stderr, flush=True)
        if len(outcomes) % 50 == 0:
            print(f"{len(outcomes)}/{len(mutants)} mutants run", file=sys.stderr, flush=True)
    return outcomes


def to_confirm(
    outcomes: Sequence[Outcome],
    trace: dict[str, Any],
    primary: dict[str, tuple[str, ...]],
    equivalent: Collection[str] = (),
) -> list[Mutant]:
    """The survivors worth a second run: the larger budget selects more tests for them, and
    they are not listed as equivalent (a listed survivor is left out of the score whatever a
    second run finds, so running it again could only cost time)."""
    return [
        o.mutant
        for o in outcomes
        if o.status == "survived"
        and o.mutant.key not in equivalent
        and covering_tests(o.mutant, trace, primary.get(o.mutant.module, ()), CONFIRM_SECONDS)
        != covering_tests(o.mutant, trace, primary.get(o.mutant.module, ()))
    ]


def confirm(
    outcomes: list[Outcome],
    trace: dict[str, Any],
    args: argparse.Namespace,
    primary: dict[str, tuple[str, ...]],
    fast: bool,
    equivalent: Collection[str] = (),
) -> list[Outcome]:
    """Run each survivor of `to_confirm` again with every covering test up to CONFIRM_SECONDS,
    so the quick first budget never lowers the score."""
    again = to_confirm(outcomes, trace, primary, equivalent)
    if not again:
        return outcomes
    print(f"confirming {len(again)} survivors with more tests", file=sys.stderr, flush=True)
    timeout = max(args.timeout, 3 * CONFIRM_SECONDS)
    second = run_mutants(again, trace, args.jobs, timeout, primary, fast, CONFIRM_SECONDS)
    replaced = {o.mutant: o for o in second}
    return [replaced.get(o.mutant, o) for o in outcomes]


def split_fast(mutants: Sequence[Mutant]) -> set[Mutant]:
    """The mutants a child can apply by swapping one function's code (see mutation_swap)."""
    originals: dict[str, CodeType] = {}
    fast: set[Mutant] = set()
    for mutant in mutants:
        if not mutant.function:
            continue
        if mutant.module not in originals:
            path = module_path(mutant.module)
            originals[mutant.module] = compile(path.read_text(), str(path), "exec")
        if swappable(originals[mutant.module], mutated_code(mutant), mutant.function):
            fast.add(mutant)
    return fast


def preload_project() -> None:
    """Import every module of the project once, before the fast children fork from here."""
    for package in PROJECT_PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            importlib.import_module(info.name)
    if threading.active_count() > 1:
        raise SystemExit("mutate: importing the project started a thread; cannot fork safely")


def load_equivalent(path: Path = EQUIVALENT_FILE) -> dict[str, str]:
    """key -> reason; blank lines and # comments ignored."""
    equivalent: dict[str, str] = {}
    if not path.exists():
        return equivalent
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        # a key may itself hold " | " (a type union): it ends at its "#occurrence"
        match = KEY_AND_REASON.match(line)
        if match is None or not match["reason"].strip():
            raise SystemExit(f"mutate: {path}:{number}: expected 'KEY#N | reason'")
        equivalent[match["key"].strip()] = match["reason"].strip()
    return equivalent


def report(outcomes: Sequence[Outcome], equivalent: dict[str, str]) -> bool:
    """Print the score per module and the survivors; True if every module reaches 95 %."""
    ok = True
    by_module: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_module.setdefault(outcome.mutant.module, []).append(outcome)
    print(f"{'module':40} {'mutants':>7} {'killed':>6} {'equiv':>5} {'alive':>5} {'score':>7}")
    for module, results in sorted(by_module.items()):
        killed = sum(o.status in ("killed", "timeout") for o in results)
        alive = [o for o in results if o.status in ALIVE]
        equiv = [o for o in alive if o.mutant.key in equivalent]
        real = [o for o in alive if o.mutant.key not in equivalent]
        counted = len(results) - len(equiv)
        score = 100.0 * killed / counted if counted else 100.0
        ok = ok and score >= 95.0
        print(f"{module:40} {len(results):7} {killed:6} {len(equiv):5} {len(real):5} {score:6.1f}%")
    survivors = [o for o in outcomes if o.status in ALIVE]
    if survivors:
        print("\nsurvivors (E = listed equivalent):")
    for o in sorted(survivors, key=lambda o: (o.mutant.module, o.mutant.line)):
        mark = "E" if o.mutant.key in equivalent else " "
        path = module_path(o.mutant.module).relative_to(ROOT)
        reason = equivalent.get(o.mutant.key, STATUS_TEXT.get(o.status, o.status))
        print(f" {mark} {path}:{o.mutant.line} {o.mutant.key}\n      {reason}")
    run = {o.mutant.key for o in outcomes}
    stale = {k for k in equivalent if k in run} - {o.mutant.key for o in survivors}
    for key in sorted(stale):
        print(f"note: listed as equivalent but not a survivor (remove it): {key}")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    from tools.mutation_targets import TARGETS

    parser = argparse.ArgumentParser(prog="python -m tools.mutate", description=__doc__)
    parser.add_argument("--module", action="append", help="only this dotted module (repeatable)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per mutant")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument(
        "--only", type=Path, help="a file of mutant keys, one a line: run only those (a rerun)"
    )
    args = parser.parse_args(argv)
    modules = args.module or list(TARGETS)
    unknown = [m for m in modules if m not in TARGETS]
    if unknown:
        parser.error(f"not in tools/mutation_targets.py: {', '.join(unknown)}")
    mutants = [m for module in modules for m in generate(module)]
    if args.only is not None:
        wanted = {line.strip() for line in args.only.read_text().splitlines() if line.strip()}
        mutants = [m for m in mutants if m.key in wanted]
    if args.list:
        for m in mutants:
            print(f"{module_path(m.module).relative_to(ROOT)}:{m.line} {m.key}")
        return 0
    started = time.monotonic()
    os.environ.setdefault("HYPOTHESIS_PROFILE", "ci")
    for name in PRELOAD:
        __import__(name)
    test_files = sorted({f for module in modules for f in TARGETS[module] if f})
    trace = trace_tests(test_files, modules)
    print(f"traced {len(trace['durations'])} tests in {time.monotonic() - started:.0f} s")
    primary = {module: files[:1] for module, files in TARGETS.items()}
    swaps = split_fast(mutants)
    fast = [m for m in mutants if m in swaps]
    slow = [m for m in mutants if m not in swaps]
    print(f"{len(mutants)} mutants: {len(fast)} swap a function, {len(slow)} import the module")
    phase = time.monotonic()
    outcomes = run_mutants(slow, trace, args.jobs, args.timeout, primary)
    equivalent = load_equivalent()
    outcomes = confirm(outcomes, trace, args, primary, fast=False, equivalent=equivalent)
    print(f"module-level mutants: {time.monotonic() - phase:.0f} s", flush=True)
    phase = time.monotonic()
    preload_project()
    swapped = run_mutants(fast, trace, args.jobs, args.timeout, primary, fast=True)
    outcomes += confirm(swapped, trace, args, primary, fast=True, equivalent=equivalent)
    print(f"function-body mutants: {time.monotonic() - phase:.0f} s", flush=True)
    ok = report(outcomes, equivalent)
    spent: Counter[str] = Counter()
    for o in outcomes:
        spent[o.status] += o.seconds
    print(
        "child seconds by outcome: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(spent.items()))
    )
    print(f"\n{len(mutants)} mutants in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
