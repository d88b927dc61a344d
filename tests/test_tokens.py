"""Tokens: kube-apiserver's exact bytes, TokenRequest limits, the 3607 extension, legacy and
broken tokens, checked with PyJWT as an independent verifier."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.clock import CLOCK
from mockserver.discovery import jwks_document
from mockserver.keys import SigningKey
from mockserver.tokens import (
    BROKEN_KINDS,
    EXTENDED_DURATION,
    WRONG_AUDIENCE,
    WRONG_ISSUER,
    ObjectRef,
    TokenRequestError,
    decode_unverified,
    mint_broken_token,
    mint_legacy_token,
    mint_token,
    verify_signature,
)

ISSUER = "https://kubernetes.default.svc.cluster.local"
NOW = 1514764800  # the instant kubernetes' claims_test.go pins
JTI = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey.generate("rsa")


@pytest.fixture(scope="module")
def ec_key() -> SigningKey:
    return SigningKey.generate("ec")


def segment(token: str, index: int) -> bytes:
    part = token.split(".")[index]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class OfflineJWKClient(jwt.PyJWKClient):
    """PyJWT's own JWKS client (key selection and errors), fed a JWKS without a network."""

    def __init__(self, jwks: bytes) -> None:
        super().__init__("https://jwks.invalid/openid/v1/jwks", cache_jwk_set=False)
        self._document = json.loads(jwks)

    def fetch_data(self) -> Any:
        return self._document


def verify(token: str, keys: list[SigningKey], **kwargs: Any) -> dict[str, Any]:
    """Verify as a Federation Server does: kid lookup in the JWKS, then PyJWT's checks."""
    signing_key = OfflineJWKClient(jwks_document(keys)).get_signing_key_from_jwt(token)
    kwargs.setdefault("audience", ISSUER)
    kwargs.setdefault("issuer", ISSUER)
    return jwt.decode(token, signing_key.key, algorithms=["RS256", "ES256"], **kwargs)


def mint(key: SigningKey, **overrides: Any) -> str:
    args: dict[str, Any] = {
        "issuer": ISSUER,
        "namespace": "default",
        "sa_name": "my-sa",
        "sa_uid": "uid-1",
        "now": NOW,
        "jti": JTI,
    }
    args.update(overrides)
    return mint_token(key, **args)


def test_header_is_exactly_alg_and_kid(rsa_key: SigningKey, ec_key: SigningKey) -> None:
    assert segment(mint(rsa_key), 0) == b'{"alg":"RS256","kid":"' + rsa_key.kid.encode() + b'"}'
    assert segment(mint(ec_key), 0) == b'{"alg":"ES256","kid":"' + ec_key.kid.encode() + b'"}'


def test_unbound_payload_bytes(rsa_key: SigningKey) -> None:
    assert segment(mint(rsa_key), 1) == (
        b'{"aud":["https://kubernetes.default.svc.cluster.local"],"exp":1514768400,'
        b'"iat":1514764800,"iss":"https://kubernetes.default.svc.cluster.local",'
        b'"jti":"00000000-0000-4000-8000-000000000000","kubernetes.io":{"namespace":"default",'
        b'"serviceaccount":{"name":"my-sa","uid":"uid-1"}},"nbf":1514764800,'
        b'"sub":"system:serviceaccount:default:my-sa"}'
    )


def test_pod_bound_payload_with_node_bytes(rsa_key: SigningKey) -> None:
    token = mint(
        rsa_key,
        audiences=["vault", "api"],
        duration=7200,
        pod=ObjectRef("web-0", "pod-uid"),
        node=ObjectRef("node-1", "node-uid"),
    )
    assert segment(token, 1) == (
        b'{"aud":["vault","api"],"exp":1514772000,"iat":1514764800,'
        b'"iss":"https://kubernetes.default.svc.cluster.local",'
        b'"jti":"00000000-0000-4000-8000-000000000000","kubernetes.io":{"namespace":"default",'
        b'"node":{"name":"node-1","uid":"node-uid"},"pod":{"name":"web-0","uid":"pod-uid"},'
        b'"serviceaccount":{"name":"my-sa","uid":"uid-1"}},"nbf":1514764800,'
        b'"sub":"system:serviceaccount:default:my-sa"}'
    )


