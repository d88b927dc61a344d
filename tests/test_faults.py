"""Faults set through the admin API are what the next client request receives, and only that one:
status overrides, drops, malformed answers, clock and real-time delays, hangs, seeded
probabilities, bad TLS certificates, and the cluster side (discovery/JWKS)."""

from __future__ import annotations

import http.client
import json
import ssl
import threading

import pytest

from mockserver.admin.faults import FaultError, FaultRule
from mockserver.clock import Clock
from mockserver.runtime import MockServer
from tests.wire import ca_body, send

R1_PATH = "/secretstore/app-store/secrets/plain"


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    server = MockServer(
        state_dir=tmp_path_factory.mktemp("faults"), clock=Clock(), refresh_volumes=False
    )
    with server:
        yield server


@pytest.fixture(autouse=True)
def clean(mock):
    mock.reset()
    yield
    assert mock.take_errors() == []


@pytest.fixture
def recorded(mock, monkeypatch):
    """Released once per journal entry, so a test waits for the mock's answer, not for time."""
    entries = threading.Semaphore(0)
    add_pending = mock.journal.add_pending

    def noted(build, *rest):
        entry_id = add_pending(build, *rest)
        entries.release()
        return entry_id

    monkeypatch.setattr(mock.journal, "add_pending", noted)
    return entries


@pytest.fixture(scope="module")
def web(mock):
    alpha = mock.clusters["alpha"]
    token = alpha.mint("team-a/web")
    body = ca_body(alpha.ca.cert_pem)
    return lambda path=R1_PATH, **kw: send(mock.federation_url, "POST", path, token, body, **kw)


def admin(mock, method: str, path: str, body: object = None):
    data = None if body is None else json.dumps(body).encode()
    return send(mock.admin_url, method, path, body=data)


def test_a_status_fault_answers_the_next_request_only(mock, web):
    reply = admin(mock, "POST", "/faults", {"status": 500, "body": '"boom"\n'})
    assert reply.status == 201
    fault_id = reply.json()["id"]  # ids keep counting across resets: read it from the answer
    assert isinstance(fault_id, int)
    assert reply.json() == {
        "id": fault_id,
        "action": "status",
        "count": 1,
        "status": 500,
        "body": '"boom"\n',
        "fired": 0,
    }
    first, second = web(), web()
    assert (first.status, first.body) == (500, b'"boom"\n')
    assert (second.status, second.body) == (200, b'"hello"\n')
    assert admin(mock, "GET", "/faults").json() == {"faults": []}
    entries = mock.admin.journal()
    assert entries[0]["fault"] == {"id": fault_id, "action": "status"}
    assert entries[1]["fault"] is None


def test_a_dropped_connection_gets_no_response_then_service_resumes(mock, web):
    mock.admin.add_fault(action="drop-before")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        web()
    assert web().status == 200
    assert mock.admin.journal()[0]["dropped"] == "fault drop-before: closed before any response"


def test_drop_mid_response_sends_headers_and_half_the_body(mock, web):
    mock.admin.add_fault(action="drop-mid")
    with pytest.raises(http.client.IncompleteRead):
        web()
    assert web().body == b'"hello"\n'


def test_malformed_json_and_wrong_content_type(mock, web):
    mock.admin.add_fault(action="malformed-json")
    mock.admin.add_fault(action="wrong-content-type", route="secretstore", count=None)
    malformed = web()
    assert (malformed.status, malformed.body) == (200, b'"hel')
    wrong = web()
    assert wrong.headers["content-type"] == "text/html; charset=utf-8"
    assert wrong.body == b'"hello"\n'


def test_a_route_fault_leaves_other_routes_alone(mock, web):
    mock.admin.add_fault(status=503, route="generate", count=None)
    assert web().status == 200
    assert web("/generators/team-a/Fake/fake-static").status == 503
    assert web("/generators/team-a/Fake/fake-static").status == 503


