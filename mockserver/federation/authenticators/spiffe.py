"""SPIFFE mTLS: the client certificate's `spiffe://` ID → identity (§3.5)."""

from __future__ import annotations

import re

from cryptography import x509

from mockserver.federation.authenticators.base import (
    Credentials,
    Identity,
    KubeAttributes,
    Refusal,
    Setup,
)

SPIFFE_PATH = re.compile(r"/([^/]+)/ns/([^/]+)/sa/([^/]+)/([^/]+)/pod/([^/]+)/([^/]+)")
SPIFFE_PATH_ERROR = (
    "invalid spiffe path; should follow the pattern "
    "/{app-name}/ns/{namespace}/sa/{saID}/{saName}/pod/{podID}/{podName}"
)


def spiffe_id_of(cert_pem: str) -> str:
    """The one `spiffe://` URI SAN of a leaf certificate, as go-spiffe extracts it."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = sans.get_values_for_type(x509.UniformResourceIdentifier)
    except (ValueError, x509.ExtensionNotFound) as exc:
        raise Refusal("error extracting spiffe id: certificate contains no URI SAN") from exc
    if len(uris) != 1:
        many = "no URI SAN" if not uris else "more than one URI SAN"
        raise Refusal(f"error extracting spiffe id: certificate contains {many}")
    if not uris[0].startswith("spiffe://"):
        raise Refusal("error extracting spiffe id: scheme is missing or invalid")
    return uris[0]


class Spiffe:
    """The workload's SVID, already verified by the mTLS listener's handshake."""

    name = "spiffe"

    def __init__(self, setup: Setup) -> None:
        del setup  # nothing to configure: the listener checked the chain and the allow-list

    def presented(self, creds: Credentials) -> bool:
        return bool(creds.peer_cert_pem)

    def authenticate(self, creds: Credentials) -> Identity:
        if not creds.peer_cert_pem:
            raise Refusal("no certificates in request")
        spiffe_id = spiffe_id_of(creds.peer_cert_pem)
        trust_domain, _, path = spiffe_id[len("spiffe://") :].partition("/")
        found = SPIFFE_PATH.fullmatch("/" + path)
        if found is None:
            raise Refusal(SPIFFE_PATH_ERROR)
        _app, namespace, sa_uid, sa_name, pod_uid, pod_name = found.groups()
        return Identity(
            method="spiffe",
            provider=trust_domain,
            subject=spiffe_id,
            kube=KubeAttributes(namespace, sa_name, sa_uid, pod_name, pod_uid),
        )
