"""TokenReview as kube-apiserver's service-account authenticator does it, with its messages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from mockserver.clock import Clock
from mockserver.cluster.inventory import Inventory
from mockserver.cluster.keyring import KeyRing
from mockserver.cluster.objects import Node, Pod, ServiceAccount, TokenReviewError, UserInfo
from mockserver.tokens import LEGACY_ISSUER, decode_unverified, verify_signature

LEEWAY = 60
"""go-jose's default leeway, which kube-apiserver applies to exp, nbf and iat."""


class Reviewed(Protocol):
    """What a review reads of its cluster (the cluster itself, without importing it)."""

    @property
    def issuer(self) -> str: ...
    @property
    def api_audiences(self) -> list[str]: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def inventory(self) -> Inventory: ...
    @property
    def keyring(self) -> KeyRing: ...


def review_token(
    cluster: Reviewed,
    token: str,
    audiences: Sequence[str] | None = None,
    *,
    check_audience: bool = True,
) -> UserInfo:
    """Authenticate `token` as the cluster's apiserver would, against `audiences` (default: the
    API audiences); raise TokenReviewError with kube's message otherwise. `check_audience=False`
    asks only whether the cluster still honours the credential (key, objects, times)."""
    if token.startswith("{") or token.count(".") != 2:
        raise TokenReviewError("not a service account token")
    try:
        header, claims, signing_input, signature = decode_unverified(token)
    except ValueError as exc:
        raise TokenReviewError(f"token could not be parsed: {exc}") from None
    issuer = claims.get("iss")
    if issuer not in (cluster.issuer, LEGACY_ISSUER):
        raise TokenReviewError("token issued by another issuer")
    kid, alg = header.get("kid"), header.get("alg")
    if not isinstance(alg, str) or not isinstance(kid, str | type(None)):
        raise TokenReviewError("token could not be parsed")
    # No kid (or the empty kid of pre-1.17 legacy tokens): every key is tried.
    keys = cluster.keyring.matching(kid)
    if not keys:
        raise TokenReviewError("invalid signature, no keys found")
    if not any(verify_signature(k, alg, signing_input, signature) for k in keys):
        raise TokenReviewError("invalid signature")
    if check_audience:
        _check_audiences(cluster, issuer, claims, audiences)
    if issuer == LEGACY_ISSUER:
        return _review_legacy(cluster.inventory, claims)
    _check_times(cluster.clock, claims)
    return _review_bound(cluster.inventory, claims)


def _check_audiences(
    cluster: Reviewed, issuer: str, claims: dict[str, Any], audiences: Sequence[str] | None
) -> None:
    wanted = list(audiences) if audiences else cluster.api_audiences
    token_auds = claims.get("aud")
    token_auds = [token_auds] if isinstance(token_auds, str) else list(token_auds or [])
    if issuer == LEGACY_ISSUER:
        # A legacy token's implicit audiences are the apiserver's own.
        token_auds = cluster.api_audiences
    if not set(token_auds) & set(wanted):
        raise TokenReviewError(
            f"token audiences {_go_quote(token_auds)} is invalid for the target audiences "
            f"{_go_quote(wanted)}"
        )


def _check_times(clock: Clock, claims: dict[str, Any]) -> None:
    now = clock.now()
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if isinstance(exp, int | float) and now - LEEWAY > exp:
        raise TokenReviewError("service account token has expired")
    if isinstance(nbf, int | float) and now + LEEWAY < nbf:
        raise TokenReviewError("service account token is not valid yet")
    if isinstance(iat, int | float) and now + LEEWAY < iat:
        raise TokenReviewError("service account token is issued in the future")


