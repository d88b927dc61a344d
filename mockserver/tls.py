"""Certificate authorities, serving certificates, SPIFFE X.509-SVIDs and SSL contexts.

Every fake cluster serves its discovery endpoints over HTTPS with a certificate from its own CA
(or one shared with another cluster), because a Federation Server fetches them with the `ca.crt`
the caller sends. Certificate validity uses the real wall clock, not the shiftable one: OpenSSL
checks certificates against the operating system's time.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import ssl
import tempfile
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mockserver.files import write_private_file

__all__ = [
    "CertificateAuthority",
    "SpiffeAuthority",
    "client_context",
    "server_context",
    "write_private_file",
]

CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"


class CertificateAuthority:
    """A trustme CA that can be saved and reloaded, so a restarted mock keeps its trust anchor."""

    def __init__(self, ca: trustme.CA) -> None:
        self.trustme = ca

    @classmethod
    def create(cls, organization_name: str | None = None) -> CertificateAuthority:
        return cls(trustme.CA(organization_name=organization_name))

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> CertificateAuthority:
        folder = Path(directory)
        cert = (folder / CA_CERT_FILE).read_bytes()
        key = (folder / CA_KEY_FILE).read_bytes()
        return cls(trustme.CA.from_pem(cert, key))

    @staticmethod
    def exists(directory: str | os.PathLike[str]) -> bool:
        folder = Path(directory)
        return (folder / CA_CERT_FILE).is_file() and (folder / CA_KEY_FILE).is_file()

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write `ca.pem` and `ca-key.pem`, both mode 0600."""
        folder = Path(directory)
        write_private_file(folder / CA_CERT_FILE, self.cert_pem)
        write_private_file(folder / CA_KEY_FILE, self.private_key_pem)

    @property
    def cert_pem(self) -> bytes:
        return self.trustme.cert_pem.bytes()

    @property
    def private_key_pem(self) -> bytes:
        return self.trustme.private_key_pem.bytes()

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the DER certificate, hex: a stable name for caches keyed by CA."""
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return hashlib.sha256(der).hexdigest()

    def issue_server_cert(self, *names: str, **kwargs: object) -> trustme.LeafCert:
        """A leaf for the given DNS names / IPs (trustme adds clientAuth+serverAuth EKUs)."""
        if not names:
            raise ValueError("a server certificate needs at least one name")
        return self.trustme.issue_cert(*names, **kwargs)  # type: ignore[arg-type]

    def issue_apiserver_cert(self, *names: str) -> trustme.LeafCert:
        """A serving leaf as kube-apiserver's: the given DNS names / IPs, extended key usage
        serverAuth only (trustme's leaves also carry clientAuth), valid for a year."""
        if not names:
            raise ValueError("a server certificate needs at least one name")
        key = ec.generate_private_key(ec.SECP256R1())
        ca_key = serialization.load_pem_private_key(self.private_key_pem, password=None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise ValueError("the CA key is neither EC nor RSA")
        ca_cert = self.certificate
        now = datetime.datetime.now(datetime.UTC)
        sans: list[x509.GeneralName] = []
        for name in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=True,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                critical=False,
            )
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return trustme.LeafCert(key_pem, cert.public_bytes(serialization.Encoding.PEM), [])

    def configure_trust(self, ctx: ssl.SSLContext) -> None:
        self.trustme.configure_trust(ctx)

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this CA and nothing else, hostname checks on."""
        return client_context(self)


def _trust_pem(trust: CertificateAuthority | SpiffeAuthority | bytes) -> bytes:
    if isinstance(trust, CertificateAuthority):
        return trust.cert_pem
    if isinstance(trust, SpiffeAuthority):
        return trust.trust_bundle_pem
    return bytes(trust)


CertChain = trustme.LeafCert | tuple[bytes, bytes]
"""A trustme leaf, or (certificate chain PEM, private key PEM)."""


def _load_chain(ctx: ssl.SSLContext, chain: CertChain) -> None:
    if isinstance(chain, trustme.LeafCert):
        chain.configure_cert(ctx)
        return
    cert_pem, key_pem = chain
    # The ssl module only loads chains from files: write them to a private temporary folder.
    with tempfile.TemporaryDirectory(prefix="esi-tls-") as tmp:
        cert_file, key_file = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        write_private_file(cert_file, cert_pem)
        write_private_file(key_file, key_pem)
        ctx.load_cert_chain(cert_file, key_file)


def server_context(
    cert_chain: CertChain,
    require_client_cert_from: CertificateAuthority | SpiffeAuthority | bytes | None = None,
) -> ssl.SSLContext:
    """A TLS 1.2+ server context; with `require_client_cert_from`, clients must present a cert
    chaining to that CA or bundle (the SPIFFE ID itself is checked after the handshake)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    _load_chain(ctx, cert_chain)
    if require_client_cert_from is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=_trust_pem(require_client_cert_from).decode("ascii"))
    return ctx


def client_context(
    trust: CertificateAuthority | SpiffeAuthority | bytes,
    client_cert: CertChain | None = None,
) -> ssl.SSLContext:
    """A client context trusting only `trust` (hostname checks on), optionally presenting a
    client certificate for mTLS."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(cadata=_trust_pem(trust).decode("ascii"))
    if client_cert is not None:
        _load_chain(ctx, client_cert)
    return ctx


class SpiffeAuthority:
    """A SPIFFE trust domain's CA issuing X.509-SVIDs (trustme cannot write URI SANs)."""

    def __init__(self, trust_domain: str = "example.org", ca: CertificateAuthority | None = None):
        self.trust_domain = trust_domain
        self.ca = ca if ca is not None else CertificateAuthority.create(f"SPIFFE {trust_domain}")

    @property
    def trust_bundle_pem(self) -> bytes:
        return self.ca.cert_pem

    def issue_svid(
        self,
        spiffe_id: str,
        not_after: datetime.datetime | None = None,
        not_before: datetime.datetime | None = None,
    ) -> tuple[bytes, bytes]:
        """An X.509-SVID for `spiffe_id`: (leaf certificate PEM, PKCS#8 EC P-256 key PEM).

        The leaf carries the URI SAN, BasicConstraints ca=False and EKU clientAuth+serverAuth,
        and is signed by the CA key, so it works as both an mTLS client and server certificate.
        """
        if not spiffe_id.startswith("spiffe://"):
            raise ValueError(f"not a SPIFFE ID: {spiffe_id!r}")
        now = datetime.datetime.now(datetime.UTC)
        not_before = not_before or now - datetime.timedelta(minutes=5)
        not_after = not_after or now + datetime.timedelta(days=365)
        ca_cert = self.ca.certificate
        ca_key = serialization.load_pem_private_key(self.ca.private_key_pem, password=None)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SPIFFE")])
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(spiffe_id)]),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
        )
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cert_pem, key_pem
