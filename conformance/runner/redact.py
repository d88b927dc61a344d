"""Evidence without secrets: tokens, ca.crt values and secret values become fingerprints."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from mockserver.admin.redaction import Redactor, fingerprint

SECRET_HEADERS = ("authorization", "x-workload-token")
BODY_LIMIT = 2000


class EvidenceRedactor:
    """Knows the run's secrets and scrubs request and response views before they are kept."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._redactor = Redactor()
        self._redactor.add_many(s for s in secrets if s)

    def learn(self, secret: str | bytes | None, pinned: bool = False) -> None:
        self._redactor.add(secret, pinned=pinned)

    def text(self, value: str) -> str:
        return self._redactor.scrub(value)

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        out = {}
        for name, value in headers.items():
            if name.lower() in SECRET_HEADERS:
                scheme, _, rest = value.partition(" ")
                out[name] = f"{scheme} {fingerprint(rest)}" if rest else fingerprint(value)
            else:
                out[name] = self.text(value)
        return out

    def body(self, body: bytes) -> str:
        """The body as text with secrets scrubbed; a ca.crt member shows only its fingerprint."""
        text = body.decode("utf-8", "backslashreplace")
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict) and isinstance(value.get("ca.crt"), str):
            value["ca.crt"] = fingerprint(value["ca.crt"])
            if isinstance(value.get("padding"), str) and len(value["padding"]) > 64:
                value["padding"] = f"<{len(value['padding'])} bytes>"
            text = json.dumps(value, ensure_ascii=False)
        text = self.text(text)
        return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + f"... ({len(text)} chars)"

    def value(self, value: Any) -> Any:
        return self._redactor.scrub_value(value)