def _review_bound(inventory: Inventory, claims: dict[str, Any]) -> UserInfo:
    private = claims.get("kubernetes.io") or {}
    namespace = private.get("namespace", "")
    sa_ref = private.get("serviceaccount") or {}
    account = inventory.service_account(namespace, sa_ref.get("name", ""))
    if account is None:
        raise TokenReviewError(f'serviceaccounts "{sa_ref.get("name", "")}" not found')
    if account.uid != sa_ref.get("uid"):
        raise TokenReviewError(
            f"service account UID ({account.uid}) does not match claim ({sa_ref.get('uid')})"
        )
    pod: Pod | None = None
    node: Node | None = None
    extra: dict[str, tuple[str, ...]] = {}
    if "pod" in private:
        pod = inventory.pod(namespace, private["pod"].get("name", ""))
        if pod is None:
            raise TokenReviewError("service account token has been invalidated")
        if pod.uid != private["pod"].get("uid"):
            raise TokenReviewError(
                f"pod UID ({pod.uid}) does not match service account pod ref claim "
                f"({private['pod'].get('uid')})"
            )
        extra["authentication.kubernetes.io/pod-name"] = (pod.name,)
        extra["authentication.kubernetes.io/pod-uid"] = (pod.uid,)
    if "node" in private:
        node = inventory.node(private["node"].get("name", ""))
        if node is None and pod is None:
            raise TokenReviewError("service account token has been invalidated")
        if node is not None:
            ref_uid = private["node"].get("uid")
            if pod is None and ref_uid != node.uid:
                raise TokenReviewError(
                    f"node UID ({node.uid}) does not match service account node ref claim "
                    f"({ref_uid})"
                )
            extra["authentication.kubernetes.io/node-name"] = (node.name,)
            if ref_uid:
                extra["authentication.kubernetes.io/node-uid"] = (ref_uid,)
    if claims.get("jti"):
        extra["authentication.kubernetes.io/credential-id"] = (f"JTI={claims['jti']}",)
    return _user(account, extra, claims, pod=pod, node=node)


def _review_legacy(inventory: Inventory, claims: dict[str, Any]) -> UserInfo:
    prefix = "kubernetes.io/serviceaccount/"
    if not claims.get("sub"):
        raise TokenReviewError("sub claim is missing")
    for claim in ("namespace", "secret.name", "service-account.name", "service-account.uid"):
        if not claims.get(prefix + claim):
            raise TokenReviewError(f"{prefix}{claim} claim is missing")
    namespace = claims[prefix + "namespace"]
    name = claims[prefix + "service-account.name"]
    if claims["sub"] != f"system:serviceaccount:{namespace}:{name}":
        raise TokenReviewError("sub claim is invalid")
    if not inventory.secret_exists(namespace, claims[prefix + "secret.name"]):
        # legacy.go: the Secret holding the token is gone, so the token is too.
        raise TokenReviewError("token has been invalidated")
    account = inventory.service_account(namespace, name)
    if account is None:
        raise TokenReviewError(f'serviceaccounts "{name}" not found')
    uid = claims[prefix + "service-account.uid"]
    if account.uid != uid:
        raise TokenReviewError(f"service account UID ({account.uid}) does not match claim ({uid})")
    return _user(account, {}, claims, legacy=True)


def _user(
    account: ServiceAccount,
    extra: dict[str, tuple[str, ...]],
    claims: dict[str, Any],
    pod: Pod | None = None,
    node: Node | None = None,
    legacy: bool = False,
) -> UserInfo:
    return UserInfo(
        username=f"system:serviceaccount:{account.namespace}:{account.name}",
        uid=account.uid,
        groups=(
            "system:serviceaccounts",
            f"system:serviceaccounts:{account.namespace}",
            "system:authenticated",
        ),
        extra=extra,
        namespace=account.namespace,
        service_account=account.name,
        pod=pod,
        node=node,
        legacy=legacy,
        claims=claims,
    )


def _go_quote(values: Sequence[str]) -> str:
    """Go's %q of a []string: ["a" "b"]."""
    return "[" + " ".join(json.dumps(v) for v in values) + "]"
