"""The Okta and PingIdentity authenticators: each check in the real order, each error text."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from mockserver.federation.authenticators.base import Credentials, Identity, Refusal
from mockserver.idp.minting import TokenRequest, encode, okta_claims, ping_claims
from mockserver.keys import b64url, go_json
from mockserver.tokens import foreign_key

OKTA_DEFAULT = "https://esi-mock.okta.com/oauth2/default"
PING_COM = "https://auth.pingone.com/a1b2c3d4-0000-4000-8000-0000000000c0/as"
CI = "0oa-esi-ci-client"
STORE = "/secretstore/app-store/secrets/db-password"
GENERATOR = "/generators/team-a/Password/password-default"


def authenticator(mock: Any, name: str) -> Any:
    return next(a for a in mock.context.authenticator.every if a.name == name)


def okta_token(mock: Any, broken: str | None = None, **request: Any) -> str:
    request.setdefault("subject", CI)
    return mock.idps.mint("okta", TokenRequest(**request), broken=broken)


def ping_token(mock: Any, broken: str | None = None, **request: Any) -> str:
    request.setdefault("client_id", "ping-batch-client")
    return mock.idps.mint("pingone", TokenRequest(**request), broken=broken)


def crafted(mock: Any, idp: str, header: dict[str, Any], changes: dict[str, Any]) -> str:
    """A token of the IdP's first matching issuer with header and claims edited, then signed."""
    provider = mock.idps[idp]
    server = provider.server("default" if idp == "okta" else next(iter(provider.servers)))
    now = int(mock.clock.now())
    shape = okta_claims if idp == "okta" else ping_claims
    claims = shape(server, TokenRequest(subject=CI, client_id="ping-batch-client"), now)
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    key = server.keys.signing_key
    full = {"kid": key.kid, "alg": "RS256", **header}
    if str(full["alg"]).startswith(("RS", "PS")):
        return encode(full, claims, key)
    _, body, signature = encode({**full, "alg": "RS256"}, claims, key).split(".")
    return f"{b64url(go_json(full))}.{body}.{signature}"  # keyfunc refuses before the signature


def refusal(mock: Any, name: str, authorization: str | None) -> str:
    with pytest.raises(Refusal) as caught:
        authenticator(mock, name).authenticate(Credentials(authorization, b""))
    return str(caught.value)


def identity(mock: Any, name: str, token: str) -> Identity:
    result: Identity = authenticator(mock, name).authenticate(Credentials(f"Bearer {token}", b""))
    return result


