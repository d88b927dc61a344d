"""The suite's state hooks on the admin listener (`/hooks/*`): exactly what a URL hook of the
hooks file sends, answered over the mock's control surface, with a 400 naming bad input."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
import yaml

from conformance.runner.embedded import EmbeddedHooks
from conformance.runner.hooks import FAULTS, STATE_HOOKS, HookError
from conformance.runner.hooksfile import load_hooks
from mockserver.admin.hooks import hooks_file_text
from mockserver.bundlefolder import write_hooks_file
from mockserver.clock import Clock
from mockserver.runtime import MockServer
from tests.wire import ca_body, send

EXTRA = """
apiVersion: federation.external-secrets.io/v1alpha1
kind: Authorization
metadata: {name: hooks-extra}
spec:
  federationRef: {kind: KubernetesFederation, name: alpha}
  subject:
    oidc:
      issuer: https://kubernetes.default.svc.cluster.local
      subject: system:serviceaccount:team-a:worker
  allowedClusterSecretStores: [app-store]
  allowedGenerators: []
  allowedGeneratorStates: []
"""


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    server = MockServer(
        state_dir=tmp_path_factory.mktemp("hooks-api"),
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
    mock.admin.clear_faults()
    assert mock.take_errors() == []


def call(mock, verb: str, route: str, data: bytes = b"", kind: str = "application/yaml") -> Any:
    """(status, decoded JSON) of one hook call, as `esi-conformance server` makes it."""
    request = urllib.request.Request(
        mock.admin_url + route,
        data=data if verb == "POST" else None,
        method=verb,
        headers={"Content-Type": kind},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def r1(mock) -> int:
    alpha = mock.clusters["alpha"]
    token = alpha.mint("team-a/web", pod="web-7d9f8b6c5-x2x4q")
    path = "/secretstore/app-store/secrets/plain"
    return send(mock.federation_url, "POST", path, token, ca_body(alpha.ca.cert_pem)).status


def test_apply_and_delete_take_the_yaml_the_suite_sends(mock):
    assert call(mock, "POST", "/hooks/apply", EXTRA.encode()) == (
        200,
        {"applied": [{"kind": "Authorization", "name": "hooks-extra"}]},
    )
    assert "hooks-extra" in mock.admin.manifests()["Authorization"]
    gone = yaml.safe_dump_all(
        [
            {"kind": "Authorization", "metadata": {"name": "hooks-extra"}},
            {"kind": "Authorization", "metadata": {"name": "never-loaded"}},
            {"kind": "ClusterSecretStore", "metadata": {"name": "app-store", "namespace": ""}},
        ]
    )
    assert call(mock, "POST", "/hooks/delete", gone.encode()) == (
        200,
        {
            "deleted": [
                {"kind": "Authorization", "name": "hooks-extra"},
                {"kind": "ClusterSecretStore", "name": "app-store"},
            ]
        },
    )
    manifests = mock.admin.manifests()
    assert "hooks-extra" not in manifests["Authorization"]
    assert "app-store" not in manifests["ClusterSecretStore"]


@pytest.mark.parametrize(
    ("route", "data", "error"),
    [
        ("/hooks/apply", b"", "no manifest documents in the request"),
        ("/hooks/apply", b"a: [1", "the body is not YAML: "),
        ("/hooks/apply", b"- 1\n", "document 1: expected a mapping"),
        (
            "/hooks/apply",
            b"kind: FakeCluster\nmetadata: {name: x}\n",
            "document 1: a FakeCluster cannot be applied at run time",
        ),
        ("/hooks/delete", b"kind: Authorization\n", "every document needs a string kind and"),
    ],
)
def test_bad_manifests_are_a_400_naming_the_problem(mock, route, data, error):
    status, body = call(mock, "POST", route, data)
    assert status == 400
    assert body["error"].startswith(error)


def test_state_lists_what_the_embedded_hooks_list(mock):
    assert r1(mock) == 200
    mock.context.bookkeeping.record_leak("team-a", "Password", "lost", ["password"])
    status, body = call(mock, "GET", "/hooks/state")
    assert status == 200
    assert [o["kind"] for o in body["items"]] == ["AuthorizedIdentity", "LeakedCredential"]
    assert body["items"] == EmbeddedHooks(mock).state()


def test_a_backend_fault_holds_until_reset_which_keeps_other_rules(mock):
    by_hand = mock.admin.add_fault({"route": "generate", "action": "status", "status": 500})
    fault = json.dumps({"store": "app-store", "fault": "unavailable"}).encode()
    status, body = call(mock, "POST", "/hooks/backend-fault", fault, "application/json")
    assert status == 200
    assert {k: body["fault"][k] for k in ("backend", "store", "count")} == {
        "backend": "store-read",
        "store": "app-store",
        "count": None,
    }
    assert [r1(mock), r1(mock)] == [503, 503]
    assert call(mock, "POST", "/hooks/reset") == (200, {"removed": 1})
    assert r1(mock) == 200
    assert [r["id"] for r in mock.admin.faults()] == [by_hand["id"]]
    assert call(mock, "POST", "/hooks/reset") == (200, {"removed": 0})


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ({"store": "app-store"}, "a backend fault needs a string field 'fault'"),
        ({"fault": "error"}, "a backend fault needs a string field 'store' or 'generator'"),
        (
            {"store": "app-store", "fault": "state-write-fails"},
            "fault state-write-fails does not apply to a store",
        ),
        (
            {"generator": "team-a/x", "fault": "state-write-fails"},
            "generator must be <namespace>/<kind>/<name>, got 'team-a/x'",
        ),
        ([1], "send a JSON object {store|generator, fault}"),
    ],
)
def test_a_fault_the_mock_cannot_make_is_a_400(mock, spec, error):
    data = json.dumps(spec).encode()
    assert call(mock, "POST", "/hooks/backend-fault", data, "application/json") == (
        400,
        {"error": error},
    )
    assert mock.admin.faults() == []


def test_the_written_hooks_file_names_these_routes_and_gives_both_capabilities(mock, tmp_path):
    path = write_hooks_file(tmp_path, mock.admin_url)
    assert path == tmp_path / "hooks.yaml"
    assert path.stat().st_mode & 0o777 == 0o644
    text = path.read_text()
    assert text == hooks_file_text(mock.admin_url)
    base = mock.admin_url
    assert yaml.safe_load(text) == {
        "apply": {"url": f"{base}/hooks/apply"},
        "delete": {"url": f"{base}/hooks/delete"},
        "state": {"url": f"{base}/hooks/state"},
        "backend_fault": {"url": f"{base}/hooks/backend-fault"},
        "reset": {"url": f"{base}/hooks/reset"},
        "timeout": 30,
    }
    hooks = load_hooks(path)
    assert hooks.capabilities == frozenset({STATE_HOOKS, FAULTS})
    hooks.apply([yaml.safe_load(EXTRA)])
    assert "hooks-extra" in mock.admin.manifests()["Authorization"]
    assert hooks.state() == EmbeddedHooks(mock).state()


def test_a_refused_url_hook_is_a_hook_error_carrying_the_answer(mock, tmp_path):
    hooks = load_hooks(write_hooks_file(tmp_path, mock.admin_url))
    with pytest.raises(HookError) as refused:
        hooks.apply([{"kind": "FakeCluster", "metadata": {"name": "x"}}])
    assert str(refused.value) == (
        f"hook apply ({mock.admin_url}/hooks/apply) answered 400: "
        '{"error":"document 1: a FakeCluster cannot be applied at run time; start the mock '
        'with it in the fixtures"}'
    )
