"""One test (or more) per row of docs/render-fidelity.md: render against the session mock or a
canned server, compared with what the real controller, provider and generator do."""

from __future__ import annotations

import base64
import gzip
import json
import socket
import ssl
from pathlib import Path

import pytest
import trustme
import yaml

from mockserver.clock import Clock
from mockserver.manifests import ManifestError
from mockserver.render import Environment, from_mock, load, render
from mockserver.render.clients import ClientError, GeneratorClient, ProviderClient
from tests.render_stub import Answer, Stub

STORE = """
apiVersion: external-secrets.io/v1
kind: {kind}
metadata:
  name: fed
  {namespace}
  annotations: {{harness.esi-federation.dev/cluster: alpha}}
spec:
  {extra}
  provider:
    externalsecrets:
      server: {{url: "${{federation.url}}"}}
      auth:
        kubernetes:
          serviceAccountRef: {sa}
          caCertRef: {{configMapRef: {ca}}}
      target: {{clusterSecretStoreName: app-store}}
"""

ES = """
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: app, namespace: {ns}}}
spec:
  secretStoreRef: {{name: fed, kind: {kind}}}
  target: {target}
  {body}
"""

PLAIN = "data: [{secretKey: plain, remoteRef: {key: plain}}]"


def _files(
    tmp_path: Path,
    *,
    kind: str = "SecretStore",
    sa: str = "{name: web}",
    ca: str = "{name: kube-root-ca.crt, key: ca.crt}",
    extra: str = "",
    ns: str = "team-a",
    target: str = "{name: app}",
    body: str = PLAIN,
    more: str = "",
) -> Path:
    namespace = "" if kind == "ClusterSecretStore" else "namespace: team-a"
    text = STORE.format(kind=kind, namespace=namespace, sa=sa, ca=ca, extra=extra)
    text += ES.format(ns=ns, kind=kind, target=target, body=body) + more
    path = tmp_path / "client.yaml"
    path.write_text(text)
    return path


def _render(mock, path: Path, **kwargs):
    env = from_mock(mock)
    return render(load([path], env), env, **kwargs)


def _docs(result) -> list[dict]:
    return list(yaml.safe_load_all(result.yaml()))


def _warning(result) -> str:
    return next(d["message"] for d in _docs(result) if d.get("type") == "Warning")


# -- store validation and readiness: the flood gate ---------------------------------------------


def test_cluster_store_refs_without_namespace_never_become_ready(mock, tmp_path) -> None:
    result = _render(mock, _files(tmp_path, kind="ClusterSecretStore"))
    assert result.failed
    assert _warning(result) == (
        'error processing spec.data[0] (key: plain), err: ClusterSecretStore "fed" is not ready'
    )
    docs = _docs(result)
    store = next(d for d in docs if d["kind"] == "ClusterSecretStore")
    assert store["status"]["conditions"][0]["reason"] == "InvalidProviderConfig"
    assert any(d.get("message") == "invalid store: cluster scope requires namespace" for d in docs)


def test_cluster_store_with_namespaces_syncs(mock, tmp_path) -> None:
    path = _files(
        tmp_path,
        kind="ClusterSecretStore",
        sa="{name: web, namespace: team-a}",
        ca="{name: kube-root-ca.crt, key: ca.crt, namespace: team-a}",
    )
    (outcome,) = _render(mock, path).outcomes
    assert outcome.data == {"plain": b"hello"}


def test_store_configuration_error_surfaces_through_the_flood_gate(mock, tmp_path) -> None:
    result = _render(mock, _files(tmp_path, ca="{name: missing-ca, key: ca.crt}"))
    assert _warning(result) == (
        'error processing spec.data[0] (key: plain), err: SecretStore "fed" is not ready'
    )
    event = next(d for d in _docs(result) if d.get("reason") == "InvalidProviderConfig")
    # The CA ConfigMap ref, with the provider's error text.
    assert event["message"] == (
        'could not get secret for certs:cannot get Kubernetes configmap "missing-ca": '
        'configmaps "missing-ca" not found'
    )


