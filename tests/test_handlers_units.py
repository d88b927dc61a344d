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
