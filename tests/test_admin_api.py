"""The admin API: manifests at run time, near misses, state, quirks, clock, keys, tokens, reset,
and clear 4xx JSON errors for bad input."""

from __future__ import annotations

import json

import pytest

from mockserver.admin.client import AdminClient, AdminClientError
from mockserver.clock import Clock
from mockserver.runtime import MockServer
from mockserver.tls import client_context
from tests.wire import ca_body, send

R1_PATH = "/secretstore/app-store/secrets/plain"
NARROWED = """
apiVersion: federation.external-secrets.io/v1alpha1
kind: Authorization
metadata: {name: alpha-web}
spec:
  federationRef: {kind: KubernetesFederation, name: alpha}
  subject:
    oidc:
      issuer: https://kubernetes.default.svc.cluster.local
      subject: system:serviceaccount:team-a:web
  allowedClusterSecretStores: [staging]
  allowedGenerators: []
  allowedGeneratorStates: []
"""


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    server = MockServer(
        state_dir=tmp_path_factory.mktemp("admin"),
        clock=Clock(),
        refresh_volumes=False,
        journal_size=5,
    )
    with server:
        yield server


@pytest.fixture(autouse=True)
def clean(mock):
    mock.reset()
    yield
    assert mock.take_errors() == []


@pytest.fixture(scope="module")
def client(mock):
    return AdminClient(mock.admin_url)


@pytest.fixture(scope="module")
def web(mock):
    alpha = mock.clusters["alpha"]
    token = alpha.mint("team-a/web", pod="web-7d9f8b6c5-x2x4q")
    body = ca_body(alpha.ca.cert_pem)
    return lambda path=R1_PATH: send(mock.federation_url, "POST", path, token, body)


def admin(mock, method, path, body=None, raw=None, content_type="application/json"):
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": content_type} if data is not None else {}
    return send(mock.admin_url, method, path, body=data, headers=headers)


def test_connection_json_names_the_admin_url(mock):
    connection = json.loads(mock.state.connection_file.read_text())
    assert connection["admin_url"] == mock.admin_url
    assert connection["admin_url"].startswith("http://127.0.0.1:")
    assert connection["unredacted"] is False


def test_health(mock):
    assert admin(mock, "GET", "/health").json() == {
        "status": "ok",
        "version": "0.1.0",
        "redacted": True,
        "journal": {"size": 5, "count": 0, "dropped": 0},
    }


def test_applying_a_narrowed_authorization_turns_200_into_404(mock, web):
    assert web().status == 200
    reply = admin(mock, "POST", "/manifests", raw=NARROWED.encode(), content_type="text/yaml")
    assert reply.json() == {"applied": [{"kind": "Authorization", "name": "alpha-web"}]}
    denied = web()
    assert (denied.status, denied.body) == (404, b'"Not Found"\n')


def test_sticky_authorizations_quirk_keeps_the_old_grant(mock, client, web):
    client.enable_quirk("sticky-authorizations")
    client.apply_manifests(NARROWED)
    assert web().status == 200
    client.delete_manifest("Authorization", "alpha-web")
    assert web().status == 200


def test_deleting_an_authorization_stops_it_on_the_next_request(mock, web):
    reply = admin(mock, "DELETE", "/manifests", {"kind": "Authorization", "name": "alpha-web"})
    assert reply.json() == {"deleted": {"kind": "Authorization", "name": "alpha-web"}}
    assert web().status == 404
    again = admin(mock, "DELETE", "/manifests", {"kind": "Authorization", "name": "alpha-web"})
    assert (again.status, again.json()) == (
        404,
        {"error": "no Authorization 'alpha-web' is loaded"},
    )


def test_a_denied_store_shows_the_closest_allowed_store(mock, client, web):
    assert web("/secretstore/app-stor/secrets/plain").status == 404
    [entry] = client.journal(status="404")
    assert entry["near_miss"] == (
        "ClusterSecretStore 'app-stor' is not listed by Authorization alpha-web "
        "(allowed: app-store); closest match is 'app-store'"
    )
    assert client.journal(near_miss=True) == [entry]


def test_an_unknown_route_names_the_closest_route_and_segment(mock, client, web):
    assert web("/secretstore/app-store/secret/plain").status == 404
    assert client.journal()[-1]["near_miss"] == (
        "no route for POST /secretstore/app-store/secret/plain; closest route is "
        "POST /secretstore/{secretStoreName}/secrets/{secretName}: segment 3 is 'secret' where "
        "the route has 'secrets'"
    )


def test_the_journal_is_a_ring_of_the_configured_size(mock, client, web):
    for _ in range(7):
        web()
    assert client.call("GET", "/journal")["dropped"] == 2
    ids = [e["id"] for e in client.journal()]
    assert ids == list(range(ids[0], ids[0] + 5))  # ids keep counting across clears
    assert client.journal_entry(ids[-1])["response"]["status"] == 200
    with pytest.raises(AdminClientError, match=f"404: no journal entry {ids[0] - 1} "):
        client.journal_entry(ids[0] - 1)
    assert client.clear_journal() == 5


