"""The scenario schema: exact error messages, the model a runner reads, matching, the catalogue."""

from __future__ import annotations

import base64
import json
import textwrap

import pytest
import trustme
import yaml

from conformance.runner.judge import (
    check_body,
    check_header,
    check_response,
    check_state,
    check_upstream,
)
from conformance.scenarios import (
    BodyMatcher,
    HeaderMatcher,
    KubeIdentity,
    ScenarioError,
    SpiffeIdentity,
    StateExpectation,
    UpstreamExpectation,
    UpstreamRequest,
    broken_kinds,
    ca_crt_text,
    default_scenarios_dir,
    load_catalogue,
    malformed_workload_token,
    parse_file,
)
from conformance.scenarios.parse import load_yaml
from conformance.scenarios.variants import authorization, body_bytes, header_list

FILE = "scenarios/store/r1-basic.yaml"
IDS = {"SRV-STORE-001", "SRV-AUTHZ-001"}


def scenario_yaml(**overrides: str) -> str:
    """One valid scenario; `overrides` replace whole top-level blocks (YAML text)."""
    blocks = {
        "request": """
            request:
              operation: store.get
              params: {store: app-store, key: plain}
              identity: {cluster: alpha, serviceAccount: team-a/web}""",
        "expect": """
            expect:
              status: 200
              body: {json_string: {equals: hello}}""",
    }
    blocks.update(overrides)
    head = """
        scenarios:
          - id: store-r1-ok
            title: reads a value
            requirements: [SRV-STORE-001]"""
    body = "".join(textwrap.indent(textwrap.dedent(b), "    ") for b in blocks.values() if b)
    return textwrap.dedent(head) + "\n" + body + "\n"


