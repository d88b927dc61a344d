"""Running a mutant without re-importing anything: swap one function's code object in place.

Most mutants change a line inside a function body. Such a function keeps its identity when its
`__code__` is replaced, so every `from module import name`, dispatch table, registry and bound
method elsewhere sees the mutant at once. That lets the runner fork each mutant from a process
that has already imported the whole project, instead of one that imports it again per mutant.
Mutants outside function bodies (module and class level, decorators, default values) still take
the slow path: a fresh import of the mutated module.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from types import CodeType, FunctionType, ModuleType


def body_owners(tree: ast.Module) -> dict[int, str]:
    """id(node) -> qualified name of the outermost function whose body holds the node.

    Only functions at module level or in (nested) classes: their qualified names are those of
    their code objects. Nodes of a def line itself (decorators, defaults) have no owner."""
    owners: dict[int, str] = {}

    def visit(statements: list[ast.stmt], prefix: str) -> None:
        for statement in statements:
            if isinstance(statement, ast.ClassDef):
                visit(statement.body, f"{prefix}{statement.name}.")
            elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{statement.name}"
                for inner in statement.body:
                    owners.update((id(node), name) for node in ast.walk(inner))

    visit(tree.body, "")
    return owners


def find_code(code: CodeType, qualname: str) -> list[CodeType]:
    """Every code object named `qualname` among `code` and its nested constants."""
    found = [code] if code.co_qualname == qualname else []
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            found += find_code(constant, qualname)
    return found


def swappable(original: CodeType, mutated: CodeType, qualname: str) -> bool:
    """One function of that name, whose mutant keeps its free variables (a closure's size)."""
    before, after = find_code(original, qualname), find_code(mutated, qualname)
    return len(before) == len(after) == 1 and before[0].co_freevars == after[0].co_freevars


def _functions(namespace: dict[str, object], module: str, seen: set[int]) -> Iterator[object]:
    for value in list(namespace.values()):
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, type):
            if value.__module__ == module:
                yield from _functions(dict(vars(value)), module, seen)
            continue
        candidates: list[object] = [value]
        if isinstance(value, staticmethod | classmethod):
            candidates = [value.__func__]
        elif isinstance(value, property):
            candidates = [value.fget, value.fset, value.fdel]
        for candidate in candidates:
            while candidate is not None:
                yield candidate
                candidate = getattr(candidate, "__wrapped__", None)


def swap(module_name: str, mutated: CodeType, qualname: str) -> bool:
    """Give the live function `qualname` of the imported module its mutated code; clear the
    module's caches so no answer computed before the swap is served. False if not found."""
    module: ModuleType = sys.modules[module_name]
    found = find_code(mutated, qualname)
    if len(found) != 1:
        return False
    new_code = found[0]
    swapped = False
    for candidate in _functions(dict(vars(module)), module_name, set()):
        clear = getattr(candidate, "cache_clear", None)
        if callable(clear):
            clear()
        if (
            isinstance(candidate, FunctionType)
            and candidate.__code__.co_qualname == qualname
            and candidate.__code__.co_filename == new_code.co_filename
        ):
            candidate.__code__ = new_code
            swapped = True
    return swapped
