"""One issuer of a fake identity provider: its URLs, its signing keys, their rotation."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mockserver.keys import SigningKey, load_keys, save_keys


class KeySet:
    """Published keys in JWKS order and the one tokens are signed with; changes call `changed`."""

    def __init__(self, owner: str, changed: Callable[[], None]) -> None:
        self.owner = owner
        self._changed = changed
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = [SigningKey.generate("rsa")]
        self._signing = self._keys[0].kid

    @property
    def keys(self) -> list[SigningKey]:
        with self._lock:
            return list(self._keys)

    @property
    def signing_key(self) -> SigningKey:
        with self._lock:
            return next(k for k in self._keys if k.kid == self._signing)

    def add(self, key: SigningKey | None = None) -> SigningKey:
        """Publish one more RSA key (not yet signing): the first step of a rotation."""
        key = key or SigningKey.generate("rsa")
        with self._lock:
            if all(k.kid != key.kid for k in self._keys):
                self._keys.append(key)
        self._changed()
        return key

    def sign_with(self, kid: str) -> None:
        with self._lock:
            if all(k.kid != kid for k in self._keys):
                raise KeyError(f"{self.owner} publishes no key {kid}")
            self._signing = kid
        self._changed()

    def retire(self, kid: str) -> None:
        with self._lock:
            if kid == self._signing:
                raise ValueError(f"cannot retire {kid}: {self.owner} still signs with it")
            if all(k.kid != kid for k in self._keys):
                raise KeyError(f"{self.owner} publishes no key {kid}")
            self._keys = [k for k in self._keys if k.kid != kid]
        self._changed()

    def restore(self, keys: list[SigningKey], signing_kid: str) -> None:
        """Publish exactly `keys` again and sign with `signing_kid` (undoing rotations): added
        first, then signing switched, then the others retired, so no step is refused."""
        for key in keys:
            self.add(key)
        self.sign_with(signing_kid)
        for key in self.keys:
            if key not in keys:
                self.retire(key.kid)

    def save(self, folder: Path) -> None:
        with self._lock:
            save_keys(folder, self._keys, self._signing)

    def load(self, folder: Path) -> bool:
        saved = load_keys(folder)
        if saved is None:
            return False
        keys, signing = saved
        with self._lock:
            self._keys, self._signing = keys, signing
        self._changed()
        return True


@dataclass
class AuthorizationServer:
    """One issuer: an Okta authorization server or a PingOne environment.

    `id` is the Okta authorization server id ("" for the org server) or the PingOne
    environment id; `host` is the public host name the issuer lives at.
    """

    id: str
    host: str
    issuer: str
    base_path: str
    """The path prefix of its endpoints: "" (Okta org), "/oauth2/<id>" or "/<env>/as"."""
    jwks_path: str
    audience: str
    region: str = ""
    keys: KeySet = field(init=False, repr=False)

    @property
    def discovery_path(self) -> str:
        return f"{self.base_path}/.well-known/openid-configuration"

    @property
    def jwks_uri(self) -> str:
        return f"https://{self.host}{self.jwks_path}"

    @property
    def key_folder(self) -> str:
        """Its folder name in the state folder (`org` for the Okta org server)."""
        return self.id or "org"


def okta_servers(host: str, custom_ids: tuple[str, ...]) -> list[AuthorizationServer]:
    """The org authorization server and custom ones, each with its own issuer, as Okta has."""
    domain = f"https://{host}"
    servers = [AuthorizationServer("", host, domain, "", "/oauth2/v1/keys", domain)]
    for server_id in custom_ids:
        base = f"/oauth2/{server_id}"
        servers.append(
            AuthorizationServer(
                server_id, host, domain + base, base, base + "/v1/keys", f"api://{server_id}"
            )
        )
    return servers


def pingone_servers(environments: Mapping[str, tuple[str, ...]]) -> list[AuthorizationServer]:
    """PingOne environments per region: issuer `https://auth.pingone.<region>/<env>/as`."""
    servers = []
    for region, env_ids in environments.items():
        host = f"auth.pingone.{region}"
        for env in env_ids:
            base = f"/{env}/as"
            servers.append(
                AuthorizationServer(
                    env,
                    host,
                    f"https://{host}{base}",
                    base,
                    base + "/jwks",
                    f"https://api.pingone.{region}",
                    region,
                )
            )
    return servers