def test_store_not_found_names_the_resource(mock, tmp_path) -> None:
    path = _files(
        tmp_path,
        body="data: [{secretKey: p, remoteRef: {key: plain}, sourceRef: {storeRef: {name: nope}}}]",
    )
    assert _warning(_render(mock, path)) == (
        'error processing spec.data[0] (key: plain), err: could not get SecretStore "nope", '
        'secretstores.external-secrets.io "nope" not found'
    )


def test_configmap_ref_namespace_is_honoured_for_a_namespaced_store(mock, tmp_path) -> None:
    ca = mock.clusters["alpha"].ca.cert_pem.decode()
    more = (
        "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared-ca, namespace: shared}\n"
        f"data:\n  ca.crt: {json.dumps(ca)}\n"
    )
    path = _files(tmp_path, ca="{name: shared-ca, key: ca.crt, namespace: shared}", more=more)
    (outcome,) = _render(mock, path).outcomes
    assert outcome.data == {"plain": b"hello"}


# -- ClusterSecretStore spec.conditions -----------------------------------------------------------

CS = dict(
    kind="ClusterSecretStore",
    sa="{name: web, namespace: team-a}",
    ca="{name: kube-root-ca.crt, key: ca.crt, namespace: team-a}",
)


@pytest.mark.parametrize(
    ("conditions", "labels", "allowed"),
    [
        ("[{namespaces: [team-b]}]", "{}", False),
        ("[{namespaces: [team-a]}]", "{}", True),
        ("[{namespaceRegexes: ['^team-']}]", "{}", True),
        ("[{namespaceSelector: {matchLabels: {tier: gold}}}]", "{tier: gold}", True),
        ("[{namespaceSelector: {matchLabels: {tier: gold}}}]", "{tier: silver}", False),
        (
            "[{namespaceSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [gold]}]}}]",
            "{tier: silver}",
            True,
        ),
    ],
)
def test_cluster_store_conditions(mock, tmp_path, conditions, labels, allowed) -> None:
    more = f"\n---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: team-a, labels: {labels}}}\n"
    path = _files(tmp_path, extra=f"conditions: {conditions}", more=more, **CS)
    result = _render(mock, path)
    if allowed:
        assert result.outcomes[0].data == {"plain": b"hello"}
    else:
        assert _warning(result) == (
            'error processing spec.data[0] (key: plain), err: using cluster store "fed" is not '
            'allowed from namespace "team-a": denied by spec.condition'
        )


# -- the reconcile's outcomes ---------------------------------------------------------------------

EMPTY = "dataFrom: [{extract: {key: json}, rewrite: [{regexp: {source: '.*', target: ''}}]}]"


def test_empty_data_with_retain_writes_nothing(mock, tmp_path) -> None:
    result = _render(mock, _files(tmp_path, body=EMPTY))
    assert not result.failed
    (status,) = _docs(result)
    assert status["kind"] == "ExternalSecret"
    assert status["status"]["conditions"] == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "SecretSynced",
            "message": "secret retained due to DeletionPolicy=Retain",
        }
    ]


def test_empty_data_with_delete_deletes_the_secret(mock, tmp_path) -> None:
    more = "\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: app, namespace: team-a}\ndata: {a: YQ==}\n"
    body = "data: [{secretKey: p, remoteRef: {key: json, property: nope}}]"
    path = _files(tmp_path, target="{name: app, deletionPolicy: Delete}", body=body, more=more)
    docs = _docs(_render(mock, path))
    assert [d["kind"] for d in docs] == ["ExternalSecret", "Event", "Event"]
    assert docs[0]["status"]["conditions"][0] == {
        "type": "Ready",
        "status": "True",
        "reason": "SecretDeleted",
        "message": "secret deleted due to DeletionPolicy=Delete",
    }
    assert [(d["reason"], d["message"]) for d in docs[1:]] == [
        (
            "MissingProviderSecret",
            "secret does not exist at provider using spec.dataFrom[0] (key=json)",
        ),
        ("Deleted", "secret deleted due to DeletionPolicy=Delete"),
    ]


