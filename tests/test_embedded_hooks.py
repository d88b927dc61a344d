"""The embedded conformance target's hooks: set-up through the mock's control surface, undone
after each scenario, with the same refusals as before."""

from __future__ import annotations

import pytest

from conformance.runner.embedded import EmbeddedHooks
from conformance.runner.hooks import HookError
from mockserver.clock import Clock
from mockserver.runtime import MockServer
from tests.wire import ca_body, send

EXTRA = {
    "apiVersion": "federation.external-secrets.io/v1alpha1",
    "kind": "Authorization",
    "metadata": {"name": "conformance-extra"},
    "spec": {
        "federationRef": {"kind": "KubernetesFederation", "name": "alpha"},
        "subject": {
            "oidc": {
                "issuer": "https://kubernetes.default.svc.cluster.local",
                "subject": "system:serviceaccount:team-a:worker",
            }
        },
        "allowedClusterSecretStores": ["app-store"],
        "allowedGenerators": [],
        "allowedGeneratorStates": [],
    },
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    mock = MockServer(
        state_dir=tmp_path_factory.mktemp("embedded"),
        clock=Clock(),
        refresh_volumes=False,
        ephemeral=True,
    )
    with mock:
        yield mock


@pytest.fixture
def hooks(server):
    server.reset()
    made = EmbeddedHooks(server)
    yield made
    made.end_scenario()


def r1(server) -> int:
    alpha = server.clusters["alpha"]
    token = alpha.mint("team-a/web", pod="web-7d9f8b6c5-x2x4q")
    body = ca_body(alpha.ca.cert_pem)
    return send(
        server.federation_url, "POST", "/secretstore/app-store/secrets/plain", token, body
    ).status


def test_a_store_fault_is_a_backend_rule_until_the_scenario_ends(server, hooks):
    hooks.backend_fault({"store": "app-store", "fault": "unavailable"})
    [rule] = server.admin.faults()
    assert {k: rule[k] for k in ("backend", "store", "count")} == {
        "backend": "store-read",
        "store": "app-store",
        "count": None,
    }
    assert [r1(server), r1(server)] == [503, 503]
    hooks.end_scenario()
    assert server.admin.faults() == []
    assert r1(server) == 200


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        (
            {"store": "app-store", "fault": "state-write-fails"},
            "fault state-write-fails does not apply to a store",
        ),
        (
            {"generator": "team-a/Password/password-default", "fault": "unavailable"},
            "fault unavailable is not available for generators on the mock",
        ),
        (
            {"generator": "team-a/password", "fault": "state-write-fails"},
            "generator must be <namespace>/<kind>/<name>, got 'team-a/password'",
        ),
    ],
)
def test_faults_the_mock_cannot_make_are_hook_errors(hooks, spec, error):
    with pytest.raises(HookError) as refused:
        hooks.backend_fault(spec)
    assert str(refused.value) == error


def test_manifests_and_quirks_are_undone_after_the_scenario(server, hooks):
    hooks.apply([EXTRA])
    hooks.delete([{"kind": "Authorization", "metadata": {"name": "alpha-web"}}])
    hooks.delete([{"kind": "Authorization", "metadata": {"name": "never-loaded"}}])
    hooks.set_quirks(["sticky-authorizations"])
    authorizations = server.admin.manifests()["Authorization"]
    assert "conformance-extra" in authorizations and "alpha-web" not in authorizations
    hooks.end_scenario()
    authorizations = server.admin.manifests()["Authorization"]
    assert "conformance-extra" not in authorizations and "alpha-web" in authorizations
    assert server.admin.quirks()["quirks"] == []


def test_refused_manifests_and_quirks_are_hook_errors(hooks):
    with pytest.raises(HookError) as refused:
        hooks.set_quirks(["no-such-quirk"])
    assert "no-such-quirk" in str(refused.value)
    with pytest.raises(HookError) as refused:
        hooks.apply([{"kind": "Authorization", "metadata": {"name": "x"}}])
    assert str(refused.value).startswith("the mock refused the manifests: ")


def test_state_lists_books_through_the_control_surface(server, hooks):
    assert r1(server) == 200
    server.context.bookkeeping.record_leak("team-a", "Password", "lost", ["password"])
    objects = hooks.state()
    assert [o["kind"] for o in objects] == ["AuthorizedIdentity", "LeakedCredential"]
    assert objects[1] == {
        "apiVersion": "conformance.esi-federation.dev/v1",
        "kind": "LeakedCredential",
        "metadata": {"namespace": "team-a", "name": "leak-0"},
        "spec": {"namespace": "team-a", "kind": "Password", "name": "lost", "keys": ["password"]},
    }
