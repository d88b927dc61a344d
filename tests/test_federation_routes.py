"""The mock's wire behaviour, one test per row of the status matrix (docs/protocol.md §2.6)
and per check-order rule (§4.3), against the default fixtures (fixtures/README.md)."""

from __future__ import annotations

import base64
import json

import pytest

from mockserver.federation.bookkeeping import LABEL_GENERATOR
from mockserver.gojson import go_json
from tests.wire import Reply, ca_body, send

JSON = "application/json"


class Caller:
    """Sends requests as one fake-cluster identity, the way a conforming client does."""

    def __init__(
        self, mock, cluster: str = "alpha", sa: str = "team-a/web", pod: str | None = None
    ):
        self.mock = mock
        self.cluster = mock.clusters[cluster]
        self.token = self.cluster.mint(sa, pod=pod)

    def body(self, **extra: object) -> bytes:
        return ca_body(self.cluster.ca.cert_pem, **extra)

    def __call__(self, method: str, path: str, body: bytes | None = None, **kwargs) -> Reply:
        if body is None:
            body = self.body()
        return send(self.mock.federation_url, method, path, self.token, body, **kwargs)


@pytest.fixture(scope="module")
def web(mock):
    return Caller(mock, "alpha", "team-a/web", pod="web-7d9f8b6c5-x2x4q")


@pytest.fixture(scope="module")
def intruder(mock):
    return Caller(mock, "alpha", "team-a/intruder")


@pytest.fixture(scope="module")
def admin(mock):
    return Caller(mock, "alpha", "ops/admin")


def assert_json(reply: Reply, status: int, value: object) -> None:
    assert reply.status == status, reply.body
    assert reply.headers["content-type"] == JSON
    assert reply.body == go_json(value)


# -- 200 (§2.5) ----------------------------------------------------------------------------------

TRICKY = {
    "plain": "hello",
    "quotes": 'she said "hi" and it\'s fine',
    "html": '<b>fish & chips</b> <script>alert("x")</script>',
    "empty": "",
    "trailing-newline": "ends with a newline\n",
    "multiline": "first line\nsecond line\n",
    "db/password": "c0rrect/h0rse:battery@staple",
}


@pytest.mark.parametrize("key", sorted(TRICKY))
def test_r1_answers_the_value_as_a_go_json_string_2_5(web, key):
    reply = web("POST", f"/secretstore/app-store/secrets/{key}")
    assert_json(reply, 200, TRICKY[key])
    assert reply.body.endswith(b'"\n')


def test_r1_escapes_html_and_line_separators_as_go_does_2_1(web):
    assert web("POST", "/secretstore/app-store/secrets/html").body == (
        b'"\\u003cb\\u003efish \\u0026 chips\\u003c/b\\u003e '
        b'\\u003cscript\\u003ealert(\\"x\\")\\u003c/script\\u003e"\n'
    )
    unicode_reply = web("POST", "/secretstore/app-store/secrets/unicode")
    assert unicode_reply.status == 200
    assert b"\\u2028" in unicode_reply.body and b"\\u2029" in unicode_reply.body
    assert "Grüße, 東京".encode() in unicode_reply.body


def test_r1_json_document_comes_back_as_a_string_holding_json_2_5(web):
    reply = web("POST", "/secretstore/app-store/secrets/json")
    decoded = json.loads(reply.body)
    assert isinstance(decoded, str)
    assert json.loads(decoded)["password"] == 'p@ss"w0rd'


def test_r2_answers_an_object_of_strings_2_5(web):
    reply = web("POST", "/generators/team-a/Fake/fake-static")
    assert_json(reply, 200, {"password": 'p@ss"word<&>', "username": "admin"})
    assert reply.body == b'{"password":"p@ss\\"word\\u003c\\u0026\\u003e","username":"admin"}\n'


def test_r2_runs_a_cluster_generator_2_5(web, mock):
    reply = web("POST", "/generators/team-a/ClusterGenerator/cluster-password")
    assert reply.status == 200
    (password,) = json.loads(reply.body).values()
    assert len(password) == 16
    assert sum(c.isdigit() for c in password) == 4
    (state,) = [
        s
        for s in mock.context.bookkeeping.generator_states("team-a")
        if s["metadata"]["labels"][LABEL_GENERATOR] == "cluster-password"
    ]
    assert state["spec"]["resource"]["spec"] == {
        "kind": "Password",
        "generator": {
            "passwordSpec": {
                "length": 16,
                "digits": 4,
                "symbols": 0,
                "noUpper": False,
                "allowRepeat": False,
            }
        },
    }


