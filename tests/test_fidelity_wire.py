"""echo's router and binder and golang-jwt's claim decoding as the real server runs them
(docs/fidelity.md §2, §4, §7, §8): exact status and body over the wire."""

from __future__ import annotations

import base64
import http.client
import json
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from mockserver.federation.bookkeeping import LABEL_OWNER
from mockserver.tls import client_context
from tests import upstream_stub
from tests.wire import Reply, ca_body, send

SPIFFE_FRONTEND = (
    "spiffe://example.org/frontend/ns/web/sa/6f1c2a4e-1b0d-4c52-9a1e-2f3b4c5d6e07/frontend"
    "/pod/0c8e7d6a-2f3b-4a1c-8d9e-7a6b5c4d3e03/frontend-5c7d9"
)
R1 = "/secretstore/app-store/secrets/plain"
R4 = "/generators/team-a/revoke"
WEB_SUB = "system:serviceaccount:team-a:web"
MALFORMED = "token is malformed: could not JSON decode claim: "


def body_of(text: str) -> bytes:
    return json.dumps(text).encode() + b"\n"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def alpha(mock):
    return mock.clusters["alpha"]


def admin_post(mock, path: str, body: bytes, **headers: str) -> Reply:
    alpha = mock.clusters["alpha"]
    token = alpha.mint("ops/admin")
    return send(mock.federation_url, "POST", path, token, body, headers=headers or None)


def spiffe_post(mock, path: str, body: bytes | None, headers: dict[str, str]) -> Reply:
    context = client_context(
        mock.server_ca.cert_pem, client_cert=mock.spiffe.issue_svid(SPIFFE_FRONTEND)
    )
    return send(
        mock.connection()["federation_mtls_url"],
        "POST",
        path,
        body=body,
        headers=headers,
        context=context,
    )


# -- echo router: an empty last parameter is no match (echo:router.go:666, :726) ----------------


@pytest.mark.parametrize(
    "path",
    ["/secretstore/app-store/secrets/", "/generators/team-a/Fake/", "/generators/team-a/revoke/"],
)
@pytest.mark.parametrize("method", ["POST", "DELETE", "GET", "OPTIONS"])
def test_an_empty_last_parameter_matches_no_route(mock, alpha, path, method):
    token = alpha.mint("team-a/web")
    reply = send(mock.federation_url, method, path, token, ca_body(alpha.ca.cert_pem))
    assert (reply.status, reply.body) == (404, b'{"message":"Not Found"}\n')
    assert "allow" not in reply.headers


def test_an_empty_middle_parameter_still_matches(mock, alpha):
    token = alpha.mint("team-a/web")
    reply = send(
        mock.federation_url,
        "POST",
        "/secretstore//secrets/plain",
        token,
        ca_body(alpha.ca.cert_pem),
    )
    assert (reply.status, reply.body) == (404, b'"Not Found"\n')


# -- echo binder for R4 (echo:bind.go:68-117, echo:json.go:26-34) --------------------------------


@pytest.fixture
def books(mock):
    books = mock.context.bookkeeping
    books.reset()
    yield books
    books.reset()


def _state_owners(books) -> list[str]:
    return sorted(s["metadata"]["labels"][LABEL_OWNER] for s in books.generator_states("team-a"))


@pytest.mark.parametrize("media_type", ["Application/JSON", "application/json+x", "text/json"])
def test_r4_media_type_is_compared_exactly(mock, alpha, books, media_type):
    reply = admin_post(mock, R4, ca_body(alpha.ca.cert_pem), **{"Content-Type": media_type})
    assert (reply.status, reply.body) == (400, body_of("code=415, message=Unsupported Media Type"))


def test_r4_media_type_parameters_and_spaces_are_ignored(mock, alpha, books):
    books.create_generator_state("team-a", "UUID", "uuid", "victim", {}, {}, None)
    body = ca_body(alpha.ca.cert_pem, owner="victim")
    reply = admin_post(mock, R4, body, **{"Content-Type": " application/json ; charset=utf-8"})
    assert (reply.status, reply.body) == (200, b'"GeneratorState deleted"\n')
    assert _state_owners(books) == []


def test_r4_member_names_match_case_insensitively(mock, alpha, books):
    books.create_generator_state("team-a", "UUID", "uuid", "victim", {}, {}, None)
    reply = admin_post(mock, R4, ca_body(alpha.ca.cert_pem, OWNER="victim"))
    assert (reply.status, reply.body) == (200, b'"GeneratorState deleted"\n')
    assert _state_owners(books) == []


