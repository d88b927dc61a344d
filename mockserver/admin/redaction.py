"""Secrets never reach the journal or the logs: a registry of secrets and a scrubber.

Every token a client sends, every `ca.crt`, every secret value of the loaded stores, every
generator output and every private key is registered here. `Redactor.scrub(text)` replaces each
occurrence of a registered secret, in any of the encodings a log line or a JSON view could carry
(raw, JSON-escaped, Go-escaped, base64 std/url with or without padding at any byte alignment,
percent-encoded), and any fragment of at least `FRAGMENT` characters of one of those forms, with a
short fingerprint `sha256:1a2b3c4d` that tests can still compare.

Matching: each encoded form is indexed by its `GRAM`-character windows at every `STEP`-th
position; a common substring of `FRAGMENT` or more characters with a form always contains one such
window (`STEP - 1 + GRAM <= FRAGMENT`), which is then extended both ways and accepted when long
enough. URL-safe and standard base64 alphabets are folded together before matching.

Beside the registry, any JWT-shaped string (three base64url segments, the first two JSON
objects) is fingerprinted wherever it sits, registered or not: a token a client puts in a custom
header, a query parameter or a body member is still a token.

The scan runs on a snapshot of the index, outside the lock, so scrubbing a long body never holds
up registering a secret or scrubbing a log line on another thread.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

from mockserver.gojson import go_json

FRAGMENT = 12
"""A run of this many characters of a secret's form is scrubbed wherever it appears."""
MIN_LENGTH = 8
"""Shorter secrets are redacted where they are known to sit (headers, response bodies), but not
searched for in free text: a value like `admin` would shred ordinary identifiers."""
GRAM = 8
STEP = 4
MAX_CANDIDATES = 4
MAX_SEEN = 512
"""Secrets learnt from traffic (tokens, ca.crt) kept in the index; older ones are dropped in
batches (each journal entry learns its own request's secrets just before it is scrubbed)."""

_FOLD = str.maketrans("-_", "+/")

JWT_SHAPE = re.compile(
    r"(?<![A-Za-z0-9_-])ey[A-Za-z0-9_-]{8,}+\.ey[A-Za-z0-9_-]{6,}+\.[A-Za-z0-9_-]*+"
)
"""A compact JWS: header and claims start `ey` (base64url of `{"`); the signature may be empty.
Possessive runs and the look-behind make the scan linear, whatever the text."""


def fingerprint(secret: str | bytes) -> str:
    """`sha256:` and the first 8 hex digits of the secret's SHA-256: comparable, not reversible."""
    data = secret.encode("utf-8", "surrogatepass") if isinstance(secret, str) else secret
    return "sha256:" + hashlib.sha256(data).hexdigest()[:8]


def _b64_forms(data: bytes) -> list[str]:
    forms = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data).decode("ascii").rstrip("=")
        # Drop the characters that mix the alignment bytes in; fragments match the rest.
        forms.append(encoded[4:] if shift else encoded)
    return forms


def encoded_forms(secret: str) -> list[str]:
    """Every text form of `secret` the scrubber looks for (deduplicated, longest first)."""
    data = secret.encode("utf-8", "surrogatepass")
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        go_json(data)[1:-2].decode("utf-8", "replace"),
        quote(secret, safe=""),
        quote(secret, safe="/"),
        quote_plus(secret),
        quote(secret, safe="").lower(),
        *_b64_forms(data),
    }
    text = secret.replace("\r\n", "\n")
    forms.add(text)
    return sorted((f for f in forms if f), key=len, reverse=True)


@dataclass(frozen=True)
class _Form:
    text: str  # folded (base64 url alphabet mapped to std)
    fingerprint: str
    minimum: int  # characters that must match: the whole form if short, else FRAGMENT