def test_r3_answers_null_even_when_nothing_matched_2_5(web):
    assert_json(web("DELETE", "/generators/team-a/UUID/uuid"), 200, None)
    assert web("DELETE", "/generators/team-a/UUID/uuid").body == b"null\n"


def test_r4_answers_the_fixed_string_2_5(admin):
    reply = admin(
        "POST", "/generators/team-a/revoke", admin.body(owner="nobody", namespace="team-a")
    )
    assert reply.body == b'"GeneratorState deleted"\n'
    assert reply.status == 200


def test_pretty_query_indents_objects_2_1(web):
    reply = web("POST", "/generators/team-a/Fake/fake-static?pretty")
    assert reply.body == (
        b'{\n  "password": "p@ss\\"word\\u003c\\u0026\\u003e",\n  "username": "admin"\n}\n'
    )


# -- 204 -----------------------------------------------------------------------------------------


def test_authenticated_options_is_204_with_allow_2_1(web):
    reply = web("OPTIONS", "/generators/team-a/UUID/uuid")
    assert (reply.status, reply.body, reply.headers["allow"]) == (204, b"", "OPTIONS, DELETE, POST")


# -- 400 -----------------------------------------------------------------------------------------


def test_missing_secret_key_is_400_not_404_2_6(web):
    assert_json(
        web("POST", "/secretstore/app-store/secrets/no-such-key"), 400, "Secret does not exist"
    )


def test_malformed_workload_token_is_400_even_on_r1_2_5(web):
    reply = web("POST", "/secretstore/app-store/secrets/plain", headers={"x-workload-token": "abc"})
    assert_json(
        reply,
        400,
        "invalid x-workload-token: failed to parse x-workload-token: token is malformed: "
        "token contains an invalid number of segments",
    )


def test_workload_token_missing_claims_is_400_3_6(web, mock):
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    claims = (
        base64.urlsafe_b64encode(b'{"kubernetes.io":{"namespace":"team-a"}}').rstrip(b"=").decode()
    )
    reply = web(
        "POST", "/generators/team-a/UUID/uuid", headers={"x-workload-token": f"{header}.{claims}."}
    )
    assert_json(
        reply,
        400,
        "invalid x-workload-token: x-workload-token missing kubernetes.io.serviceaccount.name",
    )


def test_unsupported_generator_kind_is_400_2_5(web):
    reply = web("POST", "/generators/team-a/Federation/federation")
    assert reply.status == 400
    assert json.loads(reply.body).startswith("unable to get generator:")


def test_missing_generator_is_400_2_5(web):
    reply = web("POST", "/generators/team-a/Password/missing")
    assert reply.status == 400
    message = json.loads(reply.body)
    assert message.startswith("unable to get generator:")
    assert '"missing" not found' in message


def test_r4_bind_error_is_400_with_415_for_other_media_types_2_3(admin):
    reply = admin(
        "POST",
        "/generators/team-a/revoke",
        admin.body(owner="x"),
        headers={"Content-Type": "text/plain"},
    )
    # The OIDC authenticator ignores Content-Type; R4's bind refuses it.
    assert_json(reply, 400, "code=415, message=Unsupported Media Type")


# -- 401 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/secretstore/app-store/secrets/plain"),
        ("GET", "/healthz"),
        ("DELETE", "/nope"),
        ("PUT", "/"),
    ],
)
def test_unauthenticated_requests_to_any_path_are_401_json_strings_2_1(mock, method, path):
    reply = send(mock.federation_url, method, path)
    assert reply.status == 401
    assert reply.headers["content-type"] == JSON
    assert isinstance(json.loads(reply.body), str)
    assert reply.body.endswith(b"\n")


def test_empty_body_fails_oidc_with_go_text_3_2(web):
    reply = send(web.mock.federation_url, "DELETE", "/generators/team-a/UUID/uuid", web.token)
    assert_json(reply, 401, "unexpected end of JSON input")


