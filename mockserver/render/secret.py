"""The render's output: the Secret ESO would write, or the ExternalSecret's failure status and
the Warning event that carries the full error (ESO puts only a generic message in the
condition; the server's message is in the event)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import yaml

from mockserver.manifests import Secret

from .externalsecret import SyncResult
from .model import ESO_API_VERSION, ExternalSecret
from .resolve import StoreFailure
from .templating import SecretDraft, TemplateFailure, TemplateSources, apply_template

LABEL_MANAGED = "reconcile.external-secrets.io/managed"
LABEL_OWNER = "reconcile.external-secrets.io/created-by"
ANNOTATION_DATA_HASH = "reconcile.external-secrets.io/data-hash"
MSG_GET_DATA = "could not get secret data from provider"
MSG_MERGE_MISSING = "secret will not be created due to CreationPolicy=Merge"
MSG_RETAINED = "secret retained due to DeletionPolicy=Retain"
MSG_DELETED = "secret deleted due to DeletionPolicy=Delete"
MSG_UPDATE = "could not update secret"


def object_hash(text: str) -> str:
    """`esutils.ObjectHash` of a value whose `%+v` is `text`: SHA3-224, hex."""
    return hashlib.sha3_224(text.encode("utf-8", "surrogateescape")).hexdigest()


def data_hash(data: dict[str, bytes]) -> str:
    """`ObjectHash(secret.Data)`: Go prints the map sorted as `map[k:[1 2 3] ...]`."""
    items = " ".join(f"{k}:[{' '.join(str(b) for b in data[k])}]" for k in sorted(data))
    return object_hash(f"map[{items}]")


def secret_manifest(
    es: ExternalSecret,
    data: dict[str, bytes],
    existing: Secret | None,
    sources: TemplateSources,
    existing_meta: tuple[dict[str, str], dict[str, str]] = ({}, {}),
) -> dict[str, Any]:
    """The Secret after `mutationFunc` (`ApplyTemplate`, ownership, the managed markers), as a
    manifest mapping; raises TemplateFailure with ESO's text."""
    target = es.target
    draft = SecretDraft()
    if existing is not None:
        draft = SecretDraft(
            dict(existing.data), dict(existing_meta[0]), dict(existing_meta[1]), existing.type
        )
    apply_template(es, draft, data, sources)
    labels, annotations = draft.labels, draft.annotations
    if target.creation_policy == "Owner":
        labels[LABEL_OWNER] = object_hash(f"{es.namespace}/{es.name}")
    labels[LABEL_MANAGED] = "true"
    annotations[ANNOTATION_DATA_HASH] = data_hash(draft.data)
    manifest: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": target.name,
            "namespace": es.namespace,
            "labels": dict(sorted(labels.items())),
            "annotations": dict(sorted(annotations.items())),
        },
        "type": draft.type or "Opaque",
    }
    if target.immutable:
        manifest["immutable"] = True
    manifest["data"] = {k: base64.b64encode(draft.data[k]).decode() for k in sorted(draft.data)}
    return manifest


def status_manifest(
    es: ExternalSecret, reason: str, message: str, status: str = "False"
) -> dict[str, Any]:
    """The ExternalSecret with its Ready condition."""
    return {
        "apiVersion": ESO_API_VERSION,
        "kind": "ExternalSecret",
        "metadata": {"name": es.name, "namespace": es.namespace},
        "status": {
            "conditions": [
                {"type": "Ready", "status": status, "reason": reason, "message": message}
            ]
        },
    }


def event_manifest(es: ExternalSecret, kind: str, reason: str, message: str) -> dict[str, Any]:
    """A core/v1 Event about the ExternalSecret."""
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"namespace": es.namespace},
        "involvedObject": {
            "apiVersion": ESO_API_VERSION,
            "kind": "ExternalSecret",
            "name": es.name,
            "namespace": es.namespace,
        },
        "type": kind,
        "reason": reason,
        "message": message,
    }


def outcome_manifests(
    es: ExternalSecret,
    result: SyncResult,
    existing: Secret | None,
    sources: TemplateSources,
    existing_meta: tuple[dict[str, str], dict[str, str]] = ({}, {}),
) -> tuple[list[dict[str, Any]], str | None]:
    """What one reconcile leaves behind (`Reconcile` after `GetProviderSecretData`), as
    manifests to print, and the error when it failed."""
    events = [event_manifest(es, e.type, e.reason, e.message) for e in result.events]
    if result.data is None:
        return [status_manifest(es, "SecretSyncedError", MSG_GET_DATA), *events], result.error
    target = es.target
    if not result.data and target.deletion_policy == "Delete":
        if existing is not None:
            events.append(event_manifest(es, "Normal", "Deleted", MSG_DELETED))
        return [status_manifest(es, "SecretDeleted", MSG_DELETED, "True"), *events], None
    if not result.data and target.deletion_policy == "Retain":
        return [status_manifest(es, "SecretSynced", MSG_RETAINED, "True"), *events], None
    policy = target.creation_policy
    if policy == "None":
        return events, None
    if policy == "Merge" and existing is None:
        return [status_manifest(es, "SecretMissing", MSG_MERGE_MISSING, "True"), *events], None
    try:
        secret = secret_manifest(es, result.data, existing, sources, existing_meta)
    except TemplateFailure as exc:
        message = f"could not apply template: {exc}"
        events.append(event_manifest(es, "Warning", "UpdateFailed", message))
        return [status_manifest(es, "SecretSyncedError", MSG_UPDATE), *events], message
    return [secret, *events], None


def store_manifests(failure: StoreFailure) -> list[dict[str, Any]]:
    """A store the store controller left Ready=False, and its InvalidProviderConfig event: why
    the flood gate answers `... is not ready`."""
    store = failure.store
    meta: dict[str, Any] = {"name": store.name}
    if store.namespace:
        meta["namespace"] = store.namespace
    reference = {"apiVersion": ESO_API_VERSION, "kind": store.kind, **meta}
    return [
        {
            "apiVersion": ESO_API_VERSION,
            "kind": store.kind,
            "metadata": meta,
            "status": {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "False",
                        "reason": "InvalidProviderConfig",
                        "message": failure.condition,
                    }
                ]
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"namespace": store.namespace or "default"},
            "involvedObject": reference,
            "type": "Warning",
            "reason": "InvalidProviderConfig",
            "message": failure.event,
        },
    ]


class _Dumper(yaml.SafeDumper):
    """Block style; strings with line breaks double-quoted so every byte reads exactly."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if any(c in value for c in "\n\r\u2028\u2029\x85") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def dump(documents: list[dict[str, Any]]) -> str:
    """Multi-document YAML, keys in the order built."""
    return yaml.dump_all(
        documents,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 30,
        explicit_start=True,
    )