def test_r4_form_bodies_bind_nothing(mock, alpha, books):
    books.create_generator_state("team-a", "UUID", "uuid", "victim", {}, {}, None)
    # As a form this body holds owner=victim, but deleteRequest has no form tags.
    body = ca_body(alpha.ca.cert_pem, x="&owner=victim&")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert admin_post(mock, R4, body, **form).body == b'"GeneratorState deleted"\n'
    assert _state_owners(books) == ["victim"]


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b'{"owner":"x"', "code=400, message=unexpected EOF, internal=unexpected EOF"),
        (b"  \n ", "code=400, message=EOF, internal=EOF"),
        (
            b'{"owner" 1}',
            "code=400, message=Syntax error: offset=10, error=invalid character '1' after "
            "object key, internal=invalid character '1' after object key",
        ),
        (
            b'{"owner": 1}',
            "code=400, message=Unmarshal type error: expected=string, got=number, field=owner, "
            "offset=11, internal=json: cannot unmarshal number into Go struct field "
            "deleteRequest.owner of type string",
        ),
        (
            b"[1]",
            "code=400, message=Unmarshal type error: expected=server.deleteRequest, got=array, "
            "field=, offset=1, internal=json: cannot unmarshal array into Go value of type "
            "server.deleteRequest",
        ),
    ],
)
def test_r4_json_bind_errors_are_echo_texts(mock, body, text):
    reply = spiffe_post(mock, R4, body, {"Content-Type": "application/json"})
    assert (reply.status, reply.body) == (400, body_of(text))


def test_r4_trailing_data_after_the_first_value_is_ignored(mock):
    # Bound fine, so the request reaches authorization (the SVID may not revoke: 404).
    reply = spiffe_post(mock, R4, b'{"owner":"x"} trailing', {"Content-Type": "application/json"})
    assert (reply.status, reply.body) == (404, b'"Not Found"\n')


def test_r4_content_length_zero_binds_nothing_but_an_empty_chunked_body_is_eof(mock):
    assert spiffe_post(mock, R4, b"", {"Content-Type": "application/json"}).status == 404
    parts = urlsplit(mock.connection()["federation_mtls_url"])
    context = client_context(
        mock.server_ca.cert_pem, client_cert=mock.spiffe.issue_svid(SPIFFE_FRONTEND)
    )
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=context, timeout=10)
    try:
        conn.request(
            "POST", R4, body=iter([]), headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )  # fmt: skip
        response = conn.getresponse()
        status, body = response.status, response.read()
    finally:
        conn.close()
    assert (status, body) == (400, body_of("code=400, message=EOF, internal=EOF"))


@pytest.mark.parametrize(
    ("content_type", "body", "text"),
    [
        (
            "application/x-www-form-urlencoded",
            b"owner=%zz",
            'code=400, message=invalid URL escape "%zz", internal=invalid URL escape "%zz"',
        ),
        (
            "application/x-www-form-urlencoded",
            b"owner=a;namespace=b",
            "code=400, message=invalid semicolon separator in query, "
            "internal=invalid semicolon separator in query",
        ),
        (
            "multipart/form-data",
            b"owner",
            "code=400, message=no multipart boundary param in Content-Type, "
            "internal=no multipart boundary param in Content-Type",
        ),
        (
            "multipart/form-data; boundary=xyz",
            b"owner",
            "code=400, message=multipart: NextPart: EOF, internal=multipart: NextPart: EOF",
        ),
    ],
)
def test_r4_form_parse_errors_are_go_texts(mock, content_type, body, text):
    reply = spiffe_post(mock, R4, body, {"Content-Type": content_type})
    assert (reply.status, reply.body) == (400, body_of(text))