def errors_of(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_file(text, FILE, IDS)
    return info.value.errors


def test_status_as_string_is_an_exact_error():
    text = scenario_yaml(
        expect="""
        expect:
          status: "200"
    """
    )
    assert errors_of(text) == [
        'scenarios/store/r1-basic.yaml: scenario "store-r1-ok": expect.status: expected an '
        'integer 100–599, got "200"'
    ]


def test_status_out_of_range_and_in_a_list():
    text = scenario_yaml(
        expect="""
        expect:
          status: [400, 99]
    """
    )
    assert errors_of(text) == [
        'scenarios/store/r1-basic.yaml: scenario "store-r1-ok": expect.status[1]: expected an '
        "integer 100–599, got 99"
    ]


def test_unknown_field_missing_field_and_bad_choice_are_all_reported():
    text = scenario_yaml(
        request="""
        request:
          operation: store.fetch
          identity: {cluster: alpha, serviceAccount: web, token: "broken:rotten"}
          colour: blue
    """
    )
    where = 'scenarios/store/r1-basic.yaml: scenario "store-r1-ok"'
    assert errors_of(text) == [
        f"{where}: request.colour: unknown field (expected one of: operation, params, identity, "
        "transport, auth, ca_crt, body, workload_token, headers, query, ca_member)",
        f"{where}: request.operation: expected one of store.get, generator.generate, "
        'generator.revoke_self, generator.revoke_of, raw, got "store.fetch"',
        f'{where}: request.identity.serviceAccount: expected <namespace>/<name>, got "web"',
        f"{where}: request.identity.token: expected one of valid, legacy, "
        + ", ".join(f"broken:{k}" for k in broken_kinds())
        + ', got "broken:rotten"',
    ]
    assert "expired" in broken_kinds() and "no-kid" in broken_kinds()


def test_missing_params_and_unknown_requirement():
    text = scenario_yaml(
        request="""
        request:
          operation: generator.generate
          params: {namespace: team-a, kind: UUID}
    """
    ).replace("[SRV-STORE-001]", "[SRV-STORE-001, SRV-NOPE-001]")
    where = 'scenarios/store/r1-basic.yaml: scenario "store-r1-ok"'
    assert errors_of(text) == [
        f'{where}: requirements[1]: expected a registered requirement ID, got "SRV-NOPE-001"',
        f"{where}: request.params.name: required field is missing",
    ]


def test_body_and_header_matcher_errors():
    text = scenario_yaml(
        expect="""
        expect:
          status: 200
          body: {json_string: {starts: x}}
          headers:
            Allow: {set: POST}
    """
    )
    where = 'scenarios/store/r1-basic.yaml: scenario "store-r1-ok"'
    assert errors_of(text) == [
        f"{where}: expect.body.json_string: expected a mapping with exactly one of: equals, "
        "prefix, contains, any, got a mapping",
        f'{where}: expect.headers.Allow.set: expected a list of values, got "POST"',
    ]


def test_steps_and_shorthand_cannot_mix_and_step_names_are_checked():
    text = textwrap.dedent("""
        scenarios:
          - id: two-steps
            title: t
            requirements: [SRV-STORE-001]
            expect: {status: 200}
            steps:
              - request: {operation: store.get, params: {store: s, key: k}}
                expect: {status: 200}
    """)
    assert errors_of(text) == [
        'scenarios/store/r1-basic.yaml: scenario "two-steps": expect: not allowed next to steps '
        "(put it in a step)"
    ]
    text = textwrap.dedent("""
        scenarios:
          - id: same-as
            title: t
            requirements: [SRV-STORE-001]
            steps:
              - name: a
                request: {operation: store.get, params: {store: s, key: k}}
                expect: {status_same_as: b}
    """)
    assert errors_of(text) == [
        'scenarios/store/r1-basic.yaml: scenario "same-as": steps[0].expect.status_same_as: '
        'expected the name of an earlier step, got "b"'
    ]


def test_setup_and_client_errors():
    text = scenario_yaml(
        expect="""
        expect: {status: 200}
        given:
          - keys.rotate: {cluster: alpha, retire_old: "yes"}
          - teleport: {}
        client:
          outcome: failure
          delivers: {text: hello}
          must_not: [explode]
    """
    )
    where = 'scenarios/store/r1-basic.yaml: scenario "store-r1-ok"'
    assert errors_of(text) == [
        f'{where}: given[0].keys.rotate.retire_old: expected true or false, got "yes"',
        f"{where}: given[1]: expected a mapping with exactly one of: manifests.apply, "
        "manifests.delete, quirks, clock.shift, keys.rotate, idp.rotate, cluster.fault, backend.fault, "
        "respond, got a mapping",
        f"{where}: client.delivers: expected no delivery when the outcome is failure",
        f"{where}: client.must_not[0]: expected one of write-output, repeat-request, exec, "
        'leak-secret, hang, got "explode"',
    ]


def test_respond_only_in_the_client_direction():
    text = scenario_yaml(
        expect="""
        expect: {status: 200}
        given:
          - respond: {status: 500}
    """
    )
    assert errors_of(text) == [
        'scenarios/store/r1-basic.yaml: scenario "store-r1-ok": direction: expected client when '
        'a set-up action is respond, got "server"'
    ]


def test_file_level_errors():
    assert errors_of("scenarios: [\n")[0].startswith(f"{FILE}: not valid YAML (line ")
    assert errors_of("tests: []\n") == [
        f"{FILE}: (top level).tests: unknown field (expected one of: scenarios, description)",
        f"{FILE}: (top level).scenarios: required field is missing",
    ]
    assert errors_of("scenarios:\n  - id: Bad_ID\n") == [
        f"{FILE}: scenarios[0].id: expected a scenario ID of lower-case letters, digits and '-', "
        'got "Bad_ID"'
    ]


def test_duplicate_ids_across_files(tmp_path):
    root = tmp_path / "scenarios"
    (root / "a").mkdir(parents=True)
    text = scenario_yaml()
    (root / "a" / "one.yaml").write_text(text)
    (root / "two.yaml").write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_catalogue(root, IDS)
    assert info.value.errors == [
        'scenarios/two.yaml: scenario "store-r1-ok": id: already used in scenarios/a/one.yaml'
    ]


def test_model_builds_the_request():
    (scenario,) = parse_file(
        scenario_yaml(
            request="""
        request:
          operation: generator.revoke_of
          params: {namespace: team-a, body: {owner: web-0, namespace: team-a}}
          identity: {cluster: alpha, serviceAccount: ops/admin}
          workload_token: {malformed: two-segments}
          headers: {Content-Type: text/plain, X-Extra: "1"}
          query: pretty
    """
        ),
        FILE,
        IDS,
    )
    step = scenario.steps[0]
    req = step.request
    assert (scenario.direction, scenario.needs, step.name) == ("server", (), "1")
    assert req.identity == KubeIdentity("alpha", "ops/admin")
    assert (req.method, req.path) == ("POST", "/generators/team-a/revoke?pretty")
    body = body_bytes(req, "Q0E=")
    assert json.loads(body) == {"ca.crt": "Q0E=", "owner": "web-0", "namespace": "team-a"}
    headers = header_list(req, "tok", "w.l.t", body)
    assert headers == {
        "Authorization": "Bearer tok",
        "x-workload-token": "w.l.t",
        "Content-Type": "text/plain",
        "X-Extra": "1",
    }
    assert step.expect.status == (200,)


def test_model_request_variants():
    (scenario,) = parse_file(
        scenario_yaml(
            request="""
        request:
          operation: raw
          params: {method: PATCH, path: /x/y}
          identity: {spiffe: "spiffe://example.org/a/ns/n/sa/u/s/pod/p/q"}
          body: {oversized: 2048}
          auth: lowercase
    """
        ),
        FILE,
        IDS,
    )
    req = scenario.steps[0].request
    assert req.identity == SpiffeIdentity("spiffe://example.org/a/ns/n/sa/u/s/pod/p/q")
    assert (req.method, req.path, req.transport) == ("PATCH", "/x/y", "mtls")
    assert scenario.needs == ("mtls",)
    assert len(body_bytes(req, None)) == 2048
    assert authorization(req, "t") == "bearer t"


def test_ca_crt_variants():
    ca = trustme.CA()
    pem = ca.cert_pem.bytes()

    def pem_of(name: str) -> bytes:
        assert name in ("alpha", "beta")
        return pem

    assert base64.b64decode(ca_crt_text("cluster", "alpha", pem_of)) == pem
    assert base64.b64decode(ca_crt_text("cluster:beta", "alpha", pem_of)) == pem
    assert ca_crt_text("raw-pem", "alpha", pem_of) == pem.decode()
    assert ca_crt_text("missing", "alpha", pem_of) is None
    der = base64.b64decode(ca_crt_text("der-base64", "alpha", pem_of))
    assert der.startswith(b"\x30") and b"BEGIN" not in der
    other = base64.b64decode(ca_crt_text("non-certificate-pem", "alpha", pem_of)).decode()
    assert other.startswith("-----BEGIN PUBLIC KEY-----")
    assert "=" not in ca_crt_text("urlsafe-base64", "alpha", pem_of)


def test_malformed_workload_tokens_are_fixed_texts():
    assert malformed_workload_token("two-segments").count(".") == 1
    assert malformed_workload_token("bad-base64") == "!!!.@@@.###"
    _, claims, _ = malformed_workload_token("missing-sa-uid").split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert decoded == {"kubernetes.io": {"namespace": "team-a", "serviceaccount": {"name": "app"}}}


def test_body_matchers():
    def check(kind, arg, body):
        return check_body(BodyMatcher(kind, arg), body)

    assert check("exact", '"Not Found"\n', b'"Not Found"\n') is None
    assert check("exact", '"Not Found"\n', b'"Not Found"') == (
        "expected exactly b'\"Not Found\"\\n', got b'\"Not Found\"'"
    )
    assert (
        check(
            "json_string",
            {"prefix": "invalid x-workload-token:"},
            b'"invalid x-workload-token: bad"\n',
        )
        is None
    )
    assert check("json_string", {"any": True}, b'{"message":"x"}') == (
        'expected a JSON string, got {"message": "x"}'
    )
    assert check("json_string", {"equals": "<b>"}, b'"\\u003cb\\u003e"\n') is None
    assert check("json_object_of_strings", {"keys": ["uuid"]}, b'{"uuid":"1"}') is None
    assert check("json_object_of_strings", {}, b'{"n":1}') == (
        'expected a JSON object of strings, got {"n": 1}'
    )
    assert check("json_object", {"message": "Not Found"}, b'{"message":"Not Found"}\n') is None
    assert check("json_null", True, b"null\n") is None
    assert check("empty", True, b"") is None
    assert check("json", {"a": "b"}, b"\xff") == "not UTF-8: b'\\xff'"
    assert check("binary", "AAE=", b'"AAE="') is None
    matcher = BodyMatcher(
        "all_of", (BodyMatcher("json_string", {"any": True}), BodyMatcher("exact", '"x"\n'))
    )
    assert check_body(matcher, b'"x"') == "expected exactly b'\"x\"\\n', got b'\"x\"'"


def test_header_matchers():
    assert check_header(HeaderMatcher("set", ("OPTIONS", "POST")), "POST, OPTIONS") is None
    assert check_header(HeaderMatcher("set", ("OPTIONS", "POST")), "OPTIONS, POST, GET") == (
        "expected the set ['OPTIONS', 'POST'], got 'OPTIONS, POST, GET'"
    )
    assert (
        check_header(
            HeaderMatcher("media_type", "application/json"), "application/json; charset=utf-8"
        )
        is None
    )
    assert (
        check_header(HeaderMatcher("exact", "application/json"), "application/json; charset=utf-8")
        is not None
    )
    assert check_header(HeaderMatcher("absent", True), None) is None
    assert check_header(HeaderMatcher("present", True), None) == "missing"


def test_expectation_checks_answers_and_alternatives():
    (scenario,) = parse_file(
        scenario_yaml(
            expect="""
        expect:
          headers: {content-type: {media_type: application/json}}
          any_of:
            - {status: 200, body: {json_string: {equals: decoded}}}
            - {status: [400, 404]}
    """
        ),
        FILE,
        IDS,
    )
    expect = scenario.steps[0].expect
    json_type = {"Content-Type": "application/json"}
    assert check_response(expect, 200, json_type, b'"decoded"\n') == []
    assert check_response(expect, 404, json_type, b'"Not Found"\n') == []
    assert check_response(expect, 200, json_type, b'"literal"\n') == [
        'no alternative matched: body: expected a string that equals "decoded", got "literal" '
        "| status: expected 400 or 404, got 200"
    ]
    assert check_response(expect, None, {}, b"", outcome="no-response") == [
        "expected response, got no-response"
    ]


def test_state_and_upstream_checks():
    def state(ns, name, owner, annotations=None):
        labels = {"federation.externalsecrets.com/owner": owner}
        return {
            "kind": "GeneratorState",
            "metadata": {
                "namespace": ns,
                "name": name,
                "labels": labels,
                "annotations": annotations or {},
            },
        }

    exp = StateExpectation(
        "GeneratorState",
        "team-a",
        labels={"federation.externalsecrets.com/owner": "web"},
        delta=1,
        annotations=("a",),
    )
    before = [state("team-a", "s1", "web", {"a": "1"})]
    assert check_state(exp, before, [*before, state("team-a", "s2", "web", {"a": "{}"})]) is None
    assert check_state(exp, before, [*before, state("team-a", "s2", "web")]) == (
        "GeneratorState [namespace=team-a, federation.externalsecrets.com/owner=web]: "
        "team-a/s2 lacks annotations ['a']"
    )
    assert check_state(exp, before, before) == (
        "GeneratorState [namespace=team-a, federation.externalsecrets.com/owner=web]: expected a "
        "change of +1, found 1 before and 1 after"
    )
    up = UpstreamExpectation(
        "alpha",
        (
            UpstreamRequest("GET", "/.well-known/openid-configuration"),
            UpstreamRequest(
                "GET", "/openid/v1/jwks", (("Authorization", HeaderMatcher("absent", True)),)
            ),
        ),
    )
    journal = [
        {"method": "GET", "path": "/.well-known/openid-configuration", "headers": {}},
        {"method": "GET", "path": "/openid/v1/jwks", "headers": {"authorization": "B"}},
    ]
    assert check_upstream(up, journal) == (
        "cluster alpha did not receive GET /openid/v1/jwks (with the expected headers, in order)"
    )
    journal[1]["headers"] = {}
    assert check_upstream(up, journal) is None


def test_catalogue_loads_with_unique_ids_and_both_directions():
    catalogue = load_catalogue()
    ids = [s.id for s in catalogue]
    assert len(ids) == len(set(ids))
    assert len(catalogue) >= 60
    assert {s.direction for s in catalogue} == {"server", "client", "both"}
    assert all(s.file.startswith("scenarios/") for s in catalogue)
    folders = {s.file.split("/")[1] for s in catalogue}
    assert {"auth", "store", "generator", "error", "mtls", "wlt", "revoke", "http"} <= folders


def test_catalogue_uses_only_fixture_identities():
    """Every Kubernetes identity in the catalogue exists in the default fixtures."""
    from mockserver.manifests import fake_cluster_specs, read_documents
    from mockserver.paths import default_fixtures_dir

    known = {
        (spec.name, f"{sa.namespace}/{sa.name}")
        for spec in fake_cluster_specs(read_documents(default_fixtures_dir()))
        for sa in spec.service_accounts
    }
    for scenario in load_catalogue():
        for step in scenario.steps:
            ident = step.request.identity
            if isinstance(ident, KubeIdentity):
                assert (ident.cluster, ident.service_account) in known, scenario.id


def test_fast_yaml_reads_the_catalogue_as_the_pure_parser_does():
    files = sorted(default_scenarios_dir().rglob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert load_yaml(text) == yaml.safe_load(text), path
    broken = "scenarios:\n  - id: x\n   title: y\n"
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.safe_load(broken)
    with pytest.raises(yaml.YAMLError) as fast:
        load_yaml(broken)
    assert str(fast.value) == str(pure.value)
