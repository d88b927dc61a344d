"""Generators (``generators.external-secrets.io/v1alpha1``): the five the mock runs, the rest.

The kinds come from the one table in `mockserver.backends.kinds`.

Specs are kept as written; ESO's defaults are applied by the generator backend, so that what a
GeneratorState snapshots is what the user wrote. Only field types and enums are checked here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mockserver.backends.kinds import CLUSTER_SPEC_FIELDS, SUPPORTED_KINDS

from .checks import Checker, describe
from .model import ClusterGenerator
from .paths import child

PASSWORD_ENCODINGS = ("base64", "base64url", "base32", "hex", "raw")
SSH_KEY_TYPES = ("rsa", "ecdsa", "ed25519")

__all__ = [
    "CLUSTER_SPEC_KEYS",
    "SUPPORTED_KINDS",
    "build_cluster_generator",
    "check_generator_spec",
]

# spec.kind of a ClusterGenerator -> the member of spec.generator holding its spec.
CLUSTER_SPEC_KEYS = {kind: member for kind, (member, _go) in CLUSTER_SPEC_FIELDS.items()}


def _fake(c: Checker, spec: dict[str, Any], path: str) -> None:
    c.fields(spec, path, ("controller", "data"))
    c.string(spec, "controller", path)
    c.string_map(spec, "data", path)


def _password(c: Checker, spec: dict[str, Any], path: str) -> None:
    c.fields(
        spec,
        path,
        (
            "length",
            "digits",
            "symbols",
            "symbolCharacters",
            "noUpper",
            "allowRepeat",
            "encoding",
            "secretKeys",
        ),
    )
    for key in ("length", "digits", "symbols"):
        c.integer(spec, key, path)
    c.string(spec, "symbolCharacters", path)
    c.boolean(spec, "noUpper", path)
    c.boolean(spec, "allowRepeat", path)
    c.choice(spec, "encoding", path, PASSWORD_ENCODINGS)
    c.string_list(spec, "secretKeys", path)


def _uuid(c: Checker, spec: dict[str, Any], path: str) -> None:
    c.fields(spec, path, ())


def _ssh_key(c: Checker, spec: dict[str, Any], path: str) -> None:
    c.fields(spec, path, ("keyType", "keySize", "comment"))
    c.choice(spec, "keyType", path, SSH_KEY_TYPES)
    c.integer(spec, "keySize", path, minimum=256, maximum=8192)
    c.string(spec, "comment", path)


def _mfa(c: Checker, spec: dict[str, Any], path: str) -> None:
    c.fields(spec, path, ("secret", "length", "timePeriod", "algorithm", "when"))
    secret = c.mapping(spec, "secret", path)
    if secret is not None:
        here = child(path, "secret")
        c.fields(secret, here, ("name", "key", "namespace"))
        c.string(secret, "name", here, required=True, non_empty=True)
        c.string(secret, "key", here, required=True, non_empty=True)
        c.string(secret, "namespace", here, non_empty=True)
    c.integer(spec, "length", path, minimum=0)
    c.integer(spec, "timePeriod", path, minimum=0)
    c.string(spec, "algorithm", path)
    c.string(spec, "when", path)


SPEC_CHECKS: dict[str, Callable[[Checker, dict[str, Any], str], None]] = {
    "Fake": _fake,
    "Password": _password,
    "UUID": _uuid,
    "SSHKey": _ssh_key,
    "MFA": _mfa,
}


def check_generator_spec(c: Checker, kind: str, spec: dict[str, Any], path: str) -> None:
    """Type-check the spec of a kind the mock runs (other kinds are kept unchecked)."""
    check = SPEC_CHECKS.get(kind)
    if check is not None:
        check(c, spec, path)


def build_cluster_generator(c: Checker, name: str, spec: dict[str, Any]) -> ClusterGenerator | None:
    """``spec.kind`` plus exactly one ``spec.generator.<kind>Spec`` that matches it."""
    c.fields(spec, "spec", ("kind", "generator"))
    kind = c.string(spec, "kind", "spec", required=True)
    if kind is not None and kind not in CLUSTER_SPEC_KEYS:
        c.fail(
            "spec.kind",
            f"expected one of {', '.join(sorted(CLUSTER_SPEC_KEYS))}, got {describe(kind)}",
        )
        kind = None
    generator = c.mapping(spec, "generator", "spec")
    if kind is None or generator is None:
        return None
    c.fields(generator, "spec.generator", tuple(CLUSTER_SPEC_KEYS.values()))
    wanted = CLUSTER_SPEC_KEYS[kind]
    present = [key for key in generator if key in CLUSTER_SPEC_KEYS.values()]
    if wanted not in present:
        c.fail(
            "spec.generator",
            f"invalid ClusterGenerator: when kind is {kind}, {kind}Spec must be set "
            f"(write spec.generator.{wanted})",
        )
        return None
    if len(present) > 1:
        c.fail(
            "spec.generator",
            f"expected exactly one generator spec ({wanted}), got {', '.join(present)}",
        )
        return None
    inner = generator[wanted]
    if inner is None:
        inner = {}
    if not isinstance(inner, dict):
        c.fail(child("spec.generator", wanted), f"expected a mapping, got {describe(inner)}")
        return None
    check_generator_spec(c, kind, inner, child("spec.generator", wanted))
    return ClusterGenerator(name, kind, inner)
