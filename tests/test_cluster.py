"""Fake clusters over HTTPS: discovery access rules, PyJWT's JWKS client as a Federation Server
uses it, rotation, the shiftable clock, faults, counts and persistence."""

from __future__ import annotations

import json
import ssl
import stat
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography import x509
from flask import Response
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tokens import EXPECTED_FAILURE

from mockserver.clock import CLOCK
from mockserver.cluster import (
    DEFAULT_ISSUER,
    FakeCluster,
    Pod,
    ServiceAccount,
    TokenReviewError,
)
from mockserver.discovery import jwks_document
from mockserver.tls import CertificateAuthority
from mockserver.tokens import BROKEN_KINDS, EXTENDED_DURATION, TokenRequestError

UNAUTHORIZED = (
    b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
    b'"message":"Unauthorized","reason":"Unauthorized","code":401}\n'
)
NOT_FOUND = (
    b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
    b'"message":"the server could not find the requested resource","reason":"NotFound",'
    b'"details":{},"code":404}\n'
)


def forbidden(path: str) -> bytes:
    return (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"forbidden: User \\"system:anonymous\\" cannot get path \\"'
        + path.encode()
        + b'\\"","reason":"Forbidden","details":{},"code":403}\n'
    )


@pytest.fixture(scope="module")
def alpha() -> Iterator[FakeCluster]:
    cluster = FakeCluster(
        "alpha",
        key_types=("rsa", "ec"),
        service_accounts=[ServiceAccount("apps", "builder"), ServiceAccount("apps", "other")],
        pods=[Pod("apps", "builder-0", service_account="builder", node="node-1")],
    ).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def beta(alpha: FakeCluster) -> Iterator[FakeCluster]:
    """A second issuer behind alpha's CA, with anonymous discovery and a moved jwks_uri."""
    cluster = FakeCluster(
        "beta",
        issuer="https://beta.example.com",
        api_audiences=["https://beta.example.com", "api"],
        ca=alpha.ca,
        key_types=("ec",),
        service_accounts=[ServiceAccount("apps", "builder")],
        anonymous_discovery=True,
        jwks_uri_host="localhost",
    ).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def clock_offset() -> Iterator[None]:
    before = CLOCK.offset
    yield
    CLOCK.set_offset(before)


def get(
    cluster: FakeCluster,
    path: str,
    token: str | None = None,
    context: ssl.SSLContext | None = None,
    method: str = "GET",
) -> tuple[int, Any, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(cluster.url + path, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, context=context or cluster.client_context()) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def jwk_client(cluster: FakeCluster, bearer: str) -> jwt.PyJWKClient:
    """PyJWT's JWKS client as a Federation Server would use it: bearer token, cluster CA only."""
    return jwt.PyJWKClient(
        cluster.jwks_url,
        headers={"Authorization": f"Bearer {bearer}"},
        ssl_context=cluster.client_context(),
        cache_jwk_set=False,
    )


def verify(cluster: FakeCluster, token: str, bearer: str | None = None, **kw: Any) -> dict:
    key = jwk_client(cluster, bearer or token).get_signing_key_from_jwt(token)
    kw.setdefault("audience", cluster.api_audiences[0])
    kw.setdefault("issuer", cluster.issuer)
    return jwt.decode(token, key.key, algorithms=["RS256", "ES256"], **kw)


# -- discovery endpoints -----------------------------------------------------------------


def test_discovery_document_over_tls(alpha: FakeCluster) -> None:
    status, headers, body = get(
        alpha, "/.well-known/openid-configuration", alpha.mint("apps/builder")
    )
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "public, max-age=3600"
    assert body == (
        b'{"issuer":"https://kubernetes.default.svc.cluster.local","jwks_uri":"'
        + alpha.url.encode()
        + b'/openid/v1/jwks","response_types_supported":["id_token"],'
        b'"subject_types_supported":["public"],'
        b'"id_token_signing_alg_values_supported":["ES256","RS256"]}'
    )


def test_jwks_over_tls(alpha: FakeCluster) -> None:
    status, headers, body = get(alpha, "/openid/v1/jwks", alpha.mint("apps/builder"))
    assert status == 200
    assert headers["Content-Type"] == "application/jwk-set+json"
    assert headers["Cache-Control"] == "public, max-age=3600"
    assert body == jwks_document(alpha.keys)
    assert [k["kid"] for k in json.loads(body)["keys"]] == [k.kid for k in alpha.keys]
    assert [k["alg"] for k in json.loads(body)["keys"]] == ["RS256", "ES256"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/.well-known/openid-configuration?x=1", 200),
        ("/openid/v1/jwks?format=yaml", 200),
        ("/openid/v1/jwks#issuer", 200),
        ("/.well-known", 404),
        ("/openid/v1/jwks/foo", 404),
        ("/openid/v1/jwks/", 404),
        ("/", 404),
    ],
)
def test_url_boundaries(alpha: FakeCluster, path: str, status: int) -> None:
    got, _, body = get(alpha, path, alpha.mint("apps/builder"))
    assert got == status
    if status == 404:
        assert body == NOT_FOUND


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/openid/v1/jwks"])
def test_anonymous_is_forbidden(alpha: FakeCluster, path: str) -> None:
    status, headers, body = get(alpha, path + "?q=1")
    assert status == 403
    assert body == forbidden(path)
    assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "{}.x.y"])