def test_a_clock_delay_waits_until_the_clock_is_shifted(mock, web, monkeypatch):
    waiting = threading.Event()
    wait_until = mock.gate.wait_until

    def noted_wait(deadline: float, give_up=lambda: False) -> bool:
        waiting.set()
        return wait_until(deadline, give_up)

    monkeypatch.setattr(mock.gate, "wait_until", noted_wait)
    mock.admin.add_fault(action="delay", delay=300)
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("reply", web()))
    thread.start()
    assert waiting.wait(timeout=5)  # the request is waiting on the mock's clock
    assert "reply" not in result
    assert admin(mock, "POST", "/clock", {"shift": 301}).status == 200
    thread.join(timeout=5)
    assert result["reply"].status == 200


def test_a_real_time_delay_trips_a_client_timeout(mock, web, recorded):
    mock.admin.add_fault(delay_ms=400)
    with pytest.raises(TimeoutError):
        web(timeout=0.1)
    assert web().status == 200
    assert recorded.acquire(timeout=5) and recorded.acquire(timeout=5)
    # the delayed request still finishes (into a closed connection) and is journalled second
    faults = [e["fault"] and e["fault"]["action"] for e in mock.admin.journal()]
    assert faults == [None, "delay"]


def test_hang_never_answers_and_ends_when_the_client_goes(mock, web, recorded):
    mock.admin.add_fault(action="hang")
    with pytest.raises(TimeoutError):
        web(timeout=0.2)
    assert recorded.acquire(timeout=5)  # the mock notices the closed connection within 50 ms
    [entry] = mock.admin.journal()
    assert (entry["dropped"], entry["response"]) == ("fault hang: never answered", None)


def test_probability_is_reproducible_from_the_printed_seed(mock, web):
    def outcomes(seed):
        mock.admin.clear_faults()
        rule = mock.admin.add_fault(status=502, probability=0.5, seed=seed, count=None)
        assert rule["seed"] == seed
        return [web().status for _ in range(8)]

    first = outcomes(1234)
    assert set(first) == {200, 502}
    assert outcomes(1234) == first
    entry = next(e for e in mock.admin.journal() if e["fault"])
    assert entry["fault"]["seed"] == 1234 and entry["fault"]["roll"] < 0.5
    mock.admin.clear_faults()
    chosen = mock.admin.add_fault(status=502, probability=0.5)
    assert isinstance(chosen["seed"], int)


def tls_get(url: str, context: ssl.SSLContext) -> int:
    host, port = url.removeprefix("https://").rsplit(":", 1)
    conn = http.client.HTTPSConnection(host, int(port), context=context, timeout=5)
    try:
        conn.request("POST", R1_PATH)
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("untrusted-ca", "unable to get local issuer certificate"),
        ("expired", "certificate has expired"),
        ("wrong-name", "IP address mismatch"),
    ],
)
def test_tls_faults_present_a_bad_certificate_to_the_next_connection(mock, kind, reason):
    context = mock.server_ca.client_context()
    mock.admin.add_fault(tls=kind, listener="https")
    with pytest.raises(ssl.SSLCertVerificationError, match=reason):
        tls_get(mock.listeners["https"].url, context)
    assert tls_get(mock.listeners["https"].url, context) == 401


def test_cluster_500_makes_federation_fail_verification(mock, web):
    fault = admin(mock, "POST", "/cluster-faults", {"cluster": "alpha", "kind": "status-500"})
    assert fault.status == 201
    assert fault.json()["endpoint"] == "any"
    reply = web()
    assert reply.status == 401
    assert mock.admin.journal()[-1]["error"] == (
        "oidc: token is unverifiable: error while executing keyfunc: no jwks found: discovery "
        "document has no string jwks_uri; spiffe: no certificates in request"
    )
    assert admin(mock, "DELETE", "/cluster-faults").json() == {"cleared": 1}
    assert web().status == 200