class _Index:
    """The searchable forms of a set of secrets: each form's `GRAM` windows at every `STEP`-th
    position, by hash. A bucket holding one candidate is the bare packed int (most do), which
    halves the index's memory. Only grows; a scan may read it while a secret is added."""

    def __init__(self) -> None:
        self.forms: list[_Form] = []
        self.buckets: dict[int, int | list[int]] = {}

    def add(self, secret: str) -> None:
        fp = fingerprint(secret)
        buckets = self.buckets
        for form in encoded_forms(secret):
            if len(form) < GRAM:
                continue
            folded = form.translate(_FOLD)
            form_id = len(self.forms)
            self.forms.append(_Form(folded, fp, min(FRAGMENT, len(folded))))
            positions = range(0, len(folded) - GRAM + 1, STEP) if len(folded) >= FRAGMENT else (0,)
            for pos in positions:
                if pos >= 1 << 20:
                    break
                key, packed = hash(folded[pos : pos + GRAM]), form_id << 20 | pos
                bucket = buckets.get(key)
                if bucket is None:
                    buckets[key] = packed
                elif isinstance(bucket, int):
                    buckets[key] = [bucket, packed]
                elif len(bucket) < MAX_CANDIDATES * 2:
                    bucket.append(packed)


class Redactor:
    """Thread-safe secret registry and scrubber; `enabled=False` is the `--unredacted` switch.

    When traffic secrets overflow their bound, the index without the dropped ones is rebuilt on
    a background thread: until it is swapped in, scans use the old one (which still hides the
    dropped secrets, and gets every newly added one), so no request waits for the rebuild.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._pinned: dict[str, str] = {}  # secret -> kind, never dropped
        self._seen: OrderedDict[str, str] = OrderedDict()  # learnt from traffic, bounded
        self._index = _Index()
        self._rebuilding = False
        self._rebuild_again = False
        self._added_meanwhile: list[str] = []

    # -- registering -------------------------------------------------------------------------

    def add(self, secret: str | bytes | None, kind: str = "secret", pinned: bool = True) -> None:
        """Register a secret. `pinned=False` for values learnt from traffic (bounded LRU)."""
        if secret is None:
            return
        if isinstance(secret, bytes):
            secret = secret.decode("utf-8", "replace")
        if len(secret) < MIN_LENGTH:
            return
        with self._lock:
            if secret in self._pinned:
                return
            if not pinned:
                if secret in self._seen:
                    self._seen.move_to_end(secret)
                    return
                self._seen[secret] = kind
                if len(self._seen) > MAX_SEEN:
                    for _ in range(MAX_SEEN // 8):
                        self._seen.popitem(last=False)
                    self._start_rebuild()
            else:
                self._pinned[secret] = kind
            self._index.add(secret)
            if self._rebuilding:
                self._added_meanwhile.append(secret)

    def add_many(self, secrets: Iterable[str | bytes], kind: str = "secret") -> None:
        for secret in secrets:
            self.add(secret, kind)

    def __len__(self) -> int:
        with self._lock:
            return len(self._pinned) + len(self._seen)

    def _start_rebuild(self) -> None:
        """(Lock held.) Index the current secrets afresh on a background thread."""
        if self._rebuilding:
            self._rebuild_again = True
            return
        self._rebuilding = True
        secrets = [*self._pinned, *self._seen]
        threading.Thread(
            target=self._rebuild, args=(secrets,), name="esi-redactor-index", daemon=True
        ).start()

    def _rebuild(self, secrets: list[str]) -> None:
        """Index `secrets`, then what was added meanwhile (outside the lock, round by round),
        and swap the fresh index in once nothing is left to add."""
        fresh = _Index()
        while True:
            for secret in secrets:
                fresh.add(secret)
            with self._lock:
                secrets = [s for s in self._added_meanwhile if s in self._pinned or s in self._seen]
                self._added_meanwhile = []
                if not secrets:
                    self._index = fresh
                    self._rebuilding = False
                    if self._rebuild_again:
                        self._rebuild_again = False
                        self._start_rebuild()
                    return

    # -- scrubbing ---------------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        """`text` with every registered secret (in any form, or a long fragment) and every
        JWT-shaped string fingerprinted."""
        return apply_spans(text, self.spans(text))

    def spans(self, text: str) -> list[Span]:
        """Where `text` holds a secret, merged and in order; each span is named by the
        fingerprint of the longest match inside it. Two tokens of one cluster share a long
        header, so a fragment match alone would hide that header and leave the other token's
        claims and signature: the JWT-shaped match is longer, and names the whole."""
        if not self.enabled or len(text) < GRAM:
            return []
        found: list[Span] = []
        if "ey" in text:
            found = [(m.start(), m.end(), fingerprint(m.group())) for m in JWT_SHAPE.finditer(text)]
        with self._lock:
            index = self._index
        found += _find(text, index)
        return merge_spans(found)

    def scrub_bytes(self, data: bytes) -> str:
        """Body bytes as scrubbed text (undecodable bytes shown as `\\xNN`).

        Scanned with each undecodable byte as one character (a lone surrogate no secret's form
        holds), then shown escaped: a hostile body of random bytes costs a third of the scan
        its escaped text would."""
        text = data.decode("utf-8", "surrogateescape")
        if self.enabled:
            text = self.scrub(text)
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")

    def scrub_value(self, value: Any) -> Any:
        """A JSON-like value with every string in it scrubbed (keys included)."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {self.scrub(str(k)): self.scrub_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_value(v) for v in value]
        return value

    def mask(self, secret: str | bytes) -> str:
        """What a known-secret field shows: its fingerprint (or itself when unredacted)."""
        if not self.enabled:
            return secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret
        return fingerprint(secret)


