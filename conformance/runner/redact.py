"""Evidence without secrets, as the redaction policy says: tokens, `ca.crt` values and private
keys always become fingerprints; values from the harness's own fixtures (synthetic, published)
are shown in clear; any other value a target answered with (the vendor's) is fingerprinted."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from mockserver.admin.redaction import Redactor, fingerprint

SECRET_HEADERS = ("authorization", "x-workload-token")
BODY_LIMIT = 2000


class EvidenceRedactor:
    """Knows the run's secrets and scrubs request and response views before they are kept."""

    def __init__(self, secrets: Iterable[str] = (), clear: Iterable[str] = ()) -> None:
        self._redactor = Redactor()
        self._short: set[str] = set()
        self.clear = frozenset(clear)
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
                return json.dumps(self._shown(value)) + "\n" * body.endswith(b"\n")
            if isinstance(value, dict):
                shown = {k: self._shown(v) if isinstance(v, str) else v for k, v in value.items()}
                return json.dumps(shown, ensure_ascii=False) + "\n" * body.endswith(b"\n")
        return self.body(body)

    def _shown(self, value: str) -> str:
        """A fixture value in clear; anything else fingerprinted, here and in later texts."""
        if value in self.clear:
            return value
        self.learn(value, pinned=True)
        return fingerprint(value)

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


def fixture_values(documents: Iterable[Mapping[str, Any]]) -> set[str]:
    """The values the harness's fixtures plant: fake-provider store data and Fake generators'
    data (what a conforming server answers with, shown in clear in reports)."""
    found: set[str] = set()
    for doc in documents:
        spec = doc.get("spec") or {}
        if not isinstance(spec, Mapping):
            continue
        if doc.get("kind") == "Fake" and isinstance(spec.get("data"), Mapping):
            found.update(str(v) for v in spec["data"].values())
        fake = (
            (spec.get("provider") or {}).get("fake")
            if isinstance(spec.get("provider"), Mapping)
            else None
        )
        for entry in (fake or {}).get("data") or ():
            if isinstance(entry, Mapping) and "value" in entry:
                found.add(str(entry["value"]))
    return {v for v in found if v}
