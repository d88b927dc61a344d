"""Field paths as people write them: ``spec.provider.fake.data[2].value``."""

from __future__ import annotations

import re

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def child(path: str, key: object) -> str:
    """The path of a mapping member or list item below ``path``."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    text = str(key)
    if not _PLAIN_KEY.match(text):
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{path}[{text}]" if path else f"[{text}]"
    return f"{path}.{text}" if path else text
