"""Fake identity providers, their key sources in the server, caching by mode, and manifests."""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass, field

import pytest

from mockserver.clock import Clock
from mockserver.federation.authenticators.base import Credentials, Refusal, Setup
from mockserver.federation.authenticators.okta import Okta
from mockserver.federation.authenticators.pingidentity import PingIdentity
from mockserver.federation.idp_keys import IssuerKeys, SourceError, okta_jwks, ping_jwks
from mockserver.federation.modes import Behaviour
from mockserver.federation.upstream import UpstreamError
from mockserver.idp import IdentityProviders, default_providers
from mockserver.idp.minting import TokenRequest
from mockserver.manifests import (
    Authorization,
    FederationRef,
    ManifestError,
    ManifestSet,
    OidcSubject,
    OktaFederation,
    PingIdentityFederation,
    SpiffeFederation,
    build_model,
    parse_documents,
)

OKTA = "https://esi-mock.okta.com"
PING_ENV = "a1b2c3d4-0000-4000-8000-0000000000c0"
PING_ISSUER = f"https://auth.pingone.com/{PING_ENV}/as"


@pytest.fixture(scope="module")
def idps(tmp_path_factory):
    providers = IdentityProviders(default_providers(Clock())).start(tmp_path_factory.mktemp("idps"))
    yield providers
    providers.stop()


@dataclass
class Books:
    """The live manifests an IssuerKeys reads, editable per test."""

    model: ManifestSet = field(default_factory=ManifestSet)
    listed: list[Authorization] = field(default_factory=list)

    def authorizations(self) -> list[Authorization]:
        return list(self.listed)


def authorization(name: str, kind: str, ref: str, issuer: str, subject: str) -> Authorization:
    return Authorization(name, FederationRef(kind, ref), OidcSubject(issuer, subject), None)


def books(server_id: str = "default") -> Books:
    model = ManifestSet(
        okta_federations={"okta": OktaFederation("okta", OKTA, server_id)},
        pingidentity_federations={"ping": PingIdentityFederation("ping", "com", PING_ENV)},
        spiffe_federations={"spiffe": SpiffeFederation("spiffe", "example.org")},
    )
    issuer = OKTA if server_id == "" else f"{OKTA}/oauth2/{server_id}"
    listed = [
        authorization("okta", "OktaFederation", "okta", issuer, "ci"),
        authorization("ping", "PingIdentityFederation", "ping", PING_ISSUER, "batch"),
    ]
    return Books(model, listed)


def pair(idps, manifests: Books, quirks: tuple[str, ...] = ()) -> tuple[Okta, IssuerKeys, Clock]:
    clock = idps["okta"].clock
    keys = IssuerKeys(manifests, idps, Behaviour(quirks), clock)
    setup = Setup(None, Behaviour(quirks), clock, issuer_keys=keys)  # type: ignore[arg-type]
    return Okta(setup), keys, clock


def bearer(token: str) -> Credentials:
    return Credentials(f"Bearer {token}", b"")


def get(idps, host: str, path: str) -> tuple[int, bytes]:
    route = idps.route(host)
    context = ssl.create_default_context(cadata=route.ca_pem.decode())
    conn = http.client.HTTPSConnection("127.0.0.1", route.port, context=context, timeout=10)
    conn.sock = context.wrap_socket(
        __import__("socket").create_connection(("127.0.0.1", route.port)), server_hostname=host
    )
    conn.request("GET", path, headers={"Host": host})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


# -- the fake providers ------------------------------------------------------------------------


