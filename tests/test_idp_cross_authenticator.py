"""§3.7 over the wire: the OIDC authenticator takes an Okta or PingOne token sent with a JSON
body, because it fetches keys through the provider the Authorization names (`store.GetJWKS`),
and then applies only its own checks: any prefix, PS256 too, no `exp` needed, method `oidc`."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from mockserver.federation.authenticators.base import Credentials
from mockserver.idp.minting import TokenRequest

CI = "0oa-esi-ci-client"
STORE = "/secretstore/app-store/secrets/plain"
GENERATOR = "/generators/team-a/Password/password-default"
BODY = b'{"ca.crt": "not even base64"}'


def okta(mock: Any, broken: str | None = None) -> str:
    return mock.idps.mint("okta", TokenRequest(subject=CI), broken=broken)


def ping(mock: Any) -> str:
    return mock.idps.mint("pingone", TokenRequest(client_id="ping-batch-client"))


def post(mock: Any, authorization: str, body: bytes, path: str = STORE) -> tuple[int, Any]:
    parts = urlsplit(mock.federation_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers={"Authorization": authorization})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def oidc(mock: Any) -> Any:
    return next(a for a in mock.context.authenticator.every if a.name == "oidc")


def test_oidc_accepts_an_okta_token_with_a_json_body_as_method_oidc(mock):
    identity = oidc(mock).authenticate(Credentials(f"Bearer {okta(mock)}", BODY))
    assert (identity.method, identity.provider, identity.subject) == (
        "oidc",
        "https://esi-mock.okta.com/oauth2/default",
        CI,
    )
    assert identity.kube is not None and identity.kube.namespace == ""


def test_oidc_accepts_a_pingone_client_credentials_token_as_its_empty_sub(mock):
    identity = oidc(mock).authenticate(Credentials(f"Bearer {ping(mock)}", b"{}"))
    # OIDC reads `sub` only: a client-credentials token has none, so the subject is empty.
    assert (identity.method, identity.subject) == ("oidc", "")


@pytest.mark.parametrize(
    ("authorization", "broken", "okta_refusal"),
    [
        ("{token}", None, "invalid Authorization header format, expected 'Bearer <token>'"),
        (
            "Bearer {token}",
            "ps256",
            "token validation failed: token is unverifiable: error while executing keyfunc: "
            "unexpected signing method: PS256",
        ),
        ("Bearer {token}", "no-exp", "token missing expiration claim"),
    ],
    ids=["bare-token", "ps256", "no-exp"],
)
def test_what_okta_refuses_oidc_takes_when_the_body_is_json(
    mock, authorization, broken, okta_refusal
):
    header = authorization.format(token=okta(mock, broken))
    assert post(mock, header, b"") == (401, okta_refusal)
    mock.reset()
    # OIDC gives a workload context with an empty ServiceAccount: R2's owner lookup fails (§3.7)
    assert post(mock, header, BODY, GENERATOR) == (400, 'ServiceAccount "" not found')
    names = {i["metadata"]["name"] for i in mock.context.bookkeeping.authorized_identities()}
    assert f"okta-{CI}" not in names
    assert post(mock, header, BODY) == (200, "hello")
    names = {i["metadata"]["name"] for i in mock.context.bookkeeping.authorized_identities()}
    assert f"oidc-{CI}" in names
    mock.reset()


def test_oidc_still_refuses_near_miss_issuers_and_foreign_keys(mock):
    assert post(mock, f"Bearer {okta(mock, 'issuer-case')}", BODY) == (
        401,
        "token is unverifiable: error while executing keyfunc: no jwks found",
    )
    assert post(mock, f"Bearer {okta(mock, 'foreign-key')}", BODY) == (
        401,
        "token validation failed: token signature is invalid: crypto/rsa: verification error",
    )


def test_a_well_formed_okta_call_with_a_json_body_keeps_method_okta(mock):
    mock.reset()
    assert post(mock, f"Bearer {okta(mock)}", BODY, GENERATOR)[0] == 200
    names = {i["metadata"]["name"] for i in mock.context.bookkeeping.authorized_identities()}
    assert f"okta-{CI}" in names and f"oidc-{CI}" not in names
    mock.reset()


def test_under_first_request_401_the_first_json_call_per_ca_crt_fails(mock):
    header = okta(mock)  # a bare token: only OIDC can take it
    body = b'{"ca.crt": "first-request-401 probe"}'
    mock.admin.enable_quirk("first-request-401")
    try:
        assert post(mock, header, body) == (
            401,
            "invalid Authorization header format, expected 'Bearer <token>'",
        )
        assert post(mock, header, body) == (200, "hello")
    finally:
        mock.admin.disable_quirk("first-request-401")
