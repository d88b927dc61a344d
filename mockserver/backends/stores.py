"""ESO's fake provider (`providers/v1/fake/fake.go`) as the Federation Server drives it.

Works on plain (key, value, version) entries so it does not depend on the manifest model.
Values are kept as bytes; `str` values are stored as their UTF-8 form. Text results come back
as `str` in which bytes that are not UTF-8 travel as surrogate escapes
(`bytes.decode("utf-8", "surrogateescape")`), which `gojson.go_json` turns back into the same
bytes, and so into Go's per-byte `\\ufffd`.

Settled from external-secrets/external-secrets at 5fe21b5c55ca (the version the federation
server pins):
- storage: one map per store keyed by `key + version` with no separator, later entries of the
  spec overwriting earlier ones (`mapKey`, `NewClient`); a lookup also needs the stored entry's
  version to equal the requested one (`GetSecret`), hence the collision quirk;
- a miss is `esv1.NoSecretErr`, whose text is "Secret does not exist"
  (`apis/externalsecrets/v1/provider.go`); the federation server's `postSecrets`
  (`pkg/enterprise/federation/server/server.go`) returns `err.Error()` unwrapped as the 400 body,
  and the secret-store manager hands back the provider client itself, so the body is
  `"Secret does not exist"`;
- `GetSecretMap`: `unable to unmarshal secret: <Go json error>`; JSON strings unquoted, `null`
  gives an empty value, anything else its raw JSON text; a `null` document gives an empty map;
- `GetAllSecrets`: `find.New` compiles `name.regexp` (unanchored `MatchString`); the original key
  is the stored key with the version suffix trimmed; the greatest version compared as a string
  wins; then `esutils.ConvertKeys` with the find's conversion strategy;
- manager errors (`pkg/controllers/secretstore/client_manager.go`):
  `could not get ClusterSecretStore %q, %w` and `%s %q is not ready`; the wrapped not-found
  comes from controller-runtime's cache reader (`pkg/cache/internal/cache_reader.go`), which
  puts the Kind where the API server puts the plural resource.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from mockserver.backends import gjson
from mockserver.backends.goscan import go_syntax_error

__all__ = [
    "FakeStore",
    "SecretNotFound",
    "StoreError",
    "convert_key",
    "store_not_found_message",
    "store_not_ready_message",
]

NO_SECRET_MESSAGE = "Secret does not exist"
_MAP_TYPE = "map[string]json.RawMessage"


class StoreError(Exception):
    """A provider or manager error; `str(err)` is the real server's 400 body text."""


class SecretNotFound(StoreError):
    """`esv1.NoSecretErr`: the key (with that exact version) or the property does not exist."""

    def __init__(self) -> None:
        super().__init__(NO_SECRET_MESSAGE)


def store_not_found_message(name: str, *, cached: bool = True) -> str:
    """400 text for an unknown ClusterSecretStore (manager error wrapping the not-found).

    The server reads through controller-runtime's cache, whose not-found error names the Kind
    (`ClusterSecretStore.external-secrets.io`); `cached=False` gives the API server's plural.
    """
    resource = "ClusterSecretStore" if cached else "clustersecretstores"
    return (
        f"could not get ClusterSecretStore {_go_quote(name)}, "
        f"{resource}.external-secrets.io {_go_quote(name)} not found"
    )


def store_not_ready_message(name: str) -> str:
    """400 text when flood-gating finds the ClusterSecretStore not Ready."""
    return f"ClusterSecretStore {_go_quote(name)} is not ready"


def _go_quote(text: str) -> str:
    """Go's `%q` for ordinary names (ASCII printable); JSON quoting matches it there."""
    return json.dumps(text, ensure_ascii=False)


def _to_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


def _to_text(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


def convert_key(key: str, strategy: str = "Default") -> str:
    """`esutils.convert`: keep letters, numbers, `-`, `.`, `_`; replace the rest by strategy."""
    out = []
    for ch in key:
        keep = ch in "-._" or unicodedata.category(ch)[0] in ("L", "N")
        if keep:
            out.append(ch)
        elif strategy == "Default":
            out.append("_")
        elif strategy == "Unicode":
            out.append(f"_U{ord(ch):04x}_")
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True)
class _Entry:
    value: bytes
    version: str