def test_node_without_uid_writes_only_its_name(rsa_key: SigningKey) -> None:
    claims = json.loads(segment(mint(rsa_key, node=ObjectRef("node-1")), 1))
    assert claims["kubernetes.io"]["node"] == {"name": "node-1"}


def test_empty_audiences_become_the_api_audiences(rsa_key: SigningKey) -> None:
    claims = json.loads(segment(mint(rsa_key, audiences=[], api_audiences=["api", "x"]), 1))
    assert claims["aud"] == ["api", "x"]


def test_random_jti_is_a_uuid4(rsa_key: SigningKey) -> None:
    token = mint_token(rsa_key, issuer=ISSUER, namespace="n", sa_name="s", sa_uid="u", now=NOW)
    jti = json.loads(segment(token, 1))["jti"]
    assert uuid.UUID(jti).version == 4
    assert str(uuid.UUID(jti)) == jti


@pytest.mark.parametrize(
    ("duration", "message"),
    [
        (
            599,
            "spec.expirationSeconds: Invalid value: 599: "
            "may not specify a duration less than 10 minutes",
        ),
        (
            0,
            "spec.expirationSeconds: Invalid value: 0: "
            "may not specify a duration less than 10 minutes",
        ),
        (
            2**32 + 1,
            "spec.expirationSeconds: Invalid value: 4294967297: "
            "may not specify a duration larger than 2^32 seconds",
        ),
    ],
)
def test_durations_kubernetes_refuses(rsa_key: SigningKey, duration: int, message: str) -> None:
    with pytest.raises(TokenRequestError) as caught:
        mint(rsa_key, duration=duration)
    assert str(caught.value) == message
    assert caught.value.field == "spec.expirationSeconds"
    assert (caught.value.code, caught.value.reason) == (422, "Invalid")


@pytest.mark.parametrize("duration", [600, 2**32])
def test_duration_limits_are_inclusive(rsa_key: SigningKey, duration: int) -> None:
    claims = json.loads(segment(mint(rsa_key, duration=duration), 1))
    assert claims["exp"] - claims["iat"] == duration


def test_pod_bound_3607_gets_a_year_and_warnafter(rsa_key: SigningKey) -> None:
    token = mint(rsa_key, duration=3607, pod=ObjectRef("web-0", "pod-uid"))
    claims = json.loads(segment(token, 1))
    assert claims["exp"] == NOW + 31536000 == NOW + EXTENDED_DURATION
    assert claims["kubernetes.io"]["warnafter"] == NOW + 3607
    assert list(claims["kubernetes.io"]) == ["namespace", "pod", "serviceaccount", "warnafter"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"duration": 3607},  # not pod-bound
        {"duration": 3606, "pod": ObjectRef("web-0", "u")},
        {"duration": 3608, "pod": ObjectRef("web-0", "u")},
        {"duration": 3607, "pod": ObjectRef("web-0", "u"), "audiences": ["vault"]},
        {"duration": 3607, "pod": ObjectRef("web-0", "u"), "audiences": [ISSUER, "vault"]},
    ],
)
def test_no_extension_otherwise(rsa_key: SigningKey, overrides: dict[str, Any]) -> None:
    claims = json.loads(segment(mint(rsa_key, **overrides), 1))
    assert claims["exp"] == NOW + overrides["duration"]
    assert "warnafter" not in claims["kubernetes.io"]


def test_extension_when_all_audiences_are_api_audiences(rsa_key: SigningKey) -> None:
    token = mint(
        rsa_key,
        duration=3607,
        pod=ObjectRef("web-0", "u"),
        audiences=["api"],
        api_audiences=["api", ISSUER],
    )
    claims = json.loads(segment(token, 1))
    assert claims["exp"] == NOW + EXTENDED_DURATION


