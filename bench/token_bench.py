"""Tokens minted per second by a fake cluster, against raw PyJWT signing (goal ≥ 80 %)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import jwt

from mockserver.cluster import FakeCluster, ServiceAccount

GOAL_RATIO = 0.8
SECONDS = 1.5


def rate(action: Callable[[], object], seconds: float = SECONDS) -> float:
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for _ in range(20):
            action()
        count += 20
    return count / (time.perf_counter() - started)


def run() -> Iterator[tuple[str, bool]]:
    cluster = FakeCluster("bench", service_accounts=[ServiceAccount("ns", "sa")])
    key = cluster.signing_key
    claims = {
        "aud": [cluster.issuer],
        "exp": 2_000_000_000,
        "iat": 1_700_000_000,
        "iss": cluster.issuer,
        "jti": "00000000-0000-4000-8000-000000000000",
        "kubernetes.io": {"namespace": "ns", "serviceaccount": {"name": "sa", "uid": "u"}},
        "nbf": 1_700_000_000,
        "sub": "system:serviceaccount:ns:sa",
    }
    headers = {"kid": key.kid, "typ": None}

    def raw() -> str:
        return jwt.encode(claims, key.private_key, "RS256", headers=headers)

    def minted() -> str:
        return cluster.mint("ns/sa")

    raw()
    minted()
    raw_rate, mint_rate = rate(raw), rate(minted)
    ratio = mint_rate / raw_rate
    yield (
        f"tokens minted: {mint_rate:,.0f}/s vs raw PyJWT {raw_rate:,.0f}/s = {ratio:.0%} "
        f"(goal ≥ {GOAL_RATIO:.0%})",
        ratio >= GOAL_RATIO,
    )
