"""Running a generator for R2, and the resolver errors the real server answers with.

The federation server resolves `generators.external-secrets.io/v1alpha1, Kind=<kind>` through
ESO's `resolvers.GeneratorRef` (`runtime/esutils/resolvers/generator.go` at 5fe21b5c55ca) and
returns `err.Error()` as the 400 body (`generateSecrets` in
`pkg/enterprise/federation/server/server.go`). Settled texts:
- every resolver error is wrapped `unable to get generator: <err>`;
- controller-runtime's `reconcile.TerminalError` prefixes `terminal error: `;
- a kind outside the scheme: `generatorRef references unknown GVK
  generators.external-secrets.io/v1alpha1, Kind=<kind>` (terminal; `GroupVersionKind.String()`);
- a missing object comes from the manager's **cached** client, whose not-found error uses the
  Kind where the API server would use the plural resource (controller-runtime
  `pkg/cache/internal/cache_reader.go`: "Resource gets set as Kind"), so the body is
  `unable to get generator: Password.generators.external-secrets.io "x" not found`; the
  API-server form (`passwords.generators…`) is available with `cached=False`;
- ClusterGenerator: `invalid ClusterGenerator: when kind is <K>, <GoField> must be set` and
  `invalid ClusterGenerator: unknown kind <K>` (both terminal);
- a scheme kind without a generator implementation (`GeneratorState`):
  `generatorRef has unknown kind <K>` (terminal);
- list kinds (`PasswordList`, …) are in the scheme too but are not `client.Object`s: the real
  resolver panics and the connection is dropped (`GeneratorKindPanics`).
Generator-level errors (Password, SSHKey, MFA) are returned unwrapped by the server.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from mockserver.backends.kinds import (
    CLUSTER_SPEC_FIELDS,
    GENERATOR_GROUP,
    GENERATOR_GROUP_VERSION,
    GENERATOR_PLURALS,
    SUPPORTED_KINDS,
)
from mockserver.backends.password import PasswordError, password_outputs
from mockserver.backends.sshkey import SSHKeyError, sshkey_outputs
from mockserver.backends.totp import TOTPError, totp
from mockserver.clock import CLOCK, Clock

__all__ = [
    "CLUSTER_SPEC_FIELDS",
    "GENERATOR_GROUP_VERSION",
    "GENERATOR_PLURALS",
    "SUPPORTED_KINDS",
    "GeneratorError",
    "GeneratorKindPanics",
    "UnknownGeneratorKind",
    "generate",
    "generator_not_found_message",
    "resolve_cluster_generator",
    "resolve_kind",
]

_GROUP = GENERATOR_GROUP
_TERMINAL = "terminal error: "
_PREFIX = "unable to get generator: "

_LIST_KINDS = {kind + "List" for kind in GENERATOR_PLURALS}

SecretLookup = Callable[[str, str, str], bytes]


class GeneratorError(Exception):
    """A resolver or generator failure; `str(err)` is the real server's 400 body."""


class UnknownGeneratorKind(GeneratorError):
    """The URL's kind is not a generators.external-secrets.io/v1alpha1 kind."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__(
            f"{_PREFIX}{_TERMINAL}generatorRef references unknown GVK "
            f"{_GROUP}/v1alpha1, Kind={kind}"
        )


class GeneratorKindPanics(GeneratorError):
    """A list kind: the real resolver panics, so the real server drops the connection."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__(f"kind {kind} makes the real generator resolver panic")


def generator_not_found_message(kind: str, name: str, *, cached: bool = True) -> str:
    """400 text for a generator object that does not exist (see the module notes)."""
    resource = kind if cached else GENERATOR_PLURALS.get(kind, kind.lower() + "s")
    return f'{_PREFIX}{resource}.{_GROUP} "{name}" not found'


def resolve_kind(kind: str) -> None:
    """Raise what the resolver raises for a URL kind before any object lookup."""
    if kind in _LIST_KINDS:
        raise GeneratorKindPanics(kind)
    if kind not in GENERATOR_PLURALS:
        raise UnknownGeneratorKind(kind)


def resolve_cluster_generator(kind: str, generator_spec: dict[str, Any]) -> tuple[str, dict]:
    """ClusterGenerator `spec.kind` + `spec.generator` -> (kind, the inner generator spec)."""
    fields = CLUSTER_SPEC_FIELDS.get(kind)
    if fields is None:
        raise GeneratorError(f"{_PREFIX}{_TERMINAL}invalid ClusterGenerator: unknown kind {kind}")
    member, go_field = fields
    inner = (generator_spec or {}).get(member)
    if inner is None:
        raise GeneratorError(
            f"{_PREFIX}{_TERMINAL}invalid ClusterGenerator: when kind is {kind}, "
            f"{go_field} must be set"
        )
    return kind, inner


def _fake(spec: dict[str, Any]) -> dict[str, str]:
    data = spec.get("data") or {}
    return {str(k): str(v) for k, v in data.items()}


def _mfa(
    spec: dict[str, Any], secret_lookup: SecretLookup | None, namespace: str, clock: Clock
) -> dict[str, str]:
    ref = spec.get("secret") or {}
    name, key = str(ref.get("name") or ""), str(ref.get("key") or "")
    if secret_lookup is None:
        raise GeneratorError(f'failed to find secret for token key: Secret "{name}" not found')
    try:
        seed = secret_lookup(namespace, name, key)
    except KeyError:
        raise GeneratorError(f"secret key {key} does not exist in secret data map") from None
    except LookupError:
        raise GeneratorError(
            f'failed to find secret for token key: Secret "{name}" not found'
        ) from None
    length = spec.get("length") or 0
    period = spec.get("timePeriod") or 0
    try:
        token, time_left = totp(
            seed.decode("utf-8", "surrogateescape"),
            clock.time(),
            length=length if length > 0 else 6,
            period=period if period > 0 else 30,
        )
    except TOTPError as exc:
        raise GeneratorError(f"failed to generate code for token key: {exc}") from None
    return {"token": token, "timeLeft": time_left}


def generate(
    kind: str,
    spec: dict[str, Any],
    *,
    secret_lookup: SecretLookup | None = None,
    namespace: str = "",
    clock: Clock = CLOCK,
    password_secret_keys: bool = True,
) -> dict[str, str]:
    """Run generator `kind` with `spec`; output keys and values as R2 returns them.

    `secret_lookup(namespace, name, key)` returns a Secret's data value for MFA; it raises
    `KeyError` for a missing key and another `LookupError` for a missing Secret.
    `password_secret_keys=False` reproduces the pinned ESO, which ignores `secretKeys`.
    """
    resolve_kind(kind)
    spec = spec or {}
    try:
        if kind == "Fake":
            return _fake(spec)
        if kind == "Password":
            return password_outputs(spec, secret_keys=password_secret_keys)
        if kind == "UUID":
            return {"uuid": str(uuid.uuid4())}
        if kind == "SSHKey":
            return sshkey_outputs(spec)
        if kind == "MFA":
            return _mfa(spec, secret_lookup, namespace, clock)
    except (PasswordError, SSHKeyError) as exc:
        raise GeneratorError(str(exc)) from None
    if kind == "GeneratorState":
        raise GeneratorError(f"{_PREFIX}{_TERMINAL}generatorRef has unknown kind {kind}")
    raise GeneratorError(f"generator kind {kind} is not supported by the mock")
