"""JSON bodies as Go's encoding/json Encoder writes them (what echo's c.JSON sends)."""

from __future__ import annotations

import json
from typing import Any

_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def encode(value: Any, pretty: bool = False) -> bytes:
    """Sorted keys, HTML-sensitive characters and U+2028/9 escaped, non-ASCII raw, then `\\n`."""
    text = json.dumps(
        value,
        ensure_ascii=False,
        sort_keys=True,
        indent=2 if pretty else None,
        separators=(",", ": ") if pretty else (",", ":"),
    )
    for raw, escaped in _ESCAPES.items():
        text = text.replace(raw, escaped)
    return (text + "\n").encode("utf-8", "replace")