def test_no_token_gives_the_segments_error_3_2(mock, web):
    reply = send(
        mock.federation_url, "POST", "/secretstore/app-store/secrets/plain", None, web.body()
    )
    assert_json(reply, 401, "token is malformed: token contains an invalid number of segments")


def test_expired_token_is_401_3_2(mock, web):
    token = mock.clusters["alpha"].mint("team-a/web", broken="expired-seconds-ago")
    reply = send(
        mock.federation_url, "POST", "/secretstore/app-store/secrets/plain", token, web.body()
    )
    assert_json(reply, 401, "token has invalid claims: token is expired")


def test_unknown_issuer_is_401_not_404_8a_s13(mock, web):
    token = mock.clusters["alpha"].mint("team-a/web", broken="wrong-issuer")
    reply = send(
        mock.federation_url, "POST", "/secretstore/app-store/secrets/plain", token, web.body()
    )
    assert_json(reply, 401, "token is unverifiable: error while executing keyfunc: no jwks found")


def test_kidless_token_is_a_401_response_by_default_6_1(mock, web):
    token = mock.clusters["alpha"].mint("team-a/web", broken="no-kid")
    reply = send(
        mock.federation_url, "POST", "/secretstore/app-store/secrets/plain", token, web.body()
    )
    assert reply.status == 401
    assert json.loads(reply.body).startswith(
        "token is unverifiable: error while executing keyfunc:"
    )


# -- 404 -----------------------------------------------------------------------------------------


def test_denied_store_is_404_not_found_string_4_1(intruder):
    assert intruder("POST", "/secretstore/app-store/secrets/plain").body == b'"Not Found"\n'


def test_unknown_route_when_authenticated_is_404_object_2_1(web):
    assert_json(web("POST", "/secretstore/app-store/secret/plain"), 404, {"message": "Not Found"})


def test_double_slash_does_not_match_a_route_2_7(web):
    assert_json(web("POST", "//generators/team-a/UUID/uuid"), 404, {"message": "Not Found"})


# -- 405 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/secretstore/app-store/secrets/plain", "OPTIONS, POST"),
        ("PUT", "/generators/team-a/UUID/uuid", "OPTIONS, DELETE, POST"),
        ("DELETE", "/generators/team-a/revoke", "OPTIONS, POST"),
    ],
)
def test_wrong_method_is_405_object_with_allow_2_1(web, method, path, allow):
    reply = web(method, path)
    assert_json(reply, 405, {"message": "Method Not Allowed"})
    assert reply.headers["allow"] == allow


def test_head_is_405_with_empty_body_2_1(web):
    reply = web("HEAD", "/secretstore/app-store/secrets/plain")
    assert (reply.status, reply.body) == (405, b"")


# -- 413 (documented deviation) -----------------------------------------------------------------


def test_body_over_one_mebibyte_is_413(web):
    reply = web("POST", "/secretstore/app-store/secrets/plain", b"{" + b" " * (1 << 20) + b"}")
    assert_json(reply, 413, {"message": "Request Entity Too Large"})


# -- routing on the raw path (§2.1) --------------------------------------------------------------


def test_raw_slash_in_the_last_parameter_reaches_the_backend_2_1(web):
    assert_json(
        web("POST", "/secretstore/app-store/secrets/db/password"), 200, TRICKY["db/password"]
    )


def test_encoded_slash_reaches_the_backend_still_encoded_2_1(web):
    assert_json(
        web("POST", "/secretstore/app-store/secrets/db%2Fpassword"), 400, "Secret does not exist"
    )


def test_escapes_go_would_not_send_keep_the_path_raw_2_1(web):
    """Go keeps a RawPath when its own escaping of the decoded path differs (`%61` for `a`):
    echo then routes on the raw path and hands the parameter over still encoded."""
    assert_json(web("POST", "/secretstore/app-store/secrets/pl%61in"), 400, "Secret does not exist")
    assert_json(web("POST", "/secretstore/app%2Dstore/secrets/plain"), 404, "Not Found")


def test_revoke_followed_by_a_name_is_r2_with_kind_revoke_2_2(mock, web):
    reply = web("POST", "/generators/team-a/revoke/x")
    assert_json(reply, 404, "Not Found")
    assert mock.admin.journal()[-1]["route"] == "generate"
    revoke = web("POST", "/generators/team-a/revoke", web.body(owner="web", namespace="team-a"))
    assert_json(revoke, 404, "Not Found")  # the same answer: only the route tells them apart
    assert mock.admin.journal()[-1]["route"] == "revoke-of"


