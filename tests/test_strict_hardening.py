"""Strict mode's two hardenings of SHOULD items the real server does not meet: a server-side
trust anchor when the caller sends no `ca.crt` (S17, SRV-TLS-001) and a 400 for `%2F` in a
route parameter (S8, SRV-STORE-004); the default stays the real server's answer."""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path

import pytest

from mockserver.federation.jwtparse import KeyFuncError
from mockserver.federation.modes import STRICT_ITEMS, Behaviour
from mockserver.federation.upstream import KeyResolver
from tests.wire import ca_body, send

NO_JWKS = b'"token is unverifiable: error while executing keyfunc: no jwks found"\n'


@contextlib.contextmanager
def strict(mock):
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


def r1(mock, path="/secretstore/app-store/secrets/plain", body=b"{}"):
    token = mock.clusters["alpha"].mint("team-a/web", pod="web-7d9f8b6c5-x2x4q")
    return send(mock.federation_url, "POST", path, token, body)


def test_strict_lists_both_hardenings_with_their_references():
    assert {item.name: item.reference for item in STRICT_ITEMS}["server-side-trust-anchor"] == (
        "protocol.md S17, D6"
    )
    assert {item.name: item.reference for item in STRICT_ITEMS}["encoded-slash-refused"] == (
        "protocol.md S8, D26"
    )


def test_without_ca_crt_strict_verifies_with_the_fake_clusters_cas(mock):
    assert (r1(mock).status, r1(mock).body) == (401, NO_JWKS)  # the real server's answer
    with strict(mock):
        assert (r1(mock).status, r1(mock).body) == (200, b'"hello"\n')
        # Another cluster's token: its own CA is in the trust bundle too.
        beta = mock.clusters["beta"].mint("payments/api")
        answer = send(
            mock.federation_url, "POST", "/secretstore/app-store/secrets/plain", beta, b"{}"
        )
        assert (answer.status, answer.body) == (200, b'"hello"\n')


def test_a_ca_crt_sent_is_still_the_only_anchor_in_strict(mock):
    """The trust bundle stands in only for a missing ca.crt: a wrong one still fails."""
    beta_ca = base64.b64encode(mock.clusters["beta"].ca.cert_pem).decode()
    with strict(mock):
        wrong = r1(mock, body=json.dumps({"ca.crt": beta_ca}).encode())
        right = r1(mock, body=ca_body(mock.clusters["alpha"].ca.cert_pem))
    assert (wrong.status, wrong.body) == (401, NO_JWKS)
    assert (right.status, right.body) == (200, b'"hello"\n')


def test_strict_without_a_trust_bundle_refuses_a_missing_ca_crt():
    resolver = KeyResolver(lambda issuer: ["https://127.0.0.1:1"], Behaviour(strict=True))
    with pytest.raises(KeyFuncError) as refused:
        resolver.keys_for("https://issuer.test", "", "token", None, "kid")
    assert str(refused.value) == NO_JWKS.decode()[1:-2]
    assert refused.value.detail == "no ca.crt sent and no server-side trust anchor configured"


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/secretstore/app-store/secrets/a%2Fb", "secretName"),
        ("/secretstore/app-store/secrets/a%2fb", "secretName"),
        ("/secretstore/app%2Fstore/secrets/plain", "secretStoreName"),
        ("/generators/team-a/UUID/uu%2Fid", "generatorName"),
        ("/generators/team%2Fa/revoke", "generatorNamespace"),
    ],
)
def test_strict_refuses_an_encoded_slash_in_any_parameter(mock, path, param):
    body = ca_body(mock.clusters["alpha"].ca.cert_pem)
    with strict(mock):
        refused = r1(mock, path, body=body)
    assert refused.status == 400
    assert refused.body == (
        f'"{param} must not contain %2F (an encoded /); send the / unencoded"\n'.encode()
    )


def test_default_hands_the_encoded_slash_on_and_strict_keeps_a_double_encoded_one(mock):
    body = ca_body(mock.clusters["alpha"].ca.cert_pem)
    missing = (400, b'"Secret does not exist"\n')
    assert r1(mock, "/secretstore/app-store/secrets/db/password", body=body).status == 200
    # Default: the backend is asked for the text db%2Fpassword, which the store does not hold.
    literal = r1(mock, "/secretstore/app-store/secrets/db%2Fpassword", body=body)
    assert (literal.status, literal.body) == missing
    with strict(mock):
        # %252F is routed decoded: the name is the text db%2Fpassword its sender meant.
        meant = r1(mock, "/secretstore/app-store/secrets/db%252Fpassword", body=body)
        unauthenticated = send(
            mock.federation_url, "POST", "/secretstore/app-store/secrets/db%2Fpassword"
        )
    assert (meant.status, meant.body) == missing
    assert unauthenticated.status == 401  # authentication still comes first


def test_docs_modes_has_one_strict_row_per_item():
    modes = (Path(__file__).resolve().parents[1] / "docs" / "modes.md").read_text()
    section = modes.split("## Strict mode", 1)[1].split("\n## ", 1)[0]
    rows = [r for r in section.splitlines() if r.startswith("| ") and not r.startswith("| SHOULD")]
    references = [r.split(" | ")[1] for r in rows if not set(r) <= set("|- ")]
    assert sorted(references) == sorted(
        i.reference.removeprefix("protocol.md ") for i in STRICT_ITEMS
    )
