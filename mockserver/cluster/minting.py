"""TokenRequest as kube-apiserver answers it: who the token is for, what it binds, its bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from mockserver.cluster.inventory import Inventory
from mockserver.cluster.objects import Node, Pod, ServiceAccount, split_ref
from mockserver.keys import SigningKey
from mockserver.tokens import (
    TokenRequestError,
    mint_broken_token,
    mint_legacy_token,
    mint_token,
    validate_duration,
)

_SECRET_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

KEY_SELECTION_KINDS: dict[str, str] = {
    "other-key-kid": "is signed by the signing key, but its kid names another published key of "
    "the same type",
    "other-type-kid": "is signed by the signing key, but its kid names a published key of "
    "another type (an EC key for an RSA signer)",
    "retired-key": "is signed by the key the cluster retired last, under that key's kid",
}
"""Broken tokens that need the cluster's other keys, so only a cluster can mint them. They tell a
verifier's own key selection apart once the cluster stops judging forwarded tokens (a public
issuer): each must be refused, yet a verifier that ignores the kid accepts the first two."""


def key_selection_keys(
    kind: str, signing: SigningKey, published: Sequence[SigningKey], retired: Sequence[SigningKey]
) -> tuple[SigningKey, SigningKey]:
    """(the key that signs, the key whose kid the header names) for one of
    `KEY_SELECTION_KINDS`, or TokenRequestError naming what the cluster lacks for it."""
    if kind == "retired-key":
        if not retired:
            raise TokenRequestError(
                "retired-key needs a retired key: rotate with retire_old first", code=400
            )
        return retired[-1], retired[-1]
    same = kind == "other-key-kid"
    others = [
        k for k in published if k.kid != signing.kid and (k.key_type == signing.key_type) == same
    ]
    if not others:
        what = "another" if same else "a"
        kind_of = signing.key_type if same else f"non-{signing.key_type}"
        raise TokenRequestError(f"{kind} needs {what} published {kind_of} key", code=400)
    return signing, others[0]


def resolve_binding(
    inventory: Inventory, sa: str, pod: str | None, node: str | None
) -> tuple[ServiceAccount, Pod | None, Node | None]:
    """The service account and bound objects of a TokenRequest, or kube's refusal."""
    namespace, name = split_ref(sa)
    account = inventory.service_account(namespace, name)
    if account is None:
        raise TokenRequestError(f'serviceaccounts "{name}" not found', code=404, reason="NotFound")
    bound_pod = bound_node = None
    if pod is not None and node is not None:
        raise TokenRequestError(
            "a token binds to one object: give a pod or a node, not both",
            code=400,
            reason="BadRequest",
        )
    if pod is not None:
        pod_ns, pod_name = split_ref(pod, namespace)
        bound_pod = inventory.pod(pod_ns, pod_name)
        if bound_pod is None or pod_ns != namespace:
            raise TokenRequestError(f'pods "{pod_name}" not found', code=404, reason="NotFound")
        if bound_pod.service_account != name:
            raise TokenRequestError(
                f'cannot bind token for serviceaccount "{name}" to pod running with '
                "different serviceaccount name.",
                code=400,
                reason="BadRequest",
            )
        if bound_pod.node is not None:
            bound_node = inventory.node(bound_pod.node) or Node(bound_pod.node)
    elif node is not None:
        bound_node = inventory.add_node(node)
    return account, bound_pod, bound_node


def legacy_secret_name(cluster_name: str, sa: ServiceAccount) -> str:
    """`<sa>-token-<5 chars>`, deterministic, in the alphabet Kubernetes uses for suffixes."""
    digest = hashlib.sha256(f"{cluster_name}/{sa.namespace}/{sa.name}".encode()).digest()
    suffix = "".join(_SECRET_SUFFIX_ALPHABET[b % len(_SECRET_SUFFIX_ALPHABET)] for b in digest[:5])
    return f"{sa.name}-token-{suffix}"


def mint_for(
    key: SigningKey,
    account: ServiceAccount,
    *,
    issuer: str,
    api_audiences: list[str],
    secret_name: str | None,
    audiences: Sequence[str] | None,
    duration: int,
    now: float,
    pod: Pod | None,
    node: Node | None,
    broken: str | None,
    published: Sequence[SigningKey] = (),
    retired: Sequence[SigningKey] = (),
) -> str:
    """The token bytes: legacy when `secret_name` is given, else bound (or deliberately broken;
    `published` and `retired` are the cluster's keys, for `KEY_SELECTION_KINDS`)."""
    if secret_name is not None:
        return mint_legacy_token(
            key,
            namespace=account.namespace,
            sa_name=account.name,
            sa_uid=account.uid,
            secret_name=secret_name,
        )
    common: dict[str, Any] = {
        "issuer": issuer,
        "namespace": account.namespace,
        "sa_name": account.name,
        "sa_uid": account.uid,
        "audiences": audiences,
        "now": now,
        "pod": pod,
        "node": node,
        "api_audiences": api_audiences,
    }
    if broken in KEY_SELECTION_KINDS:
        validate_duration(duration)
        signer, named = key_selection_keys(broken, key, published, retired)
        if named is signer:
            return mint_token(signer, duration=duration, **common)
        # "unknown-kid" names the kid of `other_key`: here a key the cluster does publish.
        return mint_broken_token("unknown-kid", signer, other_key=named, **common)
    if broken is not None:
        validate_duration(duration)
        return mint_broken_token(broken, key, **common)
    return mint_token(key, duration=duration, **common)