def call(
    mock: Any, path: str, token: str, method: str = "POST", headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    parts = urlsplit(mock.federation_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request(method, path, headers={"Authorization": f"Bearer {token}", **(headers or {})})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


# -- the header and the parse -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["okta", "pingidentity"])
def test_the_authorization_header_must_be_present_and_start_with_bearer(mock, name):
    token = okta_token(mock)
    assert refusal(mock, name, None) == "missing Authorization header"
    assert refusal(mock, name, "") == "missing Authorization header"
    expected = "invalid Authorization header format, expected 'Bearer <token>'"
    assert refusal(mock, name, token) == expected
    assert refusal(mock, name, f"bearer {token}") == expected
    assert refusal(mock, name, "Bearer ") == "empty token in Authorization header"


@pytest.mark.parametrize("name", ["okta", "pingidentity"])
def test_a_token_that_does_not_parse_names_the_parse_error(mock, name):
    assert refusal(mock, name, "Bearer not-a-jwt") == (
        "failed to parse token: token is malformed: token contains an invalid number of segments"
    )


def test_vendor_claims_of_the_wrong_type_fail_the_parse_as_go_struct_fields(mock):
    okta = crafted(mock, "okta", {}, {"cid": 7})
    assert refusal(mock, "okta", f"Bearer {okta}") == (
        "failed to parse token: token is malformed: could not JSON decode claim: json: cannot "
        "unmarshal number into Go struct field OktaClaims.cid of type string"
    )
    scp = crafted(mock, "okta", {}, {"scp": "federation"})
    assert refusal(mock, "okta", f"Bearer {scp}").endswith(
        "cannot unmarshal string into Go struct field OktaClaims.scp of type []string"
    )
    ver = crafted(mock, "okta", {}, {"ver": 1.5})
    assert refusal(mock, "okta", f"Bearer {ver}").endswith(
        "cannot unmarshal number 1.5 into Go struct field OktaClaims.ver of type int"
    )
    ping = crafted(mock, "pingone", {}, {"scope": ["a"]})
    assert refusal(mock, "pingidentity", f"Bearer {ping}").endswith(
        "cannot unmarshal array into Go struct field PingIdentityClaims.scope of type string"
    )


@pytest.mark.parametrize("name", ["okta", "pingidentity"])
def test_issuer_is_required_and_must_have_an_authorization(mock, name):
    assert refusal(mock, name, f"Bearer {okta_token(mock, 'no-issuer')}") == (
        "token missing issuer claim"
    )
    stranger = crafted(mock, "okta", {}, {"iss": "https://dev-1.okta.com/oauth2/default"})
    assert refusal(mock, name, f"Bearer {stranger}") == (
        "no authorization configured for issuer: https://dev-1.okta.com/oauth2/default"
    )


def test_a_kubernetes_federation_gives_no_jwks_on_these_paths(mock):
    alpha = mock.clusters["alpha"]
    token = alpha.mint("team-a/web")
    assert refusal(mock, "okta", f"Bearer {token}") == "failed to get JWKS: no jwks found"


# -- verification -----------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["PS256", "HS256", "ES256", "none"])
def test_only_rs256_384_512_are_accepted(mock, alg):
    token = crafted(mock, "okta", {"alg": alg}, {})
    assert refusal(mock, "okta", f"Bearer {token}") == (
        "token validation failed: token is unverifiable: error while executing keyfunc: "
        f"unexpected signing method: {alg}"
    )


@pytest.mark.parametrize("alg", ["RS384", "RS512"])
def test_rs384_and_rs512_verify(mock, alg):
    assert identity(mock, "okta", okta_token(mock, alg=alg)).subject == CI


@pytest.mark.parametrize("name", ["okta", "pingidentity"])
def test_kid_must_be_a_string_and_published(mock, name):
    prefix = "token validation failed: token is unverifiable: error while executing keyfunc: "
    for broken in ("no-kid", "non-string-kid"):
        token = okta_token(mock, broken)
        assert refusal(mock, name, f"Bearer {token}") == prefix + "token missing 'kid' in header"
    unknown = okta_token(mock, "unknown-kid")
    kid = foreign_key("rsa").kid
    assert refusal(mock, name, f"Bearer {unknown}") == (
        prefix + f"key with kid '{kid}' not found in JWKS"
    )


def test_a_signature_by_another_key_is_invalid(mock):
    assert refusal(mock, "okta", f"Bearer {okta_token(mock, 'foreign-key')}") == (
        "token validation failed: token signature is invalid: crypto/rsa: verification error"
    )
    assert refusal(mock, "okta", f"Bearer {okta_token(mock, 'tampered-payload')}") == (
        "token validation failed: token signature is invalid: crypto/rsa: verification error"
    )


@pytest.mark.parametrize("name", ["okta", "pingidentity"])
def test_exp_is_required_with_zero_leeway_and_nbf_is_checked(mock, name):
    expired = "token validation failed: token has invalid claims: token is expired"
    assert refusal(mock, name, f"Bearer {okta_token(mock, 'expired')}") == expired
    assert refusal(mock, name, f"Bearer {okta_token(mock, 'expired-now')}") == expired
    assert refusal(mock, name, f"Bearer {okta_token(mock, 'not-yet-valid')}") == (
        "token validation failed: token has invalid claims: token is not valid yet"
    )
    assert refusal(mock, name, f"Bearer {okta_token(mock, 'no-exp')}") == (
        "token missing expiration claim"
    )


def test_okta_needs_sub_and_ping_falls_back_to_client_id(mock):
    no_sub = crafted(mock, "okta", {}, {"sub": None})
    assert refusal(mock, "okta", f"Bearer {no_sub}") == "token missing subject claim"
    assert refusal(mock, "pingidentity", f"Bearer {no_sub}") == (
        "token missing both subject and client_id claims"  # Okta names its client `cid`
    )
    assert identity(mock, "pingidentity", ping_token(mock)).subject == "ping-batch-client"
    neither = ping_token(mock, "no-subject")
    assert refusal(mock, "pingidentity", f"Bearer {neither}") == (
        "token missing both subject and client_id claims"
    )
    user = identity(mock, "pingidentity", ping_token(mock, subject="user-7"))
    assert user.subject == "user-7"


def test_the_identity_has_the_method_the_issuer_and_no_workload(mock):
    okta = identity(mock, "okta", okta_token(mock))
    assert (okta.method, okta.provider, okta.subject, okta.kube) == ("okta", OKTA_DEFAULT, CI, None)
    ping = identity(mock, "pingidentity", ping_token(mock))
    assert (ping.method, ping.provider, ping.subject) == (
        "pingidentity",
        PING_COM,
        "ping-batch-client",
    )


def test_each_authenticator_accepts_the_other_vendors_tokens(mock):
    """§3.7: keys come from the provider bound to the issuer's Authorization, not the vendor."""
    assert identity(mock, "pingidentity", okta_token(mock)).method == "pingidentity"
    assert identity(mock, "okta", ping_token(mock, subject="u")).method == "okta"


# -- on the wire, in the default order --------------------------------------------------------


def test_default_order_gives_the_method_of_the_issuers_federation_kind(mock):
    mock.reset()
    status, _ = call(mock, GENERATOR, okta_token(mock))
    assert status == 200
    status, _ = call(mock, GENERATOR, ping_token(mock))
    assert status == 200
    names = {i["metadata"]["name"] for i in mock.context.bookkeeping.authorized_identities()}
    assert {f"okta-{CI}", "pingidentity-ping-batch-client"} <= names
    mock.reset()


def test_okta_refusals_are_answered_for_an_okta_bound_issuer(mock):
    assert call(mock, STORE, okta_token(mock, "expired")) == (
        401,
        "token validation failed: token has invalid claims: token is expired",
    )
    parts = urlsplit(mock.federation_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    conn.request("POST", STORE, headers={"Authorization": okta_token(mock)})
    response = conn.getresponse()
    assert (response.status, json.loads(response.read())) == (
        401,
        "invalid Authorization header format, expected 'Bearer <token>'",
    )
    conn.close()


def test_r1_is_authorized_by_subject_and_near_misses_are_denied(mock):
    assert call(mock, "/secretstore/app-store/secrets/nope", okta_token(mock)) == (
        400,
        "Secret does not exist",
    )
    assert call(mock, "/secretstore/prod/secrets/x", okta_token(mock)) == (404, "Not Found")
    upper = okta_token(mock, subject="0OA-ESI-CI-CLIENT", client_id="0OA-ESI-CI-CLIENT")
    assert call(mock, "/secretstore/app-store/secrets/x", upper) == (404, "Not Found")


def test_without_a_workload_r3_is_refused_and_r2_owns_by_subject(mock):
    mock.reset()
    assert call(mock, GENERATOR, okta_token(mock), method="DELETE") == (
        400,
        "missing workload context",
    )
    status, _ = call(mock, GENERATOR, ping_token(mock))
    assert status == 200
    (state,) = mock.context.bookkeeping.generator_states("team-a")
    assert state["metadata"]["labels"]["federation.externalsecrets.com/owner"] == (
        "ping-batch-client"
    )
    mock.reset()


def test_an_x_workload_token_gives_an_okta_caller_a_workload(mock):
    mock.reset()
    workload = mock.clusters["alpha"].mint("team-a/web")
    headers = {"x-workload-token": workload}
    status, _ = call(mock, GENERATOR, okta_token(mock), headers=headers)
    assert status == 200
    assert call(mock, GENERATOR, okta_token(mock), method="DELETE", headers=headers) == (200, None)
    assert mock.context.bookkeeping.generator_states("team-a") == []
    mock.reset()