def test_a_bad_token_is_unauthorized(alpha: FakeCluster, token: str) -> None:
    for path in ("/openid/v1/jwks", "/.well-known/openid-configuration", "/nowhere"):
        status, _, body = get(alpha, path, token)
        assert (status, body) == (401, UNAUTHORIZED)


def test_audience_outside_the_api_audiences_is_unauthorized(alpha: FakeCluster) -> None:
    token = alpha.mint("apps/builder", audiences=["vault"])
    assert get(alpha, "/openid/v1/jwks", token)[:3:2] == (401, UNAUTHORIZED)
    with pytest.raises(TokenReviewError) as caught:
        alpha.review_token(token)
    assert str(caught.value) == (
        'token audiences ["vault"] is invalid for the target audiences '
        '["https://kubernetes.default.svc.cluster.local"]'
    )


def test_another_clusters_token_is_unauthorized(alpha: FakeCluster, beta: FakeCluster) -> None:
    assert get(alpha, "/openid/v1/jwks", beta.mint("apps/builder"))[0] == 401


def test_anonymous_switch_and_moved_jwks_uri(beta: FakeCluster) -> None:
    status, _, body = get(beta, "/.well-known/openid-configuration")
    assert status == 200
    port = beta.url.rsplit(":", 1)[1]
    assert json.loads(body)["jwks_uri"] == f"https://localhost:{port}/openid/v1/jwks"
    assert get(beta, "/openid/v1/jwks")[0] == 200
    # An invalid token never falls back to anonymous.
    assert get(beta, "/openid/v1/jwks", "garbage")[:3:2] == (401, UNAUTHORIZED)


def test_jwks_uri_host_with_port_is_used_verbatim() -> None:
    cluster = FakeCluster("gamma", key_types=("ec",), jwks_uri_host="other.example:8443")
    assert cluster.jwks_uri == "https://other.example:8443/openid/v1/jwks"


def test_two_issuers_behind_one_ca(alpha: FakeCluster, beta: FakeCluster) -> None:
    assert beta.ca is alpha.ca
    status, _, _ = get(beta, "/openid/v1/jwks", context=alpha.client_context())
    assert status == 200
    assert beta.issuer != alpha.issuer


def test_tls_trusts_only_the_clusters_ca(alpha: FakeCluster) -> None:
    stranger = CertificateAuthority.create().client_context()
    with pytest.raises(urllib.error.URLError) as caught:
        get(alpha, "/openid/v1/jwks", context=stranger)
    assert isinstance(caught.value.reason, ssl.SSLCertVerificationError)


