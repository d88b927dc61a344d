"""Reading multi-document YAML files into plain documents that remember where they came from."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ManifestError, raise_if_any
from .paths import child

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Document:
    """One YAML document: the file it came from, its 1-based position there, and its data.

    ``index`` counts every document of the file, empty ones included, so "document 3" is the
    third ``---`` section a person sees in an editor. ``substituted`` is set by ``substitute`` so
    that ``build_model`` can tell a literal ``${...}`` (written as ``$${...}``) from one nobody
    replaced.
    """

    file: Path | str
    index: int
    data: dict[str, Any]
    substituted: bool = field(default=False, compare=False)
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    """Field path → the 1-based line it is written on ("" is the document's first line)."""

    @property
    def kind(self) -> str | None:
        """The document's kind, if it names one as a string."""
        kind = self.data.get("kind")
        return kind if isinstance(kind, str) else None

    @property
    def name(self) -> str | None:
        """``metadata.name`` (prefixed by the namespace when there is one), for error messages."""
        meta = self.data.get("metadata")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
            return None
        namespace = meta.get("namespace")
        if isinstance(namespace, str) and namespace:
            return f"{namespace}/{meta['name']}"
        return meta["name"]

    def error(self, field_path: str, expected: str) -> ManifestError:
        """A ManifestError located at a field of this document, with the field's line (or the
        nearest enclosing field's, for one that is missing)."""
        return ManifestError(
            self.file,
            self.index,
            field_path,
            expected,
            kind=self.kind,
            name=self.name,
            line=self.line_of(field_path),
        )

    def line_of(self, field_path: str) -> int | None:
        path = field_path
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = _parent(path)


class _Loader(yaml.SafeLoader):
    """YAML as Kubernetes reads it: no implicit dates, and duplicate keys are an error."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a scalar", key_node.start_mark
            ) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen[key] = loader.construct_object(value_node, deep=True)
    return seen


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


_LAST_SEGMENT = re.compile(r'(\.[A-Za-z_][A-Za-z0-9_-]*|\[(?:\d+|"(?:[^"\\]|\\.)*")\])$')


def _parent(path: str) -> str:
    """`spec.a[2].b` → `spec.a[2]` → `spec.a` → `spec` → ``."""
    match = _LAST_SEGMENT.search(path)
    return path[: match.start()] if match else ""


def _field_lines(node: yaml.Node) -> dict[str, int]:
    """Every field path of a composed document → the line its key (or item) starts on."""
    lines: dict[str, int] = {"": node.start_mark.line + 1}
    pending: list[tuple[str, yaml.Node]] = [("", node)]
    while pending:
        path, current = pending.pop()
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                below = child(path, key_node.value)
                lines.setdefault(below, key_node.start_mark.line + 1)
                pending.append((below, value_node))
        elif isinstance(current, yaml.SequenceNode):
            for i, item in enumerate(current.value):
                below = child(path, i)
                lines.setdefault(below, item.start_mark.line + 1)
                pending.append((below, item))
    return lines


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


def _document_at(text: str, line: int) -> int:
    """The 1-based document holding 0-based ``line``: PyYAML reports some errors late."""
    index = 1
    opened = False  # whether document ``index`` has begun, by content or by its "---"
    for row in text.splitlines()[: line + 1]:
        if row.startswith("---") and (len(row) == 3 or row[3] in " \t"):
            if opened:
                index += 1
            opened = True
        elif row.strip() and not row.lstrip().startswith(("#", "%")):
            opened = True
    return index


def parse_documents(text: str, file: Path | str = "<string>") -> list[Document]:
    """Split YAML text into documents; used for files and for manifests sent to the admin API."""
    documents: list[Document] = []
    errors: list[ManifestError] = []
    index = 0
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            index += 1
            if node is None:
                continue
            data = loader.construct_document(node)
            if data is None:
                continue
            if not isinstance(data, dict):
                errors.append(
                    ManifestError(
                        file,
                        index,
                        "",
                        "expected a mapping with apiVersion, kind, metadata, "
                        f"got {_describe(data)}",
                    )
                )
                continue
            documents.append(Document(file, index, data, lines=_field_lines(node)))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot parse"
        column = f" (column {mark.column + 1})" if mark else ""
        errors.append(
            ManifestError(
                file,
                _document_at(text, mark.line) if mark else index + 1,
                "",
                f"expected valid YAML: {problem}{column}",
                line=mark.line + 1 if mark else None,
            )
        )
    except yaml.YAMLError as exc:
        errors.append(ManifestError(file, index + 1, "", f"expected valid YAML: {exc}"))
    finally:
        loader.dispose()
    raise_if_any(errors)
    return documents


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
    return [path]


def read_documents(path: Path | str | Iterable[Path | str]) -> list[Document]:
    """Read a YAML file, or every ``*.yaml``/``*.yml`` file of a folder (sorted by name).

    Several paths may be given; all of them are read before any error is raised, so one run
    reports every broken file.
    """
    paths: list[Path | str]
    if isinstance(path, str | os.PathLike):
        paths = [path]
    else:
        paths = list(path)
    documents: list[Document] = []
    errors: list[ManifestError] = []
    for given in paths:
        given_path = Path(given)
        if not given_path.exists():
            errors.append(ManifestError(given, None, "", "expected an existing file or folder"))
            continue
        for file in _files(given_path):
            shown = file if given_path.is_dir() else given
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                errors.append(ManifestError(shown, None, "", f"expected a UTF-8 text file: {exc}"))
                continue
            try:
                documents.extend(parse_documents(text, shown))
            except ManifestError as exc:
                errors.extend(exc.errors)
    raise_if_any(errors)
    return documents
