"""The shape of the code: no import cycle between files (lazy, type-only and package `__init__`
imports all count), `mockserver/` never imports `conformance/`, and the embedded conformance
target changes the mock only through its control surface."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("mockserver", "conformance")
# Files that drive a mock in process: they may call it, never assign into it.
MOCK_DRIVERS = ("conformance/runner/embedded.py", "conformance/runner/hooks.py")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for file in (ROOT / package).rglob("*.py"):
            parts = list(file.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = file
    return found


def imports_of(name: str, file: Path, known: dict[str, Path]) -> set[str]:
    """Every module `name` imports anywhere in its file, with the package `__init__` files an
    import runs on the way (those of packages `name` is not itself inside)."""
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    targets: list[str] = []
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            targets += [base, *(f"{base}.{alias.name}" for alias in node.names)]
    edges = set()
    for target in targets:
        if target not in known:
            continue
        pieces = target.split(".")
        for i in range(1, len(pieces)):
            parent = ".".join(pieces[:i])
            if parent in known and not (name == parent or name.startswith(parent + ".")):
                edges.add(parent)
        if target != name:
            edges.add(target)
    return edges


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, file, known) for name, file in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_lazy_and_package_cycles():
    edges = {"a": {"b"}, "b": {"a.c"}, "a.c": {"b"}, "d": set()}
    assert cycles(edges) == [["a.c", "b"]]


def test_mockserver_has_no_import_cycle():
    edges = graph()
    inside = {n: {m for m in e if m.startswith("mockserver")} for n, e in edges.items()}
    assert [c for c in cycles(inside) if c[0].startswith("mockserver")] == []


def test_the_runtime_is_imported_by_nothing_below_it():
    edges = graph()
    below = {n for n in edges if n.startswith("mockserver") and n != "mockserver.runtime"}
    users = {n for n in below if "mockserver.runtime" in edges[n]}
    # The command line, the pytest plugin and `esi-mock render` start mocks: they sit above it.
    assert users == {"mockserver.cli", "mockserver.pytest_plugin", "mockserver.render.environment"}


def test_mockserver_never_imports_conformance():
    edges = graph()
    assert {
        n: sorted(m for m in e if m.startswith("conformance"))
        for n, e in edges.items()
        if n.startswith("mockserver") and any(m.startswith("conformance") for m in e)
    } == {}


def test_the_mock_drivers_are_in_no_cycle():
    drivers = {path.removesuffix(".py").replace("/", ".") for path in MOCK_DRIVERS}
    assert [c for c in cycles(graph()) if drivers & set(c)] == []


def assignments_into_other_objects(file: Path) -> list[str]:
    """`x.attr = …` (and augmented forms) on anything but `self`/`cls`, any `__dict__`, and
    `setattr`/`delattr` calls: the ways one object patches another."""
    found = []
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Attribute) and isinstance(part.ctx, ast.Store):
                    owner = part.value
                    if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                        found.append(f"line {node.lineno}: {ast.unparse(target)} = ...")
        if isinstance(node, ast.Attribute) and node.attr == "__dict__":
            found.append(f"line {node.lineno}: __dict__")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("setattr", "delattr"):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return sorted(found, key=lambda text: int(text.split(":")[0].removeprefix("line ")))


def test_the_assignment_finder_sees_patches(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "books.create = fail\nself.ok = 1\nbooks.__dict__.pop('x')\nsetattr(books, 'y', 1)\n"
    )
    assert assignments_into_other_objects(sample) == [
        "line 1: books.create = ...",
        "line 3: __dict__",
        "line 4: setattr(books, 'y', 1)",
    ]


def test_the_mock_drivers_never_assign_into_the_mock():
    assert {path: assignments_into_other_objects(ROOT / path) for path in MOCK_DRIVERS} == {
        path: [] for path in MOCK_DRIVERS
    }


def test_no_import_cycle_anywhere():
    assert cycles(graph()) == []


# Every assignment into another object in conformance/, each on an object conformance itself
# made (its own dataclasses, sockets, SSL contexts, XML elements, pytest's session): none on the
# mock's. A new one must be added here with its reason, so patching the mock cannot slip in.
CONFORMANCE_OWN_ASSIGNMENTS = {
    "conformance/bundle.py": [
        "sock.context = ...",  # the bundle's own TLS socket
        "base.sni_callback = ...",  # the bundle's own SSL context
    ],
    "conformance/reference_client/cli.py": [
        "setattr(options, name, parse_duration(getattr(options, name)))",  # its options
    ],
    "conformance/reference_client/transport.py": ["context.minimum_version = ..."],
    "conformance/report.py": [
        "el.text = ...",  # XML elements of the JUnit report
        "el.text = ...",
        "el.text = ...",
        "out.text = ...",
    ],
    "conformance/runner/api.py": ["session.mock_options = ..."],  # the runner's session
    "conformance/runner/command.py": ["suite.progress = ..."],  # its own suite object
    "conformance/runner/engine.py": ["self.undo.clock_offset = ..."],  # its undo record
    "conformance/runner/plugin.py": ["session.exitstatus = ..."],  # pytest's session
    "conformance/runner/target.py": ["__dict__"],  # its own cache of SVID contexts
    "conformance/runner/wire.py": [
        "conn.sock = ...",  # http.client connections it opens
        "conn.sock = ...",
    ],
}


def test_conformance_assigns_only_into_its_own_objects():
    found = {}
    for file in sorted((ROOT / "conformance").rglob("*.py")):
        # Compared without line numbers, so edits elsewhere in a file do not disturb the list.
        assignments = [a.split(": ", 1)[1] for a in assignments_into_other_objects(file)]
        if assignments:
            found[str(file.relative_to(ROOT))] = assignments
    assert found == CONFORMANCE_OWN_ASSIGNMENTS