def test_server_certificate_names(alpha: FakeCluster) -> None:
    cluster = FakeCluster("delta", key_types=("ec",), extra_names=("kube.example",))
    issuer_host = "kubernetes.default.svc.cluster.local"
    assert cluster.server_names() == ("127.0.0.1", "localhost", "kube.example", issuer_host)
    leaf = x509.load_pem_x509_certificate(cluster.server_cert().cert_chain_pems[0].bytes())
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "kube.example", issuer_host]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    # kube-apiserver's serving certificate is for serving only.
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]
    assert leaf.issuer == cluster.ca.certificate.subject
    # "localhost" is in alpha's certificate too.
    port = alpha.url.rsplit(":", 1)[1]
    request = urllib.request.Request(f"https://localhost:{port}/openid/v1/jwks")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, context=alpha.client_context())
    assert caught.value.code == 403


@pytest.mark.parametrize("method", ["HEAD", "POST", "PUT", "DELETE"])
@pytest.mark.parametrize("path", ["/openid/v1/jwks", "/.well-known/openid-configuration"])
def test_the_discovery_role_grants_only_get(alpha: FakeCluster, method: str, path: str) -> None:
    """system:service-account-issuer-discovery grants `get`; the verb of a non-resource URL is
    the lower-cased method, so RBAC refuses the others by name."""
    status, _, body = get(alpha, path, alpha.mint("apps/builder"), method=method)
    assert status == 403
    if method != "HEAD":
        user = "system:serviceaccount:apps:builder"
        assert json.loads(body)["message"] == (
            f'forbidden: User "{user}" cannot {method.lower()} path "{path}"'
        )


def test_anonymous_head_is_refused_even_where_anonymous_get_is_allowed(
    alpha: FakeCluster,
) -> None:
    alpha.anonymous_discovery = True
    try:
        assert get(alpha, "/openid/v1/jwks")[0] == 200
        status, _, body = get(alpha, "/openid/v1/jwks", method="POST")
        assert status == 403
        assert json.loads(body)["message"] == (
            'forbidden: User "system:anonymous" cannot post path "/openid/v1/jwks"'
        )
    finally:
        alpha.anonymous_discovery = False


def test_invalid_issuer_installs_no_discovery_endpoints() -> None:
    cluster = FakeCluster(
        "plain",
        issuer="http://plain.example",
        key_types=("ec",),
        service_accounts=[ServiceAccount("a", "b")],
    )
    with cluster:
        token = cluster.mint("a/b")
        assert cluster.review_token(token).username == "system:serviceaccount:a:b"
        for path in ("/.well-known/openid-configuration", "/openid/v1/jwks"):
            assert get(cluster, path, token)[:3:2] == (404, NOT_FOUND)


# -- what a Federation Server does with PyJWT ---------------------------------------------

API = DEFAULT_ISSUER


@settings(max_examples=25, deadline=None)
@given(
    sa=st.sampled_from(["apps/builder", "apps/other"]),
    pod=st.booleans(),
    duration=st.sampled_from([600, 3600, 3607, 86400]),
    audiences=st.lists(st.sampled_from([API, "vault", "https://federation.example"]), unique=True),
)
def test_every_minted_token_verifies_through_the_served_jwks(
    alpha: FakeCluster, sa: str, pod: bool, duration: int, audiences: list[str]
) -> None:
    bound = "builder-0" if pod and sa == "apps/builder" else None
    token = alpha.mint(sa, audiences=audiences, duration=duration, pod=bound)
    effective = audiences or [API]
    if API in effective:
        claims = verify(alpha, token, audience=effective[0])
        assert claims["sub"] == "system:serviceaccount:" + sa.replace("/", ":")
        extended = bound is not None and duration == 3607 and effective == [API]
        assert claims["exp"] - claims["iat"] == (EXTENDED_DURATION if extended else duration)
    else:
        # The cluster refuses the token as bearer: its audience is not an API audience.
        with pytest.raises(jwt.PyJWKClientError, match="HTTP Error 401"):
            verify(alpha, token, audience=effective[0])


