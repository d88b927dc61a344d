"""Authorization matching through `authorize()` (docs/protocol.md §4.1): newest first, exact
and case-sensitive, each resource kind, and the exact near-miss text of every denial branch."""

from __future__ import annotations

import pytest

from mockserver.federation.authn import Identity
from mockserver.federation.authz import (
    GeneratorResource,
    GeneratorStatesResource,
    StoreResource,
    authorize,
)
from mockserver.federation.errors import Denied
from mockserver.manifests import Authorization, FederationRef, OidcSubject
from mockserver.manifests.model import AllowedGenerator

ISSUER = "https://kubernetes.default.svc"
WEB = "system:serviceaccount:team-a:web"


def oidc(name: str, issuer: str = ISSUER, subject: str = WEB, **allowed) -> Authorization:
    return Authorization(
        name,
        FederationRef("KubernetesFederation", "k"),
        OidcSubject(issuer, subject),
        None,
        **allowed,
    )


def spiffe(name: str, spiffe_id: str, **allowed) -> Authorization:
    return Authorization(name, FederationRef("SpiffeFederation", "s"), None, spiffe_id, **allowed)


def caller(issuer: str = ISSUER, subject: str = WEB) -> Identity:
    return Identity("oidc", issuer, subject, None)


def denial(auths, identity, resource) -> str:
    with pytest.raises(Denied) as caught:
        authorize(auths, identity, resource)
    assert (caught.value.status, caught.value.body) == (404, "Not Found")
    return caught.value.near_miss


def test_the_newest_granting_authorization_serves_the_request():
    older = oidc("older", allowed_cluster_secret_stores=("s",))
    newer = oidc("newer", allowed_cluster_secret_stores=("s", "t"))
    assert authorize([older, newer], caller(), StoreResource("s")) is newer
    assert authorize([newer, older], caller(), StoreResource("s")) is older
    assert authorize([older, newer], caller(), StoreResource("t")) is newer


def test_several_authorizations_act_as_a_union():
    stores = oidc("stores", allowed_cluster_secret_stores=("s",))
    gens = oidc("gens", allowed_generators=(AllowedGenerator("u", "UUID", "team-a"),))
    states = oidc("states", allowed_generator_states=("team-a",))
    auths = [stores, gens, states]
    assert authorize(auths, caller(), StoreResource("s")) is stores
    assert authorize(auths, caller(), GeneratorResource("team-a", "UUID", "u")) is gens
    assert authorize(auths, caller(), GeneratorStatesResource("team-a")) is states


def test_a_generator_must_match_namespace_kind_and_name():
    auths = [oidc("g", allowed_generators=(AllowedGenerator("u", "UUID", "team-a"),))]
    for resource, label in (
        (GeneratorResource("team-b", "UUID", "u"), "team-b/UUID/u"),
        (GeneratorResource("team-a", "Password", "u"), "team-a/Password/u"),
        (GeneratorResource("team-a", "UUID", "v"), "team-a/UUID/v"),
        (GeneratorResource("team-a", "uuid", "u"), "team-a/uuid/u"),
    ):
        assert denial(auths, caller(), resource) == (
            f"generator '{label}' is not listed by Authorization g "
            "(allowed: team-a/UUID/u); closest match is 'team-a/UUID/u'"
        )


def test_matching_is_exact_and_case_sensitive():
    auths = [oidc("a", allowed_cluster_secret_stores=("Store",))]
    assert denial(auths, caller(ISSUER.upper()), StoreResource("Store")) == (
        f"no Authorization names issuer {ISSUER.upper()!r}; closest is {ISSUER!r}"
    )
    assert denial(auths, caller(subject=WEB.upper()), StoreResource("Store")) == (
        f"no Authorization for issuer {ISSUER!r} names subject {WEB.upper()!r}; "
        f"closest subject is {WEB!r}"
    )
    assert denial(auths, caller(), StoreResource("store")) == (
        "ClusterSecretStore 'store' is not listed by Authorization a (allowed: Store); "
        "closest match is 'Store'"
    )


def test_an_issuer_nobody_names_is_a_near_miss_on_the_issuer():
    auths = [oidc("a", issuer="https://a.example"), oidc("b", issuer="https://zzz.example")]
    assert denial(auths, caller("https://a.example/"), StoreResource("s")) == (
        "no Authorization names issuer 'https://a.example/'; closest is 'https://a.example'"
    )
    assert denial([], caller(), StoreResource("s")) == f"no Authorization names issuer {ISSUER!r}"


def test_the_closest_subject_is_named_even_when_nothing_is_similar():
    auths = [oidc("a", subject="zz"), oidc("b", subject="system:serviceaccount:team-a:wed")]
    assert denial(auths, caller(), StoreResource("s")) == (
        f"no Authorization for issuer {ISSUER!r} names subject {WEB!r}; "
        "closest subject is 'system:serviceaccount:team-a:wed'"
    )
    assert denial([oidc("a", subject="q")], caller(), StoreResource("s")) == (
        f"no Authorization for issuer {ISSUER!r} names subject {WEB!r}; closest subject is 'q'"
    )


def test_a_subject_with_nothing_of_that_kind_says_so():
    auths = [oidc("a"), oidc("b", allowed_generator_states=("team-a",))]
    assert denial(auths, caller(), StoreResource("s")) == (
        f"Authorization b, a lists no ClusterSecretStore for subject {WEB!r}"
    )
    assert denial(auths, caller(), GeneratorResource("n", "K", "g")) == (
        f"Authorization b, a lists no generator for subject {WEB!r}"
    )
    assert denial([oidc("a")], caller(), GeneratorStatesResource("team-a")) == (
        f"Authorization a lists no GeneratorState namespace for subject {WEB!r}"
    )


def test_the_listed_resources_of_all_the_subjects_authorizations_are_offered():
    auths = [
        oidc("a", allowed_generator_states=("team-c", "team-a")),
        oidc("b", allowed_generator_states=("team-a", "team-b")),
        oidc("other", subject="someone", allowed_generator_states=("team-x",)),
    ]
    assert denial(auths, caller(), GeneratorStatesResource("team-d")) == (
        "GeneratorState namespace 'team-d' is not listed by Authorization b, a "
        "(allowed: team-a, team-b, team-c); closest match is 'team-c'"
    )
    assert denial(auths, caller(), StoreResource("zzzz")) == (
        f"Authorization b, a lists no ClusterSecretStore for subject {WEB!r}"
    )


def test_spiffe_authorizations_key_on_the_trust_domain_and_match_the_full_id():
    workload = "spiffe://example.org/ns/team-a/sa/web"
    auths = [spiffe("s", workload, allowed_cluster_secret_stores=("s",))]
    identity = Identity("spiffe", "example.org", workload, None)
    assert authorize(auths, identity, StoreResource("s")) is auths[0]
    other = Identity("spiffe", "example.org", workload + "x", None)
    assert denial(auths, other, StoreResource("s")) == (
        f"no Authorization for issuer 'example.org' names subject {workload + 'x'!r}; "
        f"closest subject is {workload!r}"
    )
