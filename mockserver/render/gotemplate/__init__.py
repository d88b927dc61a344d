"""Go's `text/template` in Python, for the templates ESO renders into Secrets.

`Template(name, text, funcs, missing_key=...)` parses as `template.New(name).Option(...)
.Funcs(funcs).Parse(text)` does and `.execute(data)` runs it; failures raise `TemplateError`
whose text is Go's (`template: NAME:LINE: ...` for parsing, `template: NAME:LINE:COL:
executing "NAME" at <NODE>: ...` for execution). Functions given override the built-ins, as
`Funcs` does in Go.
"""

from __future__ import annotations

from typing import Any

from .builtins import BUILTINS
from .execute import ExecError, Executor, Func, FuncError
from .gofmt import NO_VALUE, StrMap
from .parse import ParseError, parse


class TemplateError(Exception):
    """A parse or execution error; `parse` says which (ESO wraps them differently)."""

    def __init__(self, message: str, *, parse: bool) -> None:
        super().__init__(message)
        self.parse = parse


class Template:
    """One parsed template."""

    def __init__(
        self,
        name: str,
        text: str,
        funcs: dict[str, Func] | None = None,
        *,
        missing_key: str = "default",
        delims: tuple[str, str] = ("{{", "}}"),
    ) -> None:
        self.name = name
        self.text = text
        self.funcs = {**BUILTINS, **(funcs or {})}
        self.missing_key = missing_key
        try:
            self.root, self.defines = parse(name, text, self.funcs, delims)
        except ParseError as exc:
            raise TemplateError(str(exc), parse=True) from None

    def execute(self, data: Any) -> str:
        """The output text; raises TemplateError with Go's message."""
        runner = Executor(
            self.name, self.text, self.root, self.defines, self.funcs, self.missing_key
        )
        try:
            return runner.run(data)
        except ExecError as exc:
            raise TemplateError(str(exc), parse=False) from None


__all__ = ["NO_VALUE", "Func", "FuncError", "StrMap", "Template", "TemplateError"]
