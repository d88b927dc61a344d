"""golang-jwt's parse order and error texts through the public functions of jwtparse: each
malformation gives one exact message, checked in the order the real library checks."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mockserver.federation.jwtparse import (
    JWTError,
    KeyFuncError,
    parse_and_verify,
    parse_unverified,
    rsa_key_from_jwk,
    validate_time_claims,
    verify_signature,
)

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64(value: object) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token(header: object = None, claims: object = None, signature: str = "c2ln") -> str:
    header = {"alg": "RS256"} if header is None else header
    return f"{b64(header)}.{b64({} if claims is None else claims)}.{signature}"


def error_of(raw: str) -> str:
    with pytest.raises(JWTError) as caught:
        parse_unverified(raw)
    return str(caught.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("a.b", "token is malformed: token contains an invalid number of segments"),
        ("a.b.c.d", "token is malformed: token contains an invalid number of segments"),
        (
            "a=.b.c",
            "token is malformed: could not base64 decode header: illegal base64 data at input byte 1",
        ),
        (
            "abcde.b.c",
            "token is malformed: could not base64 decode header: illegal base64 data at input byte 4",
        ),
        (
            f"{b64(b'')}.e30.c",
            "token is malformed: could not JSON decode header: unexpected end of JSON input",
        ),
        (
            f"{b64(b'x')}.e30.c",
            "token is malformed: could not JSON decode header: invalid character 'x' looking for beginning of value",
        ),
        (
            f"{b64([])}.e30.c",
            "token is malformed: could not JSON decode header: json: cannot unmarshal array into Go value of type map[string]interface {}",
        ),
        (
            f"{b64('s')}.e30.c",
            "token is malformed: could not JSON decode header: json: cannot unmarshal string into Go value of type map[string]interface {}",
        ),
        (
            f"{b64(True)}.e30.c",
            "token is malformed: could not JSON decode header: json: cannot unmarshal bool into Go value of type map[string]interface {}",
        ),
        (
            # encoding/json leaves a map untouched for `null` (no error), so the header is empty
            # and golang-jwt finds no alg.
            f"{b64(None)}.e30.c",
            "token is unverifiable: signing method (alg) is unspecified",
        ),
        (
            f"{b64(1)}.e30.c",
            "token is malformed: could not JSON decode header: json: cannot unmarshal number into Go value of type map[string]interface {}",
        ),
        (
            f"{b64({'alg': 'RS256'})}.a*.c",
            "token is malformed: could not base64 decode claim: illegal base64 data at input byte 1",
        ),
        (
            f"{b64({'alg': 'RS256'})}.{b64([1])}.c",
            "token is malformed: could not JSON decode claim: json: cannot unmarshal array into Go value of type auth.KubernetesClaims",
        ),
        (
            token(claims={"nbf": True}),
            "token is malformed: could not JSON decode claim: could not parse NumericData: json: cannot unmarshal bool into Go value of type json.Number",
        ),
        (
            token(claims={"iat": [1]}),
            "token is malformed: could not JSON decode claim: could not parse NumericData: json: cannot unmarshal array into Go value of type json.Number",
        ),
        (
            token(claims={"iss": 1}),
            "token is malformed: could not JSON decode claim: json: cannot unmarshal number into Go struct field KubernetesClaims.RegisteredClaims.iss of type string",
        ),
        (
            token(claims={"sub": []}),
            "token is malformed: could not JSON decode claim: json: cannot unmarshal array into Go struct field KubernetesClaims.RegisteredClaims.sub of type string",
        ),
        (
            token(claims={"jti": 1.5}),
            "token is malformed: could not JSON decode claim: json: cannot unmarshal number into Go struct field KubernetesClaims.RegisteredClaims.jti of type string",
        ),
        (
            token(claims={"aud": 1}),
            "token is malformed: could not JSON decode claim: invalid type for claim",
        ),
        (
            token(claims={"aud": ["a", 1]}),
            "token is malformed: could not JSON decode claim: invalid type for claim",
        ),
        (
            token(header={"typ": "JWT"}),
            "token is unverifiable: signing method (alg) is unspecified",
        ),
        (token(header={"alg": 256}), "token is unverifiable: signing method (alg) is unspecified"),
        (
            token(header={"alg": "RS1"}),
            "token is unverifiable: signing method (alg) is unavailable",
        ),
        (
            token(header={"alg": "rs256"}),
            "token is unverifiable: signing method (alg) is unavailable",
        ),
    ],
)
def test_each_malformation_has_golang_jwts_text(raw, message):
    assert error_of(raw) == message


def test_a_quoted_numeric_exp_is_accepted():
    # golang-jwt's NumericDate decodes into a json.Number, which takes a quoted number.
    assert parse_unverified(token(claims={"exp": "1"})).claims["exp"] == 1.0


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        (
            "a+b",
            "token is malformed: could not base64 decode signature: illegal base64 data at input byte 1",
        ),
        (
            "abcde",
            "token is malformed: could not base64 decode signature: illegal base64 data at input byte 4",
        ),
    ],
)
def test_the_signature_is_decoded_by_the_full_parse_before_the_key_function(signature, message):
    # ParseUnverified leaves the signature alone; ParseWithClaims decodes it before the keyfunc.
    parse_unverified(token(signature=signature))
    called = []
    with pytest.raises(JWTError) as caught:
        parse_and_verify(
            token(signature=signature), lambda t: called.append(t) or KEY.public_key(), 0
        )
    assert (str(caught.value), called) == (message, [])


def test_a_parsed_token_exposes_its_parts():
    claims = {"iss": "i", "sub": "s", "aud": ["a", "b"], "exp": 10, "nbf": 1, "iat": 1, "jti": "j"}
    raw = token(claims=claims, signature="")
    parsed = parse_unverified(raw)
    assert (parsed.alg, parsed.issuer, parsed.subject, parsed.audiences) == (
        "RS256",
        "i",
        "s",
        ("a", "b"),
    )
    assert parsed.signing_input == raw.rsplit(".", 1)[0].encode()
    assert parsed.signature == b""
    assert parse_unverified(token(claims={"aud": "one"})).audiences == ("one",)
    bare = parse_unverified(token(claims={"iss": None, "sub": None}))
    assert (bare.issuer, bare.subject, bare.audiences) == ("", "", ())


def _signed(alg: str = "RS256", key: rsa.RSAPrivateKey = KEY, **claims: object) -> str:
    return jwt.encode(claims, key, algorithm=alg)


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
def test_rsa_signatures_verify_with_the_header_algorithm(alg):
    parsed = parse_unverified(_signed(alg, sub=alg))
    verify_signature(parsed, KEY.public_key())
    verify_signature(parsed, KEY.public_key())  # remembered
    with pytest.raises(JWTError) as caught:
        verify_signature(parsed, OTHER.public_key())
    assert str(caught.value) == "token signature is invalid: crypto/rsa: verification error"


def test_a_signature_for_another_rsa_algorithm_fails():
    raw = _signed("RS256", sub="x")
    _header, claims, signature = raw.split(".")
    swapped = f"{b64({'alg': 'PS256', 'typ': 'JWT'})}.{claims}.{signature}"
    with pytest.raises(JWTError) as caught:
        verify_signature(parse_unverified(swapped), KEY.public_key())
    assert str(caught.value) == "token signature is invalid: crypto/rsa: verification error"


@pytest.mark.parametrize(
    ("alg", "message"),
    [
        (
            "none",
            "token signature is invalid: token is unverifiable: 'none' signature type is not allowed",
        ),
        ("HS256", "token signature is invalid: key is of invalid type: HMAC verify expects []byte"),
        ("HS512", "token signature is invalid: key is of invalid type: HMAC verify expects []byte"),
        (
            "ES256",
            "token signature is invalid: key is of invalid type: ECDSA verify expects *ecdsa.PublicKey",
        ),
        (
            "ES384",
            "token signature is invalid: key is of invalid type: ECDSA verify expects *ecdsa.PublicKey",
        ),
        (
            "EdDSA",
            "token signature is invalid: key is of invalid type: Ed25519 verify expects ed25519.PublicKey",
        ),
    ],
)
def test_non_rsa_algorithms_cannot_verify_with_an_rsa_key(alg, message):
    with pytest.raises(JWTError) as caught:
        verify_signature(
            parse_unverified(token(header={"alg": alg}, signature="")), KEY.public_key()
        )
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("claims", "now", "require_exp", "message"),
    [
        ({"exp": 100}, 100, False, "token has invalid claims: token is expired"),
        ({"exp": 100}, 101, False, "token has invalid claims: token is expired"),
        ({"nbf": 100}, 99.5, False, "token has invalid claims: token is not valid yet"),
        (
            {},
            0,
            True,
            "token has invalid claims: token is missing required claim: exp claim is required",
        ),
        (
            # golang-jwt's validator reports every failed check, joined with ", ".
            {"nbf": 100},
            50,
            True,
            "token has invalid claims: token is missing required claim: exp claim is required, "
            "token is not valid yet",
        ),
    ],
)
def test_time_claims_have_zero_leeway(claims, now, require_exp, message):
    with pytest.raises(JWTError) as caught:
        validate_time_claims(parse_unverified(token(claims=claims)), now, require_exp)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("claims", "now", "require_exp"),
    [
        ({"exp": 100}, 99.9, True),
        ({"nbf": 100}, 100, False),
        ({}, 0, False),
        ({"exp": 100, "nbf": 1}, 1, True),
    ],
)
def test_time_claims_that_hold(claims, now, require_exp):
    validate_time_claims(parse_unverified(token(claims=claims)), now, require_exp)


def test_parse_and_verify_runs_keyfunc_signature_then_claims_in_that_order():
    calls = []

    def keyfunc(parsed):
        calls.append(parsed.subject)
        return KEY.public_key()

    good = _signed(sub="s", exp=200)
    assert parse_and_verify(good, keyfunc, now=100).subject == "s"
    assert calls == ["s"]
    bad_signature_and_expired = _signed(key=OTHER, sub="t", exp=50)
    with pytest.raises(JWTError) as caught:
        parse_and_verify(bad_signature_and_expired, keyfunc, now=100)
    assert str(caught.value) == "token signature is invalid: crypto/rsa: verification error"
    with pytest.raises(JWTError) as caught:
        parse_and_verify(_signed(sub="u"), keyfunc, now=100, require_exp=True)
    assert str(caught.value) == (
        "token has invalid claims: token is missing required claim: exp claim is required"
    )


def _jwk(key: rsa.RSAPrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()

    def part(value: int) -> str:
        return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "n": part(numbers.n), "e": part(numbers.e)}


def test_a_jwk_becomes_the_rsa_key_it_describes():
    key = rsa_key_from_jwk(_jwk(KEY))
    assert key.public_numbers() == KEY.public_key().public_numbers()
    verify_signature(parse_unverified(_signed(sub="jwk")), key)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"n": None}, "n not found in key"),
        ({"e": None}, "e not found in key"),
        ({"n": "a+b"}, "failed to decode modulus: illegal base64 data at input byte 1"),
        ({"e": "abcde"}, "failed to decode exponent: illegal base64 data at input byte 4"),
    ],
)
def test_a_broken_jwk_fails_the_key_function_with_the_real_text(change, reason):
    jwk = _jwk(KEY)
    for member, value in change.items():
        if value is None:
            del jwk[member]
        else:
            jwk[member] = value
    with pytest.raises(KeyFuncError) as caught:
        rsa_key_from_jwk(jwk)
    assert caught.value.reason == reason
    assert str(caught.value) == f"token is unverifiable: error while executing keyfunc: {reason}"


def test_a_jwk_no_rsa_key_can_have_fails_at_verification():
    with pytest.raises(JWTError) as caught:
        rsa_key_from_jwk({"n": b64(b"\x00"), "e": b64(b"\x03")})
    assert str(caught.value) == "token signature is invalid: crypto/rsa: verification error"


def test_a_key_function_error_keeps_its_reason_for_the_journal():
    plain = KeyFuncError("no jwks found")
    assert (plain.reason, plain.detail) == ("no jwks found", "no jwks found")
    detailed = KeyFuncError("no jwks found", "GET https://k/openid/v1/jwks: 500")
    assert (detailed.reason, detailed.detail) == (
        "no jwks found",
        "GET https://k/openid/v1/jwks: 500",
    )


def test_the_invalid_character_is_the_one_at_the_error_offset():
    assert error_of(f"{b64(b' xy')}.e30.c") == (
        "token is malformed: could not JSON decode header: "
        "invalid character 'x' looking for beginning of value"
    )


def test_exp_is_optional_unless_asked_for():
    validate_time_claims(parse_unverified(token(claims={})), now=0)
    no_exp = _signed(sub="v")
    assert parse_and_verify(no_exp, lambda parsed: KEY.public_key(), now=100).subject == "v"


GOLANG_JWT_ALGS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512", "HS256", "HS384", "HS512", "EdDSA", "none",
)  # fmt: skip


@pytest.mark.parametrize("alg", GOLANG_JWT_ALGS)
def test_every_signing_method_golang_jwt_registers_parses(alg):
    assert parse_unverified(token(header={"alg": alg})).alg == alg


def test_a_remembered_signature_still_verifies_and_a_wrong_key_still_fails():
    raw = _signed("RS256", sub="memo")
    for _ in range(3):
        assert verify_signature(parse_unverified(raw), KEY.public_key()) is None
    with pytest.raises(JWTError):
        verify_signature(parse_unverified(raw), OTHER.public_key())
