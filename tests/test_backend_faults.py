"""Backend faults over the admin API: a secret store that cannot be read, a GeneratorState that
cannot be written, with the answers the federation side then gives, exactly."""

from __future__ import annotations

import json

import pytest

from mockserver.admin.client import AdminClient, AdminClientError
from mockserver.clock import Clock
from mockserver.runtime import MockServer
from tests.wire import ca_body, send

R1_PATH = "/secretstore/app-store/secrets/plain"
R2_PATH = "/generators/team-a/Password/password-default"
GENERATOR = "team-a/Password/password-default"


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    server = MockServer(
        state_dir=tmp_path_factory.mktemp("backend"),
        clock=Clock(),
        refresh_volumes=False,
        ephemeral=True,
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
    return lambda path: send(mock.federation_url, "POST", path, token, body)


def post_fault(mock, spec):
    return send(
        mock.admin_url,
        "POST",
        "/faults",
        body=json.dumps(spec).encode(),
        headers={"Content-Type": "application/json"},
    )


def test_a_store_read_fault_answers_503_until_its_budget_is_spent(mock, web):
    added = post_fault(mock, {"backend": "store-read", "store": "app-store", "count": 2})
    rule_id = added.json()["id"]
    assert (added.status, added.json()) == (
        201,
        {"id": rule_id, "backend": "store-read", "store": "app-store", "count": 2, "fired": 0},
    )
    for _ in range(2):
        failed = web(R1_PATH)
        assert (failed.status, failed.body) == (
            503,
            b"\"secret store 'app-store' is unavailable\"\n",
        )
    assert web(R1_PATH).status == 200
    [entry, *_] = mock.admin.journal(route="secretstore")
    assert entry["error"] == f"backend fault {rule_id}: store-read app-store"
    assert mock.admin.faults() == []


def test_a_store_read_fault_leaves_other_stores_alone(mock, client, web):
    rule = client.add_backend_fault("store-read", store="staging", count=None)
    assert web(R1_PATH).status == 200
    assert client.faults() == [
        {"id": rule["id"], "backend": "store-read", "store": "staging", "count": None, "fired": 0}
    ]


def test_a_generator_state_write_fault_answers_400_and_keeps_no_state(mock, client, web):
    rule = client.add_backend_fault("generator-state-write", generator=GENERATOR)
    assert rule == {
        "id": rule["id"],
        "backend": "generator-state-write",
        "generator": GENERATOR,
        "count": 1,
        "fired": 0,
    }
    failed = web(R2_PATH)
    assert (failed.status, failed.body) == (
        400,
        b'"GeneratorState for Password/password-default could not be written"\n',
    )
    assert client.generator_states("team-a") == []
    assert client.leaked_credentials() == []
    assert web(R2_PATH).status == 200
    assert len(client.generator_states("team-a")) == 1


def test_backend_faults_are_cleared_by_reset(mock, client, web):
    client.add_backend_fault("store-read", store="app-store", count=None)
    client.reset()
    assert client.faults() == []
    assert web(R1_PATH).status == 200


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        (
            {"backend": "store-write", "store": "x"},
            "backend must be one of store-read, generator-state-write, got 'store-write'",
        ),
        ({"backend": "store-read"}, "backend store-read needs store (a ClusterSecretStore name)"),
        (
            {"backend": "store-read", "store": "x", "generator": GENERATOR},
            "backend store-read needs store (a ClusterSecretStore name)",
        ),
        (
            {"backend": "generator-state-write", "generator": "team-a/password"},
            "generator must be namespace/kind/name, got 'team-a/password'",
        ),
        (
            {"backend": "generator-state-write", "store": "x"},
            "backend generator-state-write needs generator (namespace/kind/name)",
        ),
        (
            {"backend": "store-read", "store": "x", "status": 500},
            "a backend fault matches by store or generator, not status",
        ),
        (
            {"backend": "store-read", "store": "x", "route": "secretstore"},
            "a backend fault matches by store or generator, not route",
        ),
        ({"status": 500, "store": "x"}, "store and generator are only for backend faults"),
        (
            {"backend": "store-read", "store": "x", "count": 0},
            "count must be at least 1 (or null for no limit), got 0",
        ),
    ],
)
def test_bad_backend_faults_are_400_naming_the_field(mock, spec, error):
    reply = post_fault(mock, spec)
    assert (reply.status, reply.json()) == (400, {"error": error})


def test_the_client_raises_the_refusal(client):
    with pytest.raises(AdminClientError) as raised:
        client.add_backend_fault("store-read")
    assert (raised.value.status, raised.value.message) == (
        400,
        "backend store-read needs store (a ClusterSecretStore name)",
    )


def test_request_faults_do_not_fire_for_backend_rules(mock, client, web):
    client.add_backend_fault("generator-state-write", generator=GENERATOR)
    assert web(R1_PATH).status == 200
    assert client.faults()[0]["fired"] == 0
