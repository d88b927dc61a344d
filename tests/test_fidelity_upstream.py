"""The Kubernetes provider as the real server runs it (docs/fidelity.md §6, §11): which of several
federations answers, dangling refs, the cold-cache text, Go's PEM reader and x509 trust, Go's
client headers, JWKS without keys. Each test asserts the exact status and body over the wire."""

from __future__ import annotations

import base64
import gzip
import json
import random

import pytest
import trustme

from tests import upstream_stub
from tests.upstream_stub import extra_specs
from tests.wire import Reply, ca_body, send

R1 = "/secretstore/app-store/secrets/plain"
KEYFUNC = "token is unverifiable: error while executing keyfunc: "


def body_of(text: str) -> bytes:
    return json.dumps(text).encode() + b"\n"


@pytest.fixture
def alpha(mock):
    mock.context.resolver.clear()
    yield mock.clusters["alpha"]
    mock.context.registry.reset()
    mock.context.resolver.clear()


def r1(mock, cluster, ca_crt_pem: bytes | None = None, token: str | None = None) -> Reply:
    token = token or cluster.mint("team-a/web")
    return send(mock.federation_url, "POST", R1, token, ca_body(ca_crt_pem or cluster.ca.cert_pem))


@pytest.fixture
def stub(tmp_path, alpha):
    """A stand-in API server whose certificate alpha's CA issued."""
    leaf = alpha.ca.issue_server_cert("127.0.0.1")
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    with upstream_stub.serve(chain, leaf.private_key_pem.bytes(), tmp_path) as upstream:
        yield upstream


# -- several federations, dangling refs (store.go:79-93) ---------------------------------------


def test_the_first_federation_that_answers_wins_and_keys_are_not_merged(mock, alpha, stub):
    with extra_specs(mock, ("stub", stub.url)):
        reply = r1(mock, alpha)
    # The stub answers an empty key set first; alpha's own keys are never consulted.
    assert (reply.status, reply.body) == (
        401,
        body_of(KEYFUNC + "found right store, but kid not found in jwks"),
    )


def test_a_failing_federation_is_skipped_for_the_next(mock, alpha):
    with extra_specs(mock, ("dead", "https://127.0.0.1:9")):
        reply = r1(mock, alpha)
    assert (reply.status, reply.body) == (200, b'"hello"\n')


def test_federations_later_in_order_are_not_reached(mock, alpha, stub):
    with extra_specs(mock, ("stub", stub.url), first=False):
        reply = r1(mock, alpha)
    assert (reply.status, reply.body) == (200, b'"hello"\n')
    assert stub.requests == []


def test_a_dangling_federation_ref_in_order_is_no_provider_found(mock, alpha):
    with extra_specs(mock, ("missing", None)):
        reply = r1(mock, alpha)
    assert (reply.status, reply.body) == (401, body_of(KEYFUNC + "no provider found"))


def test_random_provider_order_picks_either_federation(mock, alpha, stub):
    random.seed(7)
    mock.behaviour.enable("random-provider-order")
    try:
        with extra_specs(mock, ("stub", stub.url)):
            statuses = {r1(mock, alpha).status for _ in range(24)}
    finally:
        mock.behaviour.disable("random-provider-order")
    assert statuses == {200, 401}


# -- the cold cache under first-request-401 (auth/oidc.go:133-166) ------------------------------


def test_cold_cache_joins_one_line_per_failing_spec_copy(mock, alpha):
    mock.behaviour.enable("first-request-401")
    try:
        with extra_specs(mock, ("missing", None), ("dead", "https://127.0.0.1:9")):
            first = r1(mock, alpha)
            again = r1(mock, alpha)
    finally:
        mock.behaviour.disable("first-request-401")
    # Two failing copies, two lines; the fixtures' copies for this issuer succeed and add none.
    # Nothing is remembered while a copy fails, so the issuer stays blocked.
    joined = body_of(KEYFUNC + "no provider found\nno jwks found")
    assert (first.status, first.body) == (401, joined)
    assert (again.status, again.body) == (401, joined)


def test_cold_cache_without_failures_is_no_jwks_found_once(mock, alpha):
    mock.behaviour.enable("first-request-401")
    try:
        first, second = r1(mock, alpha), r1(mock, alpha)
    finally:
        mock.behaviour.disable("first-request-401")
    assert (first.status, first.body) == (401, body_of(KEYFUNC + "no jwks found"))
    assert (second.status, second.body) == (200, b'"hello"\n')


# -- JWKS decoding (provider/kubernetes.go:137-150) ---------------------------------------------


