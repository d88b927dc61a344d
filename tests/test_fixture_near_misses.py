"""The default fixtures hold near misses that exist: stores, generators, namespaces and a service
account whose names are a prefix, an extension or a suffix of what alpha-web may reach, which no
Authorization allows (fixtures/README.md, "Near misses"; scenarios/nearmiss/existing-names.yaml).
If one were renamed, allowed or removed, the scenarios asking for it would stop proving that a
server compares names exactly."""

from __future__ import annotations

import pytest

from mockserver.manifests import ManifestSet, build_model, read_documents, substitute
from mockserver.paths import default_fixtures_dir

WEB = "system:serviceaccount:team-a:web"


@pytest.fixture(scope="module")
def fixtures() -> ManifestSet:
    docs = read_documents(default_fixtures_dir())
    names = ("alpha", "beta", "gamma", "delta", "epsilon")
    urls = {f"clusters.{n}.url": f"https://127.0.0.1:{4431 + i}" for i, n in enumerate(names)}
    return build_model(substitute(docs, urls))


def _relation(allowed: str, near: str) -> str:
    if allowed.startswith(near):
        return "prefix"
    if near.startswith(allowed):
        return "extension"
    assert allowed.endswith(near), (allowed, near)
    return "suffix"


def test_near_miss_stores_exist_and_nobody_may_read_them(fixtures: ManifestSet) -> None:
    allowed = {s for a in fixtures.authorizations for s in a.allowed_cluster_secret_stores}
    near = {"app": "prefix", "app-store-2": "extension", "store": "suffix"}
    for name, relation in near.items():
        assert name in fixtures.cluster_secret_stores and name not in allowed
        assert [e.key for e in fixtures.cluster_secret_stores[name].data] == ["plain"]
        assert _relation("app-store", name) == relation


def test_near_miss_generators_exist_and_nobody_may_run_them(fixtures: ManifestSet) -> None:
    allowed = {
        (g.namespace, g.kind, g.name) for a in fixtures.authorizations for g in a.allowed_generators
    }
    assert ("team-a", "UUID", "uuid") in allowed
    near = {
        ("team-a", "UUID", "uu"): ("name", "prefix"),
        ("team-a", "UUID", "uuid-2"): ("name", "extension"),
        ("team-a", "UUID", "id"): ("name", "suffix"),
        ("team", "UUID", "uuid"): ("namespace", "prefix"),
        ("team-a-2", "UUID", "uuid"): ("namespace", "extension"),
        ("a", "UUID", "uuid"): ("namespace", "suffix"),
    }
    for triple, (part, relation) in near.items():
        assert triple in fixtures.generators and triple not in allowed
        namespace, _, name = triple
        if part == "name":
            assert _relation("uuid", name) == relation
        else:
            assert _relation("team-a", namespace) == relation


def test_near_miss_subjects_exist_and_no_authorization_names_them(fixtures: ManifestSet) -> None:
    alpha = fixtures.fake_clusters["alpha"]
    accounts = {(s.namespace, s.name) for s in alpha.service_accounts}
    principals = {a.principal for a in fixtures.authorizations}
    for name, relation in (("we", "prefix"), ("webhook", "extension")):
        subject = f"system:serviceaccount:team-a:{name}"
        assert ("team-a", name) in accounts and subject not in principals
        assert _relation(WEB, subject) == relation
