"""R1–R4 pinned one detail at a time: echo's bind of the R4 body (a public function), and the
GeneratorState, owner and journal outcome the handlers build, read back from the mock."""

from __future__ import annotations

import json

import pytest

from mockserver.federation.authn import Identity, KubeAttributes
from mockserver.federation.bookkeeping import LABEL_GENERATOR, LABEL_OWNER
from mockserver.federation.echobind import bind_delete_request
from mockserver.federation.errors import BadRequest
from mockserver.federation.handlers import (
    GENERATORS_API_VERSION,
    Call,
    generate,
    issue,
    read_secret,
    revoke_self,
)
from mockserver.federation.outcome import Outcome
from tests.wire import ca_body, send

POD = "web-7d9f8b6c5-x2x4q"
OWNER_ATTRIBUTES = "federation.externalsecrets.com/owner-attributes"


def bind_revoke_body(body: bytes, content_type: str) -> tuple[str, str]:
    return bind_delete_request(body, content_type, zero_length=not body)


def test_r4_binds_json_owner_and_namespace_with_a_decoder():
    body = b'{"OWNER": "o", "namespace": "n"} trailing is never read'
    assert bind_revoke_body(body, "application/json; charset=utf-8") == ("o", "n")
    assert bind_revoke_body(b"", "text/plain") == ("", "")
    assert bind_revoke_body(b"null", "application/json") == ("", "")


@pytest.mark.parametrize(
    "media_type",
    ["application/xml", "text/xml", "application/x-www-form-urlencoded", "multipart/form-data"],
)
def test_r4_accepts_every_bindable_media_type(media_type):
    # A well-formed body of each kind (a multipart body needs its closing boundary).
    body = b"<r/>" if "xml" in media_type else b"--b--\r\n" if "multipart" in media_type else b"x=1"
    assert bind_revoke_body(body, f"{media_type};boundary=b") == ("", "")


def test_r4_refuses_another_media_type_with_echo_s_415_text():
    with pytest.raises(BadRequest) as refused:
        bind_revoke_body(b'{"owner": "o"}', "text/plain; charset=utf-8")
    assert refused.value.body == "code=415, message=Unsupported Media Type"


def test_r4_type_errors_name_the_go_struct():
    with pytest.raises(BadRequest) as refused:
        bind_revoke_body(b"[]", "application/json")
    assert refused.value.body == (
        "code=400, message=Unmarshal type error: expected=server.deleteRequest, got=array, "
        "field=, offset=1, internal=json: cannot unmarshal array into Go value of type "
        "server.deleteRequest"
    )


class Caller:
    def __init__(self, mock, sa: str, pod: str | None = None) -> None:
        self.mock = mock
        self.cluster = mock.clusters["alpha"]
        self.token = self.cluster.mint(sa, pod=pod)

    def __call__(self, method: str, path: str, **extra: object):
        body = ca_body(self.cluster.ca.cert_pem, **extra)
        return send(self.mock.federation_url, method, path, self.token, body)


def _states(mock, generator: str) -> list[dict]:
    return [
        s
        for s in mock.context.bookkeeping.generator_states("team-a")
        if s["metadata"]["labels"][LABEL_GENERATOR] == generator
        and s["metadata"]["labels"][LABEL_OWNER] == POD
    ]


def test_r2_records_the_generator_manifest_and_the_pod_owner(mock):
    web = Caller(mock, "team-a/web", pod=POD)
    assert web("POST", "/generators/team-a/UUID/uuid").status == 200
    state = _states(mock, "uuid")[-1]
    assert state["spec"]["resource"] == {
        "apiVersion": "generators.external-secrets.io/v1alpha1",
        "kind": "UUID",
        "metadata": {"name": "uuid", "namespace": "team-a"},
        "spec": {},
    }
    alpha = mock.clusters["alpha"]
    pod, account = alpha.pod("team-a", POD), alpha.service_account("team-a", "web")
    attributes = json.loads(state["metadata"]["annotations"][OWNER_ATTRIBUTES])
    assert attributes == {
        "issuer": ISSUER,
        "namespace": "team-a",
        "pod-uid": pod.uid,
        "service-account-name": "web",
        "serviceaccount-uid": account.uid,
    }
    assert state["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Pod", "name": POD, "uid": pod.uid}
    ]
    name = state["metadata"]["name"]
    entry = mock.journal.entries()[-1]["outcome"]
    assert (entry["route"], entry["authorization"], entry["generator_state"]) == (
        "generate",
        "alpha-web",
        f"team-a/{name}",
    )
    (identity,) = [
        i
        for i in mock.context.bookkeeping.authorized_identities()
        if i["metadata"]["name"] == "oidc-system-serviceaccount-team-a-web"
    ]
    issued = [c for c in identity["spec"]["issuedCredentials"] if "stateRef" in c]
    credential = next(c for c in issued if c["stateRef"]["name"] == name)
    assert {k: v for k, v in credential.items() if k != "lastIssuedAt"} == {
        "sourceRef": {
            "kind": "UUID",
            "apiVersion": GENERATORS_API_VERSION,
            "name": "uuid",
            "namespace": "team-a",
        },
        "stateRef": {
            "kind": "GeneratorState",
            "apiVersion": GENERATORS_API_VERSION,
            "name": name,
            "namespace": "team-a",
        },
        "workloadBinding": {"kind": "Pod", "name": POD, "uid": pod.uid, "namespace": "team-a"},
    }
    assert web("DELETE", "/generators/team-a/UUID/uuid").body == b"null\n"