@pytest.mark.parametrize(
    ("jwks", "text"),
    [
        (b"null", "found right store, but kid not found in jwks"),
        (b'{"kind":"Status","code":500}', "found right store, but kid not found in jwks"),
        (b'{"KEYS":null}', "found right store, but kid not found in jwks"),
        (b'{"keys":[null]}', "found right store, but kid not found in jwks"),
        (b'{"keys":"none"}', "no jwks found"),
        (b'{"keys":[{"kid":1}]}', "no jwks found"),
        (b"[]", "no jwks found"),
    ],
)
def test_a_jwks_without_keys_is_an_empty_set(mock, alpha, stub, jwks, text):
    stub.jwks_body = jwks
    with extra_specs(mock, ("stub", stub.url)):
        reply = r1(mock, alpha, token=alpha.mint("team-a/web"))
    if text == "no jwks found":
        # The stub fails, so the next federation (alpha's own) answers.
        assert (reply.status, reply.body) == (200, b'"hello"\n')
    else:
        assert (reply.status, reply.body) == (401, body_of(KEYFUNC + text))


def test_a_gzip_answer_is_inflated_as_go_transport_does(mock, alpha, stub):
    stub.jwks_body = gzip.compress(b'{"keys":[]}')
    stub.jwks_headers = {"Content-Encoding": "gzip"}
    with extra_specs(mock, ("stub", stub.url)):
        reply = r1(mock, alpha)
    assert (reply.status, reply.body) == (
        401,
        body_of(KEYFUNC + "found right store, but kid not found in jwks"),
    )


# -- upstream request headers (provider/kubernetes.go:92-97) ------------------------------------


def test_upstream_requests_carry_only_go_default_headers_and_the_bearer(mock, alpha, stub):
    token = alpha.mint("team-a/web")
    with extra_specs(mock, ("stub", stub.url)):
        r1(mock, alpha, token=token)
    host = stub.url.removeprefix("https://")
    expected = [
        ("Host", host),
        ("User-Agent", "Go-http-client/1.1"),
        ("Authorization", f"Bearer {token}"),
        ("Accept-Encoding", "gzip"),
    ]
    assert [r["path"] for r in stub.requests] == [
        upstream_stub.DISCOVERY,
        upstream_stub.JWKS,
    ]
    assert all(r["headers"] == expected for r in stub.requests)


# -- ca.crt: Go's PEM reader and x509 pool (provider/kubernetes.go:63-77) -------------------------


def test_begin_line_not_at_a_line_start_is_not_a_pem_block(mock, alpha):
    reply = r1(mock, alpha, ca_crt_pem=b"x" + alpha.ca.cert_pem)
    assert (reply.status, reply.body) == (401, body_of(KEYFUNC + "no jwks found"))


def test_text_lines_before_the_block_are_skipped(mock, alpha):
    reply = r1(mock, alpha, ca_crt_pem=b"subject=alpha CA\n" + alpha.ca.cert_pem)
    assert (reply.status, reply.body) == (200, b'"hello"\n')


def test_a_malformed_first_candidate_is_skipped_for_the_next_block(mock, alpha):
    broken = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"
    reply = r1(mock, alpha, ca_crt_pem=broken + alpha.ca.cert_pem)
    assert (reply.status, reply.body) == (200, b'"hello"\n')


def _chain_stub(tmp_path, leaf: trustme.LeafCert):
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    return upstream_stub.serve(chain, leaf.private_key_pem.bytes(), tmp_path)


@pytest.mark.parametrize("anchor", ["intermediate", "leaf"])
def test_the_first_certificate_is_a_trust_anchor_even_when_not_a_root(
    mock, alpha, tmp_path, anchor
):
    root = trustme.CA()
    intermediate = root.create_child_ca()
    leaf = intermediate.issue_cert("127.0.0.1")
    trusted = (
        intermediate.cert_pem.bytes()
        if anchor == "intermediate"
        else leaf.cert_chain_pems[0].bytes()
    )
    with _chain_stub(tmp_path, leaf) as upstream, extra_specs(mock, ("stub", upstream.url)):
        reply = r1(mock, alpha, ca_crt_pem=trusted)
        assert [r["path"] for r in upstream.requests] == [
            upstream_stub.DISCOVERY,
            upstream_stub.JWKS,
        ]
    # The stub was trusted and answered an empty set (alpha's own server is not trusted).
    assert (reply.status, reply.body) == (
        401,
        body_of(KEYFUNC + "found right store, but kid not found in jwks"),
    )


def test_an_unrelated_ca_is_not_trusted(mock, alpha, tmp_path):
    leaf = trustme.CA().issue_cert("127.0.0.1")
    with _chain_stub(tmp_path, leaf) as upstream, extra_specs(mock, ("stub", upstream.url)):
        reply = r1(mock, alpha, ca_crt_pem=trustme.CA().cert_pem.bytes())
        assert upstream.requests == []
    assert (reply.status, reply.body) == (401, body_of(KEYFUNC + "no jwks found"))


def test_ca_crt_must_be_standard_base64(mock, alpha):
    token = alpha.mint("team-a/web")
    bad = base64.urlsafe_b64encode(alpha.ca.cert_pem).decode().replace("=", "") + "_-"
    body = json.dumps({"ca.crt": bad}).encode()
    reply = send(mock.federation_url, "POST", R1, token, body)
    assert (reply.status, reply.body) == (401, body_of(KEYFUNC + "no jwks found"))
