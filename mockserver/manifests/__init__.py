"""Manifests: multi-document YAML in, validated typed objects out, errors with file and field.

Typical use::

    docs = read_documents(fixtures_dir)
    clusters = fake_cluster_specs(docs)          # start them, learn their URLs
    docs = substitute(docs, {"clusters.alpha.url": "https://127.0.0.1:4431"})
    manifests = build_model(docs)
"""

from .build import build_document, build_model, fake_cluster_specs, known_kinds_text
from .documents import Document, parse_documents, read_documents
from .errors import ManifestError
from .model import (
    DEFAULT_ISSUER,
    GENERATORS_API_VERSION,
    AllowedGenerator,
    Authorization,
    ClusterGenerator,
    ClusterSecretStore,
    FakeClusterSpec,
    FakeSecretEntry,
    FederationRef,
    Generator,
    KubernetesFederation,
    ManifestSet,
    OidcSubject,
    OktaFederation,
    PingIdentityFederation,
    PodSpec,
    Secret,
    ServiceAccountSpec,
    SpiffeFederation,
    UnsupportedGenerator,
)
from .substitution import substitute

__all__ = [
    "DEFAULT_ISSUER",
    "GENERATORS_API_VERSION",
    "AllowedGenerator",
    "Authorization",
    "ClusterGenerator",
    "ClusterSecretStore",
    "Document",
    "FakeClusterSpec",
    "FakeSecretEntry",
    "FederationRef",
    "Generator",
    "KubernetesFederation",
    "ManifestError",
    "ManifestSet",
    "OidcSubject",
    "OktaFederation",
    "PingIdentityFederation",
    "PodSpec",
    "Secret",
    "ServiceAccountSpec",
    "SpiffeFederation",
    "UnsupportedGenerator",
    "build_document",
    "build_model",
    "fake_cluster_specs",
    "known_kinds_text",
    "parse_documents",
    "read_documents",
    "substitute",
]