def test_state_lists_identities_generator_states_and_clusters(mock, client, web):
    web("/generators/team-a/UUID/uuid")
    state = client.state()
    assert [
        s["metadata"]["labels"]["federation.externalsecrets.com/generator"]
        for s in state["generator_states"]
    ] == ["uuid"]
    assert [i["metadata"]["name"] for i in state["authorized_identities"]] == [
        "oidc-system-serviceaccount-team-a-web"
    ]
    alpha = state["clusters"]["alpha"]
    assert alpha["issuer"] == "https://kubernetes.default.svc.cluster.local"
    assert [k["signing"] for k in alpha["keys"]] == [True]
    assert {"namespace": "team-a", "name": "web"}.items() <= alpha["service_accounts"][0].items()
    assert client.generator_states(namespace="payments") == []


def test_quirks_switch_on_and_off(mock, client):
    assert client.enable_quirk("kidless-panic")["quirks"] == ["kidless-panic"]
    assert client.disable_quirk("kidless-panic")["quirks"] == []
    assert client.set_quirks(["first-request-401"], strict=True) == {
        "strict": True,
        "quirks": ["first-request-401"],
    }
    reply = admin(mock, "POST", "/quirks/no-such-quirk")
    assert reply.status == 400
    assert reply.json()["error"].startswith("unknown quirk 'no-such-quirk'; known quirks: ")


def test_clock_shift_expires_tokens_without_sleeping(mock, client, web):
    before = client.clock()["offset"]
    assert client.shift_clock(7200)["offset"] == before + 7200
    reply = web()
    assert reply.status == 401
    client.reset()
    assert client.clock()["offset"] == before
    assert web().status == 200


def test_rotate_and_mint_for_other_languages(mock, client):
    rotated = client.rotate_keys("alpha")
    assert rotated["signing_kid"] == rotated["kid"]
    assert len(rotated["keys"]) == 2
    token = client.mint_token("alpha", "team-a/web")
    body = ca_body(mock.clusters["alpha"].ca.cert_pem)
    assert send(mock.federation_url, "POST", R1_PATH, token, body).status == 200
    legacy = client.mint_token("alpha", "team-a/web", legacy=True)
    assert legacy.count(".") == 2
    broken = client.mint_token("alpha", "team-a/web", broken="expired")
    assert send(mock.federation_url, "POST", R1_PATH, broken, body).status == 401
    client.reset()
    assert len(client.clusters()["alpha"]["keys"]) == 1


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        ("GET", "/nowhere", None, 404, "no admin route /nowhere; see docs/admin-api.md"),
        ("PUT", "/journal", None, 405, "PUT is not allowed on /journal"),
        ("POST", "/faults", b"{", 400, "the body is not valid JSON"),
        ("POST", "/faults", b"[1]", 400, "the body must be a JSON object"),
        ("POST", "/manifests", b"{}", 400, "send {'yaml': '<manifests>'} or {'documents': [...]}"),
        ("POST", "/manifests", b'{"yaml": "kind: FakeCluster\\n"}', 400, None),
        ("POST", "/manifests", b'{"yaml": "a: [\\n"}', 400, None),
        ("POST", "/clock", b'{"shift": "soon"}', 400, "field 'shift' has the wrong type: 'soon'"),
        ("POST", "/clock", b"{}", 400, None),
        ("POST", "/tokens", b'{"cluster": "nope", "sa": "a/b"}', 404, None),
        ("POST", "/tokens", b'{"cluster": "alpha", "sa": "a/b"}', 400, None),
        ("POST", "/tokens", b'{"cluster": "alpha"}', 400, "missing field 'sa'"),
        ("POST", "/keys/alpha/rotate", b'{"step": "retire"}', 400, None),
        ("POST", "/keys/alpha/rotate", b'{"step": "spin"}', 400, None),
        ("DELETE", "/manifests", b'{"kind": "Secret", "name": "x"}', 404, None),
        ("GET", "/journal?status=abc", None, 400, None),
        ("PUT", "/quirks", b'{"quirks": "all"}', 400, "field 'quirks' has the wrong type: 'all'"),
    ],
)
def test_bad_input_is_a_clear_4xx_json_error(mock, method, path, body, status, error):
    reply = admin(mock, method, path, raw=body)
    assert reply.status == status, reply.body
    assert reply.headers["content-type"] == "application/json"
    message = reply.json()["error"]
    assert message and "Traceback" not in message
    if error is not None:
        assert message == error


def test_admin_refuses_a_non_loopback_host():
    with pytest.raises(ValueError, match="the admin API listens on loopback only"):
        MockServer(admin_host="0.0.0.0")


def test_mtls_requests_record_the_peer_spiffe_id(mock, client):
    authorizations = mock.context.registry.model.authorizations
    spiffe_id = next(a.spiffe_id for a in authorizations if a.spiffe_id)
    cert, key = mock.spiffe.issue_svid(spiffe_id)
    context = client_context(mock.server_ca, client_cert=(cert, key))
    send(mock.listeners["mtls"].url, "POST", R1_PATH, context=context)
    [entry] = client.journal(listener="mtls")
    assert entry["tls"]["spiffe_id"] == spiffe_id
    assert entry["tls"]["fingerprint"].startswith("sha256:")
    assert client.journal(identity=spiffe_id) == [entry]
