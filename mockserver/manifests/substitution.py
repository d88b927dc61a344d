"""``${clusters.<name>.url}`` and friends: values known only once the fake clusters listen."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from .documents import Document
from .errors import ManifestError, raise_if_any
from .paths import child

# "$${x}" is the escape for a literal "${x}"; "${x}" is a reference to variable x.
REFERENCE = re.compile(r"\$(\$?)\{([^{}]*)\}")


def has_reference(text: str) -> bool:
    """Whether ``text`` holds an unescaped ``${...}``."""
    return any(not m.group(1) for m in REFERENCE.finditer(text))


def _replace_in(text: str, variables: Mapping[str, str], unknown: list[str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1):
            return "${" + match.group(2) + "}"
        name = match.group(2).strip()
        if name not in variables:
            unknown.append(name)
            return match.group(0)
        return variables[name]

    return REFERENCE.sub(one, text)


def _walk(
    value: Any, path: str, variables: Mapping[str, str], problems: list[tuple[str, str]]
) -> Any:
    if isinstance(value, str):
        unknown: list[str] = []
        result = _replace_in(value, variables, unknown)
        problems.extend((path, name) for name in unknown)
        return result
    if isinstance(value, list):
        return [_walk(item, child(path, i), variables, problems) for i, item in enumerate(value)]
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            new_key = _walk(key, path, variables, problems) if isinstance(key, str) else key
            out[new_key] = _walk(item, child(path, new_key), variables, problems)
        return out
    return value


def _known(variables: Mapping[str, str]) -> str:
    return ", ".join(sorted(variables)) if variables else "none"


def substitute(docs: list[Document], variables: Mapping[str, str]) -> list[Document]:
    """Replace ``${name}`` in every string (keys included) with ``variables[name]``.

    ``$${name}`` yields a literal ``${name}``. An unknown name is an error naming the file,
    document and field, plus the variables that are known, all collected before raising.
    """
    out: list[Document] = []
    errors: list[ManifestError] = []
    for doc in docs:
        problems: list[tuple[str, str]] = []
        data = _walk(doc.data, "", variables, problems)
        for path, name in problems:
            errors.append(
                doc.error(
                    path,
                    f'expected a known variable, got "${{{name}}}" '
                    f"(known: {_known(variables)}; write $${{...}} for a literal ${{...}})",
                )
            )
        out.append(replace(doc, data=data, substituted=True))
    raise_if_any(errors)
    return out