@pytest.mark.parametrize("kind", ["x5c", "no-alg", "garbage"])
def test_cluster_jwks_faults_change_what_the_cluster_serves(mock, kind):
    alpha = mock.clusters["alpha"]
    token = alpha.mint("team-a/web")
    mock.admin.add_cluster_fault(cluster="alpha", kind=kind)
    reply = send(alpha.url, "GET", "/openid/v1/jwks", token, context=alpha.client_context())
    if kind == "garbage":
        assert reply.body.startswith(b"\x89garbage")
        return
    keys = json.loads(reply.body)["keys"]
    if kind == "x5c":
        assert all(isinstance(k["x5c"], list) for k in keys)
    else:
        assert all("alg" not in k for k in keys)


def test_cluster_timeout_hangs_until_cleared(mock):
    alpha = mock.clusters["alpha"]
    rule = mock.admin.add_cluster_fault(cluster="alpha", kind="timeout", endpoint="discovery")
    with pytest.raises(TimeoutError):
        send(
            alpha.url,
            "GET",
            "/.well-known/openid-configuration",
            timeout=0.2,
            context=alpha.client_context(),
        )
    mock.admin.remove_cluster_fault(rule["id"])
    assert mock.admin.cluster_faults() == []


def test_cluster_wrong_and_expired_certificates(mock):
    alpha = mock.clusters["alpha"]
    for kind, reason in (("wrong-cert", "unable to get local"), ("expired-cert", "expired")):
        mock.admin.add_cluster_fault(cluster="alpha", kind=kind, count=1)
        with pytest.raises(ssl.SSLCertVerificationError, match=reason):
            send(alpha.url, "GET", "/openid/v1/jwks", context=alpha.client_context())
    assert send(alpha.url, "GET", "/openid/v1/jwks", context=alpha.client_context()).status == 403


def test_jwks_uri_on_another_host_is_set_and_restored(mock):
    alpha = mock.clusters["alpha"]
    mock.admin.add_cluster_fault(cluster="alpha", kind="jwks-uri-host", host="keys.other.test:9")
    assert alpha.jwks_uri == "https://keys.other.test:9/openid/v1/jwks"
    mock.admin.clear_cluster_faults()
    assert alpha.jwks_uri == alpha.jwks_url


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"action": "explode"}, "action must be one of status, delay, drop-before"),
        ({"status": 99}, "status must be between 100 and 599, got 99"),
        ({"status": "500"}, "status must be a whole number, got '500'"),
        ({"status": 500, "count": 0}, "count must be at least 1 (or null for no limit), got 0"),
        ({"status": 500, "probability": 2}, "probability must be between 0 and 1, got 2"),
        ({"tls": "weird"}, "tls must be one of untrusted-ca, expired, wrong-name, got 'weird'"),
        ({"tls": "expired", "listener": "http"}, "tls faults apply to the https and mtls"),
        ({"status": 500, "route": "nowhere"}, "route must be one of secretstore"),
        ({"delay": -1}, "delay must not be negative, got -1"),
        ({"bogus": 1}, "unknown fault field 'bogus'"),
        ([], "a fault is a JSON object"),
    ],
)
def test_bad_fault_descriptions_are_refused_with_the_field_named(spec, message):
    with pytest.raises(FaultError) as raised:
        FaultRule.from_json(1, spec)
    assert str(raised.value).startswith(message)


def test_bad_faults_through_the_api_are_400_json(mock):
    reply = admin(mock, "POST", "/faults", {"status": 99})
    assert (reply.status, reply.json()) == (
        400,
        {"error": "status must be between 100 and 599, got 99"},
    )
    reply = admin(mock, "POST", "/cluster-faults", {"cluster": "nope", "kind": "garbage"})
    assert reply.status == 400
    assert reply.json()["error"].startswith("cluster must be one of alpha")
    assert admin(mock, "DELETE", "/faults/99").json() == {"error": "no fault 99"}
