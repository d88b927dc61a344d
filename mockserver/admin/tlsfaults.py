"""Bad server certificates for TLS faults: an untrusted CA, an expired leaf, a wrong name.

Built on first use and cached, because each needs a key pair; used through the listeners'
per-connection context hook, so only the connections a fault picks see them.
"""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Sequence

import trustme

from mockserver.tls import CertificateAuthority, SpiffeAuthority, server_context

KINDS = ("untrusted-ca", "expired", "wrong-name")
WRONG_NAME = "wrong-name.invalid"

_lock = threading.Lock()
_untrusted: CertificateAuthority | None = None


def _untrusted_ca() -> CertificateAuthority:
    global _untrusted
    with _lock:
        if _untrusted is None:
            _untrusted = CertificateAuthority.create("esi-mock untrusted fault CA")
        return _untrusted


class BadContexts:
    """Server contexts presenting a bad certificate for the names a listener normally serves."""

    def __init__(
        self,
        ca: CertificateAuthority,
        names: Sequence[str],
        require_client_cert_from: SpiffeAuthority | None = None,
    ) -> None:
        self.ca = ca
        self.names = tuple(names)
        self.require_client_cert_from = require_client_cert_from
        self._lock = threading.Lock()
        self._contexts: dict[str, ssl.SSLContext] = {}

    def get(self, kind: str) -> ssl.SSLContext:
        """The context for `kind` (one of `KINDS`)."""
        with self._lock:
            context = self._contexts.get(kind)
            if context is None:
                context = server_context(self._leaf(kind), self.require_client_cert_from)
                self._contexts[kind] = context
            return context

    def _leaf(self, kind: str) -> trustme.LeafCert:
        if kind == "untrusted-ca":
            return _untrusted_ca().issue_server_cert(*self.names)
        if kind == "expired":
            now = datetime.datetime.now(datetime.UTC)
            return self.ca.issue_server_cert(
                *self.names,
                not_before=now - datetime.timedelta(days=30),
                not_after=now - datetime.timedelta(days=1),
            )
        if kind == "wrong-name":
            return self.ca.issue_server_cert(WRONG_NAME)
        raise ValueError(f"unknown TLS fault {kind!r}; known: {', '.join(KINDS)}")