class FakeStore:
    """One fake ClusterSecretStore's data, as `NewClient` loads it from `spec.provider.fake`."""

    def __init__(self, name: str, entries: Iterable[tuple[str, str | bytes, str]]) -> None:
        self.name = name
        self._data: dict[str, _Entry] = {}
        for key, value, version in entries:
            self._data[key + (version or "")] = _Entry(_to_bytes(value), version or "")

    def _lookup(self, key: str, version: str) -> _Entry:
        entry = self._data.get(key + version)
        if entry is None or entry.version != version:
            raise SecretNotFound()
        return entry

    def get_secret_bytes(self, key: str, version: str = "", property: str = "") -> bytes:
        """`GetSecret` as bytes: the whole value, or gjson's `Result.String()` of `property`."""
        entry = self._lookup(key, version)
        if not property:
            return entry.value
        result = gjson.get(_to_text(entry.value), property)
        if not result.exists:
            raise SecretNotFound()
        return _to_bytes(result.string())

    def get_secret(self, key: str, version: str = "", property: str = "") -> str:
        """`GetSecret` as the text the server JSON-encodes (non-UTF-8 bytes surrogate-escaped)."""
        return _to_text(self.get_secret_bytes(key, version, property))

    def get_secret_map(self, key: str, version: str = "", property: str = "") -> dict[str, bytes]:
        """`GetSecretMap` (dataFrom.extract): the value must be a JSON object."""
        data = self.get_secret_bytes(key, version, property)
        problem = go_syntax_error(data)
        if problem is not None:
            raise StoreError(f"unable to unmarshal secret: {problem}")
        text = _to_text(data).strip(" \t\r\n")
        if not text.startswith("{"):
            if text == "null":
                return {}
            kind = {'"': "string", "[": "array", "t": "bool", "f": "bool"}.get(text[0], "number")
            raise StoreError(
                f"unable to unmarshal secret: json: cannot unmarshal {kind} "
                f"into Go value of type {_MAP_TYPE}"
            )
        out: dict[str, bytes] = {}
        for name, value in gjson.object_members(text):
            if value.type is gjson.ResultType.STRING:
                out[name] = _to_bytes(_go_unquote(value.raw))
            elif value.type is gjson.ResultType.NULL:
                out[name] = b""
            else:
                out[name] = _to_bytes(value.raw)
        return out

    def get_all_secrets(self, name_regexp: str, conversion: str = "Default") -> dict[str, bytes]:
        """`GetAllSecrets` with `find.name.regexp`; greatest version (as a string) per key."""
        try:
            matcher = re.compile(name_regexp)
        except re.error as exc:
            raise StoreError(f"could not compile find.name.regexp [{name_regexp}]: {exc}") from exc
        latest: dict[str, str] = {}
        found: dict[str, bytes] = {}
        for stored_key, entry in self._data.items():
            original = stored_key
            if entry.version and stored_key.endswith(entry.version):
                original = stored_key[: -len(entry.version)]
            if not matcher.search(original):
                continue
            if original not in latest or _go_less(latest[original], entry.version):
                latest[original] = entry.version
                found[original] = entry.value
        out: dict[str, bytes] = {}
        for original, value in found.items():
            converted = convert_key(original, conversion)
            if converted in out:
                raise StoreError(f"secret name collision during conversion: {converted}")
            out[converted] = value
        return out


def _go_less(a: str, b: str) -> bool:
    """Go string `<`: byte-wise on UTF-8."""
    return a.encode("utf-8", "surrogatepass") < b.encode("utf-8", "surrogatepass")


def _go_unquote(raw: str) -> str:
    """Go's JSON string decoding: lone surrogate escapes become U+FFFD."""
    text = json.loads(raw)
    return "".join("\ufffd" if 0xD800 <= ord(c) < 0xE000 else c for c in text)
