"""Deliver fetched values: environment variables for a program, and files written atomically.

Nothing here runs until every fetch has succeeded, so a failed fetch leaves no file and runs no
program (docs/protocol.md §7.3, CC-13, CC-25).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from conformance.reference_client.config import EnvMapping, FileMapping, Generator, Ref
from conformance.reference_client.errors import ClientError

FILE_MODE = 0o600
DIR_MODE = 0o700


@dataclass
class Fetched:
    """What the fetches returned: store values by (store, key), generator answers by generator."""

    stores: dict[tuple[str, str], str]
    generators: dict[Generator, dict[str, str]]

    def value(self, ref: Ref) -> str:
        if ref.store is not None:
            assert ref.key is not None
            return self.stores[(ref.store, ref.key)]
        assert ref.generator is not None and ref.key is not None
        values = self.generators[ref.generator]
        if ref.key not in values:
            raise ClientError(
                f"generator {ref.generator.label} answered without key {ref.key!r} "
                f"(it has: {', '.join(sorted(values)) or 'none'})"
            )
        return values[ref.key]


def env_name(key: str) -> str:
    """esi-cli's rule for `*`: upper-case, every non-alphanumeric character becomes `_`."""
    return re.sub(r"[^A-Za-z0-9]", "_", key).upper()


def environment(mappings: list[EnvMapping], fetched: Fetched) -> dict[str, str]:
    """The variables to add: `*` first, explicit `ENV=SOURCE.KEY` mappings win over it."""
    added: dict[str, str] = {}
    origin: dict[str, str] = {}
    if any(m.name is None for m in mappings):
        for generator, values in fetched.generators.items():
            for key in sorted(values):
                name = env_name(key)
                if name in origin:
                    raise ClientError(
                        f"keys {origin[name]} and {generator.label}:{key} both become ${name}"
                    )
                origin[name] = f"{generator.label}:{key}"
                added[name] = values[key]
    for mapping in mappings:
        if mapping.name is not None and mapping.ref is not None:
            added[mapping.name] = fetched.value(mapping.ref)
    for name, value in added.items():
        if "\0" in value:
            raise ClientError(f"the value for ${name} holds a NUL byte; it cannot be an env var")
    return added


def _whole_generator_yaml(values: dict[str, str]) -> bytes:
    import yaml

    return yaml.safe_dump(
        values, allow_unicode=True, default_flow_style=False, sort_keys=True
    ).encode()


def files(mappings: list[FileMapping], fetched: Fetched) -> list[tuple[Path, bytes]]:
    """Every file to write and its exact bytes (UTF-8 of the decoded value, nothing added)."""
    planned: list[tuple[Path, bytes]] = []
    for mapping in mappings:
        ref = mapping.ref
        if ref.key is not None:
            planned.append((mapping.path, fetched.value(ref).encode("utf-8")))
            continue
        assert ref.generator is not None
        values = fetched.generators[ref.generator]
        if not mapping.one_file_per_key:
            planned.append((mapping.path, _whole_generator_yaml(values)))
            continue
        for key in sorted(values):
            if key in (".", "..") or "/" in key or "\0" in key or not key:
                raise ClientError(
                    f"generator {ref.generator.label} key {key!r} cannot be a file name"
                )
            planned.append((mapping.path / key, values[key].encode("utf-8")))
    return planned


def write_atomically(path: Path, data: bytes, only_if_changed: bool = False) -> bool:
    """Write through a temporary file and a rename, mode 0600; return whether it changed."""
    if only_if_changed:
        try:
            if path.read_bytes() == data:
                return False
        except OSError:
            pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise ClientError(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise ClientError(f"cannot write {path}: {error.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
