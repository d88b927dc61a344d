"""The manifests layer: exact error texts, old shapes, substitution, and the default fixtures."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver import paths
from mockserver.manifests import (
    DEFAULT_ISSUER,
    AllowedGenerator,
    Authorization,
    ClusterGenerator,
    Document,
    FakeSecretEntry,
    FederationRef,
    Generator,
    ManifestError,
    ManifestSet,
    OidcSubject,
    Secret,
    UnsupportedGenerator,
    build_model,
    fake_cluster_specs,
    parse_documents,
    read_documents,
    substitute,
)

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
ALPHA_ISSUER = "https://kubernetes.default.svc.cluster.local"
OLD_SHAPE = (
    "expected exactly one of oidc, spiffe; the old flat shape {issuer, subject} is no longer "
    "served — write subject: {oidc: {issuer: ..., subject: ...}}"
)
SUBDOMAIN = (
    "expected a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', starting and "
    "ending with a letter or digit, at most 253 characters)"
)
LABEL = (
    "expected a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a "
    "letter or digit, at most 63 characters)"
)


def yaml_text(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def load(text: str, file: str = "m.yaml") -> ManifestSet:
    return build_model(parse_documents(yaml_text(text), file))


FIELD_LINE = re.compile(r"(: document \d+(?: \([^)]*\))?), line \d+(?=: \S+: )")


def without_field_line(message: str) -> str:
    """The text without the line of a field error (asserted on its own in the line tests);
    YAML syntax errors keep theirs."""
    return FIELD_LINE.sub(r"\1", message)


def messages(text: str, file: str = "m.yaml") -> list[str]:
    with pytest.raises(ManifestError) as info:
        load(text, file)
    return [without_field_line(str(e)) for e in info.value.errors]


def authorization(spec: str, name: str = "web") -> str:
    return (
        "apiVersion: federation.external-secrets.io/v1alpha1\n"
        "kind: Authorization\n"
        f"metadata: {{name: {name}}}\n"
        "spec:\n" + textwrap.indent(yaml_text(spec), "  ")
    )


GOOD_AUTH_SPEC = """
federationRef: {kind: KubernetesFederation, name: alpha}
subject:
  oidc: {issuer: "https://kubernetes.default.svc.cluster.local", subject: "system:serviceaccount:a:b"}