def test_merge_without_a_secret_is_ready_with_secret_missing(mock, tmp_path) -> None:
    result = _render(mock, _files(tmp_path, target="{name: app, creationPolicy: Merge}"))
    assert not result.failed
    assert _docs(result)[0]["status"]["conditions"][0] == {
        "type": "Ready",
        "status": "True",
        "reason": "SecretMissing",
        "message": "secret will not be created due to CreationPolicy=Merge",
    }


def test_merge_keeps_the_existing_keys_labels_and_type(mock, tmp_path) -> None:
    more = (
        "\n---\napiVersion: v1\nkind: Secret\ntype: kubernetes.io/basic-auth\n"
        "metadata: {name: app, namespace: team-a, labels: {keep: me}}\ndata: {username: dXNlcg==}\n"
    )
    path = _files(tmp_path, target="{name: app, creationPolicy: Merge}", more=more)
    (secret,) = _docs(_render(mock, path))
    assert secret["type"] == "kubernetes.io/basic-auth"
    assert secret["metadata"]["labels"]["keep"] == "me"
    assert secret["data"] == {"plain": "aGVsbG8=", "username": "dXNlcg=="}


@pytest.mark.parametrize(
    ("target", "body", "field", "text"),
    [
        (
            "{name: app, creationPolicy: CreateOrMerge}",
            PLAIN,
            "spec.target.creationPolicy",
            "expected one of Owner, Orphan, Merge, None: CreateOrMerge is an upstream ESO field "
            "the External Secrets Enterprise CRD does not have",
        ),
        (
            "{name: app}",
            "data: [{secretKey: p, remoteRef: {key: plain, nullBytePolicy: Fail}}]",
            "spec.data[0].remoteRef.nullBytePolicy",
            "unknown field: nullBytePolicy is an upstream ESO field the External Secrets "
            "Enterprise CRD does not have; remove it",
        ),
    ],
)
def test_enterprise_crd_lacks_upstream_fields(mock, tmp_path, target, body, field, text) -> None:
    with pytest.raises(ManifestError) as caught:
        load([_files(tmp_path, target=target, body=body)], from_mock(mock))
    assert field in str(caught.value) and text in str(caught.value)


def test_generator_resolution_errors_carry_the_prefix(mock, tmp_path) -> None:
    body = (
        "dataFrom: [{sourceRef: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, "
        "kind: Federation, name: nope}}}]"
    )
    assert _warning(_render(mock, _files(tmp_path, body=body))) == (
        "error processing spec.dataFrom[0].sourceRef.generatorRef, err: unable to get generator: "
        'federations.generators.external-secrets.io "nope" not found'
    )


# -- the HTTP clients: Go's http.Client -----------------------------------------------------------

CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_provider_follows_301_302_303_as_get(mock) -> None:
    with Stub([Answer(302, headers=(("Location", "/elsewhere"),)), Answer(200, b'"v"\n')]) as stub:
        for released in (False, True):
            stub.seen.clear()
            value = ProviderClient(stub.url, "s", "tok", CA, released=released).get_secret("k")
            assert value == (b'"v"\n' if released else b"v")
            assert [(s.method, s.target, s.body) for s in stub.seen] == [
                ("POST", "/secretstore/s/secrets/k", s0 := stub.seen[0].body),
                ("GET", "/elsewhere", b""),
            ]
            assert s0.startswith(b'{"ca.crt": "')
            assert stub.seen[1].headers["authorization"] == "Bearer tok"


