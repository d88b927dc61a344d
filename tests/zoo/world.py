"""What the zoo knows: manifests (federations, stores, generators, Authorizations) and the state
it writes (GeneratorStates, AuthorizedIdentities), behind one lock."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
import secrets
import string
import struct
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from tests.zoo.points import Points

GENERATOR_API = "generators.external-secrets.io/v1alpha1"
LABEL_PREFIX = "federation.externalsecrets.com/"
RUNNABLE_KINDS = ("Fake", "Password", "UUID", "SSHKey", "MFA")


class BackendError(Exception):
    """A store or generator failure: the handlers answer 400 with its text."""


@dataclass
class Authorization:
    """One Authorization spec, with the order it was (last) applied in."""

    name: str
    seq: int
    federation_kind: str
    federation_name: str
    issuer: str  # OIDC issuer, or the SPIFFE trust domain
    subject: str  # OIDC subject, or the full SPIFFE ID
    spiffe: bool
    stores: list[str]
    generators: list[dict[str, str]]
    state_namespaces: list[str]


def _authorization(doc: dict[str, Any], seq: int) -> Authorization:
    spec = doc.get("spec") or {}
    ref = spec.get("federationRef") or {}
    subject = spec.get("subject") or {}
    oidc, spiffe = subject.get("oidc"), subject.get("spiffe")
    if spiffe:
        spiffe_id = str(spiffe.get("spiffeID", ""))
        issuer = spiffe_id.removeprefix("spiffe://").split("/", 1)[0]
        principal = spiffe_id
    else:
        oidc = oidc or {}
        issuer, principal = str(oidc.get("issuer", "")), str(oidc.get("subject", ""))
    return Authorization(
        name=doc["metadata"]["name"],
        seq=seq,
        federation_kind=str(ref.get("kind", "")),
        federation_name=str(ref.get("name", "")),
        issuer=issuer,
        subject=principal,
        spiffe=bool(spiffe),
        stores=[str(s) for s in spec.get("allowedClusterSecretStores") or []],
        generators=[{k: str(v) for k, v in g.items()} for g in spec.get("allowedGenerators") or []],
        state_namespaces=[
            str(s.get("namespace", "")) for s in spec.get("allowedGeneratorStates") or []
        ],
    )


def _key(doc: dict[str, Any]) -> tuple[str, str, str]:
    meta = doc.get("metadata") or {}
    return (str(doc.get("kind", "")), str(meta.get("namespace", "")), str(meta.get("name", "")))


def read_manifests(path: str | Path) -> list[dict[str, Any]]:
    """Every YAML document of a file, or of the `*.yaml` files of a folder, in order."""
    path = Path(path)
    files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
    docs: list[dict[str, Any]] = []
    for file in files:
        docs.extend(d for d in yaml.safe_load_all(file.read_text("utf-8")) if isinstance(d, dict))
    return docs


@dataclass
class World:
    """Manifests by (kind, namespace, name), plus written state. Thread-safe."""

    documents: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    applied: dict[tuple[str, str, str], int] = field(default_factory=dict)
    states: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _seq: Any = field(default_factory=itertools.count)

    # -- manifests -------------------------------------------------------------------------------

    def apply(self, docs: Iterable[dict[str, Any]]) -> None:
        """Create or replace each document (a replaced Authorization counts as newest)."""
        with self.lock:
            for doc in docs:
                key = _key(doc)
                self.documents[key] = copy.deepcopy(doc)
                self.applied[key] = next(self._seq)

    def delete(self, kind: str, name: str, namespace: str = "") -> bool:
        """Remove one document; whether it existed."""
        with self.lock:
            self.applied.pop((kind, namespace, name), None)
            return self.documents.pop((kind, namespace, name), None) is not None

    def reset_state(self) -> None:
        """Forget every GeneratorState and AuthorizedIdentity."""
        with self.lock:
            self.states.clear()
            self.identities.clear()

    def get(self, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        with self.lock:
            return self.documents.get((kind, namespace, name))

    def authorizations(self) -> list[Authorization]:
        """Every Authorization, newest first."""
        with self.lock:
            found = [
                _authorization(doc, self.applied[key])
                for key, doc in self.documents.items()
                if key[0] == "Authorization"
            ]
        return sorted(found, key=lambda a: -a.seq)

    def federation_url(self, kind: str, name: str) -> str | None:
        doc = self.get(kind, name)
        if doc is None or kind != "KubernetesFederation":
            return None
        url = (doc.get("spec") or {}).get("url")
        return str(url) if url else None

    # -- R1: the fake secret provider ------------------------------------------------------------

    def secret_value(self, store: str, key: str, points: Points | None = None) -> Any:
        """The whole value of `key` (no version) in ClusterSecretStore `store`."""
        points = points or Points()
        doc = self.get("ClusterSecretStore", store)
        if doc is None:
            raise BackendError(f'ClusterSecretStore.external-secrets.io "{store}" not found')
        provider = (doc.get("spec") or {}).get("provider") or {}
        if "fake" not in provider:
            raise BackendError("unsupported provider")
        for entry in (provider.get("fake") or {}).get("data") or []:
            if points.compare("secret-key", str(entry.get("key")), key) and not entry.get(
                "version"
            ):
                return str(entry.get("value", ""))
        raise BackendError("Secret does not exist")

    # -- R2: generators ------------------------------------------------------------------------

    def generate(
        self, namespace: str, kind: str, name: str
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """(generator object, outputs) for the generator `kind`/`name` in `namespace`."""
        if kind == "ClusterGenerator":
            doc = self.get("ClusterGenerator", name)
            if doc is None:
                raise BackendError(
                    f"unable to get generator: ClusterGenerator.{GENERATOR_API.split('/')[0]} "
                    f'"{name}" not found'
                )
            spec = doc.get("spec") or {}
            inner = str(spec.get("kind", ""))
            member = inner[:1].lower() + inner[1:] + "Spec"
            inner_spec = (spec.get("generator") or {}).get(member)
            if inner not in RUNNABLE_KINDS or inner_spec is None:
                raise BackendError(f"invalid ClusterGenerator: unknown kind {inner}")
            return doc, self._run(inner, inner_spec or {}, namespace)
        if kind not in RUNNABLE_KINDS:
            raise BackendError(
                "unable to get generator: generatorRef references unknown GVK "
                f"{GENERATOR_API}, Kind={kind}"
            )
        doc = self.get(kind, name, namespace)
        if doc is None:
            raise BackendError(
                f'unable to get generator: {kind}.generators.external-secrets.io "{name}" not found'
            )
        return doc, self._run(kind, doc.get("spec") or {}, namespace)

    def _run(self, kind: str, spec: dict[str, Any], namespace: str) -> dict[str, str]:
        if kind == "Fake":
            return {str(k): str(v) for k, v in (spec.get("data") or {}).items()}
        if kind == "UUID":
            return {"uuid": str(uuid.uuid4())}
        if kind == "Password":
            keys = spec.get("secretKeys") or ["password"]
            return {str(k): _password(spec) for k in keys}
        if kind == "SSHKey":
            return _ssh_key(spec)
        secret_ref = spec.get("secret") or {}
        secret = self.get("Secret", str(secret_ref.get("name", "")), namespace)
        if secret is None:
            raise BackendError(f'secrets "{secret_ref.get("name", "")}" not found')
        data = {k: str(v).encode() for k, v in (secret.get("stringData") or {}).items()}
        data.update({k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()})
        seed = data.get(str(secret_ref.get("key", "")))
        if seed is None:
            raise BackendError("secret key not found")
        return _totp(seed.decode(), spec)


def _password(spec: dict[str, Any]) -> str:
    length = int(spec.get("length", 24))
    digits = int(spec.get("digits", 6) if spec.get("digits") is not None else 6)
    symbols = int(spec.get("symbols", 6) if spec.get("symbols") is not None else 6)
    symbol_chars = str(spec.get("symbolCharacters") or '~!@#$%^&*()_+`-={}|[]\\:"<>?,./')
    letters = string.ascii_lowercase if spec.get("noUpper") else string.ascii_letters
    if digits + symbols > length:
        raise BackendError("number of digits and symbols exceeds the length")
    chars = [secrets.choice(string.digits) for _ in range(digits)]
    chars += [secrets.choice(symbol_chars) for _ in range(symbols)]
    chars += [secrets.choice(letters) for _ in range(length - digits - symbols)]
    secrets.SystemRandom().shuffle(chars)
    value = "".join(chars).encode()
    encoding = str(spec.get("encoding") or "raw")
    encoders = {
        "raw": bytes.decode,
        "hex": lambda b: b.hex(),
        "base64": lambda b: base64.b64encode(b).decode(),
        "base64url": lambda b: base64.urlsafe_b64encode(b).decode(),
        "base32": lambda b: base64.b32encode(b).decode(),
    }
    return encoders.get(encoding, bytes.decode)(value)


def _ssh_key(spec: dict[str, Any]) -> dict[str, str]:
    key_type = str(spec.get("keyType") or "rsa")
    if key_type == "ed25519":
        private: Any = ed25519.Ed25519PrivateKey.generate()
    elif key_type == "rsa":
        private = rsa.generate_private_key(65537, int(spec.get("keySize") or 2048))
    else:
        raise BackendError(f"unsupported key type: {key_type}")
    private_text = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public = (
        private.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    comment = spec.get("comment")
    return {"privateKey": private_text, "publicKey": f"{public} {comment}\n" if comment else public}


def _totp(seed: str, spec: dict[str, Any]) -> dict[str, str]:
    key = base64.b32decode(seed.strip().upper() + "=" * (-len(seed.strip()) % 8))
    period = int(spec.get("timePeriod") or 30)
    digits = int(spec.get("length") or 6)
    algorithm = str(spec.get("algorithm") or "sha1").lower()
    now = int(time.time())
    counter = struct.pack(">Q", now // period)
    digest = hmac.new(key, counter, getattr(hashlib, algorithm, hashlib.sha1)).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return {"token": str(code).zfill(digits), "timeLeft": str(period - now % period)}


def state_name(kind: str, name: str, owner: str) -> str:
    """generateName `<kind>-<name>-<owner>-` plus a random suffix, as the API server does."""
    prefix = f"{kind}-{name}-{owner}-".lower()[:58]
    return prefix + secrets.token_hex(3)[:5]


def owner_attributes_json(attributes: dict[str, str]) -> str:
    """The owner-attributes annotation: compact JSON with sorted keys."""
    return json.dumps(attributes, sort_keys=True, separators=(",", ":"))
