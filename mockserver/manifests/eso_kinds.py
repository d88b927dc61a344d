"""External Secrets and Kubernetes core kinds: ClusterSecretStore (fake provider) and Secret."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .checks import SECRET_KEY, Checker, describe
from .model import ClusterSecretStore, FakeSecretEntry, Secret
from .paths import child

ESO_API_VERSION = "external-secrets.io/v1"
STORE_SPEC_FIELDS = ("controller", "provider", "retrySettings", "refreshInterval", "conditions")
CONDITION_FIELDS = ("namespaceSelector", "namespaces", "namespaceRegexes")


def _entries(c: Checker, fake: dict[str, Any]) -> list[FakeSecretEntry]:
    base = "spec.provider.fake.data"
    out: list[FakeSecretEntry] = []
    for i, item in enumerate(c.listing(fake, "data", "spec.provider.fake") or []):
        path = child(base, i)
        if not isinstance(item, dict):
            c.fail(path, f"expected a mapping {{key, value, version?}}, got {describe(item)}")
            continue
        if "valueMap" in item:
            c.fail(
                child(path, "valueMap"),
                "valueMap was removed in external-secrets.io/v1 (ESO v0.16.0); write the map "
                'as a JSON document in value, e.g. value: \'{"user": "admin"}\'',
            )
            continue
        c.fields(item, path, ("key", "value", "version"))
        key = item.get("key")
        if key is None or key == "":
            c.fail(child(path, "key"), f"key must be set in data {i}")
            continue
        if not isinstance(key, str):
            c.fail(child(path, "key"), f"expected a string, got {describe(key)}; quote it")
            continue
        # The ESO webhook also refuses value == ""; the mock accepts it on purpose so that a
        # store can hold an empty string (a value the protocol must carry faithfully).
        if "value" not in item or item["value"] is None:
            c.fail(child(path, "value"), f"at least one value must be set in data {i}")
            continue
        value = c.string(item, "value", path)
        version = c.string(item, "version", path)
        if value is not None:
            out.append(FakeSecretEntry(key, value, version or ""))
    return out


def _conditions(c: Checker, spec: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, item in enumerate(c.listing(spec, "conditions", "spec") or []):
        path = child("spec.conditions", i)
        if not isinstance(item, dict):
            c.fail(path, f"expected a mapping, got {describe(item)}")
            continue
        c.fields(item, path, CONDITION_FIELDS)
        c.string_list(item, "namespaces", path)
        c.string_list(item, "namespaceRegexes", path)
        c.mapping(item, "namespaceSelector", path, required=False)
        out.append(item)
    return out


def build_cluster_secret_store(
    c: Checker, name: str, spec: dict[str, Any]
) -> ClusterSecretStore | None:
    """A ClusterSecretStore whose provider must be ``fake``."""
    c.fields(spec, "spec", STORE_SPEC_FIELDS)
    controller = c.string(spec, "controller", "spec") or ""
    conditions = _conditions(c, spec)
    provider = c.mapping(spec, "provider", "spec")
    if provider is None:
        return None
    if list(provider) != ["fake"]:
        got = ", ".join(str(k) for k in provider) or "none"
        c.fail(
            "spec.provider",
            f"expected exactly one provider, fake (the only provider the mock serves), got {got}",
        )
        return None
    fake = c.mapping(provider, "fake", "spec.provider")
    if fake is None:
        return None
    c.fields(fake, "spec.provider.fake", ("data", "validationResult"))
    result = c.integer(fake, "validationResult", "spec.provider.fake", minimum=0, maximum=2)
    entries = _entries(c, fake)
    return ClusterSecretStore(name, tuple(entries), controller, tuple(conditions), result or 0)


def build_secret(c: Checker, namespace: str, name: str, body: dict[str, Any]) -> Secret | None:
    """A core/v1 Secret: ``data`` is base64, ``stringData`` is text and wins on a clash."""
    data: dict[str, bytes] = {}
    encoded = c.mapping(body, "data", "", required=False) or {}
    for key, value in encoded.items():
        path = child("data", key)
        if not isinstance(key, str) or not SECRET_KEY.match(key) or len(key) > 253:
            c.fail(path, "expected a key of letters, digits, '-', '.' and '_'")
            continue
        if not isinstance(value, str):
            c.fail(path, f"expected a base64 string, got {describe(value)}")
            continue
        try:
            data[key] = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            c.fail(path, "expected standard base64 (use stringData for plain text)")
    text = c.mapping(body, "stringData", "", required=False) or {}
    for key, value in text.items():
        path = child("stringData", key)
        if not isinstance(key, str) or not SECRET_KEY.match(key) or len(key) > 253:
            c.fail(path, "expected a key of letters, digits, '-', '.' and '_'")
            continue
        if not isinstance(value, str):
            c.fail(path, f"expected a string, got {describe(value)}; quote it")
            continue
        data[key] = value.encode("utf-8")
    secret_type = c.string(body, "type", "") or "Opaque"
    c.boolean(body, "immutable", "")
    return Secret(namespace, name, data, secret_type)
