"""The one table of generator kinds, shared by the manifest loader and the generator backend.

It is the scheme of `generators.external-secrets.io/v1alpha1` at the ESO the real server links
(external-secrets/external-secrets 5fe21b5c55ca: `apis/generators/v1alpha1/register.go` for the
kinds, `types_cluster.go` for the `GeneratorSpec` members a ClusterGenerator may hold). A kind
added upstream gets one row here; docs/contributing.md has the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass

GENERATOR_GROUP = "generators.external-secrets.io"
GENERATOR_GROUP_VERSION = f"{GENERATOR_GROUP}/v1alpha1"


@dataclass(frozen=True)
class GeneratorKind:
    """One kind of the scheme: its plural resource, its ClusterGenerator member (if it may be
    wrapped in one) and whether the mock runs it."""

    kind: str
    plural: str
    cluster_member: str | None = None
    runs_in_mock: bool = False

    @property
    def go_field(self) -> str:
        """The Go field of `GeneratorSpec` that ESO's error names (`<Kind>Spec`)."""
        return f"{self.kind}Spec"


GENERATOR_KINDS: dict[str, GeneratorKind] = {
    k.kind: k
    for k in (
        GeneratorKind("ACRAccessToken", "acraccesstokens", "acrAccessTokenSpec"),
        GeneratorKind(
            "CloudsmithAccessToken", "cloudsmithaccesstokens", "cloudsmithAccessTokenSpec"
        ),
        GeneratorKind("ClusterGenerator", "clustergenerators"),
        GeneratorKind(
            "ECRAuthorizationToken", "ecrauthorizationtokens", "ecrAuthorizationTokenSpec"
        ),
        GeneratorKind("Fake", "fakes", "fakeSpec", runs_in_mock=True),
        GeneratorKind("GCRAccessToken", "gcraccesstokens", "gcrAccessTokenSpec"),
        GeneratorKind("GeneratorState", "generatorstates"),
        GeneratorKind("GithubAccessToken", "githubaccesstokens", "githubAccessTokenSpec"),
        GeneratorKind("Grafana", "grafanas", "grafanaSpec"),
        GeneratorKind("MFA", "mfas", "mfaSpec", runs_in_mock=True),
        GeneratorKind("Password", "passwords", "passwordSpec", runs_in_mock=True),
        GeneratorKind("QuayAccessToken", "quayaccesstokens", "quayAccessTokenSpec"),
        GeneratorKind("SSHKey", "sshkeys", "sshKeySpec", runs_in_mock=True),
        GeneratorKind("STSSessionToken", "stssessiontokens", "stsSessionTokenSpec"),
        GeneratorKind("UUID", "uuids", "uuidSpec", runs_in_mock=True),
        GeneratorKind("VaultDynamicSecret", "vaultdynamicsecrets", "vaultDynamicSecretSpec"),
        GeneratorKind("Webhook", "webhooks", "webhookSpec"),
    )
}

SUPPORTED_KINDS = ("Fake", "Password", "UUID", "SSHKey", "MFA")
"""The kinds the mock runs, in the order its docs list them."""
assert {k for k, v in GENERATOR_KINDS.items() if v.runs_in_mock} == set(SUPPORTED_KINDS)

GENERATOR_PLURALS = {k: v.plural for k, v in GENERATOR_KINDS.items()}
"""kind → plural resource (the CRD names)."""

CLUSTER_SPEC_FIELDS = {
    k: (v.cluster_member, v.go_field)
    for k, v in GENERATOR_KINDS.items()
    if v.cluster_member is not None
}
"""ClusterGenerator `spec.kind` → (JSON member of `spec.generator`, Go field named in errors)."""