# -- check order (§4.3) --------------------------------------------------------------------------


def test_r1_authorization_before_backend_4_3(intruder):
    assert_json(intruder("POST", "/secretstore/no-such-store/secrets/x"), 404, "Not Found")


def test_r2_workload_before_authorization_4_3(intruder):
    reply = intruder("POST", "/generators/team-a/UUID/uuid", headers={"x-workload-token": "a.b"})
    assert reply.status == 400


def test_r2_authorization_before_generator_4_3(intruder):
    assert_json(intruder("POST", "/generators/team-a/Password/missing"), 404, "Not Found")


def test_r3_workload_before_authorization_4_3(intruder):
    reply = intruder("DELETE", "/generators/team-a/UUID/uuid", headers={"x-workload-token": "a.b"})
    assert reply.status == 400


def test_r4_bind_before_authorization_4_3(intruder):
    reply = intruder("POST", "/generators/team-a/revoke", b'{"ca.crt": 1')
    assert reply.status == 401  # the OIDC body parse comes first of all
    body = intruder.body()[:-1] + b', "owner": 5}'
    assert intruder("POST", "/generators/team-a/revoke", body).status == 400


def test_r4_authorization_on_the_url_namespace_4_3(admin):
    reply = admin("POST", "/generators/team-b/revoke", admin.body(owner="x", namespace="team-b"))
    assert_json(reply, 404, "Not Found")


def test_status_lines_carry_go_reason_phrases_2_1(mock, intruder):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", mock.listeners["http"].port, timeout=5)
    conn.request(
        "POST",
        "/secretstore/app-store/secrets/plain",
        body=intruder.body(),
        headers={"Authorization": f"Bearer {intruder.token}"},
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    assert (response.status, response.reason) == (404, "Not Found")


# -- bookkeeping of R1 and R3 ---------------------------------------------------------------------


def _issued(mock, caller: Caller) -> dict:
    books = mock.context.bookkeeping
    books.reset()
    try:
        assert_json(caller("POST", "/secretstore/app-store/secrets/plain"), 200, "hello")
        (identity,) = books.authorized_identities()
    finally:
        books.reset()
    assert identity["metadata"] == {"name": "oidc-system-serviceaccount-team-a-web"}
    assert identity["spec"]["identitySpec"] == {
        "federationRef": {"kind": "KubernetesFederation", "name": "alpha"},
        "subject": {
            "oidc": {
                "issuer": "https://kubernetes.default.svc.cluster.local",
                "subject": "system:serviceaccount:team-a:web",
            }
        },
    }
    (credential,) = identity["spec"]["issuedCredentials"]
    assert credential.pop("lastIssuedAt").endswith("Z")
    return credential


def test_r1_records_the_credential_bound_to_the_pod_or_service_account_2_5(mock, web):
    store = {
        "sourceRef": {"kind": "ClusterSecretStore", "apiVersion": "external-secrets.io/v1", "name": "app-store"},
        "remoteRef": {"remoteKey": "plain", "property": ""},
    }  # fmt: skip
    assert _issued(mock, web) == {
        **store,
        "workloadBinding": {
            "kind": "Pod",
            "name": "web-7d9f8b6c5-x2x4q",
            "uid": "0c8e7d6a-2f3b-4a1c-8d9e-7a6b5c4d3e01",
            "namespace": "team-a",
        },
    }
    assert _issued(mock, Caller(mock, "alpha", "team-a/web")) == {
        **store,
        "workloadBinding": {
            "kind": "ServiceAccount",
            "name": "web",
            "uid": "6f1c2a4e-1b0d-4c52-9a1e-2f3b4c5d6e01",
            "namespace": "team-a",
        },
    }


def test_r3_is_authorized_on_the_generator_4_3(web, intruder):
    assert_json(intruder("DELETE", "/generators/team-a/UUID/uuid"), 404, "Not Found")
    reply = web("DELETE", "/generators/team-a/UUID/uuid")
    assert (reply.status, reply.body) == (200, b"null\n")