def test_r4_a_well_formed_form_binds_nothing_and_reaches_authorization(mock):
    reply = spiffe_post(
        mock, R4, b"owner=x&namespace=y", {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (reply.status, reply.body) == (404, b'"Not Found"\n')


def test_r4_xml_binds_elements_named_like_the_go_fields(mock, alpha, books):
    registry = mock.context.registry
    model = registry.model
    import dataclasses

    from mockserver.manifests import Authorization
    from mockserver.manifests.model import FederationRef

    revoker = Authorization(
        name="spiffe-revoker",
        federation_ref=FederationRef("SpiffeFederation", "example-org"),
        oidc=None,
        spiffe_id=SPIFFE_FRONTEND,
        allowed_generator_states=("team-a",),
    )
    registry.replace(dataclasses.replace(model, authorizations=(*model.authorizations, revoker)))
    try:
        for owner in ("victim", "owner-lower"):
            books.create_generator_state("team-a", "UUID", "uuid", owner, {}, {}, None)
        xml = b"<deleteRequest><owner>owner-lower</owner><Owner>victim</Owner></deleteRequest>"
        reply = spiffe_post(mock, R4, xml, {"Content-Type": "application/xml"})
        assert (reply.status, reply.body) == (200, b'"GeneratorState deleted"\n')
        assert _state_owners(books) == ["owner-lower"]
    finally:
        registry.reset()


# -- golang-jwt into auth.KubernetesClaims (jwt:parser.go:169-187, auth/oidc.go:41-58) -----------


def _signed(alpha, claims: bytes, header: dict | None = None) -> str:
    head = header or {"alg": "RS256", "kid": alpha.signing_key.kid}
    signing_input = f"{b64url(json.dumps(head).encode())}.{b64url(claims)}".encode()
    key = alpha.signing_key.private_key
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input.decode()}.{b64url(signature)}"


def _claims(alpha, **extra: object) -> dict[str, object]:
    claims: dict[str, object] = {"iss": alpha.issuer, "sub": WEB_SUB}
    claims.update(extra)
    return claims


def r1_with(mock, alpha, token: str) -> Reply:
    return send(mock.federation_url, "POST", R1, token, ca_body(alpha.ca.cert_pem))


@pytest.fixture
def keys_stub(mock, alpha, tmp_path):
    """Alpha's keys served by a stand-in that, unlike the fake cluster, does not review the
    forwarded bearer: hand-made tokens then reach golang-jwt's checks after the key function."""
    leaf = alpha.ca.issue_server_cert("127.0.0.1")
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    with upstream_stub.serve(chain, leaf.private_key_pem.bytes(), tmp_path) as upstream:
        upstream.jwks_body = alpha.jwks_bytes()
        with upstream_stub.extra_specs(mock, ("keys", upstream.url)):
            yield upstream


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        (
            {"iss": 5},
            "json: cannot unmarshal number into Go struct field "
            "KubernetesClaims.RegisteredClaims.iss of type string",
        ),
        (
            {"sub": ["x"]},
            "json: cannot unmarshal array into Go struct field "
            "KubernetesClaims.RegisteredClaims.sub of type string",
        ),
        ({"aud": 5}, "invalid type for claim"),
        ({"aud": ["a", 1]}, "invalid type for claim"),
        (
            {"exp": True},
            "could not parse NumericData: json: cannot unmarshal bool into Go value of type "
            "json.Number",
        ),
        (
            {"exp": "soon"},
            "could not parse NumericData: json: invalid number literal, trying to unmarshal "
            '"\\"soon\\"" into Number',
        ),
        (
            {"kubernetes.io": "team-a"},
            "json: cannot unmarshal string into Go struct field KubernetesClaims.kubernetes.io "
            "of type auth.KubernetesIOInner",
        ),
        (
            {"kubernetes.io": {"namespace": 1}},
            "json: cannot unmarshal number into Go struct field "
            "KubernetesIOInner.kubernetes.io.namespace of type string",
        ),
        (
            {"kubernetes.io": {"serviceaccount": {"name": 1}}},
            "json: cannot unmarshal number into Go struct field "
            ".kubernetes.io.serviceaccount.name of type string",
        ),
        (
            # A type error is remembered while decoding goes on; aud's own error wins.
            {"iss": 5, "aud": 5},
            "invalid type for claim",
        ),
    ],
)
def test_malformed_claims_fail_with_go_texts(mock, alpha, extra, text):
    claims = json.dumps(_claims(alpha, **extra)).encode()
    reply = r1_with(mock, alpha, f"{b64url(b'{}')}.{b64url(claims)}.sig")
    assert (reply.status, reply.body) == (401, body_of(MALFORMED + text))


def test_claims_that_are_not_an_object_name_the_go_struct(mock, alpha):
    reply = r1_with(mock, alpha, f"{b64url(b'{}')}.{b64url(b'[1]')}.sig")
    assert (reply.status, reply.body) == (
        401,
        body_of(
            MALFORMED + "json: cannot unmarshal array into Go value of type auth.KubernetesClaims"
        ),
    )


def test_null_claims_are_no_decoding_error(mock, alpha):
    # Empty claims: no issuer, so no Authorization names it; the keyfunc is what fails.
    reply = r1_with(mock, alpha, _signed(alpha, b"null"))
    assert (reply.status, reply.body) == (
        401,
        body_of("token is unverifiable: error while executing keyfunc: no jwks found"),
    )


def test_a_quoted_numeric_exp_is_accepted(mock, alpha, keys_stub):
    exp = str(int(mock.clock.now()) + 600)
    token = _signed(alpha, json.dumps(_claims(alpha, exp=exp)).encode())
    assert r1_with(mock, alpha, token).body == b'"hello"\n'


def test_claim_names_fold_case_as_go_struct_fields(mock, alpha, keys_stub):
    token = _signed(alpha, json.dumps({"ISS": alpha.issuer, "Sub": WEB_SUB}).encode())
    assert r1_with(mock, alpha, token).body == b'"hello"\n'


