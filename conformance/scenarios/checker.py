"""The schema checker's toolkit: typed field readers that collect every problem with its place.

Each reader returns the value or None after recording one line such as
`scenarios/a.yaml: scenario "x": expect.status: expected an integer 100–599, got "200"`, so a
whole catalogue is reported in one pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from conformance.scenarios.vocabulary import broken_kinds

# A parser's answer for "invalid, already reported" where None is a valid value.
MISSING: Any = object()


def show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class Checker:
    """Collects problems for one scenario (or file) with a common location prefix."""

    def __init__(self, where: str, errors: list[str]) -> None:
        self.where = where
        self.errors = errors

    def bad(self, path: str, expected: str, got: Any = MISSING) -> None:
        tail = "" if got is MISSING else f", got {show(got)}"
        self.errors.append(f"{self.where}: {path}: expected {expected}{tail}")

    def missing(self, path: str) -> None:
        self.errors.append(f"{self.where}: {path}: required field is missing")

    def mapping(
        self, value: Any, path: str, required: Sequence[str], optional: Sequence[str]
    ) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.bad(path, "a mapping", value)
            return None
        ok = True
        for key in value:
            if key not in required and key not in optional:
                allowed = ", ".join([*required, *optional])
                self.errors.append(
                    f"{self.where}: {join(path, str(key))}: unknown field "
                    f"(expected one of: {allowed})"
                )
        for key in required:
            if key not in value:
                self.missing(join(path, key))
                ok = False
        return value if ok else None

    def string(
        self,
        value: Any,
        path: str,
        choices: Sequence[str] | None = None,
        pattern: re.Pattern[str] | None = None,
        what: str = "a string",
    ) -> str | None:
        if not isinstance(value, str) or not value:
            self.bad(path, f"{what}" if choices is None else f"one of {', '.join(choices)}", value)
            return None
        if choices is not None and value not in choices:
            self.bad(path, f"one of {', '.join(choices)}", value)
            return None
        if pattern is not None and not pattern.match(value):
            self.bad(path, what, value)
            return None
        return value

    def integer(self, value: Any, path: str, low: int, high: int, what: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.bad(path, what, value)
            return None
        return value

    def status(self, value: Any, path: str) -> tuple[int, ...] | None:
        what = "an integer 100–599"
        if isinstance(value, list):
            if not value:
                self.bad(path, "a non-empty list of integers 100–599", value)
                return None
            out = [self.integer(v, join(path, i), 100, 599, what) for i, v in enumerate(value)]
            good = [v for v in out if v is not None]
            return tuple(good) if len(good) == len(out) else None
        one = self.integer(value, path, 100, 599, what)
        return None if one is None else (one,)

    def string_list(
        self, value: Any, path: str, choices: Sequence[str] | None = None, what: str = "a string"
    ) -> tuple[str, ...] | None:
        if not isinstance(value, list):
            self.bad(
                path,
                f"a list of {what}s" if choices is None else f"a list of: {', '.join(choices)}",
                value,
            )
            return None
        out = [self.string(v, join(path, i), choices, what=what) for i, v in enumerate(value)]
        good = [v for v in out if v is not None]
        return tuple(good) if len(good) == len(out) else None

    def string_map(self, value: Any, path: str) -> dict[str, str] | None:
        if not isinstance(value, dict):
            self.bad(path, "a mapping of strings", value)
            return None
        ok = True
        for k, v in value.items():
            if not isinstance(v, str):
                self.bad(join(path, str(k)), "a string", v)
                ok = False
        return dict(value) if ok else None


class ParseContext:
    """Catalogue-wide facts the validator checks against."""

    def __init__(
        self, requirement_ids: set[str] | None, needs_of: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self.requirement_ids = requirement_ids
        self.needs_of = needs_of or {}
        self.broken = broken_kinds()
