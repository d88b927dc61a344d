"""What the runner talks to: the target's URLs and trust, its hooks, and the fake clusters."""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from conformance.runner.clusters import ClusterSet
from conformance.runner.hooks import MTLS, Hooks, NoHooks
from mockserver.idp import IdentityProviders
from mockserver.state import write_private_file
from mockserver.tls import CertificateAuthority, SpiffeAuthority, client_context


@dataclass
class Target:
    """A Federation Server under test.

    `http_url` is the plain port; `https_url` the TLS port for bearer callers (trusting
    `server_ca_pem`); `mtls_url` the SPIFFE port, usable only with `spiffe` (the authority whose
    SVIDs the target trusts). `token_state` and `target_ca_file` go into reproduce commands. `baseline` is the manifests the target loaded (what set-up changes
    are undone to) and `variables` the `${clusters.<name>.url}` values.
    """

    name: str
    http_url: str
    clusters: ClusterSet
    hooks: Hooks = field(default_factory=NoHooks)
    https_url: str | None = None
    mtls_url: str | None = None
    server_ca_pem: bytes | None = None
    spiffe: SpiffeAuthority | None = None
    baseline: tuple[dict[str, Any], ...] = ()
    variables: dict[str, str] = field(default_factory=dict)
    idps: IdentityProviders | None = None
    """The fake Okta and PingOne whose tokens Okta/Ping scenarios present."""
    idps_reached: frozenset[str] = frozenset()
    """Which of `okta`, `pingone` the target reaches (name mapping and trust in place)."""
    token_state: str = "STATE"
    """The folder `esi-mock token --state-dir` mints this target's tokens from (the bundle)."""
    target_ca_file: str | None = None

    @property
    def capabilities(self) -> frozenset[str]:
        caps = set(self.hooks.capabilities)
        if self.mtls_url and self.spiffe is not None and self.server_ca_pem is not None:
            caps.add(MTLS)
        if self.idps is not None:
            caps |= self.idps_reached & {"okta", "pingone"}
        return frozenset(caps)

    def tls_context(self, client_cert: tuple[bytes, bytes] | None = None) -> ssl.SSLContext:
        """A client context trusting the target's server CA (system roots when none given)."""
        if self.server_ca_pem is None:
            ctx = ssl.create_default_context()
            if client_cert is not None:
                _load_client_cert(ctx, client_cert)
            return ctx
        return client_context(self.server_ca_pem, client_cert)

    @cached_property
    def https_context(self) -> ssl.SSLContext:
        return self.tls_context()

    @cached_property
    def foreign_spiffe(self) -> SpiffeAuthority:
        """A CA no target trusts, for `svid: untrusted`."""
        return SpiffeAuthority("example.org", CertificateAuthority.create("untrusted SPIFFE CA"))

    def svid_context(self, spiffe_id: str | None, untrusted: bool = False) -> ssl.SSLContext:
        """A context presenting an SVID for `spiffe_id` (None: no client certificate)."""
        if spiffe_id is None:
            return self.tls_context()
        key = (spiffe_id, untrusted)
        cache = self.__dict__.setdefault("_svid_cache", {})
        if key not in cache:
            authority = self.foreign_spiffe if untrusted else self.spiffe
            assert authority is not None
            cache[key] = self.tls_context(authority.issue_svid(spiffe_id))
        return cache[key]


def _load_client_cert(ctx: ssl.SSLContext, chain: tuple[bytes, bytes]) -> None:
    """The ssl module loads certificates from files only: use a private temporary folder."""
    with tempfile.TemporaryDirectory(prefix="esi-svid-") as tmp:
        cert, key = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        write_private_file(cert, chain[0])
        write_private_file(key, chain[1])
        ctx.load_cert_chain(cert, key)
