"""GeneratorStates, AuthorizedIdentities and leaked credentials (docs/protocol.md §4.4, §4.5).

One lock guards all of them, so concurrent generator calls never lose or duplicate a state.
Objects are plain Kubernetes-shaped dicts, as the admin API shows them. They live in memory and,
through a `BookStore`, in the state folder (written inside the same lock, only when something
changed). A `BackendGuard` lets the admin layer fail a write or a store read the way a broken
Kubernetes API or secret backend would, without this module knowing about faults.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from mockserver.clock import CLOCK, Clock
from mockserver.federation.errors import BadRequest, ProtocolError
from mockserver.gojson import go_marshal

GROUP = "generators.external-secrets.io"
LABEL_OWNER = "federation.externalsecrets.com/owner"
LABEL_GENERATOR = "federation.externalsecrets.com/generator"
LABEL_KIND = "federation.externalsecrets.com/generator-kind"
ANNOTATION_OWNER_ATTRIBUTES = "federation.externalsecrets.com/owner-attributes"

_NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_MAX_GENERATE_NAME = 58
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_name_prefix(kind: str, name: str, owner: str) -> str:
    return f"{kind.lower()}-{name.lower()}-{owner.lower()}-"[:_MAX_GENERATE_NAME]


def validate_generator_state(kind: str, name: str, owner: str) -> None:
    """The API server's checks on a GeneratorState create, with its error text (400)."""
    prefix = generate_name_prefix(kind, name, owner)
    problems = []
    if not _DNS1123_SUBDOMAIN.fullmatch(prefix.rstrip("-") or "-"):
        problems.append(f'metadata.generateName: Invalid value: "{prefix}": {_SUBDOMAIN_MSG}')
    for value in (owner, name, kind):
        if len(value) > 63:
            problems.append(
                f'metadata.labels: Invalid value: "{value}": must be no more than 63 characters'
            )
        elif not _LABEL_VALUE.fullmatch(value):
            problems.append(f'metadata.labels: Invalid value: "{value}": {_LABEL_MSG}')
    if problems:
        detail = problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
        raise BadRequest(f'GeneratorState.{GROUP} "{prefix}" is invalid: {detail}')


def sanitize_subject(subject: str) -> str:
    """AuthorizedIdentity name part: lower-case, [a-z0-9-] only, trimmed, 253 at most."""
    return re.sub(r"[^a-z0-9-]", "-", subject.lower()).strip("-")[:253]


STORE_READ = "store-read"
GENERATOR_STATE_WRITE = "generator-state-write"
BACKEND_TARGETS = (STORE_READ, GENERATOR_STATE_WRITE)

BackendGuard = Callable[[str, str], int | None]
"""`guard(target, subject)`: the id of a backend fault that fires for this operation, or None.

`target` is one of `BACKEND_TARGETS`; `subject` is the store name or `namespace/kind/name`."""


def no_backend_faults(_target: str, _subject: str) -> int | None:
    return None


class BackendUnavailable(ProtocolError):
    """The secret backend is down: a hardened server answers 503 (the real one has no such case)."""

    status = 503


@dataclass
class Books:
    """Everything the books hold, as a store loads it: states by (namespace, name), identities
    by name, their credentials in issue order by equality key, and leak records in order."""

    states: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)
    credentials: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    leaks: list[dict[str, Any]] = field(default_factory=list)


class BookStore(Protocol):
    """Where the books are kept besides memory; each call is one transaction."""

    def load(self) -> Books: ...

    def put_state(self, namespace: str, name: str, state: dict[str, Any]) -> None: ...

    def delete_states(self, keys: list[tuple[str, str]]) -> None: ...

    def put_identity(
        self, name: str, identity: dict[str, Any] | None, key: str, credential: dict[str, Any]
    ) -> None:
        """Store a credential under `key` (new, or replacing an equal one in place), and the
        identity itself when it is new (`identity` is None otherwise)."""
        ...

    def add_leak(self, leak: dict[str, Any]) -> None: ...

    def clear(self) -> None: ...


class MemoryOnly:
    """The ephemeral store: the books live and die with the process."""

    def load(self) -> Books:
        return Books()

    def put_state(self, namespace: str, name: str, state: dict[str, Any]) -> None:
        return None

    def delete_states(self, keys: list[tuple[str, str]]) -> None:
        return None

    def put_identity(
        self, name: str, identity: dict[str, Any] | None, key: str, credential: dict[str, Any]
    ) -> None:
        return None

    def add_leak(self, leak: dict[str, Any]) -> None:
        return None

    def clear(self) -> None:
        return None