@pytest.mark.parametrize("kind", sorted(BROKEN_KINDS))
def test_broken_tokens_fail_through_the_served_jwks(alpha: FakeCluster, kind: str) -> None:
    token = alpha.mint("apps/builder", broken=kind)
    error, message = EXPECTED_FAILURE[kind]
    with pytest.raises(error) as caught:
        verify(alpha, token, bearer=alpha.mint("apps/builder"))
    assert type(caught.value) is error
    assert message in str(caught.value)


# kube-apiserver itself accepts two of them: it has a 60 s leeway and tries every key without kid.
KUBE_ACCEPTS = {"expired-seconds-ago", "no-kid"}


@pytest.mark.parametrize("kind", sorted(BROKEN_KINDS))
def test_broken_tokens_as_bearer(alpha: FakeCluster, kind: str) -> None:
    status, _, body = get(alpha, "/openid/v1/jwks", alpha.mint("apps/builder", broken=kind))
    if kind in KUBE_ACCEPTS:
        assert status == 200
    else:
        assert (status, body) == (401, UNAUTHORIZED)


# -- time ---------------------------------------------------------------------------------


def test_expiry_follows_the_shifted_clock(alpha: FakeCluster, clock_offset: None) -> None:
    token = alpha.mint("apps/builder")
    CLOCK.shift(3600 + 30)  # past exp, inside kube's 60 s leeway (with room for a slow second)
    assert get(alpha, "/openid/v1/jwks", token)[0] == 200
    CLOCK.shift(31)
    assert get(alpha, "/openid/v1/jwks", token)[:3:2] == (401, UNAUTHORIZED)
    with pytest.raises(TokenReviewError, match=r"^service account token has expired$"):
        alpha.review_token(token)


def test_a_token_from_the_future_is_not_valid_yet(alpha: FakeCluster, clock_offset: None) -> None:
    CLOCK.shift(600)
    token = alpha.mint("apps/builder")
    CLOCK.shift(-600)
    with pytest.raises(TokenReviewError, match=r"^service account token is not valid yet$"):
        alpha.review_token(token)


def test_minted_times_read_the_clock(alpha: FakeCluster, clock_offset: None) -> None:
    CLOCK.shift(-10 * 365 * 86400)
    claims = jwt.decode(alpha.mint("apps/builder"), options={"verify_signature": False})
    assert claims["iat"] == CLOCK.time() or claims["iat"] == CLOCK.time() - 1


# -- rotation -----------------------------------------------------------------------------


def test_rotation_keeps_old_tokens_until_their_key_is_retired() -> None:
    cluster = FakeCluster("rot", key_types=("rsa",), service_accounts=[ServiceAccount("a", "b")])
    with cluster:
        old_key = cluster.signing_key
        old_token = cluster.mint("a/b")
        new_key = cluster.rotate_add_key("ec")
        assert [k.kid for k in cluster.keys] == [old_key.kid, new_key.kid]
        assert (
            json.loads(get(cluster, "/openid/v1/jwks", old_token)[2])["keys"][1]["kid"]
            == new_key.kid
        )
        assert jwt.get_unverified_header(cluster.mint("a/b"))["kid"] == old_key.kid

        cluster.rotate_sign_with(new_key.kid)
        new_token = cluster.mint("a/b")
        assert jwt.get_unverified_header(new_token) == {"alg": "ES256", "kid": new_key.kid}
        assert verify(cluster, old_token)["sub"] == "system:serviceaccount:a:b"
        assert verify(cluster, new_token)["sub"] == "system:serviceaccount:a:b"

        with pytest.raises(ValueError, match="still signs with it"):
            cluster.rotate_retire(new_key.kid)
        cluster.rotate_retire(old_key.kid)
        assert get(cluster, "/openid/v1/jwks", new_token)[2] == jwks_document([new_key])
        with pytest.raises(jwt.PyJWKClientError, match="Unable to find a signing key"):
            verify(cluster, old_token, bearer=new_token)
        assert get(cluster, "/openid/v1/jwks", old_token)[0] == 401
        with pytest.raises(TokenReviewError, match=r"^invalid signature, no keys found$"):
            cluster.review_token(old_token)
        assert verify(cluster, new_token)["sub"] == "system:serviceaccount:a:b"


