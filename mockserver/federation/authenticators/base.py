"""What every authenticator shares: the credentials it reads, the identity it answers, its refusal.

Adding an authenticator means one module implementing `Authenticator` and one line in
`registry.py`; nothing else in the request path names authenticators.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from mockserver.clock import CLOCK, Clock
from mockserver.federation.jwtparse import ParsedToken
from mockserver.federation.modes import Behaviour

if TYPE_CHECKING:
    from mockserver.federation.idp_keys import IssuerKeys
    from mockserver.federation.upstream import KeyResolver


@dataclass(frozen=True)
class KubeAttributes:
    """The workload a request acts for: namespace, service account, optional pod."""

    namespace: str = ""
    sa_name: str = ""
    sa_uid: str = ""
    pod_name: str = ""
    pod_uid: str = ""

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> KubeAttributes:
        def member(mapping: dict[str, Any], key: str) -> dict[str, Any]:
            value = mapping.get(key)
            return value if isinstance(value, dict) else {}

        def text(mapping: dict[str, Any], key: str) -> str:
            value = mapping.get(key)
            return value if isinstance(value, str) else ""

        kube = member(claims, "kubernetes.io")
        sa, pod = member(kube, "serviceaccount"), member(kube, "pod")

        return cls(
            namespace=text(kube, "namespace"),
            sa_name=text(sa, "name"),
            sa_uid=text(sa, "uid"),
            pod_name=text(pod, "name"),
            pod_uid=text(pod, "uid"),
        )


@dataclass(frozen=True)
class Identity:
    """Who is calling: method, provider (issuer or trust domain), subject, workload."""

    method: str
    provider: str
    subject: str
    kube: KubeAttributes | None
    token: ParsedToken | None = None


@dataclass(frozen=True)
class Credentials:
    """What a request carries for authentication."""

    authorization: str | None
    body: bytes
    peer_cert_pem: str | None = None


class Refusal(Exception):
    """One authenticator refused; `str()` is the real server's 401 text, `detail` the journal's."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


@dataclass(frozen=True)
class Setup:
    """What authenticators are built from: the key resolver, the modes, the clock, audiences."""

    resolver: KeyResolver
    behaviour: Behaviour
    clock: Clock = CLOCK
    extra_audiences: tuple[str, ...] = ()
    issuer_keys: IssuerKeys | None = None
    """The JWKS step of the Okta and PingIdentity authenticators (`idp_keys.py`)."""


class Authenticator(Protocol):
    """One way of proving who is calling."""

    name: str

    def authenticate(self, creds: Credentials) -> Identity:
        """The caller's identity, or raise `Refusal` with the real server's text."""
        ...

    def presented(self, creds: Credentials) -> bool:
        """Whether the credentials are of this kind; in the deterministic order the refusal of
        the last authenticator they were presented to is the one answered."""
        ...