def test_307_repeats_the_body_unless_it_cannot_be_reread() -> None:
    redirect = Answer(307, b"moved", (("Location", "/again"),))
    with Stub([redirect, Answer(200, b'{"k":"v"}')]) as stub:
        gen = GeneratorClient(stub.url, "ns", "Fake", "g", "tok", b"Q0E=", released=True)
        assert gen.generate() == {"k": b"v"}
        assert [(s.method, s.target, s.body) for s in stub.seen] == [
            ("POST", "/generators/ns/Fake/g", b'{"ca.crt":"Q0E="}'),
            ("POST", "/again", b'{"ca.crt":"Q0E="}'),
        ]
    # The released provider's bare request has no GetBody: Go returns the 307 itself.
    with Stub([redirect]) as stub:
        with pytest.raises(ClientError) as caught:
            ProviderClient(stub.url, "s", "tok", CA, released=True).get_secret("k")
        assert (
            str(caught.value) == "failed to get secret: status 307 Temporary Redirect, body: moved"
        )


def test_redirects_stop_after_ten() -> None:
    with Stub([Answer(302, headers=(("Location", "/loop"),))]) as stub:
        with pytest.raises(ClientError) as caught:
            ProviderClient(stub.url, "s", "tok", CA).get_secret("k")
        assert str(caught.value) == f'Post "{stub.url}/loop": stopped after 10 redirects'
        assert len(stub.seen) == 11


def test_gzip_is_asked_for_and_decoded() -> None:
    with Stub([Answer(200, gzip.compress(b'"zipped"\n'), (("Content-Encoding", "gzip"),))]) as stub:
        assert ProviderClient(stub.url, "s", "tok", CA).get_secret("k") == b"zipped"
        assert stub.seen[0].headers["accept-encoding"] == "gzip"


def test_proxy_from_the_environment(monkeypatch) -> None:
    with Stub([Answer(200, b'"via proxy"\n')]) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        client = ProviderClient("http://federation.example", "s", "tok", CA, released=True)
        assert client.get_secret("k") == b'"via proxy"\n'
        assert proxy.seen[0].target == "http://federation.example/secretstore/s/secrets/k"
        monkeypatch.setenv("NO_PROXY", ".example")
        with pytest.raises(ClientError, match="no such host"):
            client.get_secret("k")