def test_rotation_refuses_unknown_kids(alpha: FakeCluster) -> None:
    with pytest.raises(KeyError):
        alpha.rotate_sign_with("nope")
    with pytest.raises(KeyError):
        alpha.rotate_retire("nope")


# -- counts and faults --------------------------------------------------------------------


def test_request_counts_per_endpoint(alpha: FakeCluster) -> None:
    token = alpha.mint("apps/builder")
    alpha.reset_request_counts()
    get(alpha, "/.well-known/openid-configuration", token)
    get(alpha, "/openid/v1/jwks")  # refused requests are upstream requests too
    get(alpha, "/openid/v1/jwks/foo", token)
    threads = [
        threading.Thread(target=get, args=(alpha, "/openid/v1/jwks", token)) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert alpha.request_counts == {"discovery": 1, "jwks": 9}


def test_fault_hook_replaces_answers(alpha: FakeCluster) -> None:
    token = alpha.mint("apps/builder")
    seen: list[str] = []

    def fault(endpoint: str, request: Any) -> Response | None:
        seen.append(endpoint)
        return Response("boom", status=500) if endpoint == "jwks" else None

    alpha.faults = fault
    try:
        assert get(alpha, "/openid/v1/jwks", token)[:3:2] == (500, b"boom")
        assert get(alpha, "/.well-known/openid-configuration", token)[0] == 200
        assert get(alpha, "/elsewhere", token)[0] == 404
    finally:
        alpha.faults = None
    assert seen == ["jwks", "discovery", "other"]
    assert get(alpha, "/openid/v1/jwks", token)[0] == 200


# -- objects and minting ------------------------------------------------------------------


def test_pod_bound_token_carries_pod_and_node(alpha: FakeCluster) -> None:
    token = alpha.mint("apps/builder", pod="builder-0", duration=3607)
    claims = verify(alpha, token)
    pod = alpha.pod("apps", "builder-0")
    node = alpha.node("node-1")
    assert pod is not None and node is not None
    assert claims["kubernetes.io"] == {
        "namespace": "apps",
        "node": {"name": "node-1", "uid": node.uid},
        "pod": {"name": "builder-0", "uid": pod.uid},
        "serviceaccount": {"name": "builder", "uid": alpha.service_account("apps", "builder").uid},
        "warnafter": claims["iat"] + 3607,
    }
    assert claims["exp"] == claims["iat"] + 31536000
    user = alpha.review_token(token)
    assert user.username == "system:serviceaccount:apps:builder"
    assert user.groups == (
        "system:serviceaccounts",
        "system:serviceaccounts:apps",
        "system:authenticated",
    )
    assert user.extra["authentication.kubernetes.io/pod-name"] == ("builder-0",)
    assert user.extra["authentication.kubernetes.io/pod-uid"] == (pod.uid,)
    assert user.extra["authentication.kubernetes.io/node-name"] == ("node-1",)
    assert user.extra["authentication.kubernetes.io/credential-id"] == (f"JTI={claims['jti']}",)
    assert alpha.find_pod_by_uid(pod.uid) == pod


def test_deleted_or_recreated_pod_invalidates_its_tokens(alpha: FakeCluster) -> None:
    alpha.add_pod("apps", "temp-0", "builder")
    token = alpha.mint("apps/builder", pod="apps/temp-0")
    assert alpha.review_token(token).pod == alpha.pod("apps", "temp-0")
    alpha.remove_pod("apps", "temp-0")
    with pytest.raises(TokenReviewError, match=r"^service account token has been invalidated$"):
        alpha.review_token(token)
    recreated = alpha.add_pod("apps", "temp-0", "builder", uid="new-uid")
    with pytest.raises(TokenReviewError) as caught:
        alpha.review_token(token)
    old_uid = jwt.decode(token, options={"verify_signature": False})["kubernetes.io"]["pod"]["uid"]
    assert str(caught.value) == (
        f"pod UID ({recreated.uid}) does not match service account pod ref claim ({old_uid})"
    )
    alpha.remove_pod("apps", "temp-0")


def test_node_bound_token(alpha: FakeCluster) -> None:
    token = alpha.mint("apps/other", node="node-9")
    claims = verify(alpha, token)
    assert claims["kubernetes.io"]["node"] == {"name": "node-9", "uid": alpha.node("node-9").uid}
    assert "pod" not in claims["kubernetes.io"]


@pytest.mark.parametrize(
    ("kwargs", "code", "message"),
    [
        ({"sa": "apps/ghost"}, 404, 'serviceaccounts "ghost" not found'),
        ({"sa": "apps/builder", "pod": "ghost-0"}, 404, 'pods "ghost-0" not found'),
        (
            {"sa": "apps/other", "pod": "builder-0"},
            400,
            'cannot bind token for serviceaccount "other" to pod running with different '
            "serviceaccount name.",
        ),
        ({"sa": "apps/builder", "pod": "builder-0", "node": "n"}, 400, "not both"),
        (
            {"sa": "apps/builder", "duration": 599},
            422,
            "spec.expirationSeconds: Invalid value: 599: "
            "may not specify a duration less than 10 minutes",
        ),
    ],
)
def test_token_requests_kubernetes_refuses(
    alpha: FakeCluster, kwargs: dict[str, Any], code: int, message: str
) -> None:
    with pytest.raises(TokenRequestError) as caught:
        alpha.mint(**kwargs)
    assert caught.value.code == code
    assert message in str(caught.value)


def test_legacy_token(alpha: FakeCluster) -> None:
    token = alpha.mint("apps/builder", legacy=True)
    claims = jwt.decode(token, options={"verify_signature": False})
    secret = alpha.legacy_secret_name(alpha.service_account("apps", "builder"))
    assert secret.startswith("builder-token-") and len(secret) == len("builder-token-") + 5
    assert claims == {
        "iss": "kubernetes/serviceaccount",
        "kubernetes.io/serviceaccount/namespace": "apps",
        "kubernetes.io/serviceaccount/secret.name": secret,
        "kubernetes.io/serviceaccount/service-account.name": "builder",
        "kubernetes.io/serviceaccount/service-account.uid": alpha.service_account(
            "apps", "builder"
        ).uid,
        "sub": "system:serviceaccount:apps:builder",
    }
    assert alpha.review_token(token).legacy is True
    with pytest.raises(TokenReviewError, match="is invalid for the target audiences"):
        alpha.review_token(token, audiences=["vault"])
    assert get(alpha, "/openid/v1/jwks", token)[0] == 200


def test_deleted_service_account_invalidates_tokens(alpha: FakeCluster) -> None:
    alpha.add_service_account("tmp", "gone")
    token = alpha.mint("tmp/gone")
    legacy = alpha.mint("tmp/gone", legacy=True)
    alpha.remove_service_account("tmp", "gone")
    for t in (token, legacy):
        with pytest.raises(TokenReviewError, match=r'^serviceaccounts "gone" not found$'):
            alpha.review_token(t)


def test_uids_are_stable_across_instances() -> None:
    one = FakeCluster(
        "same",
        key_types=("ec",),
        service_accounts=[ServiceAccount("n", "s")],
        pods=[Pod("n", "p", service_account="s")],
    )
    two = FakeCluster(
        "same",
        key_types=("ec",),
        service_accounts=[ServiceAccount("n", "s")],
        pods=[Pod("n", "p", service_account="s")],
    )
    other = FakeCluster("elsewhere", key_types=("ec",), service_accounts=[ServiceAccount("n", "s")])
    assert one.service_account("n", "s") == two.service_account("n", "s")
    assert one.pod("n", "p") == two.pod("n", "p")
    assert one.service_account("n", "s").uid != other.service_account("n", "s").uid
    assert (
        FakeCluster("x", key_types=("ec",), service_accounts=[ServiceAccount("n", "s", "fixed")])
        .service_account("n", "s")
        .uid
        == "fixed"
    )


def test_a_pod_needs_its_service_account() -> None:
    with pytest.raises(ValueError, match="service account n/missing does not exist"):
        FakeCluster("y", key_types=("ec",), pods=[Pod("n", "p", service_account="missing")])


def test_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not listening yet"):
        _ = FakeCluster("z", key_types=("ec",)).url


# -- persistence --------------------------------------------------------------------------


def test_secrets_survive_a_restart(tmp_path) -> None:
    first = FakeCluster(
        "keep", key_types=("rsa", "ec"), service_accounts=[ServiceAccount("a", "b")]
    )
    first.rotate_sign_with(first.keys[1].kid)
    token = first.mint("a/b")
    first.save_secrets(tmp_path / "keep")
    files = [p for p in (tmp_path / "keep").rglob("*") if p.is_file()]
    assert {p.parent.name for p in files} == {"keys", "ca"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)

    second = FakeCluster("keep", key_types=("ec",), service_accounts=[ServiceAccount("a", "b")])
    assert second.load_secrets(tmp_path / "keep") is True
    assert [k.kid for k in second.keys] == [k.kid for k in first.keys]
    assert second.signing_key.kid == first.signing_key.kid
    assert second.ca.fingerprint == first.ca.fingerprint
    assert second.review_token(token).username == "system:serviceaccount:a:b"
    with second:
        assert verify(second, token)["sub"] == "system:serviceaccount:a:b"
        with pytest.raises(RuntimeError, match="before start"):
            second.load_secrets(tmp_path / "keep")


def test_load_secrets_from_an_empty_folder_changes_nothing(tmp_path) -> None:
    cluster = FakeCluster("fresh", key_types=("ec",))
    kid = cluster.signing_key.kid
    assert cluster.load_secrets(tmp_path) is False
    assert cluster.signing_key.kid == kid


def test_replacing_the_ca_reissues_the_serving_certificate(alpha: FakeCluster) -> None:
    cluster = FakeCluster("swap", key_types=("ec",))
    first = cluster.server_cert()
    cluster.ca = alpha.ca
    leaf = x509.load_pem_x509_certificate(cluster.server_cert().cert_chain_pems[0].bytes())
    assert cluster.server_cert() is not first
    assert leaf.issuer == alpha.ca.certificate.subject
    with pytest.raises(RuntimeError, match="before start"):
        alpha.ca = CertificateAuthority.create()


def test_deleting_a_legacy_secret_invalidates_its_tokens(alpha: FakeCluster) -> None:
    token = alpha.mint("apps/builder", legacy=True)
    assert alpha.review_token(token).legacy
    before = alpha.state_version
    secret = alpha.delete_legacy_secret("apps/builder")
    assert secret.startswith("builder-token-") and alpha.state_version != before
    with pytest.raises(TokenReviewError, match=r"^token has been invalidated$"):
        alpha.review_token(token)
    assert alpha.honours(token) == "token has been invalidated"
    alpha.mint("apps/builder", legacy=True)  # the Secret is recreated with the same name
    assert alpha.review_token(token).legacy


def test_the_state_version_moves_with_every_change_and_clock_shift(
    alpha: FakeCluster, clock_offset: None
) -> None:
    seen = {alpha.state_version}
    alpha.add_node("node-versioned")
    seen.add(alpha.state_version)
    alpha.remove_node("node-versioned")
    seen.add(alpha.state_version)
    CLOCK.shift(1)
    seen.add(alpha.state_version)
    alpha.touch()
    seen.add(alpha.state_version)
    assert len(seen) == 5
    alpha.mint("apps/builder")  # minting changes nothing a fetch would return
    assert alpha.state_version in seen
