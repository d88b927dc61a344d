"""Discovery and JWKS documents, byte for byte against kubernetes' openidmetadata_test.go."""

from __future__ import annotations

import pytest
from test_keys import EC_JWK, EC_PUBLIC_PEM, RSA_JWK, RSA_PUBLIC_PEM

from mockserver.discovery import discovery_document, https_url_error, jwks_document
from mockserver.keys import SigningKey, load_public_pem

ISSUER = "https://issuer.example.com"
KEYS = [load_public_pem(RSA_PUBLIC_PEM), load_public_pem(EC_PUBLIC_PEM)]

WANT_KEYSET = '{"keys":[' + RSA_JWK + "," + EC_JWK + "]}"


@pytest.mark.parametrize(
    ("issuer", "jwks_uri", "want"),
    [
        (
            ISSUER,
            ISSUER + "/openid/v1/jwks",
            '{"issuer":"https://issuer.example.com","jwks_uri":"https://issuer.example.com/openid/v1/'
            'jwks","response_types_supported":["id_token"],"subject_types_supported":["public"],'
            '"id_token_signing_alg_values_supported":["ES256","RS256"]}',
        ),
        (
            ISSUER,
            "https://192.0.2.1:80/openid/v1/jwks",
            '{"issuer":"https://issuer.example.com","jwks_uri":"https://192.0.2.1:80/openid/v1/jwks",'
            '"response_types_supported":["id_token"],"subject_types_supported":["public"],'
            '"id_token_signing_alg_values_supported":["ES256","RS256"]}',
        ),
        (
            "https://192.0.2.1:80",
            "https://192.0.2.1:80/openid/v1/jwks",
            '{"issuer":"https://192.0.2.1:80","jwks_uri":"https://192.0.2.1:80/openid/v1/jwks",'
            '"response_types_supported":["id_token"],"subject_types_supported":["public"],'
            '"id_token_signing_alg_values_supported":["ES256","RS256"]}',
        ),
    ],
)
def test_discovery_document_matches_kubernetes_vectors(
    issuer: str, jwks_uri: str, want: str
) -> None:
    assert discovery_document(issuer, jwks_uri, KEYS) == want.encode()


def test_jwks_document_matches_kubernetes_vector() -> None:
    assert jwks_document(KEYS) == WANT_KEYSET.encode()


def test_jwks_from_signing_keys_publishes_only_public_members() -> None:
    key = SigningKey.generate("ec")
    document = jwks_document([key])
    assert document == b'{"keys":[' + jwks_document([key.public_key])[9:-2] + b"]}"
    for private_member in (b'"d"', b'"p"', b'"q"'):
        assert private_member not in document


def test_algs_are_sorted_and_unique() -> None:
    doc = discovery_document(ISSUER, ISSUER + "/openid/v1/jwks", KEYS[::-1] + KEYS)
    assert doc.endswith(b'"id_token_signing_alg_values_supported":["ES256","RS256"]}')


@pytest.mark.parametrize(
    ("issuer", "jwks_uri", "reason"),
    [
        ("http://issuer.example.com", ISSUER + "/openid/v1/jwks", "must use the https scheme"),
        ("issuer.example.com", ISSUER + "/openid/v1/jwks", "must use the https scheme"),
        (
            "https://issuer.example.com?foo=bar",
            ISSUER + "/openid/v1/jwks",
            "must not contain a query",
        ),
        (
            "https://issuer.example.com#baz",
            ISSUER + "/openid/v1/jwks",
            "must not contain a fragment",
        ),
        ("https://issuer.example.com?foo=bar#baz", ISSUER + "/openid/v1/jwks", "query"),
        ("issuer", ISSUER + "/openid/v1/jwks", "must use the https scheme"),
        (ISSUER, "http://issuer.example.com/openid/v1/jwks", "jwks_uri URL"),
        (ISSUER, "issuer.example.com/openid/v1/jwks", "jwks_uri URL"),
        (ISSUER, "issuer/openid/v1/jwks", "jwks_uri URL"),
    ],
)
def test_invalid_issuer_or_jwks_uri_is_refused(issuer: str, jwks_uri: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        discovery_document(issuer, jwks_uri, KEYS)


def test_https_url_error_accepts_a_plain_https_url() -> None:
    assert https_url_error("https://kubernetes.default.svc.cluster.local") is None
