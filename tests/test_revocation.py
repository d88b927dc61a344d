"""Revocation: a token its cluster stops accepting is refused on the very next request.

The real server forwards the caller's token to the cluster for discovery and JWKS on every
request, and golang-jwt runs the keyfunc before it checks `exp`, so most revocations surface as
the keyfunc's "no jwks found". The mock caches, but only outcomes tagged with the cluster's state
version and the token's `exp` (docs/modes.md, Upstream caching); in strict mode, which forwards no bearer, the
cluster is still asked whether it honours the token.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Iterator

import pytest

from mockserver.cluster import LEEWAY, FakeCluster, ServiceAccount
from mockserver.federation.jwtparse import KeyFuncError
from mockserver.federation.modes import Behaviour
from mockserver.federation.upstream import KeyResolver
from tests.wire import ca_body, send

R1_PLAIN = "/secretstore/app-store/secrets/plain"
NO_JWKS = b'"token is unverifiable: error while executing keyfunc: no jwks found"\n'
EXPIRED = b'"token has invalid claims: token is expired"\n'
POD = ("team-a", "web-7d9f8b6c5-x2x4q")


def r1(mock, token):
    alpha = mock.clusters["alpha"]
    return send(mock.federation_url, "POST", R1_PLAIN, token, ca_body(alpha.ca.cert_pem))


@contextlib.contextmanager
def mode(mock, strict: bool) -> Iterator[None]:
    if not strict:
        yield
        return
    mock.behaviour.strict = True
    was = {n: c.anonymous_discovery for n, c in mock.clusters.items()}
    for cluster in mock.clusters.values():
        cluster.anonymous_discovery = True
    try:
        yield
    finally:
        mock.behaviour.strict = False
        for name, cluster in mock.clusters.items():
            cluster.anonymous_discovery = was[name]


def retire_the_signing_key(alpha: FakeCluster) -> Callable[[], None]:
    old = alpha.signing_key.kid
    alpha.rotate_sign_with(alpha.rotate_add_key("rsa").kid)
    alpha.rotate_retire(old)
    return lambda: None  # the admin reset in the fixture restores the starting keys


def delete_the_pod(alpha: FakeCluster) -> Callable[[], None]:
    pod = alpha.pod(*POD)
    assert pod is not None
    alpha.remove_pod(*POD)
    return lambda: alpha.add_pod(pod.namespace, pod.name, pod.service_account, pod.uid, pod.node)


def delete_the_service_account(alpha: FakeCluster) -> Callable[[], None]:
    account = alpha.service_account("team-a", "web")
    assert account is not None
    alpha.remove_service_account("team-a", "web")
    return lambda: alpha.add_service_account("team-a", "web", account.uid)


def delete_the_bound_node(alpha: FakeCluster) -> Callable[[], None]:
    alpha.remove_node("revocation-node")
    return lambda: None


def shift_past_exp_and_leeway(alpha: FakeCluster) -> Callable[[], None]:
    alpha.clock.shift(600 + LEEWAY + 1)
    return lambda: None  # the admin reset restores the clock offset


REVOCATIONS = {
    "key retired": retire_the_signing_key,
    "pod deleted": delete_the_pod,
    "service account deleted": delete_the_service_account,
    "token invalidated (bound node deleted)": delete_the_bound_node,
    "clock shifted past exp": shift_past_exp_and_leeway,
}


def token_for(alpha: FakeCluster, revocation: str) -> str:
    if revocation == "token invalidated (bound node deleted)":
        return alpha.mint("team-a/web", node="revocation-node", duration=600)
    return alpha.mint("team-a/web", pod=POD[1], duration=600)


@pytest.fixture
def alpha(mock):
    cluster = mock.clusters["alpha"]
    mock.context.resolver.clear()
    yield cluster
    mock.admin.reset()


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
@pytest.mark.parametrize("revocation", list(REVOCATIONS))
def test_the_first_request_after_a_revocation_is_refused(mock, alpha, revocation, strict):
    token = token_for(alpha, revocation)
    with mode(mock, strict):
        for _ in range(3):  # warm: the outcome is cached
            assert r1(mock, token).body == b'"hello"\n'
        restore = REVOCATIONS[revocation](alpha)
        try:
            refused = r1(mock, token)
            again = r1(mock, token)
        finally:
            restore()
    assert (refused.status, refused.body) == (401, NO_JWKS)
    assert (again.status, again.body) == (401, NO_JWKS)


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_within_the_clusters_leeway_the_server_itself_refuses_the_expired_token(
    mock, alpha, strict
):
    token = alpha.mint("team-a/web", duration=600)
    with mode(mock, strict):
        assert r1(mock, token).body == b'"hello"\n'
        # kube-apiserver still accepts it for LEEWAY seconds; golang-jwt has no leeway.
        alpha.clock.shift(600 + LEEWAY // 2)
        refused = r1(mock, token)
    assert (refused.status, refused.body) == (401, EXPIRED)


def test_a_warm_token_costs_no_upstream_fetch(mock, alpha):
    token = alpha.mint("team-a/web")
    assert r1(mock, token).status == 200
    before = mock.context.resolver.fetches.snapshot()
    for _ in range(20):
        assert r1(mock, token).status == 200
    assert mock.context.resolver.fetches.snapshot() == before


def test_a_restored_object_with_a_new_uid_does_not_revive_the_token(mock, alpha):
    token = alpha.mint("team-a/web", pod=POD[1])
    assert r1(mock, token).status == 200
    pod = alpha.pod(*POD)
    assert pod is not None
    alpha.remove_pod(*POD)
    alpha.add_pod(pod.namespace, pod.name, pod.service_account, "another-uid", pod.node)
    try:
        assert r1(mock, token).body == NO_JWKS
    finally:
        alpha.add_pod(pod.namespace, pod.name, pod.service_account, pod.uid, pod.node)


# -- upstreams this process does not serve ------------------------------------------------------


@pytest.fixture
def outsider() -> Iterator[FakeCluster]:
    cluster = FakeCluster("outsider", service_accounts=[ServiceAccount("ns", "app")]).start()
    yield cluster
    cluster.stop()


def resolver_for(cluster: FakeCluster, *, own: bool, upstream_cache: float = 0.0) -> KeyResolver:
    return KeyResolver(
        lambda issuer: [cluster.url],
        Behaviour(()),
        cluster.clock,
        clusters={cluster.name: cluster} if own else {},
        upstream_cache=upstream_cache,
    )


def fetch_keys(resolver: KeyResolver, cluster: FakeCluster, token: str) -> None:
    ca_crt = base64.b64encode(cluster.ca.cert_pem).decode()
    resolver.keys_for(cluster.issuer, ca_crt, token, None, cluster.signing_key.kid)


def test_an_upstream_the_mock_does_not_serve_is_fetched_on_every_request(outsider):
    resolver = resolver_for(outsider, own=False)
    token = outsider.mint("ns/app")
    for _ in range(3):
        fetch_keys(resolver, outsider, token)
    assert outsider.request_counts == {"discovery": 3, "jwks": 3}
    outsider.remove_service_account("ns", "app")
    with pytest.raises(KeyFuncError, match="no jwks found"):
        fetch_keys(resolver, outsider, token)


def test_upstream_cache_reuses_a_foreign_outcome_for_its_seconds_only(outsider):
    resolver = resolver_for(outsider, own=False, upstream_cache=30)
    token = outsider.mint("ns/app")
    before = outsider.clock.offset
    try:
        for _ in range(3):
            fetch_keys(resolver, outsider, token)
        assert outsider.request_counts == {"discovery": 1, "jwks": 1}
        outsider.clock.shift(31)
        fetch_keys(resolver, outsider, token)
        assert outsider.request_counts == {"discovery": 2, "jwks": 2}
    finally:
        outsider.clock.set_offset(before)


def test_an_own_cluster_is_fetched_again_only_after_a_change(outsider):
    resolver = resolver_for(outsider, own=True)
    token = outsider.mint("ns/app")
    for _ in range(3):
        fetch_keys(resolver, outsider, token)
    assert outsider.request_counts == {"discovery": 1, "jwks": 1}
    outsider.add_pod("ns", "app-0", "app")
    fetch_keys(resolver, outsider, token)
    assert outsider.request_counts == {"discovery": 2, "jwks": 2}


def test_a_negative_upstream_cache_is_refused_with_its_fix():
    from mockserver.runtime import MockServer

    with pytest.raises(ValueError, match=r"give 0 \(fetch on every request\) or a positive"):
        MockServer(upstream_cache=-1)


def test_a_cluster_fault_added_after_the_cache_is_warm_bites_on_the_next_request(mock, alpha):
    mock.cluster_faults.install(mock.clusters)  # other tests replace the clusters' fault hooks
    token = alpha.mint("team-a/web")
    assert r1(mock, token).status == 200
    rule = mock.cluster_faults.add({"cluster": "alpha", "kind": "status-500", "endpoint": "jwks"})
    try:
        # A Status body has no `keys` member: Go decodes it as an empty key set.
        assert r1(mock, token).body == (
            b'"token is unverifiable: error while executing keyfunc: '
            b'found right store, but kid not found in jwks"\n'
        )
    finally:
        mock.cluster_faults.remove(rule.id)
    assert r1(mock, token).body == b'"hello"\n'
