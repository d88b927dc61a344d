"""Signing keys (Kubernetes kid, JWK member order, PEM round trips, 0600 persistence) and the
CAs, SVIDs and SSL contexts of mockserver.tls."""

from __future__ import annotations

import datetime
import json
import ssl
import stat

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.keys import (
    SigningKey,
    compute_kid,
    go_json,
    load_keys,
    load_public_pem,
    public_jwk,
    save_keys,
)
from mockserver.tls import CertificateAuthority, SpiffeAuthority, client_context, server_context

# Public test keys from kubernetes/kubernetes pkg/serviceaccount/jwt_test.go (public halves only).
RSA_PUBLIC_PEM = b"""-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA249XwEo9k4tM8fMxV7zx
OhcrP+WvXn917koM5Qr2ZXs4vo26e4ytdlrV0bQ9SlcLpQVSYjIxNfhTZdDt+ecI
zshKuv1gKIxbbLQMOuK1eA/4HALyEkFgmS/tleLJrhc65tKPMGD+pKQ/xhmzRuCG
51RoiMgbQxaCyYxGfNLpLAZK9L0Tctv9a0mJmGIYnIOQM4kC1A1I1n3EsXMWmeJU
j7OTh/AjjCnMnkgvKT2tpKxYQ59PgDgU8Ssc7RDSmSkLxnrv+OrN80j6xrw0OjEi
B4Ycr0PqfzZcvy8efTtFQ/Jnc4Bp1zUtFXt7+QeevePtQ2EcyELXE0i63T1CujRM
WwIDAQAB
-----END PUBLIC KEY-----
"""
EC_PUBLIC_PEM = b"""-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEH6cuzP8XuD5wal6wf9M6xDljTOPL
X2i8uIp/C/ASqiIGUeeKQtX0/IR3qCXyThP/dbCiHrF3v1cuhBOHY8CLVg==
-----END PUBLIC KEY-----
"""
RSA_KID = "JHJehTTTZlsspKHT-GaJxK7Kd1NQgZJu3fyK6K_QDYU"
EC_KID = "SoABiieYuNx4UdqYvZRVeuC6SihxgLrhLy9peHMHpTc"

RSA_JWK = (
    '{"use":"sig","kty":"RSA","kid":"JHJehTTTZlsspKHT-GaJxK7Kd1NQgZJu3fyK6K_QDYU","alg":"RS256",'
    '"n":"249XwEo9k4tM8fMxV7zxOhcrP-WvXn917koM5Qr2ZXs4vo26e4ytdlrV0bQ9SlcLpQVSYjIxNfhTZdDt-ecIzshKu'
    "v1gKIxbbLQMOuK1eA_4HALyEkFgmS_tleLJrhc65tKPMGD-pKQ_xhmzRuCG51RoiMgbQxaCyYxGfNLpLAZK9L0Tctv9a0"
    "mJmGIYnIOQM4kC1A1I1n3EsXMWmeJUj7OTh_AjjCnMnkgvKT2tpKxYQ59PgDgU8Ssc7RDSmSkLxnrv-OrN80j6xrw0OjE"
    'iB4Ycr0PqfzZcvy8efTtFQ_Jnc4Bp1zUtFXt7-QeevePtQ2EcyELXE0i63T1CujRMWw","e":"AQAB"}'
)
EC_JWK = (
    '{"use":"sig","kty":"EC","kid":"SoABiieYuNx4UdqYvZRVeuC6SihxgLrhLy9peHMHpTc","crv":"P-256",'
    '"alg":"ES256","x":"H6cuzP8XuD5wal6wf9M6xDljTOPLX2i8uIp_C_ASqiI",'
    '"y":"BlHnikLV9PyEd6gl8k4T_3Wwoh6xd79XLoQTh2PAi1Y"}'
)


def test_kid_of_kubernetes_rsa_test_key() -> None:
    assert compute_kid(load_public_pem(RSA_PUBLIC_PEM)) == RSA_KID


def test_kid_of_kubernetes_ecdsa_test_key() -> None:
    assert compute_kid(load_public_pem(EC_PUBLIC_PEM)) == EC_KID


def test_jwk_member_order_and_values_match_kubernetes() -> None:
    assert go_json(public_jwk(load_public_pem(RSA_PUBLIC_PEM))).decode() == RSA_JWK
    assert go_json(public_jwk(load_public_pem(EC_PUBLIC_PEM))).decode() == EC_JWK


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey.generate("rsa")


@pytest.fixture(scope="module")
def ec_key() -> SigningKey:
    return SigningKey.generate("ec")


def test_generated_rsa_key(rsa_key: SigningKey) -> None:
    assert rsa_key.alg == "RS256"
    assert rsa_key.key_type == "rsa"
    assert rsa_key.private_key.key_size == 2048
    assert rsa_key.kid == compute_kid(rsa_key.public_key)
    assert len(rsa_key.kid) == 43
    assert list(rsa_key.public_jwk()) == ["use", "kty", "kid", "alg", "n", "e"]
    assert rsa_key.public_jwk()["e"] == "AQAB"


def test_generated_ec_key(ec_key: SigningKey) -> None:
    assert ec_key.alg == "ES256"
    assert ec_key.key_type == "ec"
    jwk = ec_key.public_jwk()
    assert list(jwk) == ["use", "kty", "kid", "crv", "alg", "x", "y"]
    assert jwk["crv"] == "P-256"
    # Coordinates are left-padded to 32 bytes: 43 unpadded base64url characters.
    assert len(jwk["x"]) == len(jwk["y"]) == 43


