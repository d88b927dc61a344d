"""One render: load client-side manifests, reconcile every ExternalSecret, collect the output."""

from __future__ import annotations

import base64
import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mockserver.clock import CLOCK
from mockserver.manifests import read_documents, substitute

from .clients import Exchange
from .environment import Environment
from .externalsecret import sync
from .kinds import build_client_manifests
from .model import ClientManifests, ExternalSecret
from .requeue import Shifter, backoff
from .resolve import ManifestResolver
from .secret import dump, outcome_manifests, store_manifests


def load(paths: Iterable[Path | str], env: Environment) -> ClientManifests:
    """Read, substitute `${...}` (see `Environment.variables`) and validate the manifests."""
    documents = substitute(read_documents(list(paths)), env.variables())
    return build_client_manifests(documents)


@dataclass
class Outcome:
    """The result for one ExternalSecret: `data` is the written Secret's data (the fetched data
    when no Secret is written), None on failure."""

    external_secret: ExternalSecret
    data: dict[str, bytes] | None
    error: str | None
    manifests: list[dict[str, Any]]
    requeues: list[str] = field(default_factory=list)
    """One line per failed reconcile that was requeued (`--reconcile N`)."""


@dataclass
class RenderResult:
    """Every ExternalSecret's outcome, plus the requests made."""

    outcomes: list[Outcome] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(o.error is not None for o in self.outcomes)

    def yaml(self) -> str:
        """The printed output: each Secret (or failure status and events), in file order."""
        return dump([m for o in self.outcomes for m in o.manifests])


def render(
    manifests: ClientManifests,
    env: Environment,
    *,
    released: bool = False,
    reconciles: int = 1,
    clock: Shifter = CLOCK,
) -> RenderResult:
    """Reconcile each ExternalSecret as a correct or an as-released ESE would: up to
    `reconciles` times, requeued after each failure with the controller's backoff, shifted on
    `clock` (the mock's clock when the mock runs in this process), until one succeeds."""
    resolver = ManifestResolver(manifests, env, released=released)
    result = RenderResult()
    reported: set[tuple[str, str, str]] = set()
    for es in manifests.external_secrets:
        key = (es.namespace, es.target.name)
        existing = manifests.secrets.get(key)
        meta = manifests.secret_meta.get(key, ({}, {}))
        attempts: list[str] = []
        for attempt in range(1, max(reconciles, 1) + 1):
            resolver.new_reconcile()
            synced = sync(es, resolver)
            printed, error = outcome_manifests(es, synced, existing, resolver, meta)
            if error is None or attempt == reconciles:
                break
            delay = backoff(attempt)
            attempts.append(f"reconcile {attempt} failed; requeued after {delay:g} s: {error}")
            clock.shift(delay)
        for store_key, failure in resolver.store_failures.items():
            if failure is not None and store_key not in reported:
                reported.add(store_key)
                printed += store_manifests(failure)
        data = _secret_data(printed, synced.data) if error is None else None
        result.outcomes.append(Outcome(es, data, error, printed, attempts))
    result.exchanges = resolver.exchanges
    return result


def _secret_data(
    printed: list[dict[str, Any]], fetched: dict[str, bytes] | None
) -> dict[str, bytes] | None:
    """The data of the Secret written (after templates and merging), else what was fetched."""
    for manifest in printed:
        if manifest.get("kind") == "Secret":
            return {k: base64.b64decode(v) for k, v in manifest["data"].items()}
    return fetched


def readable(result: RenderResult) -> list[str]:
    """One line per key (values JSON-quoted) or per error: the text `--diff` compares."""
    lines: list[str] = []
    for outcome in result.outcomes:
        es = outcome.external_secret
        head = f"{es.namespace}/{es.name}"
        if outcome.data is None:
            lines.append(f"{head}: error: {outcome.error}")
            continue
        for key in sorted(outcome.data):
            text = outcome.data[key].decode("utf-8", "surrogateescape")
            value = json.dumps(text, ensure_ascii=False)
            value = value.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
            lines.append(f"{head} {key}: {value}")
    return lines


def diff(correct: RenderResult, released: RenderResult) -> str:
    """A unified diff from what a correct client stores to what the released clients store."""
    return "".join(
        line if line.endswith("\n") else line + "\n"
        for line in difflib.unified_diff(
            readable(correct), readable(released), "correct", "as-released", lineterm=""
        )
    )