def test_legacy_token_shape(rsa_key: SigningKey) -> None:
    token = mint_legacy_token(
        rsa_key,
        namespace="test",
        sa_name="my-service-account",
        sa_uid="12345",
        secret_name="my-rsa-secret",
    )
    assert segment(token, 0) == b'{"alg":"RS256","kid":"' + rsa_key.kid.encode() + b'"}'
    assert segment(token, 1) == (
        b'{"iss":"kubernetes/serviceaccount",'
        b'"kubernetes.io/serviceaccount/namespace":"test",'
        b'"kubernetes.io/serviceaccount/secret.name":"my-rsa-secret",'
        b'"kubernetes.io/serviceaccount/service-account.name":"my-service-account",'
        b'"kubernetes.io/serviceaccount/service-account.uid":"12345",'
        b'"sub":"system:serviceaccount:test:my-service-account"}'
    )
    claims = verify(token, [rsa_key], audience=None, issuer="kubernetes/serviceaccount")
    assert claims["sub"] == "system:serviceaccount:test:my-service-account"


names = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)


def _sorted_everywhere(value: Any) -> bool:
    if isinstance(value, list):
        return all(_sorted_everywhere(v) for v in value)
    if isinstance(value, dict):
        keys = list(value)
        return keys == sorted(keys) and all(_sorted_everywhere(v) for v in value.values())
    return True