def test_okta_serves_an_org_server_and_custom_servers_each_with_its_own_issuer_and_keys(idps):
    status, org = get(idps, "esi-mock.okta.com", "/.well-known/openid-configuration")
    assert status == 200
    assert json.loads(org)["issuer"] == OKTA
    assert json.loads(org)["jwks_uri"] == f"{OKTA}/oauth2/v1/keys"
    status, custom = get(
        idps, "esi-mock.okta.com", "/oauth2/default/.well-known/openid-configuration"
    )
    assert json.loads(custom)["issuer"] == f"{OKTA}/oauth2/default"
    _, org_keys = get(idps, "esi-mock.okta.com", "/oauth2/v1/keys")
    _, default_keys = get(idps, "esi-mock.okta.com", "/oauth2/default/v1/keys")
    org_kids = {k["kid"] for k in json.loads(org_keys)["keys"]}
    assert org_kids.isdisjoint(k["kid"] for k in json.loads(default_keys)["keys"])
    first = json.loads(default_keys)["keys"][0]
    assert list(first) == ["kty", "alg", "kid", "use", "e", "n"]
    assert get(idps, "esi-mock.okta.com", "/oauth2/nope/v1/keys")[0] == 404


def test_pingone_serves_environments_per_region_by_host(idps):
    path = f"/{PING_ENV}/as/.well-known/openid-configuration"
    status, document = get(idps, "auth.pingone.com", path)
    assert status == 200
    assert json.loads(document)["jwks_uri"] == f"{PING_ISSUER}/jwks"
    assert get(idps, "auth.pingone.eu", path)[0] == 404  # that environment lives in com


def test_tokens_are_shaped_like_the_vendors(idps):
    import jwt

    def claims(token: str) -> dict:
        # The raw claims in the order minted (the mock's own parser keeps only a struct's fields).
        return jwt.decode(token, options={"verify_signature": False})

    okta = claims(idps.mint("okta", TokenRequest(subject="u@example.com")))
    assert list(okta) == [
        "ver",
        "jti",
        "iss",
        "aud",
        "iat",
        "exp",
        "cid",
        "uid",
        "scp",
        "sub",
    ]
    ping = claims(idps.mint("pingone", TokenRequest(client_id="c", scopes=("a", "b"))))
    assert "sub" not in ping
    assert (ping["client_id"], ping["scope"]) == ("c", "a b")


def test_keys_and_cas_are_kept_in_the_state_folder(tmp_path):
    first = IdentityProviders(default_providers()).start(tmp_path)
    kid = first["okta"].server("default").keys.signing_key.kid
    ca = first["okta"].ca.cert_pem
    first.stop()
    again = IdentityProviders(default_providers()).start(tmp_path)
    try:
        assert again["okta"].server("default").keys.signing_key.kid == kid
        assert again["okta"].ca.cert_pem == ca
        assert (tmp_path / "okta" / "ca.crt").read_bytes() == ca
    finally:
        again.stop()


# -- the key sources ---------------------------------------------------------------------------


def test_okta_default_reads_the_default_servers_own_keys(idps):
    okta, _, _ = pair(idps, books())
    token = idps.mint("okta", TokenRequest(subject="ci"))
    assert okta.authenticate(bearer(token)).subject == "ci"


def test_quirk_okta_default_org_keys_maps_default_to_the_org_server(idps):
    okta, _, _ = pair(idps, books(), ("okta-default-org-keys",))
    token = idps.mint("okta", TokenRequest(subject="ci"))
    kid = idps["okta"].server("default").keys.signing_key.kid
    with pytest.raises(Refusal) as caught:
        okta.authenticate(bearer(token))
    assert str(caught.value).endswith(f"key with kid '{kid}' not found in JWKS")


def test_the_org_server_is_read_at_oauth2_v1_keys(idps):
    okta, _, _ = pair(idps, books(""))
    token = idps.mint("okta", TokenRequest(subject="ci"), server_id="org")
    assert okta.authenticate(bearer(token)).provider == OKTA


def test_a_key_retired_at_the_provider_is_refused_on_the_next_request(idps):
    okta, keys, _ = pair(idps, books())
    ring = idps["okta"].server("default").keys
    old = idps.mint("okta", TokenRequest(subject="ci"))
    assert okta.authenticate(bearer(old)).subject == "ci"
    before = keys.fetches.snapshot()["jwks"]
    assert okta.authenticate(bearer(old)).subject == "ci"
    assert keys.fetches.snapshot()["jwks"] == before  # warm: no fetch
    new = ring.add()
    old_kid = ring.signing_key.kid
    ring.sign_with(new.kid)
    ring.retire(old_kid)
    with pytest.raises(Refusal) as caught:
        okta.authenticate(bearer(old))
    assert str(caught.value).endswith(f"key with kid '{old_kid}' not found in JWKS")
    fresh = idps.mint("okta", TokenRequest(subject="ci"))
    assert okta.authenticate(bearer(fresh)).subject == "ci"