def test_r2_records_a_cluster_generator_without_a_namespace(mock):
    web = Caller(mock, "team-a/web", pod=POD)
    assert web("POST", "/generators/team-a/ClusterGenerator/cluster-password").status == 200
    resource = _states(mock, "cluster-password")[-1]["spec"]["resource"]
    assert {k: resource[k] for k in ("apiVersion", "kind", "metadata")} == {
        "apiVersion": GENERATORS_API_VERSION,
        "kind": "ClusterGenerator",
        "metadata": {"name": "cluster-password"},
    }
    web("DELETE", "/generators/team-a/ClusterGenerator/cluster-password")


def test_r3_journals_the_states_it_deleted(mock):
    web = Caller(mock, "team-a/web", pod=POD)
    web("POST", "/generators/team-a/UUID/uuid")
    names = [f"team-a/{s['metadata']['name']}" for s in _states(mock, "uuid")]
    assert web("DELETE", "/generators/team-a/UUID/uuid").body == b"null\n"
    entry = mock.journal.entries()[-1]
    assert (entry["route"], sorted(entry["outcome"]["deleted"])) == ("revoke-self", sorted(names))
    assert _states(mock, "uuid") == []


def test_r4_refuses_a_body_namespace_other_than_the_url_s(mock):
    admin = Caller(mock, "ops/admin")
    reply = admin("POST", "/generators/team-a/revoke", owner="x", namespace="other")
    assert (reply.status, reply.body) == (
        400,
        b"\"namespace 'other' in the body differs from the authorized namespace 'team-a' of "
        b'the URL"\n',
    )


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (
            b'{"owner": x}',
            "code=400, message=Syntax error: offset=11, error=invalid character 'x' looking for "
            "beginning of value, internal=invalid character 'x' looking for beginning of value",
        ),
        (b'{"owner": "o"', "code=400, message=unexpected EOF, internal=unexpected EOF"),
        (b" \n", "code=400, message=EOF, internal=EOF"),
        (
            b'{"owner": 1.5.}',
            "code=400, message=Syntax error: offset=14, error=invalid character '.' after object "
            "key:value pair, internal=invalid character '.' after object key:value pair",
        ),
    ],
)
def test_r4_json_errors_are_echo_s_bind_texts(body, text):
    with pytest.raises(BadRequest) as refused:
        bind_revoke_body(body, "application/json")
    assert refused.value.body == text


def test_r2_of_an_allowed_but_missing_generator_is_400_naming_its_kind(mock):
    web = Caller(mock, "team-a/web", pod=POD)
    reply = web("POST", "/generators/team-a/Password/missing")
    assert (reply.status, reply.body) == (
        400,
        b'"unable to get generator: Password.generators.external-secrets.io \\"missing\\" not found"\n',
    )


def _direct_call(params: dict[str, str], workload: KubeAttributes | None) -> Call:
    """A call as the app builds it, for an identity without a Kubernetes workload (an Okta or
    PingIdentity token without x-workload-token)."""
    identity = Identity("oidc", ISSUER, "system:serviceaccount:team-a:web", workload)
    return Call(identity, workload, params, b"", "application/json", Outcome("http"))


ISSUER = "https://kubernetes.default.svc.cluster.local"


def test_r3_without_a_workload_is_400_before_authorization(mock):
    params = {"generatorNamespace": "team-a", "generatorKind": "UUID", "generatorName": "uuid"}
    with pytest.raises(BadRequest) as refused:
        revoke_self(mock.context, _direct_call(params, None))
    assert refused.value.body == "missing workload context"