class Bookkeeping:
    """The objects R2, R3 and R4 write, and the AuthorizedIdentities R1 and R2 upsert."""

    def __init__(
        self,
        clock: Clock = CLOCK,
        store: BookStore | None = None,
        guard: BackendGuard = no_backend_faults,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._store: BookStore = store if store is not None else MemoryOnly()
        self._guard = guard
        books = self._store.load()
        self._states = books.states
        self._identities = books.identities
        self._credentials = books.credentials
        self._leaks = books.leaks

    @property
    def leaked_credentials(self) -> list[dict[str, Any]]:
        """Leak records, oldest first (a copy)."""
        with self._lock:
            return copy.deepcopy(self._leaks)

    def reset(self) -> None:
        with self._lock:
            self._store.clear()
            self._states.clear()
            self._identities.clear()
            self._credentials.clear()
            self._leaks.clear()

    # -- backend faults --------------------------------------------------------------------------

    def check_store_read(self, store: str) -> None:
        """Fail like an unreachable secret backend when a `store-read` fault fires for `store`."""
        fault = self._guard(STORE_READ, store)
        if fault is not None:
            raise BackendUnavailable(
                f"secret store {store!r} is unavailable",
                f"backend fault {fault}: {STORE_READ} {store}",
            )

    # -- GeneratorStates -------------------------------------------------------------------------

    def create_generator_state(
        self,
        namespace: str,
        kind: str,
        name: str,
        owner: str,
        owner_attributes: dict[str, str],
        resource: dict[str, Any],
        owner_reference: dict[str, Any] | None,
    ) -> dict[str, Any]:
        fault = self._guard(GENERATOR_STATE_WRITE, f"{namespace}/{kind}/{name}")
        if fault is not None:
            raise BadRequest(
                f"GeneratorState for {kind}/{name} could not be written",
                f"backend fault {fault}: {GENERATOR_STATE_WRITE} {namespace}/{kind}/{name}",
            )
        validate_generator_state(kind, name, owner)
        prefix = generate_name_prefix(kind, name, owner)
        state: dict[str, Any] = {
            "apiVersion": f"{GROUP}/v1alpha1",
            "kind": "GeneratorState",
            "metadata": {
                "generateName": prefix,
                "namespace": namespace,
                "labels": {LABEL_OWNER: owner, LABEL_GENERATOR: name, LABEL_KIND: kind},
                "annotations": {
                    # json.Marshal of a Go map: sorted keys, Go's escaping.
                    ANNOTATION_OWNER_ATTRIBUTES: go_marshal(owner_attributes).decode()
                },
                "creationTimestamp": rfc3339(self._clock.now()),
            },
            "spec": {"resource": resource, "state": {}},
        }
        if owner_reference is not None:
            state["metadata"]["ownerReferences"] = [owner_reference]
        with self._lock:
            while True:
                suffix = "".join(secrets.choice(_NAME_SUFFIX_ALPHABET) for _ in range(5))
                if (namespace, prefix + suffix) not in self._states:
                    break
            state["metadata"]["name"] = prefix + suffix
            self._store.put_state(namespace, prefix + suffix, state)
            self._states[(namespace, prefix + suffix)] = state
        return copy.deepcopy(state)

    def delete_generator_states(self, namespace: str | None, labels: dict[str, str]) -> list[str]:
        """Delete the states matching every label, in one namespace or (None) in all."""
        with self._lock:
            doomed = [
                key
                for key, state in self._states.items()
                if (namespace is None or key[0] == namespace)
                and all(state["metadata"]["labels"].get(k) == v for k, v in labels.items())
            ]
            if doomed:
                self._store.delete_states(doomed)
            for key in doomed:
                del self._states[key]
        return [f"{ns}/{name}" for ns, name in sorted(doomed)]

    def generator_states(self, namespace: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [
                copy.deepcopy(s)
                for (ns, _), s in sorted(self._states.items())
                if namespace is None or ns == namespace
            ]
        return found

    def record_leak(self, namespace: str, kind: str, name: str, output_keys: list[str]) -> None:
        """A credential generated by a request that then failed (quirk generate-then-fail)."""
        leak = {"namespace": namespace, "kind": kind, "name": name, "keys": sorted(output_keys)}
        with self._lock:
            self._store.add_leak(leak)
            self._leaks.append(leak)

    # -- AuthorizedIdentities --------------------------------------------------------------------

    def upsert_identity(
        self,
        method: str,
        provider: str,
        subject: str,
        federation_ref: dict[str, str],
        credential: dict[str, Any],
        key: str | None = None,
    ) -> str:
        """Record an issued credential, replacing an equal entry or appending a new one
        (`key`: the credential's `credential_key`, when the caller already has it).

        Entries are indexed by what makes two of them equal, so an upsert costs the same with
        four thousand credentials as with one. Nothing is written when the entry is unchanged
        (the same credential again within the same second). Returns the identity's name.
        """
        name = f"{method}-{sanitize_subject(subject)}"
        credential = {**credential, "lastIssuedAt": rfc3339(self._clock.now())}
        key = credential_key(credential) if key is None else key
        with self._lock:
            identity = self._identities.get(name)
            if identity is not None and self._credentials[name].get(key) == credential:
                return name
            new_identity = None
            if identity is None:
                subject_spec = (
                    {"spiffe": {"spiffeID": subject}}
                    if method == "spiffe"
                    else {"oidc": {"issuer": provider, "subject": subject}}
                )
                new_identity = {
                    "apiVersion": "federation.external-secrets.io/v1alpha1",
                    "kind": "AuthorizedIdentity",
                    "metadata": {"name": name},
                    "spec": {
                        "identitySpec": {"federationRef": federation_ref, "subject": subject_spec}
                    },
                }
            self._store.put_identity(name, new_identity, key, credential)
            if new_identity is not None:
                self._identities[name] = new_identity
                self._credentials[name] = {}
            self._credentials[name][key] = credential
        return name

    def authorized_identities(self) -> list[dict[str, Any]]:
        with self._lock:
            views = []
            for name, identity in sorted(self._identities.items()):
                view = copy.deepcopy(identity)
                view["spec"]["issuedCredentials"] = copy.deepcopy(
                    list(self._credentials[name].values())
                )
                views.append(view)
            return views


def credential_key(credential: dict[str, Any]) -> str:
    """What makes two issued credentials the same entry (docs/protocol.md §4.5)."""
    return json.dumps(
        [
            credential.get("sourceRef"),
            (credential.get("remoteRef") or {}).get("remoteKey"),
            credential.get("stateRef"),
            credential.get("workloadBinding"),
        ],
        sort_keys=True,
    )
