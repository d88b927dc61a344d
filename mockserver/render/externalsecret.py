"""What ESO's ExternalSecret controller does with fetched values (`GetProviderSecretData`).

Order: every `dataFrom` entry in list order (extract: fetch, rewrite, key conversion only
without rewrite, key validation, decoding; generator: generate, rewrite, key validation),
merged with later entries winning; then every `data` entry (fetch, decode) overwrites its
key. Error texts carry ESO's exact prefixes. Where ESO iterates a Go map
(key validation, decoding of a map) the first problem is the one of the smallest key, so output
is deterministic.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Protocol

from mockserver.backends.stores import convert_key

from .clients import ClientError, NoSecretError
from .gocompat import GoBase64Error, b64decode, replace_all
from .model import DataFromEntry, ExternalSecret, GeneratorRef, RemoteRef, Rewrite, StoreRef
from .templating import TemplateFailure, transform_keys

GENERATORS_GROUP = "generators.external-secrets.io"


class SyncError(Exception):
    """The reconcile failed; `str()` is the text ESO puts in the Warning event."""


class StoreClient(Protocol):
    def get_secret(self, key: str, prop: str = "", version: str = "") -> bytes: ...

    def get_secret_map(self, key: str, prop: str = "", version: str = "") -> dict[str, bytes]: ...


class Resolver(Protocol):
    """How the controller reaches stores and generators (client creation errors raise)."""

    def store(self, ref: StoreRef, namespace: str) -> StoreClient: ...

    def generate(self, ref: GeneratorRef, namespace: str) -> dict[str, bytes]: ...


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event the controller would record on the ExternalSecret."""

    type: str
    reason: str
    message: str


@dataclass
class SyncResult:
    """The data for the Secret, or the error; plus the events recorded on the way."""

    data: dict[str, bytes] | None
    error: str | None = None
    events: list[Event] = field(default_factory=list)


def decode(strategy: str, value: bytes) -> bytes:
    """`decoding.Decode`: None, Base64, Base64URL, Auto (Base64, then Base64URL, then as is)."""
    if strategy in ("", "None"):
        return value
    if strategy == "Base64":
        return b64decode(value)
    if strategy == "Base64URL":
        return b64decode(value, urlsafe=True)
    if strategy == "Auto":
        for urlsafe in (False, True):
            try:
                return b64decode(value, urlsafe=urlsafe)
            except GoBase64Error:
                continue
        return value
    raise ValueError(f"decoding strategy {strategy} is not supported")


