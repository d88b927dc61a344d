"""Each quirk, switched on, changes exactly the behaviour its row describes (docs/modes.md);
strict mode hardens the SHOULD items."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json

import jwt
import pytest
from flask import Response

from mockserver.federation.bookkeeping import LABEL_OWNER
from mockserver.federation.modes import QUIRKS, Behaviour, UnknownQuirk
from mockserver.manifests import AllowedGenerator, Authorization
from tests.wire import ca_body, send

R1_PLAIN = "/secretstore/app-store/secrets/plain"


@contextlib.contextmanager
def quirk(mock, name):
    mock.behaviour.enable(name)
    try:
        yield
    finally:
        mock.behaviour.disable(name)
        mock.context.resolver.clear()


def alpha_request(mock, path, sa="team-a/web", method="POST", body=None, **kwargs):
    alpha = mock.clusters["alpha"]
    token = kwargs.pop("token", None) or alpha.mint(sa)
    return send(
        mock.federation_url, method, path, token, body or ca_body(alpha.ca.cert_pem), **kwargs
    )


def test_every_quirk_has_a_reference_and_summary():
    assert len(QUIRKS) == 15
    for item in QUIRKS.values():
        assert item.reference.startswith("protocol.md D")
        assert item.summary


def test_unknown_quirk_is_refused_with_the_known_list():
    with pytest.raises(UnknownQuirk, match="unknown quirk 'nope'; known quirks: ca-keyed-cache"):
        Behaviour(["nope"])


def test_first_request_401_fails_once_per_new_ca(mock):
    with quirk(mock, "first-request-401"):
        # A ca.crt the mock has not seen: the same CA PEM with a second, ignored PEM block.
        fresh = mock.clusters["alpha"].ca.cert_pem + b"\n"
        body = json.dumps({"ca.crt": base64.b64encode(fresh).decode()}).encode()
        first = alpha_request(mock, R1_PLAIN, body=body)
        second = alpha_request(mock, R1_PLAIN, body=body)
    assert first.status == 401
    assert first.body == b'"token is unverifiable: error while executing keyfunc: no jwks found"\n'
    assert (second.status, second.body) == (200, b'"hello"\n')


def test_random_authenticator_varies_the_401_text(mock):
    texts = set()
    with quirk(mock, "random-authenticator"):
        for _ in range(40):
            texts.add(send(mock.federation_url, "POST", R1_PLAIN).body)
    assert b'"no certificates in request"\n' in texts
    assert b'"missing Authorization header"\n' in texts
    assert len(texts) >= 3
    # Default: always the OIDC text.
    assert {send(mock.federation_url, "POST", R1_PLAIN).body for _ in range(5)} == {
        b'"unexpected end of JSON input"\n'
    }


def test_kidless_panic_drops_the_connection(mock):
    token = mock.clusters["alpha"].mint("team-a/web", broken="no-kid")
    with quirk(mock, "kidless-panic"):
        with pytest.raises(http.client.RemoteDisconnected):
            alpha_request(mock, R1_PLAIN, token=token)
    assert alpha_request(mock, R1_PLAIN, token=token).status == 401


def _narrow_web(mock):
    registry = mock.context.registry
    current = next(a for a in registry.model.authorizations if a.name == "alpha-web")
    narrowed = Authorization(
        name=current.name,
        federation_ref=current.federation_ref,
        oidc=current.oidc,
        spiffe_id=None,
        allowed_cluster_secret_stores=(),
        allowed_generators=current.allowed_generators,
    )
    return registry, registry.model.merged(type(registry.model)(authorizations=(narrowed,)))


def test_sticky_authorizations_keep_a_narrowed_grant(mock):
    registry, narrowed = _narrow_web(mock)
    try:
        registry.replace(narrowed)
        assert alpha_request(mock, R1_PLAIN).body == b'"Not Found"\n'
        with quirk(mock, "sticky-authorizations"):
            assert alpha_request(mock, R1_PLAIN).body == b'"hello"\n'
    finally:
        registry.reset()
    assert alpha_request(mock, R1_PLAIN).body == b'"hello"\n'


def _make_states(mock, namespace, count=1):
    books = mock.context.bookkeeping
    for _ in range(count):
        books.create_generator_state(namespace, "UUID", "uuid", "victim", {}, {}, None)


def test_revoke_body_namespace_deletes_across_namespaces(mock):
    books = mock.context.bookkeeping
    books.reset()
    _make_states(mock, "team-a")
    _make_states(mock, "payments")
    body = ca_body(mock.clusters["alpha"].ca.cert_pem, owner="victim", namespace="")
    assert alpha_request(mock, "/generators/team-a/revoke", sa="ops/admin", body=body).status == 200
    assert [s["metadata"]["namespace"] for s in books.generator_states()] == ["payments"]
    _make_states(mock, "team-a")
    with quirk(mock, "revoke-body-namespace"):
        alpha_request(mock, "/generators/team-a/revoke", sa="ops/admin", body=body)
    assert books.generator_states() == []
    books.reset()


def test_r4_refuses_a_body_namespace_other_than_the_url_one_by_default(mock):
    body = ca_body(mock.clusters["alpha"].ca.cert_pem, owner="victim", namespace="payments")
    reply = alpha_request(mock, "/generators/team-a/revoke", sa="ops/admin", body=body)
    assert reply.status == 400
    assert "payments" in json.loads(reply.body)


def test_generate_then_fail_leaks_a_credential(mock):
    books = mock.context.bookkeeping
    books.reset()
    # With the quirk home-cluster-owner the owner is looked up in alpha (the home cluster),
    # where gamma's pod does not exist: the request fails after the generator ran.
    gamma = mock.clusters["gamma"]
    token = gamma.mint("tools/ci", pod="ci-runner-1")
    path = "/generators/tools/Fake/fake-static"
    with quirk(mock, "home-cluster-owner"):
        clean = send(mock.federation_url, "POST", path, token, ca_body(gamma.ca.cert_pem))
        assert clean.body == b'"Pod \\"ci-runner-1\\" not found"\n'
        assert books.leaked_credentials == []
        with quirk(mock, "generate-then-fail"):
            leaky = send(mock.federation_url, "POST", path, token, ca_body(gamma.ca.cert_pem))
    assert leaky.status == 400
    assert books.leaked_credentials == [
        {"namespace": "tools", "kind": "Fake", "name": "fake-static", "keys": ["token"]}
    ]
    books.reset()


def test_home_cluster_owner_looks_in_the_home_cluster(mock):
    gamma = mock.clusters["gamma"]
    token = gamma.mint("tools/ci", pod="ci-runner-1")
    path = "/generators/tools/Fake/fake-static"
    ok = send(mock.federation_url, "POST", path, token, ca_body(gamma.ca.cert_pem))
    assert (ok.status, ok.body) == (200, b'{"token":"ci-token"}\n')
    with quirk(mock, "home-cluster-owner"):
        refused = send(mock.federation_url, "POST", path, token, ca_body(gamma.ca.cert_pem))
    assert refused.status == 400


def test_sni_with_port_breaks_federation_urls_with_a_port(mock):
    assert alpha_request(mock, R1_PLAIN).status == 200
    with quirk(mock, "sni-with-port"):
        mock.context.resolver.clear()
        reply = alpha_request(mock, R1_PLAIN, token=mock.clusters["alpha"].mint("team-a/web"))
    assert reply.body == b'"token is unverifiable: error while executing keyfunc: no jwks found"\n'


def _forged_workload_token(namespace="team-a", sa="web", pod="someone-elses-pod"):
    claims = {
        "iss": "https://attacker.example",
        "kubernetes.io": {
            "namespace": namespace,
            "serviceaccount": {"name": sa, "uid": "1"},
            "pod": {"name": pod, "uid": "2"},
        },
    }
    return jwt.encode(claims, key="", algorithm="none")


def test_unverified_workload_token_lets_a_forged_owner_through(mock):
    forged = _forged_workload_token()
    path = "/generators/team-a/UUID/uuid"
    refused = alpha_request(mock, path, method="DELETE", headers={"x-workload-token": forged})
    assert refused.status == 400
    assert json.loads(refused.body).startswith("invalid x-workload-token: issuer ")
    books = mock.context.bookkeeping
    books.reset()
    books.create_generator_state("team-a", "UUID", "uuid", "someone-elses-pod", {}, {}, None)
    with quirk(mock, "unverified-workload-token"):
        accepted = alpha_request(mock, path, method="DELETE", headers={"x-workload-token": forged})
    assert (accepted.status, accepted.body) == (200, b"null\n")
    assert books.generator_states() == []


def test_verified_workload_token_from_a_known_cluster_is_accepted(mock):
    alpha = mock.clusters["alpha"]
    delegate = alpha.mint("team-a/worker", pod="worker-0")
    mock.context.bookkeeping.reset()
    reply = alpha_request(
        mock, "/generators/team-a/UUID/uuid", headers={"x-workload-token": delegate}
    )
    assert reply.status == 200
    owners = [
        s["metadata"]["labels"][LABEL_OWNER] for s in mock.context.bookkeeping.generator_states()
    ]
    assert owners == ["worker-0"]


def _answers_anyone(cluster):
    """An attacker-run cluster: its discovery endpoints answer whatever bearer comes."""

    def hook(path, request):
        if path == "discovery":
            return Response(cluster.discovery_bytes(), content_type="application/json")
        return Response(cluster.jwks_bytes(), content_type="application/jwk-set+json")

    return hook


def test_ca_keyed_cache_confuses_issuers(mock):
    """gamma shares alpha's CA: with the quirk, a gamma-signed token claiming alpha's issuer
    verifies with the keys cached for that ca.crt (docs/protocol.md §6, D5)."""
    gamma, alpha = mock.clusters["gamma"], mock.clusters["alpha"]
    assert gamma.ca.cert_pem == alpha.ca.cert_pem
    body = ca_body(gamma.ca.cert_pem)
    header = {"kid": gamma.signing_key.kid, "typ": None}
    forged_claims = jwt.decode(alpha.mint("team-a/web"), options={"verify_signature": False})
    forged = jwt.encode(forged_claims, gamma.signing_key.private_key, "RS256", headers=header)
    gamma_token = gamma.mint("tools/ci")
    gamma.faults = _answers_anyone(gamma)
    try:
        with quirk(mock, "ca-keyed-cache"):
            mock.context.resolver.clear()
            staging = "/secretstore/staging/secrets/db-url"
            assert send(mock.federation_url, "POST", staging, gamma_token, body).status == 200
            confused = send(mock.federation_url, "POST", R1_PLAIN, forged, body)
        assert (confused.status, confused.body) == (200, b'"hello"\n')
        mock.context.resolver.clear()
        refused = send(mock.federation_url, "POST", R1_PLAIN, forged, body)
        # Without the quirk the keys come from alpha, whose API server refuses the forged
        # token that discovery forwards.
        assert refused.body == (
            b'"token is unverifiable: error while executing keyfunc: no jwks found"\n'
        )
    finally:
        gamma.faults = None


@contextlib.contextmanager
def strict_mode(mock):
    mock.behaviour.strict = True
    was_anonymous = {n: c.anonymous_discovery for n, c in mock.clusters.items()}
    for cluster in mock.clusters.values():
        cluster.anonymous_discovery = True
    mock.context.resolver.clear()
    try:
        yield
    finally:
        mock.behaviour.strict = False
        for name, cluster in mock.clusters.items():
            cluster.anonymous_discovery = was_anonymous[name]
        mock.context.resolver.clear()


def test_strict_checks_the_audience_itself(mock):
    wrong_aud = mock.clusters["alpha"].mint("team-a/web", broken="wrong-audience")
    # Default: the cluster refuses the forwarded token, so discovery fails.
    assert alpha_request(mock, R1_PLAIN, token=wrong_aud).body == (
        b'"token is unverifiable: error while executing keyfunc: no jwks found"\n'
    )
    with strict_mode(mock):
        refused = alpha_request(mock, R1_PLAIN, token=wrong_aud)
        assert refused.body == b'"token has invalid claims: token has invalid audience"\n'
        assert alpha_request(mock, R1_PLAIN).body == b'"hello"\n'


def test_strict_requires_exp(mock):
    alpha = mock.clusters["alpha"]
    claims = jwt.decode(alpha.mint("team-a/web"), options={"verify_signature": False})
    del claims["exp"]
    header = {"kid": alpha.signing_key.kid, "typ": None}
    eternal = jwt.encode(claims, alpha.signing_key.private_key, "RS256", headers=header)
    assert alpha_request(mock, R1_PLAIN, token=eternal).body == b'"hello"\n'
    with strict_mode(mock):
        refused = alpha_request(mock, R1_PLAIN, token=eternal)
    assert refused.status == 401
    assert b"exp claim is required" in refused.body


def test_strict_does_not_forward_the_bearer_upstream(mock):
    seen = []
    alpha = mock.clusters["alpha"]

    def record(path, request):
        seen.append(request.headers.get("Authorization"))
        return None

    alpha.faults = record
    try:
        with strict_mode(mock):
            assert alpha_request(mock, R1_PLAIN).status == 200
        mock.context.resolver.clear()
        assert alpha_request(mock, R1_PLAIN).status == 200
    finally:
        alpha.faults = None
    assert seen[:2] == [None, None]
    assert all(h and h.startswith("Bearer ey") for h in seen[2:]) and len(seen) == 4


def test_strict_treats_an_empty_body_as_no_ca_crt(mock):
    token = mock.clusters["alpha"].mint("team-a/web")
    assert send(mock.federation_url, "DELETE", "/generators/team-a/UUID/uuid", token).body == (
        b'"unexpected end of JSON input"\n'
    )
    with strict_mode(mock):
        reply = send(mock.federation_url, "DELETE", "/generators/team-a/UUID/uuid", token)
    # No ca.crt: strict verifies the keys with its server-side trust bundle, so R3 answers.
    assert (reply.status, reply.body) == (200, b"null\n")


def test_allowed_generator_api_version_is_never_compared(mock):
    entry = AllowedGenerator("uuid", "UUID", "team-a", api_version="something/else")
    assert entry.api_version == "something/else"
    assert alpha_request(mock, "/generators/team-a/UUID/uuid").status == 200