Span = tuple[int, int, str]
"""Start, end and the fingerprint shown in place of text[start:end]."""


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching spans joined, each named by its longest part."""
    merged: list[Span] = []
    longest = 0
    for start, end, name in sorted(spans):
        if merged and start <= merged[-1][1]:
            first, last, current = merged[-1]
            if end - start > longest:
                current, longest = name, end - start
            merged[-1] = (first, max(last, end), current)
        else:
            merged.append((start, end, name))
            longest = end - start
    return merged


def apply_spans(text: str, spans: list[Span]) -> str:
    """`text` with each span replaced by its fingerprint."""
    if not spans:
        return text
    out, last = [], 0
    for start, end, name in spans:
        out.append(text[last:start])
        out.append(name)
        last = end
    out.append(text[last:])
    return "".join(out)


def _find(text: str, index: _Index) -> list[Span]:
    """The spans of `text` to fingerprint. An index only grows, and a rebuild replaces it
    whole, so reading it without the lock is safe."""
    buckets, forms = index.buckets, index.forms
    folded = text.translate(_FOLD)
    found: list[tuple[int, int, str]] = []
    i, limit = 0, len(folded) - GRAM + 1
    while i < limit:
        bucket = buckets.get(hash(folded[i : i + GRAM]))
        best: tuple[int, int, str] | None = None
        longest = 0
        if bucket is not None:
            gram = folded[i : i + GRAM]
            for packed in (bucket,) if isinstance(bucket, int) else bucket:
                form = forms[packed >> 20]
                pos = packed & 0xFFFFF
                if form.text[pos : pos + GRAM] != gram:
                    continue
                start = i - _common_suffix(folded, i, form.text, pos)
                end = i + GRAM + _common_prefix(folded, i + GRAM, form.text, pos + GRAM)
                if end - start < form.minimum:
                    continue
                if best is None:
                    best, longest = (start, end, form.fingerprint), end - start
                else:  # overlapping matches at i: scrub their union, named by the longest
                    name = form.fingerprint if end - start > longest else best[2]
                    longest = max(longest, end - start)
                    best = (min(start, best[0]), max(end, best[1]), name)
        i += 1
        if best is None:
            continue
        start, end, _ = best
        if found and start <= found[-1][1]:
            prev = found[-1]
            name = best[2] if end - start > prev[1] - prev[0] else prev[2]
            found[-1] = (min(prev[0], start), max(prev[1], end), name)
        else:
            found.append(best)
        # Positions inside the span cannot end it earlier; resume at its last gram, so a
        # long secret inside a long text costs one pass, not one extension per position.
        i = max(i, end - GRAM + 1)
    return found


def _common_prefix(a: str, i: int, b: str, j: int) -> int:
    """Length of the common prefix of a[i:] and b[j:], compared in chunks."""
    n, chunk = 0, 64
    limit = min(len(a) - i, len(b) - j)
    while n + chunk <= limit and a[i + n : i + n + chunk] == b[j + n : j + n + chunk]:
        n += chunk
    while n < limit and a[i + n] == b[j + n]:
        n += 1
    return n


def _common_suffix(a: str, i: int, b: str, j: int) -> int:
    """Length of the common suffix of a[:i] and b[:j]."""
    n, chunk = 0, 64
    limit = min(i, j)
    while n + chunk <= limit and a[i - n - chunk : i - n] == b[j - n - chunk : j - n]:
        n += chunk
    while n < limit and a[i - n - 1] == b[j - n - 1]:
        n += 1
    return n