def test_r2_without_a_pod_is_owned_by_the_service_account(mock):
    web = Caller(mock, "team-a/web")
    books = mock.context.bookkeeping
    before = {s["metadata"]["name"] for s in books.generator_states("team-a")}
    assert web("POST", "/generators/team-a/UUID/uuid").status == 200
    account = mock.clusters["alpha"].service_account("team-a", "web")
    (state,) = [s for s in books.generator_states("team-a") if s["metadata"]["name"] not in before]
    assert state["metadata"]["labels"][LABEL_OWNER] == "web"
    assert "pod-uid" not in json.loads(state["metadata"]["annotations"][OWNER_ATTRIBUTES])
    assert state["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "ServiceAccount", "name": "web", "uid": account.uid}
    ]
    assert web("DELETE", "/generators/team-a/UUID/uuid").body == b"null\n"


ALPHA_ISSUER = ISSUER
BETA_UIDS = {"web": "7a2d3b5f-2c1e-4d63-8b2f-3a4c5d6e7f03"}
ALPHA_UIDS = {"web": "6f1c2a4e-1b0d-4c52-9a1e-2f3b4c5d6e01"}
LONG_NAME = "u" * 64
UUID_PARAMS = {"generatorNamespace": "team-a", "generatorKind": "UUID", "generatorName": "uuid"}


def _authorization(name: str, federation: str, issuer: str, subject: str, generators: str) -> str:
    return f"""apiVersion: federation.external-secrets.io/v1alpha1
kind: Authorization
metadata:
  name: {name}
spec:
  federationRef: {{kind: KubernetesFederation, name: {federation}}}
  subject:
    oidc:
      issuer: {issuer}
      subject: {subject}
  allowedClusterSecretStores: [app-store]
  allowedGenerators: {generators}
  allowedGeneratorStates: []
"""


EXTRA_GENERATORS = f"""---
apiVersion: generators.external-secrets.io/v1alpha1
kind: ClusterGenerator
metadata: {{name: cg-ecr}}
spec:
  kind: ECRAuthorizationToken
  generator:
    ecrAuthorizationTokenSpec: {{region: eu-west-1}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: MFA
metadata: {{name: mfa-nope, namespace: team-a}}
spec:
  secret: {{name: nope, key: seed}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: MFA
metadata: {{name: mfa-nokey, namespace: team-a}}
spec:
  secret: {{name: mfa-seed, key: nokey}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: UUID
metadata: {{name: {LONG_NAME}, namespace: team-a}}
spec: {{}}
"""
EXTRA_ALLOWED = (
    "[{kind: UUID, name: uuid, namespace: team-a}, "
    "{kind: ClusterGenerator, name: cg-ecr, namespace: team-a}, "
    "{kind: MFA, name: mfa-nope, namespace: team-a}, {kind: MFA, name: mfa-nokey, namespace: team-a}, "
    f"{{kind: UUID, name: {LONG_NAME}, namespace: team-a}}, "
    "{kind: ClusterGenerator, name: cg-missing, namespace: team-a}]"
)


@pytest.fixture
def extra(mock):
    """Authorizations for beta's team-a/web and for a workload-less subject robot-1, and
    generators the fixtures lack; the manifests and quirks are reset afterwards."""
    beta = mock.clusters["beta"].issuer
    mock.admin.apply_manifests(
        _authorization("beta-web", "beta", beta, "system:serviceaccount:team-a:web", EXTRA_ALLOWED)
        + "---\n"
        + _authorization(
            "alpha-web-extra",
            "alpha",
            ALPHA_ISSUER,
            "system:serviceaccount:team-a:web",
            EXTRA_ALLOWED,
        )
        + "---\n"
        + _authorization(
            "robot",
            "alpha",
            ALPHA_ISSUER,
            "robot-1",
            "[{kind: UUID, name: uuid, namespace: team-a}]",
        )
        + EXTRA_GENERATORS
    )
    try:
        yield mock
    finally:
        mock.admin.disable_quirk("home-cluster-owner")
        mock.admin.disable_quirk("generate-then-fail")
        mock.admin.reset_manifests()


def _call(params: dict[str, str], identity: Identity) -> Call:
    return Call(identity, identity.kube, params, b"", "application/json", Outcome("http"))