def test_quirk_idp_key_cache_hour_keeps_the_key_set_for_an_hour(idps):
    okta, _, clock = pair(idps, books(), ("idp-key-cache-hour",))
    ring = idps["okta"].server("default").keys
    old = idps.mint("okta", TokenRequest(subject="ci"))
    assert okta.authenticate(bearer(old)).subject == "ci"
    new = ring.add()
    old_kid = ring.signing_key.kid
    ring.sign_with(new.kid)
    ring.retire(old_kid)
    assert okta.authenticate(bearer(old)).subject == "ci"  # retired, still accepted
    fresh = idps.mint("okta", TokenRequest(subject="ci", duration=7200))
    with pytest.raises(Refusal) as caught:
        okta.authenticate(bearer(fresh))
    assert str(caught.value).endswith(f"key with kid '{new.kid}' not found in JWKS")
    clock.shift(3600)
    try:
        assert okta.authenticate(bearer(fresh)).subject == "ci"
    finally:
        clock.reset()


def test_pingone_keys_come_through_discovery_and_client_id_is_the_subject(idps):
    setup_keys = IssuerKeys(books(), idps, Behaviour(), idps["pingone"].clock)
    ping = PingIdentity(Setup(None, Behaviour(), issuer_keys=setup_keys))  # type: ignore[arg-type]
    token = idps.mint("pingone", TokenRequest(client_id="batch"))
    found = ping.authenticate(bearer(token))
    assert (found.method, found.provider, found.subject) == ("pingidentity", PING_ISSUER, "batch")
    assert setup_keys.fetches.snapshot() == {"discovery": 1, "jwks": 1}
    ping.authenticate(bearer(token))
    assert setup_keys.fetches.snapshot() == {"discovery": 1, "jwks": 1}


def test_a_ref_to_a_missing_federation_stops_with_no_provider_found(idps):
    manifests = books()
    manifests.listed.append(
        authorization("late", "OktaFederation", "gone", f"{OKTA}/oauth2/default", "x")
    )
    _, keys, _ = pair(idps, manifests)
    with pytest.raises(SourceError) as caught:
        keys.jwks(f"{OKTA}/oauth2/default")
    assert str(caught.value) == "no provider found"


def test_a_spiffe_federation_answers_an_empty_key_set(idps):
    manifests = Books(
        books().model,
        [authorization("s", "SpiffeFederation", "spiffe", f"{OKTA}/oauth2/default", "ci")],
    )
    okta, _, _ = pair(idps, manifests)
    token = idps.mint("okta", TokenRequest(subject="ci"))
    with pytest.raises(Refusal) as caught:
        okta.authenticate(bearer(token))
    assert "not found in JWKS" in str(caught.value)


def test_a_failing_provider_is_skipped_for_the_next_one(idps):
    manifests = books()
    manifests.model = ManifestSet(
        okta_federations={
            **manifests.model.okta_federations,
            "elsewhere": OktaFederation("elsewhere", "https://dev-9.okta.com"),
        }
    )
    manifests.listed.insert(
        0, authorization("old", "OktaFederation", "okta", f"{OKTA}/oauth2/default", "ci")
    )
    manifests.listed.append(
        authorization("new", "OktaFederation", "elsewhere", f"{OKTA}/oauth2/default", "ci")
    )
    okta, _, _ = pair(idps, manifests)
    token = idps.mint("okta", TokenRequest(subject="ci"))
    assert okta.authenticate(bearer(token)).subject == "ci"  # newest (elsewhere) failed first
    only_elsewhere = Books(manifests.model, [manifests.listed[-1]])
    _, lonely, _ = pair(idps, only_elsewhere)
    with pytest.raises(SourceError) as caught:
        lonely.jwks(f"{OKTA}/oauth2/default")
    assert str(caught.value) == "no jwks found"
    assert "dev-9.okta.com" in caught.value.detail  # nothing else is contacted


