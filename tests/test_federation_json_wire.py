"""Hostile and malformed JSON at each place the federation server parses it, over the wire:
the status and body the real server answers (Go's encoding/json texts), never a 500."""

from __future__ import annotations

import base64
import json

import pytest

from mockserver.gojson import go_json
from tests.wire import Reply, ca_body, send

R1 = "/secretstore/app-store/secrets/plain"
R4 = "/generators/team-a/revoke"
HUGE = "9" * 5000
DEEP = "[" * 10001


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def alpha(mock):
    return mock.clusters["alpha"]


@pytest.fixture(scope="module")
def token(alpha):
    return alpha.mint("ops/admin")


def post(mock, path: str, token: str, body: bytes, **headers: str) -> Reply:
    return send(mock.federation_url, "POST", path, token, body, headers=headers or None)


def assert_answer(reply: Reply, status: int, text: str) -> None:
    assert (reply.status, reply.body) == (status, go_json(text)), reply.body[:300]


def test_body_nested_past_go_max_depth_is_401(mock, token):
    reply = post(mock, R1, token, DEEP.encode())
    assert_answer(reply, 401, "invalid character '[' exceeded max depth")


def test_body_nested_a_thousand_deep_is_go_type_error(mock, token):
    reply = post(mock, R1, token, b"[" * 1000 + b"]" * 1000)
    assert_answer(
        reply,
        401,
        "json: cannot unmarshal array into Go value of type "
        'struct { CaCert string "json:\\"ca.crt\\"" }',
    )


def test_huge_number_as_ca_crt_is_a_type_error(mock, token):
    reply = post(mock, R1, token, f'{{"ca.crt": {HUGE}}}'.encode())
    assert_answer(
        reply, 401, "json: cannot unmarshal number into Go struct field .ca.crt of type string"
    )


def test_huge_number_in_an_unknown_member_is_skipped(mock, alpha):
    body = ca_body(alpha.ca.cert_pem)[:-1] + f', "n": {HUGE}}}'.encode()
    reply = post(mock, R1, alpha.mint("team-a/web"), body)
    assert_answer(reply, 200, "hello")


def test_malformed_body_gets_the_go_syntax_text(mock, token):
    assert_answer(
        post(mock, R1, token, b'{"ca.crt": "x",}'),
        401,
        "invalid character '}' looking for beginning of object key string",
    )


def test_jwt_header_nested_past_max_depth_is_401(mock):
    bad = f"{b64url(DEEP.encode())}.{b64url(b'{}')}.sig"
    reply = post(mock, R1, bad, b"{}")
    assert_answer(
        reply,
        401,
        "token is malformed: could not JSON decode header: "
        "invalid character '[' exceeded max depth",
    )


def test_jwt_claims_with_a_huge_number_are_401(mock):
    header = b64url(b'{"alg":"RS256","kid":"k"}')
    claims = b64url(b'{"exp": ' + HUGE.encode() + b"}")
    bad = f"{header}.{claims}.sig"
    reply = post(mock, R1, bad, b"{}")
    # `exp` decodes into a json.Number; only its Float64 conversion fails.
    assert_answer(
        reply,
        401,
        "token is malformed: could not JSON decode claim: could not convert json number value "
        f'to float: strconv.ParseFloat: parsing "{HUGE}": value out of range',
    )


def test_workload_token_nested_past_max_depth_is_400(mock, token, alpha):
    header = b64url(b'{"alg":"RS256"}')
    workload = f"{header}.{b64url(DEEP.encode())}.sig"
    reply = post(mock, R1, token, ca_body(alpha.ca.cert_pem), **{"x-workload-token": workload})
    assert_answer(
        reply,
        400,
        "invalid x-workload-token: failed to parse x-workload-token: token is malformed: "
        "could not JSON decode claim: invalid character '[' exceeded max depth",
    )


def test_r4_owner_of_the_wrong_kind_is_echo_unmarshal_type_error(mock, token, alpha):
    body = ca_body(alpha.ca.cert_pem, owner=5)
    reply = post(mock, R4, token, body)
    offset = body.index(b"5}") + 1
    assert_answer(
        reply,
        400,
        f"code=400, message=Unmarshal type error: expected=string, got=number, field=owner, "
        f"offset={offset}, internal=json: cannot unmarshal number into Go struct field "
        "deleteRequest.owner of type string",
    )


def test_r4_owner_nested_deep_is_a_type_error_not_a_crash(mock, token, alpha):
    nested = json.loads("[" * 900 + "]" * 900)
    body = ca_body(alpha.ca.cert_pem, owner=nested)
    reply = post(mock, R4, token, body)
    offset = body.index(b'"owner": [') + len(b'"owner": [')
    assert_answer(
        reply,
        400,
        f"code=400, message=Unmarshal type error: expected=string, got=array, field=owner, "
        f"offset={offset}, internal=json: cannot unmarshal array into Go struct field "
        "deleteRequest.owner of type string",
    )