def _decode_map(strategy: str, values: dict[str, bytes]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for key in sorted(values):
        try:
            out[key] = decode(strategy, values[key])
        except ValueError as exc:
            raise SyncError(
                f"error applying decoding strategy {strategy} to data: "
                f"failure decoding key {key}: {exc}"
            ) from exc
    return {k: out[k] for k in values}


def validate_keys(values: dict[str, bytes]) -> dict[str, bytes]:
    """`esutils.ValidateKeys`: empty keys dropped, others must be letters, digits, `-._`."""
    kept = {k: v for k, v in values.items() if k}
    for key in sorted(kept):
        if len(key.encode()) > 253:
            raise SyncError(
                "invalid secret keys (TIP: use rewrite or conversionStrategy to change keys): "
                f"key has length {len(key.encode())} but max is 253: (following is truncated): "
                f"{key.encode()[:253].decode('utf-8', 'replace')}"
            )
        for ch in key:
            if ch not in "-._" and unicodedata.category(ch)[0] not in ("L", "N"):
                raise SyncError(
                    "invalid secret keys (TIP: use rewrite or conversionStrategy to change "
                    f"keys): key has invalid character {ch}, only alphanumeric, '-', '.' and "
                    f"'_' are allowed: {key}"
                )
    return kept


def _convert(strategy: str, values: dict[str, bytes]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for key, value in values.items():
        new = convert_key(key, strategy or "Default")
        if new in out:
            raise SyncError(
                f"error applying conversion strategy {strategy} to keys: "
                f"secret name collision during conversion: {new}"
            )
        out[new] = value
    return out


def rewrite(steps: tuple[Rewrite, ...], values: dict[str, bytes]) -> dict[str, bytes]:
    """`esutils.RewriteMap` for `regexp` and `transform` steps; `merge` is refused."""
    out = values
    for i, step in enumerate(steps):
        if step.kind == "transform":
            try:
                out = transform_keys(i, step, out)
            except TemplateFailure as exc:
                raise SyncError(f"error applying rewrite to keys: {exc}") from exc
            continue
        if step.kind != "regexp":
            raise SyncError(
                f"error applying rewrite to keys: failed rewrite operation[{i}]: "
                f"rewrite.{step.kind} is not supported by esi-mock render"
            )
        try:
            pattern = re.compile(step.source)
        except re.error as exc:
            raise SyncError(
                f"error applying rewrite to keys: failed rewrite operation[{i}]: "
                f"regexp failed with failed to compile: {exc}"
            ) from exc
        out = {replace_all(pattern, step.target, k): v for k, v in out.items()}
    return out


def _extract(
    es: ExternalSecret, entry: DataFromEntry, ref: RemoteRef, resolver: Resolver
) -> dict[str, bytes]:
    client = resolver.store(entry.store or _store_of(es), es.namespace)
    values = client.get_secret_map(ref.key, ref.property, ref.version)
    values = rewrite(entry.rewrites, values)
    if not entry.rewrites:
        values = _convert(ref.conversion, values)
    values = validate_keys(values)
    return _decode_map(ref.decoding, values)


def _generate(es: ExternalSecret, entry: DataFromEntry, resolver: Resolver) -> dict[str, bytes]:
    assert entry.generator is not None
    group = entry.generator.api_version.split("/")[0]
    if group != GENERATORS_GROUP:
        raise SyncError(f"generatorRef may only reference the generators group, but got {group}")
    values = resolver.generate(entry.generator, es.namespace)
    values = rewrite(entry.rewrites, values)
    return validate_keys(values)


def _store_of(es: ExternalSecret) -> StoreRef:
    if es.store is None:
        raise SyncError("spec.secretStoreRef is required")
    return es.store


def _missing(es: ExternalSecret, exc: Exception) -> bool:
    return isinstance(exc, NoSecretError) and es.target.deletion_policy != "Retain"


def sync(es: ExternalSecret, resolver: Resolver) -> SyncResult:
    """Run `GetProviderSecretData` for one ExternalSecret."""
    result = SyncResult(data={})
    data: dict[str, bytes] = {}
    for i, entry in enumerate(es.data_from):
        what = "find" if entry.find else "extract" if entry.extract else "sourceRef.generatorRef"
        try:
            if entry.find is not None:
                raise SyncError("error getting all secrets: not implemented")
            if entry.extract is not None:
                values = _extract(es, entry, entry.extract, resolver)
            else:
                values = _generate(es, entry, resolver)
        except (SyncError, ClientError) as exc:
            if _missing(es, exc):
                result.events.append(
                    Event(
                        "Normal",
                        "MissingProviderSecret",
                        f"secret does not exist at provider using spec.dataFrom[{i}]",
                    )
                )
                continue
            return _failed(result, f"error processing spec.dataFrom[{i}].{what}, err: {exc}")
        data.update(values)
    for i, item in enumerate(es.data):
        ref = item.remote_ref
        try:
            client = resolver.store(item.store or _store_of(es), es.namespace)
            value = client.get_secret(ref.key, ref.property, ref.version)
            try:
                value = decode(ref.decoding, value)
            except ValueError as exc:
                raise SyncError(
                    f"error applying decoding strategy {ref.decoding} to data: {exc}"
                ) from exc
        except (SyncError, ClientError) as exc:
            if _missing(es, exc):
                result.events.append(
                    Event(
                        "Normal",
                        "MissingProviderSecret",
                        f"secret does not exist at provider using spec.dataFrom[{i}] "
                        f"(key={ref.key})",
                    )
                )
                continue
            return _failed(result, f"error processing spec.data[{i}] (key: {ref.key}), err: {exc}")
        data[item.secret_key] = value
    result.data = data
    return result


def _failed(result: SyncResult, message: str) -> SyncResult:
    result.data = None
    result.error = message
    result.events.append(Event("Warning", "UpdateFailed", message))
    return result