allowedClusterSecretStores: [app-store]
allowedGenerators: []
allowedGeneratorStates: []
"""


def store(data: str, name: str = "s") -> str:
    return (
        "apiVersion: external-secrets.io/v1\n"
        "kind: ClusterSecretStore\n"
        f"metadata: {{name: {name}}}\n"
        "spec:\n  provider:\n    fake:\n      data:\n"
        + textwrap.indent(yaml_text(data), "        ")
    )


def generator(kind: str, spec: str, name: str = "g", namespace: str = "team-a") -> str:
    return (
        "apiVersion: generators.external-secrets.io/v1alpha1\n"
        f"kind: {kind}\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\n"
        "spec:\n" + textwrap.indent(yaml_text(spec), "  ")
    )


def cluster(spec: str, name: str = "alpha") -> str:
    return (
        "apiVersion: harness.esi-federation.dev/v1alpha1\n"
        "kind: FakeCluster\n"
        f"metadata: {{name: {name}}}\n"
        "spec:\n" + textwrap.indent(yaml_text(spec), "  ") + "\n"
    )


# -- reading documents ------------------------------------------------------------------------


def test_folder_is_read_sorted_multi_document_skipping_empty_and_other_files(
    tmp_path: Path,
) -> None:
    (tmp_path / "b.yml").write_text("a: 1\n---\n---\nb: 2\n")
    (tmp_path / "a.yaml").write_text("---\nc: 3\n")
    (tmp_path / "notes.md").write_text("not yaml: [")
    docs = read_documents(tmp_path)
    assert [(Path(d.file).name, d.index, d.data) for d in docs] == [
        ("a.yaml", 1, {"c": 3}),
        ("b.yml", 1, {"a": 1}),
        ("b.yml", 3, {"b": 2}),
    ]


def test_several_paths_and_a_missing_one_are_all_reported(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("a: 1\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\n---\n  b: 1\nc: 2\n")
    missing = tmp_path / "nope"
    with pytest.raises(ManifestError) as info:
        read_documents([good, bad, missing])
    assert [without_field_line(str(e)) for e in info.value.errors] == [
        f"{bad}: document 2, line 4: expected valid YAML: expected '<document start>', but found "
        "'<block mapping start>' (column 1)",
        f"{missing}: expected an existing file or folder",
    ]
    assert info.value.errors[0].line == 4
    assert info.value.errors[0].index == 2


def test_yaml_syntax_error_names_file_document_and_line() -> None:
    with pytest.raises(ManifestError) as info:
        parse_documents("a: 1\n---\nb: c: d\n", "x.yaml")
    assert without_field_line(str(info.value)) == (
        "x.yaml: document 2, line 3: expected valid YAML: mapping values are not allowed here "
        "(column 5)"
    )


def test_duplicate_mapping_keys_are_an_error() -> None:
    with pytest.raises(ManifestError) as info:
        parse_documents("kind: A\nkind: B\n", "x.yaml")
    assert without_field_line(str(info.value)) == (
        "x.yaml: document 1, line 2: expected valid YAML: duplicate key 'kind' (column 1)"
    )


def test_a_document_that_is_not_a_mapping_is_an_error() -> None:
    with pytest.raises(ManifestError) as info:
        parse_documents("- a\n- b\n", "x.yaml")
    assert without_field_line(str(info.value)) == (
        "x.yaml: document 1: expected a mapping with apiVersion, kind, metadata, got a list"
    )


def test_dates_stay_strings_as_in_kubernetes() -> None:
    (doc,) = parse_documents("when: 2024-01-02T03:04:05Z\nday: 2024-01-02\n")
    assert doc.data == {"when": "2024-01-02T03:04:05Z", "day": "2024-01-02"}


# -- kinds, names, duplicates ---------------------------------------------------------------


def test_unknown_kind_names_the_known_kinds() -> None:
    (message,) = messages("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n")
    assert message == (
        'm.yaml: document 1 (Deployment "x"): kind: expected one of '
        "FakeCluster (harness.esi-federation.dev/v1alpha1), "
        "KubernetesFederation (identity.federation.external-secrets.io/v1alpha1), "
        "SpiffeFederation (identity.federation.external-secrets.io/v1alpha1), "
        "OktaFederation (identity.federation.external-secrets.io/v1alpha1), "
        "PingIdentityFederation (identity.federation.external-secrets.io/v1alpha1), "
        "Authorization (federation.external-secrets.io/v1alpha1), "
        "ClusterSecretStore (external-secrets.io/v1), Secret (v1), "
        "ClusterGenerator (generators.external-secrets.io/v1alpha1), "
        "Fake (generators.external-secrets.io/v1alpha1), "
        "Password (generators.external-secrets.io/v1alpha1), "
        "UUID (generators.external-secrets.io/v1alpha1), "
        "SSHKey (generators.external-secrets.io/v1alpha1), "
        "MFA (generators.external-secrets.io/v1alpha1), "
        "or any other generator kind in generators.external-secrets.io/v1alpha1 "
        '(kept as unsupported); got "Deployment" (apps/v1)'
    )


def test_missing_api_version_and_kind() -> None:
    assert messages("metadata: {name: x}\n") == [
        "m.yaml: document 1: apiVersion: expected a string (required)",
        "m.yaml: document 1: kind: expected a string (required)",
    ]


def test_wrong_api_version_for_a_known_kind() -> None:
    (message,) = messages(
        authorization(GOOD_AUTH_SPEC).replace("v1alpha1", "v1beta1", 1),
    )
    assert message == (
        'm.yaml: document 1 (Authorization "web"): apiVersion: expected '
        "federation.external-secrets.io/v1alpha1 for kind Authorization, got "
        '"federation.external-secrets.io/v1beta1"'
    )


@given(
    st.text(alphabet="abcXYZ019-._ ", min_size=1, max_size=20).filter(
        lambda s: (
            not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", s)
        )
    )
)
def test_invalid_object_names_are_refused_with_the_rule(name: str) -> None:
    text = authorization(GOOD_AUTH_SPEC, name=f'"{name}"')
    (message,) = messages(text)
    assert message == (
        f'm.yaml: document 1 (Authorization "{name}"): metadata.name: {SUBDOMAIN}, got "{name}"'
    )


@given(st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?(\.[a-z0-9]{1,5}){0,2}", fullmatch=True))
def test_valid_object_names_are_accepted(name: str) -> None:
    model = load(authorization(GOOD_AUTH_SPEC, name=f'"{name}"'))
    assert [a.name for a in model.authorizations] == [name]


def test_fake_cluster_names_are_labels_without_dots() -> None:
    (message,) = messages(cluster("{}", name="a.b"))
    assert message == f'm.yaml: document 1 (FakeCluster "a.b"): metadata.name: {LABEL}, got "a.b"'


def test_namespaced_kinds_default_to_the_default_namespace_and_check_it() -> None:
    model = load(
        "apiVersion: generators.external-secrets.io/v1alpha1\nkind: UUID\nmetadata: {name: u}\n"
    )
    assert model.generators == {("default", "UUID", "u"): Generator("UUID", "default", "u", {})}
    (message,) = messages(generator("UUID", "{}", namespace="Team_A"))
    assert message == (
        f'm.yaml: document 1 (UUID "Team_A/g"): metadata.namespace: {LABEL}, got "Team_A"'
    )


def test_duplicate_objects_name_the_first_definition() -> None:
    text = store("- {key: a, value: b}\n") + "---\n" + store("- {key: a, value: c}\n")
    (message,) = messages(text)
    assert message == (
        'm.yaml: document 2 (ClusterSecretStore "s"): metadata.name: expected a unique name; '
        'ClusterSecretStore "s" is already defined in m.yaml document 1'
    )


def test_same_name_in_other_kind_or_namespace_is_not_a_duplicate() -> None:
    text = "\n---\n".join(
        [
            generator("UUID", "{}", name="x"),
            generator("Password", "{}", name="x"),
            generator("UUID", "{}", name="x", namespace="team-b"),
        ]
    )
    assert len(load(text).generators) == 3


def test_unknown_top_level_and_spec_fields_are_refused() -> None:
    text = authorization(GOOD_AUTH_SPEC + "extra: 1\n") + "statuz: {}\n"
    assert messages(text) == [
        'm.yaml: document 1 (Authorization "web"): statuz: unknown field; expected one of '
        "apiVersion, kind, metadata, spec, status",
        'm.yaml: document 1 (Authorization "web"): spec.extra: unknown field; expected one of '
        "federationRef, subject, allowedClusterSecretStores, allowedGenerators, "
        "allowedGeneratorStates",
    ]


def test_all_errors_of_a_load_are_collected_into_one() -> None:
    text = "\n---\n".join(
        [
            authorization(GOOD_AUTH_SPEC.replace("KubernetesFederation", "Kube")),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}",
            store("- {key: '', value: x}\n"),
        ]
    )
    with pytest.raises(ManifestError) as info:
        load(text, "all.yaml")
    error = info.value
    assert len(error.errors) == 3
    assert [e.index for e in error.errors] == [1, 2, 3]
    assert str(error) == "\n".join(str(e) for e in error.errors)
    assert (error.file, error.index, error.field) == ("all.yaml", 1, "spec.federationRef.kind")


# -- Authorization and identity kinds ---------------------------------------------------------


def test_authorization_model_and_its_authority_and_principal() -> None:
    spec = GOOD_AUTH_SPEC.replace(
        "allowedGenerators: []",
        "allowedGenerators:\n  - {name: p, kind: Password, namespace: team-a}\n"
        "  - {name: c, kind: ClusterGenerator, namespace: x, apiVersion: other/v1}",
    ).replace("allowedGeneratorStates: []", "allowedGeneratorStates: [{namespace: team-a}]")
    (auth,) = load(authorization(spec)).authorizations
    assert auth == Authorization(
        name="web",
        federation_ref=FederationRef("KubernetesFederation", "alpha"),
        oidc=OidcSubject(ALPHA_ISSUER, "system:serviceaccount:a:b"),
        spiffe_id=None,
        allowed_cluster_secret_stores=("app-store",),
        allowed_generators=(
            AllowedGenerator("p", "Password", "team-a", "generators.external-secrets.io/v1alpha1"),
            AllowedGenerator("c", "ClusterGenerator", "x", "other/v1"),
        ),
        allowed_generator_states=("team-a",),
    )
    assert (auth.authority, auth.principal) == (ALPHA_ISSUER, "system:serviceaccount:a:b")


def test_spiffe_authorization_authority_is_the_trust_domain() -> None:
    spiffe_id = "spiffe://example.org/app/ns/web/sa/1/frontend/pod/2/frontend-1"
    spec = GOOD_AUTH_SPEC.replace(
        'oidc: {issuer: "https://kubernetes.default.svc.cluster.local", '
        'subject: "system:serviceaccount:a:b"}',
        f"spiffe: {{spiffeID: '{spiffe_id}'}}",
    ).replace("KubernetesFederation", "SpiffeFederation")
    (auth,) = load(authorization(spec)).authorizations
    assert (auth.oidc, auth.spiffe_id) == (None, spiffe_id)
    assert (auth.authority, auth.principal) == ("example.org", spiffe_id)


def test_old_flat_subject_is_refused_showing_the_current_shape() -> None:
    spec = GOOD_AUTH_SPEC.replace("  oidc: {issuer:", "  issuer: x\n  subject: y\n  #")
    (message,) = messages(authorization(spec), "fixtures/auth.yaml")
    assert (
        message
        == f'fixtures/auth.yaml: document 1 (Authorization "web"): spec.subject: {OLD_SHAPE}'
    )


def test_old_sample_authorization_reports_every_problem() -> None:
    old_sample = """
    apiVersion: federation.external-secrets.io/v1alpha1
    kind: Authorization
    metadata:
      name: web
      namespace: default
    spec:
      federationRef: {kind: KubernetesFederation, name: alpha}
      subject:
        subject: system:serviceaccount:a:b
        issuer: https://kubernetes.default.svc.cluster.local
      allowedClusterSecretStores: [s]
      allowedGenerators: []
      allowedGeneratorStates: []
    """
    assert messages(old_sample) == [
        'm.yaml: document 1 (Authorization "default/web"): metadata.namespace: expected no '
        'namespace: Authorization is cluster-scoped, got "default"',
        f'm.yaml: document 1 (Authorization "default/web"): spec.subject: {OLD_SHAPE}',
    ]


@pytest.mark.parametrize(
    ("subject", "got"),
    [
        ("{}", "neither"),
        ("{oidc: {issuer: a, subject: b}, spiffe: {spiffeID: 'spiffe://x/y'}}", "both"),
    ],
)
def test_subject_needs_exactly_one_of_oidc_and_spiffe(subject: str, got: str) -> None:
    spec = re.sub(r"subject:\n  oidc: .*\n", f"subject: {subject}\n", GOOD_AUTH_SPEC)
    (message,) = messages(authorization(spec))
    assert message == (
        f'm.yaml: document 1 (Authorization "web"): spec.subject: expected exactly one of oidc, '
        f"spiffe, got {got}"
    )


def test_old_identity_group_is_refused_showing_the_current_group() -> None:
    text = """
    apiVersion: federation.external-secrets.io/v1alpha1
    kind: KubernetesFederation
    metadata: {name: alpha}
    spec: {url: "https://alpha.example"}
    """
    (message,) = messages(text)
    assert message == (
        'm.yaml: document 1 (KubernetesFederation "alpha"): apiVersion: expected '
        "identity.federation.external-secrets.io/v1alpha1; KubernetesFederation moved out of the "
        "old group federation.external-secrets.io, which is no longer served — write apiVersion: "
        "identity.federation.external-secrets.io/v1alpha1"
    )


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        (
            ("allowedGenerators: []\n", ""),
            "spec.allowedGenerators",
            "expected a list (required; it may be empty: [])",
        ),
        (
            ("KubernetesFederation", "Kubernetes"),
            "spec.federationRef.kind",
            "expected one of KubernetesFederation, OktaFederation, PingIdentityFederation, "
            'SpiffeFederation, got "Kubernetes"',
        ),
        (
            ("allowedClusterSecretStores: [app-store]", "allowedClusterSecretStores: [1]"),
            "spec.allowedClusterSecretStores[0]",
            "expected a string, got the number 1",
        ),
        (
            ("allowedGeneratorStates: []", "allowedGeneratorStates: [team-a]"),
            "spec.allowedGeneratorStates[0]",
            'expected a mapping {namespace}, got "team-a"',
        ),
        (
            ("allowedGenerators: []", "allowedGenerators: [{name: p, kind: Password}]"),
            "spec.allowedGenerators[0].namespace",
            "expected a string (required)",
        ),
        (
            ('subject: "system:serviceaccount:a:b"', 'subject: ""'),
            "spec.subject.oidc.subject",
            "expected a non-empty string",
        ),
    ],
)
def test_authorization_field_errors(change: tuple[str, str], field: str, expected: str) -> None:
    (message,) = messages(authorization(GOOD_AUTH_SPEC.replace(*change)))
    assert message == f'm.yaml: document 1 (Authorization "web"): {field}: {expected}'


@pytest.mark.parametrize(
    ("spiffe_id", "why"),
    [
        ("example.org/app", "must start with spiffe://"),
        (
            "spiffe://Example.org/app",
            "the trust domain must be lower-case letters, digits, '.', '_' and '-'",
        ),
        ("spiffe://example.org/app/", "the path must not have empty segments or a trailing '/'"),
        ("spiffe://example.org/a/../b", "the path must not have '.' or '..' segments"),
        ("spiffe://example.org/a b", "path segments must be letters, digits, '.', '_' and '-'"),
    ],
)
def test_spiffe_ids_are_validated(spiffe_id: str, why: str) -> None:
    spec = re.sub(
        r"subject:\n  oidc: .*\n",
        f"subject:\n  spiffe: {{spiffeID: '{spiffe_id}'}}\n",
        GOOD_AUTH_SPEC,
    )
    (message,) = messages(authorization(spec))
    assert message == (
        'm.yaml: document 1 (Authorization "web"): spec.subject.spiffe.spiffeID: expected a '
        f"SPIFFE ID spiffe://<trust-domain>/<path>; it {why}"
    )


def test_spiffe_federation_trust_domain_is_a_name_not_a_uri() -> None:
    text = """
    apiVersion: identity.federation.external-secrets.io/v1alpha1
    kind: SpiffeFederation
    metadata: {name: td}
    spec: {trustDomain: "spiffe://example.org"}
    """
    (message,) = messages(text)
    assert message == (
        'm.yaml: document 1 (SpiffeFederation "td"): spec.trustDomain: expected a trust domain '
        "name (lower-case letters, digits, '.', '_' and '-', no spiffe:// prefix), got "
        '"spiffe://example.org"'
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://alpha", "must start with https:// or http://"),
        ("https://alpha/?x=1", "must not have a query or fragment"),
        ("https://alpha/", "must not end with '/'"),
    ],
)
def test_kubernetes_federation_url(url: str, why: str) -> None:
    text = f"""
    apiVersion: identity.federation.external-secrets.io/v1alpha1
    kind: KubernetesFederation
    metadata: {{name: alpha}}
    spec: {{url: "{url}"}}
    """
    (message,) = messages(text)
    assert message == (
        f'm.yaml: document 1 (KubernetesFederation "alpha"): spec.url: expected an http(s) base '
        f"URL; it {why}"
    )


# -- ClusterSecretStore -----------------------------------------------------------------------


def test_store_entries_keep_tricky_values_and_versions() -> None:
    data = """
    - {key: a/b, value: "x\\u2028y"}
    - {key: empty, value: ""}
    - {key: v, value: one, version: "1"}
    """
    model = load(store(data))
    assert model.cluster_secret_stores["s"].data == (
        FakeSecretEntry("a/b", "x\u2028y", ""),
        FakeSecretEntry("empty", "", ""),
        FakeSecretEntry("v", "one", "1"),
    )


@pytest.mark.parametrize(
    ("data", "field", "expected"),
    [
        (
            "- {key: a, value: b}\n- {value: c}\n",
            "spec.provider.fake.data[1].key",
            "key must be set in data 1",
        ),
        ("- {key: '', value: c}\n", "spec.provider.fake.data[0].key", "key must be set in data 0"),
        (
            "- {key: a}\n",
            "spec.provider.fake.data[0].value",
            "at least one value must be set in data 0",
        ),
        (
            "- {key: a, value: 12}\n",
            "spec.provider.fake.data[0].value",
            "expected a string, got the number 12; quote it",
        ),
        (
            "- {key: a, value: b, version: 2}\n",
            "spec.provider.fake.data[0].version",
            "expected a string, got the number 2; quote it",
        ),
        (
            "- {key: a, valueMap: {x: y}}\n",
            "spec.provider.fake.data[0].valueMap",
            "valueMap was removed in external-secrets.io/v1 (ESO v0.16.0); write the map as a JSON "
            'document in value, e.g. value: \'{"user": "admin"}\'',
        ),
    ],
)
def test_store_entry_errors(data: str, field: str, expected: str) -> None:
    (message,) = messages(store(data))
    assert message == f'm.yaml: document 1 (ClusterSecretStore "s"): {field}: {expected}'


def test_store_v1beta1_and_other_providers_are_refused() -> None:
    text = store("- {key: a, value: b}\n").replace(
        "external-secrets.io/v1", "external-secrets.io/v1beta1"
    )
    assert messages(text) == [
        'm.yaml: document 1 (ClusterSecretStore "s"): apiVersion: expected external-secrets.io/v1; '
        "external-secrets.io/v1beta1 is no longer served (ESO v0.17.0 and later) — write "
        "apiVersion: external-secrets.io/v1"
    ]
    vault = """
    apiVersion: external-secrets.io/v1
    kind: ClusterSecretStore
    metadata: {name: v}
    spec: {provider: {vault: {server: "https://vault"}}}
    """
    assert messages(vault) == [
        'm.yaml: document 1 (ClusterSecretStore "v"): spec.provider: expected exactly one '
        "provider, fake (the only provider the mock serves), got vault"
    ]


def test_store_controller_conditions_and_validation_result() -> None:
    text = """
    apiVersion: external-secrets.io/v1
    kind: ClusterSecretStore
    metadata: {name: s}
    spec:
      controller: dev
      conditions: [{namespaces: [team-a]}]
      provider: {fake: {validationResult: 2, data: []}}
    """
    built = load(text).cluster_secret_stores["s"]
    assert (built.controller, built.conditions, built.validation_result) == (
        "dev",
        ({"namespaces": ["team-a"]},),
        2,
    )


# -- generators, ClusterGenerator, Secret ------------------------------------------------------


def test_generator_specs_are_kept_as_written_without_defaults() -> None:
    model = load(generator("Password", "length: 12\nsymbols: 0\n"))
    assert model.generators[("team-a", "Password", "g")] == Generator(
        "Password", "team-a", "g", {"length": 12, "symbols": 0}
    )


@pytest.mark.parametrize(
    ("kind", "spec", "field", "expected"),
    [
        ("Password", "length: '24'", "spec.length", 'expected an integer, got "24"'),
        ("Password", "noUpper: 'yes'", "spec.noUpper", 'expected true or false, got "yes"'),
        (
            "Password",
            "encoding: base58",
            "spec.encoding",
            'expected one of base64, base64url, base32, hex, raw, got "base58"',
        ),
        ("Password", "secretKeys: password", "spec.secretKeys", 'expected a list, got "password"'),
        (
            "SSHKey",
            "keyType: dsa",
            "spec.keyType",
            'expected one of rsa, ecdsa, ed25519, got "dsa"',
        ),
        ("SSHKey", "keySize: 128", "spec.keySize", "expected an integer >= 256, got 128"),
        ("MFA", "length: 6", "spec.secret", "expected a mapping (required)"),
        ("MFA", "secret: {key: seed}", "spec.secret.name", "expected a string (required)"),
        ("MFA", "secret: seed", "spec.secret", 'expected a mapping, got "seed"'),
        ("Fake", "data: {a: 1}", "spec.data.a", "expected a string, got the number 1; quote it"),
        ("UUID", "version: 4", "spec.version", "unknown field; expected one of "),
    ],
)
def test_generator_field_errors(kind: str, spec: str, field: str, expected: str) -> None:
    (message,) = messages(generator(kind, spec + "\n"))
    assert message == f'm.yaml: document 1 ({kind} "team-a/g"): {field}: {expected}'


def test_cluster_generator_wraps_a_spec_by_kind() -> None:
    text = """
    apiVersion: generators.external-secrets.io/v1alpha1
    kind: ClusterGenerator
    metadata: {name: cg}
    spec: {kind: SSHKey, generator: {sshKeySpec: {keyType: ed25519}}}
    """
    assert load(text).cluster_generators == {
        "cg": ClusterGenerator("cg", "SSHKey", {"keyType": "ed25519"})
    }


@pytest.mark.parametrize(
    ("spec", "field", "expected"),
    [
        (
            "{kind: Password, generator: {uuidSpec: {}}}",
            "spec.generator",
            "invalid ClusterGenerator: when kind is Password, PasswordSpec must be set "
            "(write spec.generator.passwordSpec)",
        ),
        (
            "{kind: UUID, generator: {uuidSpec: {}, fakeSpec: {}}}",
            "spec.generator",
            "expected exactly one generator spec (uuidSpec), got uuidSpec, fakeSpec",
        ),
        (
            "{kind: Password, generator: {passwordSpec: {length: x}}}",
            "spec.generator.passwordSpec.length",
            'expected an integer, got "x"',
        ),
        (
            "{kind: ClusterGenerator, generator: {}}",
            "spec.kind",
            "expected one of ACRAccessToken, CloudsmithAccessToken, ECRAuthorizationToken, "
            "Fake, GCRAccessToken, GithubAccessToken, Grafana, MFA, Password, QuayAccessToken, "
            'SSHKey, STSSessionToken, UUID, VaultDynamicSecret, Webhook, got "ClusterGenerator"',
        ),
        (
            # Not in the GeneratorSpec of the ESO the real server links (5fe21b5c55ca).
            "{kind: GitlabDeployToken, generator: {gitlabDeployTokenSpec: {}}}",
            "spec.kind",
            "expected one of ACRAccessToken, CloudsmithAccessToken, ECRAuthorizationToken, "
            "Fake, GCRAccessToken, GithubAccessToken, Grafana, MFA, Password, QuayAccessToken, "
            'SSHKey, STSSessionToken, UUID, VaultDynamicSecret, Webhook, got "GitlabDeployToken"',
        ),
    ],
)
def test_cluster_generator_errors(spec: str, field: str, expected: str) -> None:
    text = (
        "apiVersion: generators.external-secrets.io/v1alpha1\nkind: ClusterGenerator\n"
        f"metadata: {{name: cg}}\nspec: {spec}\n"
    )
    (message,) = messages(text)
    assert message == f'm.yaml: document 1 (ClusterGenerator "cg"): {field}: {expected}'


@pytest.mark.parametrize(
    "kind", ["Federation", "OpenAI", "PostgreSql", "ECRAuthorizationToken", "Webhook"]
)
def test_other_generator_kinds_load_as_unsupported(kind: str) -> None:
    model = load(generator(kind, "anything: [goes, here]\n", name="x"))
    assert model.generators == {("team-a", kind, "x"): UnsupportedGenerator(kind, "team-a", "x")}
    assert model.without(kind, "x", "team-a").generators == {}


def test_generator_state_objects_are_not_loaded() -> None:
    (message,) = messages(generator("GeneratorState", "{}\n"))
    assert message == (
        'm.yaml: document 1 (GeneratorState "team-a/g"): kind: expected a generator kind; '
        "GeneratorState objects are written by the server"
    )


def test_secret_merges_base64_data_and_string_data() -> None:
    text = """
    apiVersion: v1
    kind: Secret
    metadata: {name: seed, namespace: team-a}
    data: {a: aGVsbG8=, b: AAE=}
    stringData: {b: text, c: "é"}
    """
    assert load(text).secrets == {
        ("team-a", "seed"): Secret(
            "team-a", "seed", {"a": b"hello", "b": b"text", "c": "é".encode()}
        )
    }


def test_secret_errors() -> None:
    text = """
    apiVersion: v1
    kind: Secret
    metadata: {name: seed}
    data: {a: "not base64!", "b/c": YQ==}
    spec: {}
    """
    assert messages(text) == [
        'm.yaml: document 1 (Secret "seed"): spec: unknown field; expected one of apiVersion, '
        "kind, metadata, data, stringData, type, immutable",
        'm.yaml: document 1 (Secret "seed"): data.a: expected standard base64 (use stringData '
        "for plain text)",
        'm.yaml: document 1 (Secret "seed"): data["b/c"]: expected a key of letters, digits, '
        "'-', '.' and '_'",
    ]


# -- FakeCluster ------------------------------------------------------------------------------


def test_fake_cluster_defaults() -> None:
    (spec,) = fake_cluster_specs(parse_documents(cluster("{}")))
    assert (spec.issuer, spec.api_audiences, spec.key_types) == (
        DEFAULT_ISSUER,
        (DEFAULT_ISSUER,),
        ("rsa",),
    )
    assert (spec.listen_host, spec.listen_port, spec.ca_from) == ("127.0.0.1", 0, None)
    assert (spec.anonymous_discovery, spec.jwks_uri_host, spec.pods) == (False, None, ())


def test_fake_cluster_full_spec() -> None:
    text = cluster(
        """
        issuer: https://issuer.example/path
        apiAudiences: [api, vault]
        extraNames: [alpha.local, 10.0.0.1, "*.svc.local"]
        listen: {host: 0.0.0.0, port: 4431}
        keys: [{type: ec}, {type: rsa}]
        anonymousDiscovery: true
        jwksUriHost: keys.example:8443
        serviceAccounts: [{namespace: ns, name: sa, uid: u-1}]
        pods: [{namespace: ns, name: p, serviceAccount: sa, node: n1}]
        """
    )
    (spec,) = fake_cluster_specs(parse_documents(text))
    assert spec.api_audiences == ("api", "vault")
    assert spec.extra_names == ("alpha.local", "10.0.0.1", "*.svc.local")
    assert (spec.listen_host, spec.listen_port, spec.key_types) == ("0.0.0.0", 4431, ("ec", "rsa"))
    assert (spec.anonymous_discovery, spec.jwks_uri_host) == (True, "keys.example:8443")
    assert [(s.namespace, s.name, s.uid) for s in spec.service_accounts] == [("ns", "sa", "u-1")]
    assert [(p.name, p.service_account, p.uid, p.node) for p in spec.pods] == [
        ("p", "sa", None, "n1")
    ]


@pytest.mark.parametrize(
    ("spec", "field", "expected"),
    [
        (
            "issuer: http://x",
            "spec.issuer",
            "expected an https URL without query or fragment; it must start with https://",
        ),
        (
            "issuer: https://x/#frag",
            "spec.issuer",
            "expected an https URL without query or fragment; it must not have a query or fragment",
        ),
        ("keys: [{type: dsa}]", "spec.keys[0].type", 'expected one of rsa, ec, got "dsa"'),
        ("keys: []", "spec.keys", "expected at least one key (the first one signs)"),
        ("apiAudiences: []", "spec.apiAudiences", "expected a non-empty list of non-empty strings"),
        ("listen: {port: 70000}", "spec.listen.port", "expected an integer <= 65535, got 70000"),
        (
            "extraNames: [Bad_Name]",
            "spec.extraNames[0]",
            "expected a DNS name or IP address; it must be an IP address or a lower-case DNS name",
        ),
        (
            "serviceAccounts: [{namespace: ns}]",
            "spec.serviceAccounts[0].name",
            "expected a string (required)",
        ),
        (
            "serviceAccounts: [{namespace: ns, name: a}, {namespace: ns, name: a}]",
            "spec.serviceAccounts[1]",
            'expected a unique service account, "ns/a" is repeated',
        ),
        (
            "serviceAccounts: [{namespace: ns, name: a}, {namespace: other, name: b}]\n"
            "pods: [{namespace: ns, name: p, serviceAccount: b}]",
            "spec.pods[0].serviceAccount",
            'expected a service account of namespace "ns" listed in spec.serviceAccounts '
            '(there: a), got "b"',
        ),
        (
            "caFrom: nowhere",
            "spec.caFrom",
            'expected the name of another FakeCluster (known: none), got "nowhere"',
        ),
    ],
)
def test_fake_cluster_errors(spec: str, field: str, expected: str) -> None:
    with pytest.raises(ManifestError) as info:
        fake_cluster_specs(parse_documents(cluster(spec + "\n"), "c.yaml"))
    assert [without_field_line(str(e)) for e in info.value.errors] == [
        f'c.yaml: document 1 (FakeCluster "alpha"): {field}: {expected}'
    ]


def test_ca_from_cycles_are_refused_and_sharing_is_allowed() -> None:
    good = cluster("{}", "alpha") + "---\n" + cluster("caFrom: alpha\n", "gamma")
    assert [s.ca_from for s in fake_cluster_specs(parse_documents(good))] == [None, "alpha"]
    cycle = cluster("caFrom: b\n", "a") + "---\n" + cluster("caFrom: a\n", "b")
    with pytest.raises(ManifestError) as info:
        fake_cluster_specs(parse_documents(cycle, "c.yaml"))
    assert [without_field_line(str(e)) for e in info.value.errors] == [
        'c.yaml: document 1 (FakeCluster "a"): spec.caFrom: expected no cycle of caFrom, '
        "got a -> b -> a",
        'c.yaml: document 2 (FakeCluster "b"): spec.caFrom: expected no cycle of caFrom, '
        "got b -> a -> b",
    ]


def test_fake_cluster_specs_ignores_other_kinds_and_unresolved_variables() -> None:
    text = cluster("{}") + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
    text += "---\n" + cluster("extraNames: [x.local]\n", "beta")
    assert [s.name for s in fake_cluster_specs(parse_documents(text))] == ["alpha", "beta"]


# -- substitution -----------------------------------------------------------------------------

FEDERATION = """
apiVersion: identity.federation.external-secrets.io/v1alpha1
kind: KubernetesFederation
metadata: {name: alpha}
spec: {url: "${clusters.alpha.url}"}
"""


def test_substitution_replaces_in_nested_strings_lists_and_keys() -> None:
    (doc,) = parse_documents(
        "a: ${x}\nb: [1, 'pre ${x} post', {c: '${y}${x}'}]\n'${y}': v\nn: 5\n", "s.yaml"
    )
    (out,) = substitute([doc], {"x": "X", "y": "Y"})
    assert out.data == {"a": "X", "b": [1, "pre X post", {"c": "YX"}], "Y": "v", "n": 5}
    assert out.substituted and not doc.substituted
    assert doc.data["a"] == "${x}"


def test_substitution_of_cluster_urls_then_build() -> None:
    docs = substitute(
        parse_documents(yaml_text(FEDERATION)), {"clusters.alpha.url": "https://127.0.0.1:4431"}
    )
    assert build_model(docs).kubernetes_federations["alpha"].url == "https://127.0.0.1:4431"


def test_unknown_variable_names_file_document_field_and_known_variables() -> None:
    text = yaml_text(FEDERATION) + "---\n" + store("- {key: k, value: 'a ${nope} b'}\n")
    with pytest.raises(ManifestError) as info:
        substitute(
            parse_documents(text, "f.yaml"), {"clusters.beta.url": "u", "clusters.gamma.url": "v"}
        )
    assert [without_field_line(str(e)) for e in info.value.errors] == [
        'f.yaml: document 1 (KubernetesFederation "alpha"): spec.url: expected a known variable, '
        'got "${clusters.alpha.url}" (known: clusters.beta.url, clusters.gamma.url; write '
        "$${...} for a literal ${...})",
        'f.yaml: document 2 (ClusterSecretStore "s"): spec.provider.fake.data[0].value: expected '
        'a known variable, got "${nope}" (known: clusters.beta.url, clusters.gamma.url; write '
        "$${...} for a literal ${...})",
    ]
    assert info.value.errors[1].field == "spec.provider.fake.data[0].value"


def test_escaped_references_become_literal_and_are_not_unresolved() -> None:
    docs = substitute(parse_documents(store("- {key: k, value: 'cost $${price} and $$5'}\n")), {})
    (entry,) = build_model(docs).cluster_secret_stores["s"].data
    assert entry.value == "cost ${price} and $$5"


def test_unsubstituted_references_are_refused_unless_allowed() -> None:
    docs = parse_documents(yaml_text(FEDERATION), "f.yaml")
    with pytest.raises(ManifestError) as info:
        build_model(docs)
    assert without_field_line(str(info.value)) == (
        'f.yaml: document 1 (KubernetesFederation "alpha"): spec.url: expected no unresolved '
        'variable, got "${clusters.alpha.url}"; pass the documents through substitute() first '
        "(or build_model(..., allow_unresolved=True))"
    )
    model = build_model(docs, allow_unresolved=True)
    assert model.kubernetes_federations["alpha"].url == "${clusters.alpha.url}"


@given(st.text(alphabet=st.characters(blacklist_characters="$"), max_size=30))
def test_text_without_dollar_is_unchanged(text: str) -> None:
    (out,) = substitute([Document("f", 1, {"v": text})], {"x": "y"})
    assert out.data == {"v": text}


@given(st.text(alphabet="abc.{}_ ", max_size=15).filter(lambda s: "{" not in s and "}" not in s))
def test_escape_yields_the_literal_reference(name: str) -> None:
    (out,) = substitute([Document("f", 1, {"v": f"$${{{name}}}"})], {})
    assert out.data == {"v": f"${{{name}}}"}


@given(st.lists(st.sampled_from(["${a}", "$${a}", "-", "${b}"]), max_size=8))
def test_references_and_escapes_mix(parts: list[str]) -> None:
    (out,) = substitute([Document("f", 1, {"v": "".join(parts)})], {"a": "1", "b": "$"})
    expected = "".join({"${a}": "1", "$${a}": "${a}", "-": "-", "${b}": "$"}[p] for p in parts)
    assert out.data == {"v": expected}


# -- ManifestSet helpers ----------------------------------------------------------------------


def test_merged_replaces_in_place_and_appends_and_without_removes() -> None:
    first = load(
        authorization(GOOD_AUTH_SPEC, "one")
        + "---\n"
        + authorization(GOOD_AUTH_SPEC, "two")
        + "---\n"
        + store("- {key: a, value: old}\n")
    )
    second = load(
        authorization(GOOD_AUTH_SPEC.replace("[app-store]", "[other]"), "one")
        + "---\n"
        + authorization(GOOD_AUTH_SPEC, "three")
        + "---\n"
        + store("- {key: a, value: new}\n")
    )
    merged = first.merged(second)
    assert [a.name for a in merged.authorizations] == ["one", "two", "three"]
    assert merged.authorizations[0].allowed_cluster_secret_stores == ("other",)
    assert merged.cluster_secret_stores["s"].data[0].value == "new"
    smaller = merged.without("Authorization", "two").without("ClusterSecretStore", "s")
    assert [a.name for a in smaller.authorizations] == ["one", "three"]
    assert smaller.cluster_secret_stores == {}
    assert [a.name for a in merged.authorizations] == ["one", "two", "three"]
    with pytest.raises(KeyError):
        merged.without("Authorization", "missing")
    with pytest.raises(KeyError):
        merged.without("Password", "x")


# -- paths ------------------------------------------------------------------------------------


def test_default_dirs_prefer_package_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert paths.default_fixtures_dir() == FIXTURES
    assert paths.default_scenarios_dir() == REPO / "scenarios"
    package = tmp_path / "site" / "mockserver"
    (package / "_data" / "fixtures").mkdir(parents=True)
    (tmp_path / "site" / "conformance" / "_data" / "scenarios").mkdir(parents=True)
    monkeypatch.setattr(paths, "_PACKAGE", package)
    assert paths.default_fixtures_dir() == package / "_data" / "fixtures"
    assert (
        paths.default_scenarios_dir() == tmp_path / "site" / "conformance" / "_data" / "scenarios"
    )


# -- the default fixtures ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def fixtures() -> ManifestSet:
    docs = read_documents(FIXTURES)
    clusters = fake_cluster_specs(docs)
    urls = {
        f"clusters.{c.name}.url": f"https://127.0.0.1:{4431 + i}" for i, c in enumerate(clusters)
    }
    return build_model(substitute(docs, urls))


def readme() -> str:
    return (FIXTURES / "README.md").read_text(encoding="utf-8")


def table_rows(first_cell: str) -> list[list[str]]:
    rows = []
    for line in readme().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and re.match(first_cell, cells[0]):
            rows.append(cells)
    return rows


def test_every_fixture_file_starts_with_a_comment_header() -> None:
    files = sorted(FIXTURES.glob("*.yaml"))
    assert files
    for file in files:
        assert file.read_text(encoding="utf-8").startswith("# "), file


def test_fixture_clusters_match_the_readme(fixtures: ManifestSet) -> None:
    rows = table_rows(r"`(alpha|beta|gamma|delta|epsilon)`$")
    assert {r[0].strip("`"): r[1].strip("`") for r in rows} == {
        name: spec.issuer for name, spec in fixtures.fake_clusters.items()
    }
    assert {r[0].strip("`"): r[2] for r in rows} == {
        name: ",".join(spec.key_types) for name, spec in fixtures.fake_clusters.items()
    }
    assert fixtures.fake_clusters["gamma"].ca_from == "alpha"
    issuers = {spec.issuer for spec in fixtures.fake_clusters.values()}
    assert len(issuers) == 5
    assert re.fullmatch(
        r"https://oidc\.eks\.[a-z0-9-]+\.amazonaws\.com/id/[0-9A-F]{32}",
        fixtures.fake_clusters["beta"].issuer,
    )
    assert set(fixtures.kubernetes_federations) == {"alpha", "beta", "gamma", "delta", "epsilon"}
    assert [n for n, spec in fixtures.fake_clusters.items() if spec.public_issuer] == ["epsilon"]
    assert fixtures.kubernetes_federations["beta"].url == "https://127.0.0.1:4432"
    assert fixtures.spiffe_federations["example-org"].trust_domain == "example.org"


def _generator_triples(cell: str) -> set[tuple[str, str, str]]:
    return {tuple(t.split("/")) for t in re.findall(r"[\w.-]+/\w+/[\w.-]+", cell)}  # type: ignore[misc]


def test_fixture_identities_reach_what_the_readme_says(fixtures: ManifestSet) -> None:
    rows = table_rows(r"(alpha|beta|gamma|delta|epsilon) / |SPIFFE ")
    listed_sas = set()
    for identity, auth_cell, stores_cell, gens_cell, states_cell in rows:
        if identity.startswith("SPIFFE"):
            (principal,) = re.findall(r"`(spiffe://[^`]+)`", identity)
            authority = principal.split("/")[2]
        else:
            name, namespace, sa = (p.split(" ")[0] for p in identity.split(" / "))
            listed_sas.add((name, namespace, sa))
            spec = fixtures.fake_clusters[name]
            assert (namespace, sa) in {(s.namespace, s.name) for s in spec.service_accounts}
            pod = re.search(r"pod `([^`]+)`", identity)
            if pod:
                assert (namespace, pod.group(1), sa) in {
                    (p.namespace, p.name, p.service_account) for p in spec.pods
                }
            authority, principal = spec.issuer, f"system:serviceaccount:{namespace}:{sa}"
        matching = [
            a
            for a in fixtures.authorizations
            if (a.authority, a.principal) == (authority, principal)
        ]
        assert sorted(a.name for a in matching) == sorted(re.findall(r"`([\w-]+)`", auth_cell))
        stores = set(re.findall(r"`([^`]+)`", stores_cell))
        assert stores == {s for a in matching for s in a.allowed_cluster_secret_stores}
        assert _generator_triples(gens_cell) == {
            (g.namespace, g.kind, g.name) for a in matching for g in a.allowed_generators
        }
        assert set(re.findall(r"`([\w-]+)`", states_cell)) == {
            s for a in matching for s in a.allowed_generator_states
        }
    every_sa = {
        (name, sa.namespace, sa.name)
        for name, spec in fixtures.fake_clusters.items()
        for sa in spec.service_accounts
    }
    assert listed_sas == every_sa


def test_fixture_scenarios_the_issues_ask_for(fixtures: ManifestSet) -> None:
    by_name = {a.name: a for a in fixtures.authorizations}
    worker = [a for a in fixtures.authorizations if a.principal.endswith(":team-a:worker")]
    assert len(worker) == 2
    assert worker[0].allowed_cluster_secret_stores != worker[1].allowed_cluster_secret_stores
    assert "Prod" in by_name["alpha-auditor-case-trap"].allowed_cluster_secret_stores
    assert "prod" in fixtures.cluster_secret_stores and "Prod" not in fixtures.cluster_secret_stores
    assert any(a.allowed_generator_states for a in fixtures.authorizations)
    spiffe = [a for a in fixtures.authorizations if a.spiffe_id]
    assert len(spiffe) == 1
    assert re.fullmatch(
        r"spiffe://example\.org/[\w-]+/ns/[\w-]+/sa/[\w-]+/[\w-]+/pod/[\w-]+/[\w-]+",
        spiffe[0].spiffe_id or "",
    )
    allowed_kinds = {g.kind for a in fixtures.authorizations for g in a.allowed_generators}
    assert {"Fake", "Password", "UUID", "SSHKey", "MFA", "ClusterGenerator"} <= allowed_kinds
    # Every allow-listed generator exists, except the deliberate traps named in the README.
    traps = {("team-a", "Password", "missing"), ("team-b", "uuid", "uuid")}
    for a in fixtures.authorizations:
        for g in a.allowed_generators:
            key = (g.namespace, g.kind, g.name)
            exists = key in fixtures.generators or (
                g.kind == "ClusterGenerator" and g.name in fixtures.cluster_generators
            )
            assert exists or key in traps, key


def test_fixture_store_keys_and_tricky_values(fixtures: ManifestSet) -> None:
    app = fixtures.cluster_secret_stores["app-store"]
    readme_keys = [
        (r[0].strip("`"), r[1].strip("`"))
        for r in table_rows(r"`[\w/-]+`$")
        if len(r) == 3 and r[0] != "`key`"
    ]
    assert readme_keys == [(e.key, e.version) for e in app.data]
    values = {(e.key, e.version): e.value for e in app.data}
    assert values[("quotes", "")] == 'she said "hi" and it\'s fine'
    assert "<" in values[("html", "")] and "&" in values[("html", "")]
    assert "\u2028" in values[("unicode", "")] and "\u2029" in values[("unicode", "")]
    assert values[("json", "")].startswith("{") and '"nested":{' in values[("json", "")]
    assert values[("empty", "")] == ""
    assert values[("trailing-newline", "")] == "ends with a newline\n"
    assert values[("db/password", "")] == "c0rrect/h0rse:battery@staple"
    assert values[("versioned", "v1")] == "first version"
    assert values[("json-quoted", "")] == '"quoted"'
    assert [values[(k, "")] for k in ("json-number", "json-null", "json-true")] == [
        "42",
        "null",
        "true",
    ]
    assert values[("padded", "")] == "  padded  "
    assert values[("newline-end", "")] == "value\n"
    assert values[("newline-lead", "")] == "\nlead"
    assert set(fixtures.cluster_secret_stores) == {
        "app-store",
        "prod",
        "staging",
        "other-store",
        "app",
        "app-store-2",
        "store",
    }


def test_fixture_generators_match_the_readme(fixtures: ManifestSet) -> None:
    rows = table_rows(r"([\w-]+|\(cluster\))$")
    listed = {
        (r[0], r[1], r[2])
        for r in rows
        if len(r) == 5 and r[0] != "namespace" and not r[0].startswith("-")
    }
    actual = {k for k in fixtures.generators} | {
        ("(cluster)", "ClusterGenerator", n) for n in fixtures.cluster_generators
    }
    assert listed == actual
    kinds = {type(g).__name__ + ":" + k for (_, k, _), g in fixtures.generators.items()}
    assert kinds == {
        "Generator:Fake",
        "Generator:Password",
        "Generator:UUID",
        "Generator:SSHKey",
        "Generator:MFA",
        "UnsupportedGenerator:Federation",
        "UnsupportedGenerator:ECRAuthorizationToken",
    }
    ssh_types = {
        g.spec.get("keyType")
        for g in fixtures.generators.values()
        if isinstance(g, Generator) and g.kind == "SSHKey"
    }
    assert ssh_types == {"rsa", "ed25519"}
    passwords = [
        g.spec
        for (ns, k, _), g in fixtures.generators.items()
        if k == "Password" and ns == "team-a"
    ]
    assert {} in passwords and any(len(p) > 3 for p in passwords)
    assert fixtures.cluster_generators["cluster-password"].kind == "Password"
    mfa = fixtures.generators[("team-a", "MFA", "mfa")]
    assert isinstance(mfa, Generator)
    seed = fixtures.secrets[("team-a", mfa.spec["secret"]["name"])]
    assert seed.data[mfa.spec["secret"]["key"]] == b"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