def test_jwks_parsing_follows_each_providers_go_types():
    body = b'{"keys":[{"kid":"a","kty":"RSA","x5c":["x"]},{"kty":"RSA"},{"kid":7}]}'
    assert ping_jwks(body) == {"a": {"kid": "a", "kty": "RSA"}}
    with pytest.raises(UpstreamError):
        okta_jwks(body)
    assert okta_jwks(b'{"keys":[{"kid":"a","use":null},{"kty":"RSA"}]}') == {
        "a": {"kid": "a", "use": ""}
    }


# -- manifests ---------------------------------------------------------------------------------


def load(text: str) -> ManifestSet:
    return build_model(parse_documents(text, "m.yaml"))


def test_okta_and_ping_federations_load_with_the_crd_defaults():
    model = load(
        "apiVersion: identity.federation.external-secrets.io/v1alpha1\nkind: OktaFederation\n"
        "metadata: {name: o}\nspec: {domain: 'https://dev-1.okta.com'}\n---\n"
        "apiVersion: identity.federation.external-secrets.io/v1alpha1\n"
        "kind: PingIdentityFederation\nmetadata: {name: p}\n"
        "spec: {region: eu, environmentId: env-1}\n"
    )
    assert model.okta_federations["o"] == OktaFederation("o", "https://dev-1.okta.com", "default")
    assert model.pingidentity_federations["p"] == PingIdentityFederation("p", "eu", "env-1")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "kind: OktaFederation\nmetadata: {name: o}\nspec: {domain: dev-1.okta.com}",
            "spec.domain: expected the Okta org URL with its scheme, e.g. "
            "https://dev-123.okta.com; it must start with https:// or http://",
        ),
        (
            "kind: PingIdentityFederation\nmetadata: {name: p}\n"
            "spec: {region: us, environmentId: e}",
            'spec.region: expected one of com, eu, asia, ca, got "us"',
        ),
    ],
)
def test_bad_federations_name_the_field_and_the_fix(spec, expected):
    with pytest.raises(ManifestError) as caught:
        load(f"apiVersion: identity.federation.external-secrets.io/v1alpha1\n{spec}\n")
    assert expected in str(caught.value)


def test_unknown_identity_provider_names_the_known_ones(idps):
    with pytest.raises(KeyError, match="known: okta, pingone"):
        idps.mint("auth0", TokenRequest(subject="x"))
    assert isinstance(idps.route("esi-mock.okta.com").port, int)
    assert idps.route("dev-9.okta.com") is None


def test_a_provider_listens_where_it_is_told(tmp_path):
    import socket

    from mockserver.idp.provider import FakeIdentityProvider
    from mockserver.idp.servers import okta_servers

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    provider = FakeIdentityProvider("o", "okta", okta_servers("o.example.test", ()), port=port)
    group = IdentityProviders({"o": provider}).start()
    try:
        assert provider.url == f"https://127.0.0.1:{port}"
        assert group.connection()["o"]["hosts"] == {"o.example.test": f"127.0.0.1:{port}"}
        assert get(group, "o.example.test", "/oauth2/v1/keys")[0] == 200
    finally:
        group.stop()


def test_keep_writes_cas_and_keys_for_a_bundle_without_serving(tmp_path):
    kept = IdentityProviders(default_providers()).keep(tmp_path)
    assert not kept["okta"].listening
    assert (tmp_path / "pingone" / "ca.crt").read_bytes() == kept["pingone"].ca.cert_pem
    again = IdentityProviders(default_providers()).keep(tmp_path)
    assert (
        again["okta"].server("org").keys.signing_key == kept["okta"].server("org").keys.signing_key
    )
