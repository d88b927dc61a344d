"""Property-based checks: authorization matching (server-protocol.md §4.1) and malformed input
(never a 5xx, never a dropped connection); and concurrent generator calls losing nothing."""

from __future__ import annotations

import http.client
import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.federation.authn import Identity
from mockserver.federation.authz import StoreResource, authorize
from mockserver.federation.bookkeeping import LABEL_OWNER
from mockserver.federation.errors import Denied
from mockserver.manifests import Authorization, FederationRef, OidcSubject
from tests.wire import ca_body, send

names = st.text(alphabet="abcABC-:/.", min_size=1, max_size=6)


@st.composite
def authorizations(draw):
    count = draw(st.integers(0, 4))
    return [
        Authorization(
            name=f"a{i}",
            federation_ref=FederationRef("KubernetesFederation", "x"),
            oidc=OidcSubject(draw(names), draw(names)),
            spiffe_id=None,
            allowed_cluster_secret_stores=tuple(draw(st.lists(names, max_size=3))),
        )
        for i in range(count)
    ]


@given(authorizations(), names, names, names)
def test_store_access_is_the_exact_union_of_matching_authorizations(auths, issuer, subject, store):
    identity = Identity("oidc", issuer, subject, None)
    expected = any(
        a.oidc.issuer == issuer
        and a.oidc.subject == subject
        and store in a.allowed_cluster_secret_stores
        for a in auths
    )
    try:
        granted = authorize(auths, identity, StoreResource(store))
    except Denied as denial:
        assert not expected
        assert denial.body == "Not Found"
        assert denial.near_miss
    else:
        assert expected
        assert granted.oidc == OidcSubject(issuer, subject)
        assert store in granted.allowed_cluster_secret_stores


@given(authorizations(), names, names, names)
def test_matching_is_case_sensitive(auths, issuer, subject, store):
    swapped = Identity("oidc", issuer.swapcase(), subject.swapcase(), None)
    exact_only = [a for a in auths if (a.oidc.issuer, a.oidc.subject) == (issuer, subject)]
    if swapped.provider == issuer and swapped.subject == subject:
        return
    try:
        granted = authorize(exact_only, swapped, StoreResource(store))
    except Denied:
        return
    assert granted.oidc == OidcSubject(swapped.provider, swapped.subject)


PATH_CHARS = st.text(alphabet="abz019/-_.~%2Fé?#&=+:@ ", max_size=40)
METHODS = st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS", "HEAD", "BREW"])
HEADER_VALUES = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


def _safe_path(text: str) -> str:
    from urllib.parse import quote

    return "/" + quote(text, safe="/%?=&+:@~")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=METHODS,
    path=PATH_CHARS,
    authorization=st.one_of(st.none(), HEADER_VALUES, st.just("Bearer a.b.c")),
    workload=st.one_of(st.none(), HEADER_VALUES),
    body=st.one_of(st.none(), st.binary(max_size=200), st.just(b'{"ca.crt": 7}'), st.just(b"[]")),
)
def test_malformed_requests_never_get_a_5xx_or_a_dropped_connection(
    mock, method, path, authorization, workload, body
):
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization
    if workload is not None:
        headers["x-workload-token"] = workload
    reply = send(mock.federation_url, method, _safe_path(path), body=body, headers=headers)
    assert 400 <= reply.status < 500 or reply.status in (200, 204)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(
        [
            "/secretstore/app-store/secrets/plain",
            "/generators/team-a/UUID/uuid",
            "/generators/team-a/revoke",
            "/x",
        ]
    ),
    method=METHODS,
    workload=st.one_of(st.none(), HEADER_VALUES, st.just("e30.e30.")),
    extra=st.dictionaries(
        st.sampled_from(["owner", "namespace", "ca.crt"]), st.integers() | st.text(max_size=5)
    ),
)
def test_authenticated_malformed_requests_never_get_a_5xx(mock, path, method, workload, extra):
    alpha = mock.clusters["alpha"]
    body = ca_body(alpha.ca.cert_pem, **{k: v for k, v in extra.items() if k != "ca.crt"})
    headers = {"x-workload-token": workload} if workload else {}
    reply = send(mock.federation_url, method, path, alpha.mint("team-a/web"), body, headers=headers)
    assert reply.status in (200, 204, 400, 401, 404, 405)


def test_eight_threads_of_five_hundred_generator_calls_lose_nothing(mock):
    """8 threads × 500 R2 calls on keep-alive connections: 4000 distinct GeneratorStates."""
    books = mock.context.bookkeeping
    books.reset()
    alpha = mock.clusters["alpha"]
    token = alpha.mint("team-a/web", pod="web-7d9f8b6c5-x2x4q")
    body = ca_body(alpha.ca.cert_pem)
    port = mock.listeners["http"].port
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        seen = []
        for _ in range(500):
            conn.request(
                "POST",
                "/generators/team-a/UUID/uuid",
                body=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            response.read()
            seen.append(response.status)
        conn.close()
        with lock:
            statuses.extend(seen)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses == [200] * 4000
    states = books.generator_states("team-a")
    assert len(states) == 4000
    assert len({s["metadata"]["name"] for s in states}) == 4000
    assert {s["metadata"]["labels"][LABEL_OWNER] for s in states} == {"web-7d9f8b6c5-x2x4q"}
    (identity,) = [
        i
        for i in books.authorized_identities()
        if i["metadata"]["name"] == "oidc-system-serviceaccount-team-a-web"
    ]
    assert len(identity["spec"]["issuedCredentials"]) == 4000
    revoke = send(mock.federation_url, "DELETE", "/generators/team-a/UUID/uuid", token, body)
    assert (revoke.status, revoke.body) == (200, b"null\n")
    assert books.generator_states("team-a") == []
    books.reset()