def test_an_expired_and_not_yet_valid_token_reports_both(mock, alpha, keys_stub):
    now = int(mock.clock.now())
    token = _signed(alpha, json.dumps(_claims(alpha, exp=now - 10, nbf=now + 10)).encode())
    reply = r1_with(mock, alpha, token)
    assert (reply.status, reply.body) == (
        401,
        body_of("token has invalid claims: token is expired, token is not valid yet"),
    )


def test_alg_none_is_unverifiable_inside_the_signature_error(mock, alpha, keys_stub):
    header = {"alg": "none", "kid": alpha.signing_key.kid}
    claims = json.dumps(_claims(alpha)).encode()
    token = f"{b64url(json.dumps(header).encode())}.{b64url(claims)}."
    reply = r1_with(mock, alpha, token)
    assert (reply.status, reply.body) == (
        401,
        body_of(
            "token signature is invalid: token is unverifiable: "
            "'none' signature type is not allowed"
        ),
    )


# -- x-workload-token into auth.WorkloadTokenClaims (auth/authenticator.go:96-128) --------------


RS256_HEADER = b64url(b'{"alg":"RS256"}')


def _workload(claims: dict[str, object], signature: str = "sig") -> str:
    return f"{RS256_HEADER}.{b64url(json.dumps(claims).encode())}.{signature}"


WORKLOAD = {"kubernetes.io": {"namespace": "team-a", "serviceaccount": {"name": "w", "uid": "u"}}}


def test_the_workload_token_signature_segment_is_never_decoded(mock, alpha):
    mock.behaviour.enable("unverified-workload-token")
    try:
        token = alpha.mint("ops/admin")
        reply = send(
            mock.federation_url,
            "POST",
            R1,
            token,
            ca_body(alpha.ca.cert_pem),
            headers={"x-workload-token": _workload(WORKLOAD, signature="***not base64***")},
        )
    finally:
        mock.behaviour.disable("unverified-workload-token")
    assert reply.status != 400, reply.body


def test_a_mistyped_workload_claim_names_the_anonymous_struct(mock, alpha):
    token = alpha.mint("ops/admin")
    reply = send(
        mock.federation_url,
        "POST",
        R1,
        token,
        ca_body(alpha.ca.cert_pem),
        headers={"x-workload-token": _workload({"kubernetes.io": {"namespace": 7}})},
    )
    assert (reply.status, reply.body) == (
        400,
        body_of(
            "invalid x-workload-token: failed to parse x-workload-token: "
            + MALFORMED
            + "json: cannot unmarshal number into Go struct field .kubernetes.io.namespace of "
            "type string"
        ),
    )


# -- rows of docs/fidelity.md that had no test ---------------------------------------------------


def test_a_ps256_header_verifies_with_the_rs256_jwk(mock, alpha, keys_stub):
    head = {"alg": "PS256", "kid": alpha.signing_key.kid}
    signing_input = (
        f"{b64url(json.dumps(head).encode())}.{b64url(json.dumps(_claims(alpha)).encode())}"
    ).encode()
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    signature = alpha.signing_key.private_key.sign(signing_input, pss, hashes.SHA256())
    token = f"{signing_input.decode()}.{b64url(signature)}"
    assert r1_with(mock, alpha, token).body == b'"hello"\n'


@pytest.mark.parametrize(
    ("header", "text"),
    [
        (b'{"alg":"XX256"}', "token is unverifiable: signing method (alg) is unavailable"),
        (b'{"kid":"k"}', "token is unverifiable: signing method (alg) is unspecified"),
        (b"null", "token is unverifiable: signing method (alg) is unspecified"),
    ],
)
def test_unknown_and_missing_algorithms(mock, alpha, header, text):
    token = f"{b64url(header)}.{b64url(json.dumps(_claims(alpha)).encode())}.sig"
    reply = r1_with(mock, alpha, token)
    assert (reply.status, reply.body) == (401, body_of(text))


def test_the_ca_crt_member_folds_case(mock, alpha):
    token = alpha.mint("team-a/web")
    body = json.dumps({"CA.CRT": base64.b64encode(alpha.ca.cert_pem).decode()}).encode()
    assert send(mock.federation_url, "POST", R1, token, body).body == b'"hello"\n'


def test_a_malformed_escape_is_go_plain_text_400(mock, alpha):
    token = alpha.mint("team-a/web")
    reply = send(mock.federation_url, "POST", "/secretstore/%zz/secrets/x", token, b"{}")
    assert (reply.status, reply.body) == (400, b"400 Bad Request")
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply.headers["connection"] == "close"
