"""The objects a fake cluster holds, and what a review of a valid token reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ServiceAccount:
    namespace: str
    name: str
    uid: str = ""


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    uid: str = ""
    service_account: str = "default"
    node: str | None = None


@dataclass(frozen=True)
class Node:
    name: str
    uid: str = ""


@dataclass(frozen=True)
class UserInfo:
    """What a TokenReview of a valid token reports (A.5), plus the verified claims."""

    username: str
    uid: str
    groups: tuple[str, ...]
    extra: dict[str, tuple[str, ...]]
    namespace: str
    service_account: str
    pod: Pod | None = None
    node: Node | None = None
    legacy: bool = False
    claims: dict[str, Any] = field(default_factory=dict)


class TokenReviewError(Exception):
    """The token is not valid for this cluster; the message is kube-apiserver's where it has one."""


def split_ref(ref: str, default_namespace: str | None = None) -> tuple[str, str]:
    """ "ns/name" → (ns, name); a bare name takes `default_namespace` when one is given."""
    if "/" in ref:
        namespace, _, name = ref.partition("/")
        return namespace, name
    if default_namespace is None:
        raise ValueError(f"expected 'namespace/name', got {ref!r}")
    return default_namespace, ref
