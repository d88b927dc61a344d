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

LABEL_MANAGED = "reconcile.external-secrets.io/managed"
LABEL_OWNER = "reconcile.external-secrets.io/created-by"
ANNOTATION_DATA_HASH = "reconcile.external-secrets.io/data-hash"
MSG_GET_DATA = "could not get secret data from provider"
MSG_MERGE_MISSING = "secret will not be created due to CreationPolicy=Merge"


def object_hash(text: str) -> str:
    """`esutils.ObjectHash` of a value whose `%+v` is `text`: SHA3-224, hex."""
    return hashlib.sha3_224(text.encode("utf-8", "surrogateescape")).hexdigest()


def data_hash(data: dict[str, bytes]) -> str:
    """`ObjectHash(secret.Data)`: Go prints the map sorted as `map[k:[1 2 3] ...]`."""
    items = " ".join(f"{k}:[{' '.join(str(b) for b in data[k])}]" for k in sorted(data))
    return object_hash(f"map[{items}]")


def secret_manifest(
    es: ExternalSecret, data: dict[str, bytes], existing: Secret | None = None
) -> dict[str, Any]:
    """The Secret after `ApplyTemplate` and the managed markers, as a manifest mapping."""
    target = es.target
    merged: dict[str, bytes] = {}
    if existing is not None and target.creation_policy in ("Merge", "CreateOrMerge"):
        merged.update(existing.data)
    merged.update(data)
    labels = dict(target.template_labels if target.has_template else es.labels)
    annotations = dict(target.template_annotations if target.has_template else es.annotations)
    if target.creation_policy == "Owner":
        labels[LABEL_OWNER] = object_hash(f"{es.namespace}/{es.name}")
    labels[LABEL_MANAGED] = "true"
    annotations[ANNOTATION_DATA_HASH] = data_hash(merged)
    secret_type = target.template_type or (existing.type if existing else "") or "Opaque"
    manifest: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": target.name,
            "namespace": es.namespace,
            "labels": dict(sorted(labels.items())),
            "annotations": dict(sorted(annotations.items())),
        },
        "type": secret_type,
    }
    if target.immutable:
        manifest["immutable"] = True
    manifest["data"] = {k: base64.b64encode(merged[k]).decode() for k in sorted(merged)}
    return manifest


def status_manifest(es: ExternalSecret, reason: str, message: str) -> dict[str, Any]:
    """The ExternalSecret with its Ready=False condition."""
    return {
        "apiVersion": ESO_API_VERSION,
        "kind": "ExternalSecret",
        "metadata": {"name": es.name, "namespace": es.namespace},
        "status": {
            "conditions": [
                {"type": "Ready", "status": "False", "reason": reason, "message": message}
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
    es: ExternalSecret, result: SyncResult, existing: Secret | None = None
) -> list[dict[str, Any]]:
    """What one ExternalSecret's reconcile leaves behind, as manifests to print."""
    events = [event_manifest(es, e.type, e.reason, e.message) for e in result.events]
    if result.data is None:
        return [status_manifest(es, "SecretSyncedError", MSG_GET_DATA), *events]
    policy = es.target.creation_policy
    if policy == "None":
        return events
    if policy == "Merge" and existing is None:
        return [status_manifest(es, "SecretMissing", MSG_MERGE_MISSING), *events]
    return [secret_manifest(es, result.data, existing), *events]


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