def _owned_by(mock, owner: str) -> list[dict]:
    return [
        s
        for s in mock.context.bookkeeping.generator_states("team-a")
        if s["metadata"]["labels"][LABEL_OWNER] == owner
    ]


def test_r1_of_an_allowed_store_that_does_not_exist_is_400(mock):
    auditor = Caller(mock, "team-b/auditor")
    reply = auditor("POST", "/secretstore/Prod/secrets/x")
    assert (reply.status, reply.body) == (
        400,
        b'"could not get ClusterSecretStore \\"Prod\\", ClusterSecretStore.external-secrets.io '
        b'\\"Prod\\" not found"\n',
    )


def test_r2_of_an_allowed_kind_the_resolver_does_not_know_is_400_before_any_lookup(mock):
    auditor = Caller(mock, "team-b/auditor")  # allowed {kind: uuid, name: uuid}: lower case
    reply = auditor("POST", "/generators/team-b/uuid/uuid")
    assert (reply.status, reply.body) == (
        400,
        b'"unable to get generator: terminal error: generatorRef references unknown GVK '
        b'generators.external-secrets.io/v1alpha1, Kind=uuid"\n',
    )


@pytest.mark.parametrize("path", ["Federation/federation", "ECRAuthorizationToken/ecr"])
def test_r2_of_a_defined_generator_the_mock_does_not_run_is_400(mock, path):
    web = Caller(mock, "team-a/web", pod=POD)
    kind = path.split("/")[0]
    reply = web("POST", f"/generators/team-a/{path}")
    assert (reply.status, reply.body) == (
        400,
        b'"unable to get generator: terminal error: generatorRef references unknown GVK '
        b"generators.external-secrets.io/v1alpha1, Kind=" + kind.encode() + b'"\n',
    )


def test_r2_of_a_cluster_generator_of_a_kind_the_mock_does_not_run_is_400(extra):
    web = Caller(extra, "team-a/web", pod=POD)
    reply = web("POST", "/generators/team-a/ClusterGenerator/cg-ecr")
    assert (reply.status, reply.body) == (
        400,
        b'"unable to get generator: terminal error: generatorRef references unknown GVK '
        b'generators.external-secrets.io/v1alpha1, Kind=ECRAuthorizationToken"\n',
    )


def test_r2_runs_mfa_with_the_seed_of_its_secret_and_refuses_a_missing_one(extra):
    web = Caller(extra, "team-a/web", pod=POD)
    reply = web("POST", "/generators/team-a/MFA/mfa")
    assert reply.status == 200
    assert sorted(json.loads(reply.body)) == ["timeLeft", "token"]
    missing = web("POST", "/generators/team-a/MFA/mfa-nope")
    assert (missing.status, missing.body) == (
        400,
        b'"failed to find secret for token key: Secret \\"nope\\" not found"\n',
    )
    no_key = web("POST", "/generators/team-a/MFA/mfa-nokey")
    assert (no_key.status, no_key.body) == (
        400,
        b'"secret key nokey does not exist in secret data map"\n',
    )


def test_r2_refuses_a_generator_name_too_long_for_a_label_before_running_it(extra):
    web = Caller(extra, "team-a/web", pod=POD)
    before = len(extra.context.bookkeeping.generator_states("team-a"))
    reply = web("POST", f"/generators/team-a/UUID/{LONG_NAME}")
    assert (reply.status, reply.body) == (
        400,
        b'"GeneratorState.generators.external-secrets.io \\"uuid-' + b"u" * 53 + b'\\" is '
        b'invalid: metadata.labels: Invalid value: \\"' + LONG_NAME.encode() + b'\\": must be '
        b'no more than 63 characters"\n',
    )
    assert len(extra.context.bookkeeping.generator_states("team-a")) == before


def test_r2_of_an_oidc_identity_finds_its_owner_only_in_the_issuer_s_cluster(extra):
    # beta's team-a/web carrying the Pod of alpha's team-a/web: beta has no such Pod
    pod = KubeAttributes("team-a", "web", BETA_UIDS["web"], POD, "pod-uid")
    identity = Identity(
        "oidc", extra.clusters["beta"].issuer, "system:serviceaccount:team-a:web", pod
    )
    with pytest.raises(BadRequest) as refused:
        generate(extra.context, _call(UUID_PARAMS, identity))
    assert refused.value.body == f'Pod "{POD}" not found'


