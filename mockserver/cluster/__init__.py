"""One fake Kubernetes cluster: service accounts, pods, signing keys, minting, HTTPS discovery.

A Federation Server verifies workload tokens by fetching the issuing cluster's discovery document
and JWKS over HTTPS, with the caller's token as bearer and the caller's `ca.crt` as trust. This
package plays that cluster: it mints tokens as kube-apiserver does and serves the two discovery
endpoints with kube-apiserver's access rules (a default cluster lets any service account `get`
them and refuses anonymous callers). A public-issuer cluster (`public_issuer`) serves them to
anyone and ignores the bearer, as the public OIDC issuers of EKS, GKE and AKS do.
"""

from mockserver.cluster.app import FaultHook
from mockserver.cluster.core import DEFAULT_ISSUER, FakeCluster
from mockserver.cluster.minting import KEY_SELECTION_KINDS
from mockserver.cluster.objects import Node, Pod, ServiceAccount, TokenReviewError, UserInfo
from mockserver.cluster.review import LEEWAY
from mockserver.cluster.status import (
    NOT_FOUND_BODY,
    UNAUTHORIZED_BODY,
    forbidden_body,
    status_body,
)

__all__ = [
    "DEFAULT_ISSUER",
    "KEY_SELECTION_KINDS",
    "LEEWAY",
    "NOT_FOUND_BODY",
    "UNAUTHORIZED_BODY",
    "FakeCluster",
    "FaultHook",
    "Node",
    "Pod",
    "ServiceAccount",
    "TokenReviewError",
    "UserInfo",
    "forbidden_body",
    "status_body",
]