def test_unknown_key_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown key type 'dsa'"):
        SigningKey.generate("dsa")


def test_pem_round_trip_keeps_the_kid(rsa_key: SigningKey, ec_key: SigningKey) -> None:
    for key in (rsa_key, ec_key):
        again = SigningKey.from_pem(key.private_pem())
        assert again.kid == key.kid
        assert again.alg == key.alg
        assert again == key
        assert key.private_pem().startswith(b"-----BEGIN PRIVATE KEY-----")
        assert compute_kid(load_public_pem(key.public_pem())) == key.kid


def test_save_and_load_keys_with_mode_0600(
    tmp_path, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    folder = tmp_path / "keys"
    save_keys(folder, [rsa_key, ec_key], signing_kid=ec_key.kid)
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    loaded = load_keys(folder)
    assert loaded is not None
    keys, signing = loaded
    assert [k.kid for k in keys] == [rsa_key.kid, ec_key.kid]
    assert signing == ec_key.kid
    # Saving a smaller set removes the retired key's file.
    save_keys(folder, [ec_key], signing_kid=ec_key.kid)
    assert {p.name for p in folder.iterdir()} == {"index.json", f"{ec_key.kid}.pem"}


def test_load_keys_from_an_empty_folder_is_none(tmp_path) -> None:
    assert load_keys(tmp_path) is None


@settings(max_examples=50)
@given(st.text())
def test_go_json_escapes_like_go(text: str) -> None:
    encoded = go_json({"s": text}).decode("utf-8")
    for char in "<>&\u2028\u2029":
        assert char not in encoded
    assert json.loads(encoded) == {"s": text}


def test_go_json_exact_escapes() -> None:
    assert (
        go_json({"a": "<&>\u2028\u2029é"}) == b'{"a":"\\u003c\\u0026\\u003e\\u2028\\u2029\xc3\xa9"}'
    )


# -- certificate authorities and SPIFFE SVIDs (mockserver.tls) -----------------------------


def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, name: str) -> ssl.SSLObject:
    """A TLS handshake in memory (no sockets); returns the server side's SSLObject."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=name)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for side, obj in (("client", client), ("server", server)):
            if not done[side]:
                try:
                    obj.do_handshake()
                    done[side] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return server
    raise AssertionError("handshake did not finish")


def test_ca_save_and_load_keep_the_same_ca(tmp_path) -> None:
    ca = CertificateAuthority.create()
    ca.save(tmp_path / "ca")
    assert CertificateAuthority.exists(tmp_path / "ca")
    for path in (tmp_path / "ca").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = CertificateAuthority.load(tmp_path / "ca")
    assert again.cert_pem == ca.cert_pem
    assert again.fingerprint == ca.fingerprint
    # A certificate issued by the reloaded CA is trusted by a client of the original.
    leaf = again.issue_server_cert("localhost")
    _handshake(server_context(leaf), ca.client_context(), "localhost")


def test_client_context_trusts_only_its_ca() -> None:
    ca, other = CertificateAuthority.create(), CertificateAuthority.create()
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(
            server_context(other.issue_server_cert("localhost")), ca.client_context(), "localhost"
        )
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(server_context(ca.issue_server_cert("localhost")), ca.client_context(), "other")


def test_svid_shape() -> None:
    authority = SpiffeAuthority("example.org")
    cert_pem, key_pem = authority.issue_svid("spiffe://example.org/ns/apps/sa/builder")
    cert = x509.load_pem_x509_certificate(cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
        "spiffe://example.org/ns/apps/sa/builder"
    ]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH}
    assert cert.issuer == x509.load_pem_x509_certificate(authority.trust_bundle_pem).subject
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    with pytest.raises(ValueError, match="not a SPIFFE ID"):
        authority.issue_svid("https://example.org/x")


def test_svid_authenticates_an_mtls_client() -> None:
    authority = SpiffeAuthority("example.org")
    server_ca = CertificateAuthority.create()
    svid = authority.issue_svid("spiffe://example.org/workload")
    server = _handshake(
        server_context(
            server_ca.issue_server_cert("localhost"), require_client_cert_from=authority
        ),
        client_context(server_ca, client_cert=svid),
        "localhost",
    )
    assert ("URI", "spiffe://example.org/workload") in server.getpeercert()["subjectAltName"]


def test_mtls_refuses_a_client_without_a_certificate() -> None:
    authority = SpiffeAuthority("example.org")
    server_ca = CertificateAuthority.create()
    ctx = server_context(
        server_ca.issue_server_cert("localhost"), require_client_cert_from=authority
    )
    with pytest.raises(ssl.SSLError, match="PEER_DID_NOT_RETURN_A_CERTIFICATE"):
        server = _handshake(ctx, client_context(server_ca), "localhost")
        # TLS 1.3 reports the missing certificate on the first read.
        server.read(1)


def test_expired_svid_is_refused() -> None:
    authority = SpiffeAuthority("example.org")
    server_ca = CertificateAuthority.create()
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    svid = authority.issue_svid(
        "spiffe://example.org/old", not_before=past - datetime.timedelta(days=1), not_after=past
    )
    ctx = server_context(
        server_ca.issue_server_cert("localhost"), require_client_cert_from=authority
    )
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate has expired"):
        server = _handshake(ctx, client_context(server_ca, client_cert=svid), "localhost")
        server.read(1)
