"""What to fetch and where to put it, parsed from esi-cli-style flag values.

Sources are `--federated-store NAME` and `--federated-generators NS/KIND/NAME`; a reference
`SOURCE.KEY` names one key of one source, `SOURCE` alone a whole source. A source is matched
against the configured ones (longest-first does not matter: two different matches are refused
as ambiguous), so dots inside store names and keys need no escaping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from conformance.reference_client.errors import UsageError

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ALL_KEYS = "*"


@dataclass(frozen=True)
class Generator:
    namespace: str
    kind: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.kind}/{self.name}"


@dataclass(frozen=True)
class Ref:
    """One key of a source (`key` set) or a whole generator (`key` None)."""

    store: str | None = None
    generator: Generator | None = None
    key: str | None = None


@dataclass(frozen=True)
class EnvMapping:
    name: str | None  # None: every key of every generator (`*`), named by `env_name`
    ref: Ref | None


@dataclass(frozen=True)
class FileMapping:
    path: Path
    ref: Ref
    one_file_per_key: bool  # the path ended in `/`


def _split(values: list[str], pattern: str) -> list[str]:
    items: list[str] = []
    for value in values:
        items.extend(part for part in re.split(pattern, value) if part != "")
    return items


def parse_generators(values: list[str], default_namespace: str) -> list[Generator]:
    """`NS/KIND/NAME` (or `KIND/NAME` in `--namespace`), comma-separated or repeated."""
    generators: list[Generator] = []
    for item in _split(values, r","):
        parts = item.split("/")
        if len(parts) == 2:
            parts = [default_namespace, *parts]
        if len(parts) != 3 or not all(parts):
            raise UsageError(
                f"--federated-generators: {item!r} is not NAMESPACE/KIND/NAME or KIND/NAME"
            )
        generators.append(Generator(*parts))
    return list(dict.fromkeys(generators))


def parse_stores(values: list[str]) -> list[str]:
    stores = _split(values, r",")
    for store in stores:
        if "/" in store:
            raise UsageError(f"--federated-store: {store!r} cannot contain '/'")
    return list(dict.fromkeys(stores))


class Resolver:
    """Turns `SOURCE[.KEY]` into a `Ref` against the configured stores and generators."""

    def __init__(self, stores: list[str], generators: list[Generator]) -> None:
        self.ids: list[tuple[str, Ref]] = [(s, Ref(store=s)) for s in stores]
        for g in generators:
            for alias in (g.label, f"{g.kind}/{g.name}", g.name):
                self.ids.append((alias, Ref(generator=g)))

    def resolve(self, text: str, flag: str) -> Ref:
        found: set[Ref] = set()
        for alias, ref in self.ids:
            if text == alias:
                found.add(ref)
            elif text.startswith(alias + ".") and len(text) > len(alias) + 1:
                found.add(Ref(ref.store, ref.generator, text[len(alias) + 1 :]))
        if not found:
            raise UsageError(
                f"{flag}: {text!r} names no configured --federated-store or "
                "--federated-generators (write SOURCE.KEY)"
            )
        if len(found) > 1:
            raise UsageError(f"{flag}: {text!r} is ambiguous; name the generator as NS/KIND/NAME")
        ref = found.pop()
        if ref.store is not None and ref.key is None:
            raise UsageError(f"{flag}: {text!r} names a store; write STORE.KEY")
        return ref


def parse_env(values: list[str], resolver: Resolver) -> list[EnvMapping]:
    """`ENV=SOURCE.KEY` or `*`, comma-separated (a comma starts an item only before `NAME=`)."""
    mappings: list[EnvMapping] = []
    for item in _split(values, r",(?=\*(?:,|$)|[A-Za-z_][A-Za-z0-9_]*=)"):
        if item == ALL_KEYS:
            mappings.append(EnvMapping(None, None))
            continue
        name, sep, ref_text = item.partition("=")
        if not sep or not ENV_NAME.fullmatch(name):
            raise UsageError(f"--inject-on-env: {item!r} is not ENV=SOURCE.KEY or *")
        ref = resolver.resolve(ref_text, "--inject-on-env")
        if ref.key is None:
            raise UsageError(f"--inject-on-env: {item!r} needs a key (ENV=SOURCE.KEY)")
        mappings.append(EnvMapping(name, ref))
    return mappings


def parse_files(values: list[str], resolver: Resolver) -> list[FileMapping]:
    """`/path=SOURCE.KEY`, `/path=GENERATOR` (YAML) or `/dir/=GENERATOR` (one file per key)."""
    mappings: list[FileMapping] = []
    for item in _split(values, r",(?=/)"):
        path, sep, ref_text = item.partition("=")
        if not sep or not path:
            raise UsageError(f"--inject-on-file: {item!r} is not /path=SOURCE.KEY")
        ref = resolver.resolve(ref_text, "--inject-on-file")
        per_key = path.endswith("/")
        if per_key and ref.key is not None:
            raise UsageError(
                f"--inject-on-file: {item!r}: a folder (path ending in /) takes a whole generator"
            )
        mappings.append(FileMapping(Path(path), ref, per_key))
    return mappings


def parse_duration(text: str) -> float:
    """Go-style durations (`2m`, `1m30s`, `500ms`, `0.2s`) or plain seconds."""
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    try:
        seconds = float(text)
    except ValueError:
        parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise UsageError(f"{text!r} is not a duration such as 2m, 30s or 500ms") from None
        seconds = sum(float(n) * units[u] for n, u in parts)
    if seconds <= 0:
        raise UsageError(f"duration {text!r} must be positive")
    return seconds