def test_home_cluster_owner_quirk_takes_the_owner_from_the_home_cluster(extra):
    beta_web = Caller(extra, "team-a/web")
    beta_web.cluster = extra.clusters["beta"]
    beta_web.token = beta_web.cluster.mint("team-a/web")

    def owner_uid() -> str:
        before = {st["metadata"]["name"] for st in _owned_by(extra, "web")}
        assert beta_web("POST", "/generators/team-a/UUID/uuid").status == 200
        (state,) = [st for st in _owned_by(extra, "web") if st["metadata"]["name"] not in before]
        return state["metadata"]["ownerReferences"][0]["uid"]

    assert owner_uid() == BETA_UIDS["web"]
    extra.admin.enable_quirk("home-cluster-owner")
    assert owner_uid() == ALPHA_UIDS["web"]


def test_a_workload_less_identity_owns_its_state_by_subject_and_binds_no_workload(extra):
    books = extra.context.bookkeeping
    robot = Identity("oidc", ALPHA_ISSUER, "robot-1", None)
    try:
        assert sorted(generate(extra.context, _call(UUID_PARAMS, robot))) == ["uuid"]
        (state,) = _owned_by(extra, "robot-1")
        assert json.loads(state["metadata"]["annotations"][OWNER_ATTRIBUTES]) == {
            "issuer": ALPHA_ISSUER,
            "subject": "robot-1",
            "method": "oidc",
        }
        assert state["metadata"].get("ownerReferences") is None
        params = {"secretStoreName": "app-store", "secretName": "plain"}
        read = read_secret(extra.context, _call(params, robot))
        issue(extra.context, read.issued)
        assert read.value == "hello"
        (record,) = [
            i for i in books.authorized_identities() if i["metadata"]["name"] == "oidc-robot-1"
        ]
        issued = [
            {k: v for k, v in c.items() if k != "lastIssuedAt"}
            for c in record["spec"]["issuedCredentials"]
        ]
        assert issued[-2:] == [
            {
                "sourceRef": {
                    "kind": "UUID",
                    "apiVersion": GENERATORS_API_VERSION,
                    "name": "uuid",
                    "namespace": "team-a",
                },
                "stateRef": {
                    "kind": "GeneratorState",
                    "apiVersion": GENERATORS_API_VERSION,
                    "name": state["metadata"]["name"],
                    "namespace": "team-a",
                },
            },
            {
                "sourceRef": {
                    "kind": "ClusterSecretStore",
                    "apiVersion": "external-secrets.io/v1",
                    "name": "app-store",
                },
                "remoteRef": {"remoteKey": "plain", "property": ""},
            },
        ]
    finally:
        books.delete_generator_states("team-a", {LABEL_OWNER: "robot-1"})


def test_r2_of_an_allowed_cluster_generator_that_does_not_exist_is_400(extra):
    web = Caller(extra, "team-a/web", pod=POD)
    reply = web("POST", "/generators/team-a/ClusterGenerator/cg-missing")
    assert (reply.status, reply.body) == (
        400,
        b'"unable to get generator: ClusterGenerator.generators.external-secrets.io '
        b'\\"cg-missing\\" not found"\n',
    )


def test_r2_refuses_a_kind_the_mock_does_not_run_before_looking_for_the_owner(mock):
    # alpha-web may run ECRAuthorizationToken/ecr, a kind the resolver knows and the mock does not
    # run; the Pod named by the workload does not exist
    ghost = KubeAttributes("team-a", "web", ALPHA_UIDS["web"], "ghost-0", "ghost-uid")
    identity = Identity("oidc", ALPHA_ISSUER, "system:serviceaccount:team-a:web", ghost)
    params = {
        "generatorNamespace": "team-a",
        "generatorKind": "ECRAuthorizationToken",
        "generatorName": "ecr",
    }
    with pytest.raises(BadRequest) as refused:
        generate(mock.context, _call(params, identity))
    assert refused.value.body == (
        "unable to get generator: terminal error: generatorRef references unknown GVK "
        "generators.external-secrets.io/v1alpha1, Kind=ECRAuthorizationToken"
    )


def test_generate_then_fail_records_the_leak_of_a_state_the_api_server_refuses(extra):
    extra.admin.enable_quirk("generate-then-fail")
    web = Caller(extra, "team-a/web", pod=POD)
    before = list(extra.admin.leaked_credentials())
    reply = web("POST", f"/generators/team-a/UUID/{LONG_NAME}")
    assert reply.status == 400
    leaks = extra.admin.leaked_credentials()
    assert leaks[len(before) :] == [
        {"namespace": "team-a", "kind": "UUID", "name": LONG_NAME, "keys": ["uuid"]}
    ]