def test_loopback_is_never_proxied(monkeypatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with Stub([Answer(200, b'"direct"\n')]) as stub:
        assert ProviderClient(stub.url, "s", "tok", CA).get_secret("k") == b"direct"


def test_dial_and_x509_errors_read_as_go_writes_them(tmp_path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ClientError) as caught:
        ProviderClient(f"http://127.0.0.1:{port}", "s", "tok", CA).get_secret("k")
    assert str(caught.value) == (
        f'Post "http://127.0.0.1:{port}/secretstore/s/secrets/k": dial tcp 127.0.0.1:{port}: '
        "connect: connection refused"
    )
    served, trusted = trustme.CA(), trustme.CA()
    stub = Stub([Answer(200, b'"x"\n')])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    served.issue_cert("127.0.0.1").configure_cert(context)
    stub.server.socket = context.wrap_socket(stub.server.socket, server_side=True)
    with stub:
        url = stub.url.replace("http:", "https:")
        client = ProviderClient(url, "s", "tok", CA, trusted.cert_pem.bytes())
        with pytest.raises(ClientError) as caught:
            client.get_secret("k")
    assert str(caught.value) == (
        f'Post "{url}/secretstore/s/secrets/k": tls: failed to verify certificate: x509: '
        "certificate signed by unknown authority"
    )


# -- requeue --------------------------------------------------------------------------------------

REQUEUE = """
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: fed, namespace: team-a}}
spec:
  provider:
    externalsecrets:
      server: {{url: "{url}"}}
      auth:
        kubernetes:
          serviceAccountRef: {{name: web}}
          caCertRef: {{bundle: {ca}}}
      target: {{clusterSecretStoreName: app-store}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: app, namespace: team-a}}
spec:
  secretStoreRef: {{name: fed}}
  data: [{{secretKey: plain, remoteRef: {{key: plain}}}}]
"""


def test_reconcile_heals_a_first_request_401_with_the_controller_backoff(tmp_path) -> None:
    answers = [Answer(401, b'{"message":"Unauthorized"}\n'), Answer(200, b'"hello"\n')]
    with Stub(answers) as stub:
        path = tmp_path / "client.yaml"
        path.write_text(REQUEUE.format(url=stub.url, ca=base64.b64encode(CA).decode()))
        env = Environment(federation_url=stub.url, token="tok")
        manifests = load([path], env)
        once = render(manifests, env, released=True)
        assert once.failed and "status 401 Unauthorized" in (once.outcomes[0].error or "")
        stub.seen.clear()
        clock = Clock()
        twice = render(manifests, env, released=True, reconciles=2, clock=clock)
    (outcome,) = twice.outcomes
    assert outcome.data == {"plain": b'"hello"\n'}
    assert clock.offset == pytest.approx(0.005)
    assert outcome.requeues == [
        "reconcile 1 failed; requeued after 0.005 s: error processing spec.data[0] (key: plain), "
        'err: failed to get secret: status 401 Unauthorized, body: {"message":"Unauthorized"}\n'
    ]


@pytest.mark.parametrize(
    ("kind", "sa", "ca", "event"),
    [
        (
            "ClusterSecretStore",
            "{name: web, namespace: team-a}",
            "{name: kube-root-ca.crt, key: ca.crt}",
            "could not get secret for certs:an empty namespace may not be set when a resource "
            "name is provided",
        ),
        (
            "SecretStore",
            "{name: web, namespace: team-b}",
            "{name: kube-root-ca.crt, key: ca.crt}",
            "invalid store: namespace should either be empty or match the namespace of the "
            "SecretStore for a namespaced SecretStore",
        ),
    ],
)
def test_store_readiness_failures_name_their_cause(mock, tmp_path, kind, sa, ca, event) -> None:
    result = _render(mock, _files(tmp_path, kind=kind, sa=sa, ca=ca))
    assert _warning(result).endswith(f'{kind} "fed" is not ready')
    reasons = [d["message"] for d in _docs(result) if d.get("reason") == "InvalidProviderConfig"]
    assert reasons == [event]


def test_requeue_waits_on_the_mock_clock_through_its_admin_api(mock) -> None:
    from mockserver.admin.client import AdminClient
    from mockserver.render.requeue import MockClock, backoff

    assert [backoff(n) for n in (1, 2, 3)] == [0.005, 0.01, 0.02]
    assert backoff(40) == 1000.0
    admin = AdminClient(mock.admin_url)
    before = admin.clock()["offset"]
    offset = MockClock(admin).shift(0.01)
    try:
        assert offset == pytest.approx(before + 0.01)
        assert admin.clock()["offset"] == pytest.approx(before + 0.01)
    finally:
        admin.shift_clock(-0.01)


def test_cli_reconcile_requeues_on_the_state_folder_mock(mock) -> None:
    from click.testing import CliRunner

    from mockserver.admin.client import AdminClient
    from mockserver.render.cli import render as render_command

    denied = Path(__file__).parent / "render_fixtures" / "denied.yaml"
    args = ["-f", str(denied), "--state-dir", str(mock.state.root), "--reconcile", "3", "-v"]
    admin = AdminClient(mock.admin_url)
    before = admin.clock()["offset"]
    try:
        result = CliRunner().invoke(render_command, args)
        # A permanent failure: still failing after 3 reconciles, requeued after 5 ms and 10 ms.
        assert result.exit_code == 1
        assert "team-b/report: reconcile 1 failed; requeued after 0.005 s:" in result.stderr
        assert "team-b/report: reconcile 2 failed; requeued after 0.01 s:" in result.stderr
        assert admin.clock()["offset"] == pytest.approx(before + 0.015)
    finally:
        admin.shift_clock(before - admin.clock()["offset"])
    bad = CliRunner().invoke(render_command, [*args[:4], "--reconcile", "0"])
    assert bad.exit_code == 2
