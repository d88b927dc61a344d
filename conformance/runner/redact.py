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
        self._short: set[str] = set()
        for secret in secrets:
            self.learn(secret, pinned=True)

    def learn(self, secret: str | bytes | None, pinned: bool = False) -> None:
        self._redactor.add(secret, pinned=pinned)
        if isinstance(secret, str) and secret and pinned:
            # Too short to search for in free text, but still a secret where it is quoted.
            self._short.add(secret)

    def text(self, value: str) -> str:
        value = self._redactor.scrub(value)
        for secret in self._short:
            for quoted in (json.dumps(secret, ensure_ascii=False), repr(secret)):
                value = value.replace(quoted, json.dumps(fingerprint(secret)))
        return value

    def answer(self, operation: str, status: int | None, body: bytes) -> str:
        """A successful R1 or R2 answer holds secrets whatever their length: every value
        becomes its fingerprint, so the evidence still shows the shape and can be compared."""
        if status == 200 and operation in ("store.get", "generator.generate"):
            try:
                value = json.loads(body)
            except ValueError:
                value = None
            if isinstance(value, str):
                return json.dumps(fingerprint(value)) + "\n" * body.endswith(b"\n")
            if isinstance(value, dict):
                shown = {k: fingerprint(v) if isinstance(v, str) else v for k, v in value.items()}
                return json.dumps(shown, ensure_ascii=False) + "\n" * body.endswith(b"\n")
        return self.body(body)

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
