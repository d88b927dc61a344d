"""The one error type of the manifests layer, readable by a person fixing a YAML file."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path


class ManifestError(ValueError):
    """A manifest the loader refuses: where it is (file, document, field) and what was expected.

    One load collects every problem it finds and raises a single ``ManifestError`` whose
    ``errors`` lists them all (for a single problem, ``errors == [self]``), so a user fixes a whole
    folder in one pass instead of one error per run.
    """

    def __init__(
        self,
        file: Path | str | None,
        index: int | None,
        field: str,
        expected: str,
        *,
        kind: str | None = None,
        name: str | None = None,
        line: int | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.index = index
        self.field = field
        self.expected = expected
        self.kind = kind
        self.name = name
        self.line = line
        self.errors: list[ManifestError] = [self]
        super().__init__(self._render())

    @classmethod
    def combine(cls, errors: Sequence[ManifestError]) -> ManifestError:
        """One error standing for several; its attributes are those of the first."""
        if len(errors) == 1:
            return errors[0]
        first = errors[0]
        combined = cls(
            first.file,
            first.index,
            first.field,
            first.expected,
            kind=first.kind,
            name=first.name,
            line=first.line,
        )
        combined.errors = list(errors)
        combined.args = ("\n".join(e._render() for e in errors),)
        return combined

    def where(self) -> str:
        """The location part: file, document, object, line."""
        parts = self.file or "<manifests>"
        if self.index is not None:
            parts += f": document {self.index}"
        if self.kind and self.name is not None:
            parts += f' ({self.kind} "{self.name}")'
        elif self.kind:
            parts += f" ({self.kind})"
        if self.line is not None:
            parts += f", line {self.line}"
        return parts

    def _render(self) -> str:
        head = self.where()
        if self.field:
            head += f": {self.field}"
        return f"{head}: {self.expected}"

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else self._render()


def raise_if_any(errors: Iterable[ManifestError]) -> None:
    """Raise the collected errors as one, or do nothing when there are none."""
    flat: list[ManifestError] = []
    for error in errors:
        flat.extend(error.errors)
    if flat:
        raise ManifestError.combine(flat)