@settings(max_examples=40)
@given(
    key_type=st.sampled_from(["rsa", "ec"]),
    namespace=names,
    sa_name=names,
    sa_uid=st.uuids().map(str),
    audiences=st.lists(st.text(min_size=1, max_size=20), max_size=3, unique=True),
    duration=st.integers(min_value=600, max_value=10**6),
    pod=st.none() | st.builds(ObjectRef, names, st.uuids().map(str)),
)
def test_every_minted_token_verifies_and_has_kube_shape(
    rsa_key: SigningKey,
    ec_key: SigningKey,
    key_type: str,
    namespace: str,
    sa_name: str,
    sa_uid: str,
    audiences: list[str],
    duration: int,
    pod: ObjectRef | None,
) -> None:
    key = rsa_key if key_type == "rsa" else ec_key
    token = mint_token(
        key,
        issuer=ISSUER,
        namespace=namespace,
        sa_name=sa_name,
        sa_uid=sa_uid,
        audiences=audiences,
        now=NOW,
        duration=duration,
        pod=pod,
    )
    expected_auds = audiences or [ISSUER]
    claims = verify(
        token,
        [rsa_key, ec_key],
        audience=expected_auds[0],
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert json.loads(segment(token, 0)) == {"alg": key.alg, "kid": key.kid}
    raw = json.loads(segment(token, 1), object_pairs_hook=dict)
    assert _sorted_everywhere(raw)
    assert raw == claims
    assert claims["aud"] == expected_auds
    assert claims["iat"] == claims["nbf"] == NOW
    extended = pod is not None and duration == 3607 and set(expected_auds) <= {ISSUER}
    assert claims["exp"] == NOW + (EXTENDED_DURATION if extended else duration)
    assert claims["sub"] == f"system:serviceaccount:{namespace}:{sa_name}"
    assert claims["kubernetes.io"]["serviceaccount"] == {"name": sa_name, "uid": sa_uid}
    assert ("pod" in claims["kubernetes.io"]) == (pod is not None)
    assert all(isinstance(claims[c], int) for c in ("exp", "iat", "nbf"))


def test_go_escaping_reaches_the_payload(rsa_key: SigningKey) -> None:
    token = mint(rsa_key, audiences=["<a&b>"])
    assert b'"aud":["\\u003ca\\u0026b\\u003e"]' in segment(token, 1)


# -- broken tokens -------------------------------------------------------------------------

EXPECTED_FAILURE: dict[str, tuple[type[Exception], str]] = {
    "expired": (jwt.ExpiredSignatureError, "Signature has expired"),
    "expired-seconds-ago": (jwt.ExpiredSignatureError, "Signature has expired"),
    "not-yet-valid": (jwt.ImmatureSignatureError, "The token is not yet valid"),
    "foreign-key": (jwt.InvalidSignatureError, "Signature verification failed"),
    "unknown-kid": (jwt.PyJWKClientError, "Unable to find a signing key that matches"),
    "no-kid": (jwt.PyJWKClientError, 'Unable to find a signing key that matches: "None"'),
    "non-string-kid": (jwt.InvalidTokenError, "Key ID header parameter must be a string"),
    "alg-none": (jwt.InvalidAlgorithmError, "The specified alg value is not allowed"),
    "hs256-public-key": (jwt.InvalidAlgorithmError, "The specified alg value is not allowed"),
    "wrong-issuer": (jwt.InvalidIssuerError, "Invalid issuer"),
    "wrong-audience": (jwt.InvalidAudienceError, "Audience doesn't match"),
    "tampered-payload": (jwt.InvalidSignatureError, "Signature verification failed"),
}


def test_every_broken_kind_has_a_reason_and_a_test() -> None:
    assert set(BROKEN_KINDS) == set(EXPECTED_FAILURE)
    assert all(isinstance(r, str) and r for r in BROKEN_KINDS.values())


def mint_broken(kind: str, key: SigningKey, now: int) -> str:
    return mint_broken_token(
        kind, key, issuer=ISSUER, namespace="default", sa_name="my-sa", sa_uid="uid-1", now=now
    )


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
@pytest.mark.parametrize("kind", sorted(EXPECTED_FAILURE))
def test_broken_token_fails_for_its_reason(
    rsa_key: SigningKey, ec_key: SigningKey, kind: str, key_type: str
) -> None:
    key = rsa_key if key_type == "rsa" else ec_key
    now = CLOCK.time()
    token = mint_broken(kind, key, now)
    error, message = EXPECTED_FAILURE[kind]
    with pytest.raises(error) as caught:
        verify(token, [rsa_key, ec_key])
    assert type(caught.value) is error
    assert message in str(caught.value)


def test_broken_tokens_differ_from_a_good_one_only_where_intended(rsa_key: SigningKey) -> None:
    good_header = {"alg": "RS256", "kid": rsa_key.kid}
    headers = {kind: decode_unverified(mint_broken(kind, rsa_key, NOW))[0] for kind in BROKEN_KINDS}
    assert headers["no-kid"] == {"alg": "RS256"}
    assert headers["non-string-kid"] == {"alg": "RS256", "kid": 12345}
    assert headers["alg-none"] == {"alg": "none", "kid": rsa_key.kid}
    assert headers["hs256-public-key"] == {"alg": "HS256", "kid": rsa_key.kid}
    assert headers["unknown-kid"]["kid"] != rsa_key.kid
    for kind in ("expired", "not-yet-valid", "foreign-key", "wrong-issuer", "tampered-payload"):
        assert headers[kind] == good_header
    claims = {kind: decode_unverified(mint_broken(kind, rsa_key, NOW))[1] for kind in BROKEN_KINDS}
    assert claims["expired"]["exp"] == NOW - 3600
    assert claims["expired-seconds-ago"]["exp"] == NOW - 5
    assert claims["not-yet-valid"]["nbf"] == NOW + 3600
    assert claims["wrong-issuer"]["iss"] == WRONG_ISSUER
    assert claims["wrong-audience"]["aud"] == [WRONG_AUDIENCE]
    assert claims["tampered-payload"]["exp"] == NOW + 3600 + EXTENDED_DURATION
    assert mint_broken("alg-none", rsa_key, NOW).endswith(".")


def test_unknown_broken_kind_is_refused(rsa_key: SigningKey) -> None:
    with pytest.raises(ValueError, match="unknown broken token kind 'nope'"):
        mint_broken("nope", rsa_key, NOW)


def test_verify_signature_checks_key_and_alg(rsa_key: SigningKey, ec_key: SigningKey) -> None:
    _, _, signing_input, signature = decode_unverified(mint(rsa_key))
    assert verify_signature(rsa_key, "RS256", signing_input, signature)
    assert not verify_signature(rsa_key, "RS256", signing_input + b"x", signature)
    assert not verify_signature(ec_key, "RS256", signing_input, signature)
    _, _, signing_input, signature = decode_unverified(mint(ec_key))
    assert len(signature) == 64
    assert verify_signature(ec_key, "ES256", signing_input, signature)


@pytest.mark.parametrize("bad", ["a.b", "a.b.c.d", "!!!.e30.", "W10.e30."])
def test_decode_unverified_refuses_malformed_tokens(bad: str) -> None:
    with pytest.raises(ValueError):
        decode_unverified(bad)
