"""Upstream keys: version-tagged caching (docs/modes.md, Upstream caching), and key rotation on a running mock."""

from __future__ import annotations

import pytest

from tests.wire import ca_body, send

R1_PLAIN = "/secretstore/app-store/secrets/plain"


@pytest.fixture
def alpha(mock):
    cluster = mock.clusters["alpha"]
    mock.context.resolver.clear()
    cluster.reset_request_counts()
    yield cluster
    mock.admin.reset()  # back to the starting keys, caches and clock


def r1(mock, cluster, token):
    return send(mock.federation_url, "POST", R1_PLAIN, token, ca_body(cluster.ca.cert_pem))


def test_discovery_once_per_token_and_jwks_once_per_cluster_version(mock, alpha):
    token = alpha.mint("team-a/web")
    for _ in range(5):
        assert r1(mock, alpha, token).status == 200
    assert alpha.request_counts == {"discovery": 1, "jwks": 1}
    second = alpha.mint("team-a/worker")
    assert (
        send(
            mock.federation_url,
            "POST",
            "/secretstore/staging/secrets/db-url",
            second,
            ca_body(alpha.ca.cert_pem),
        ).status
        == 200
    )
    assert alpha.request_counts == {"discovery": 2, "jwks": 1}
    # The mock's clock moves only by shifting, and any shift is a change of state.
    mock.clock.shift(1)
    assert r1(mock, alpha, token).status == 200
    assert alpha.request_counts == {"discovery": 3, "jwks": 2}
    for _ in range(5):
        assert r1(mock, alpha, token).status == 200
    assert alpha.request_counts == {"discovery": 3, "jwks": 2}


def test_any_change_to_the_cluster_is_a_miss(mock, alpha):
    token = alpha.mint("team-a/web")
    assert r1(mock, alpha, token).status == 200
    alpha.add_service_account("team-a", "newcomer")
    try:
        assert r1(mock, alpha, token).status == 200
        assert alpha.request_counts == {"discovery": 2, "jwks": 2}
    finally:
        alpha.remove_service_account("team-a", "newcomer")


def test_nothing_upstream_for_an_issuer_no_authorization_names(mock, alpha):
    token = alpha.mint("team-a/web", broken="wrong-issuer")
    assert r1(mock, alpha, token).status == 401
    assert alpha.request_counts == {"discovery": 0, "jwks": 0}


def test_a_ca_that_does_not_verify_the_cluster_is_always_a_fresh_failing_fetch(mock, alpha):
    token = alpha.mint("team-a/web")
    wrong_ca = ca_body(mock.clusters["beta"].ca.cert_pem)
    for _ in range(2):
        reply = send(mock.federation_url, "POST", R1_PLAIN, token, wrong_ca)
        assert (
            reply.body == b'"token is unverifiable: error while executing keyfunc: no jwks found"\n'
        )
    assert r1(mock, alpha, token).status == 200


def test_rotation_keeps_old_tokens_until_the_old_key_is_retired(mock, alpha):
    old_kid = alpha.signing_key.kid
    old_token = alpha.mint("team-a/web")
    assert r1(mock, alpha, old_token).status == 200
    new_key = alpha.rotate_add_key("rsa")
    alpha.rotate_sign_with(new_key.kid)
    new_token = alpha.mint("team-a/web")
    assert r1(mock, alpha, new_token).status == 200
    assert r1(mock, alpha, old_token).status == 200
    alpha.rotate_retire(old_kid)
    # The very next request forwards the old token, which the cluster itself now refuses.
    assert r1(mock, alpha, old_token).body == (
        b'"token is unverifiable: error while executing keyfunc: no jwks found"\n'
    )
    assert r1(mock, alpha, alpha.mint("team-a/web")).status == 200


def test_the_per_token_discovery_cache_stays_bounded(mock, alpha, monkeypatch):
    from mockserver.federation import upstream

    monkeypatch.setattr(upstream, "MAX_DISCOVERY_ENTRIES", 3)
    for _ in range(6):
        assert r1(mock, alpha, alpha.mint("team-a/web")).status == 200
    assert len(mock.context.resolver._discovery) <= 3
    assert alpha.request_counts["discovery"] == 6
