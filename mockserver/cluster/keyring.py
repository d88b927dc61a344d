"""A cluster's signing keys: the published set, the one it signs with, and rotation."""

from __future__ import annotations

import threading
from pathlib import Path

from mockserver.cluster.inventory import Mutations
from mockserver.keys import SigningKey, load_keys, save_keys


class KeyRing:
    """Published keys in JWKS order plus the signing kid; every change bumps `mutations`."""

    def __init__(
        self,
        cluster_name: str,
        keys: list[SigningKey],
        signing_kid: str | None,
        mutations: Mutations,
    ) -> None:
        self.cluster_name = cluster_name
        self._mutations = mutations
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = []
        self._retired: list[SigningKey] = []
        self._signing_kid = ""
        self.replace(keys, signing_kid)

    def replace(self, keys: list[SigningKey], signing_kid: str | None) -> None:
        if not keys:
            raise ValueError(f"cluster {self.cluster_name} needs at least one signing key")
        kid = signing_kid or keys[0].kid
        if kid not in {k.kid for k in keys}:
            raise ValueError(
                f"signing kid {kid} is not among the keys of cluster {self.cluster_name}"
            )
        with self._lock:
            self._keys, self._signing_kid = list(keys), kid
            published = {k.kid for k in keys}
            self._retired = [k for k in self._retired if k.kid not in published]
        self._mutations.bump()

    @property
    def keys(self) -> list[SigningKey]:
        with self._lock:
            return list(self._keys)

    @property
    def signing_kid(self) -> str:
        return self._signing_kid

    @property
    def signing_key(self) -> SigningKey:
        with self._lock:
            return next(k for k in self._keys if k.kid == self._signing_kid)

    def key(self, kid: str) -> SigningKey:
        with self._lock:
            for key in self._keys:
                if key.kid == kid:
                    return key
        raise KeyError(f"cluster {self.cluster_name} publishes no key {kid}")

    def matching(self, kid: str | None) -> list[SigningKey]:
        """The keys a token with this kid may be signed by (no kid or "": every key)."""
        with self._lock:
            return [k for k in self._keys if kid in (None, "", k.kid)]

    @property
    def retired(self) -> list[SigningKey]:
        """Keys unpublished by `retire`, oldest first (a key published again leaves the list)."""
        with self._lock:
            return list(self._retired)

    def add(self, key: SigningKey) -> SigningKey:
        with self._lock:
            if any(k.kid == key.kid for k in self._keys):
                return key
            self._keys.append(key)
            self._retired = [k for k in self._retired if k.kid != key.kid]
        self._mutations.bump()
        return key

    def sign_with(self, kid: str) -> None:
        self.key(kid)
        with self._lock:
            self._signing_kid = kid
        self._mutations.bump()

    def retire(self, kid: str) -> None:
        with self._lock:
            if kid == self._signing_kid:
                raise ValueError(
                    f"cannot retire {kid}: cluster {self.cluster_name} still signs with it"
                )
            if all(k.kid != kid for k in self._keys):
                raise KeyError(f"cluster {self.cluster_name} publishes no key {kid}")
            self._retired += [k for k in self._keys if k.kid == kid]
            self._keys = [k for k in self._keys if k.kid != kid]
        self._mutations.bump()

    def save(self, folder: Path) -> None:
        with self._lock:
            save_keys(folder, self._keys, self._signing_kid)

    def load(self, folder: Path) -> bool:
        saved = load_keys(folder)
        if saved is None:
            return False
        self.replace(*saved)
        return True
