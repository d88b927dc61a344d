"""Projected service-account volumes as the kubelet makes them.

- The token is requested as the kubelet requests it (pkg/kubelet/token): bound to the pod that
  mounts it, 3607 s, no audience. kube-apiserver (`--service-account-extend-token-expiration`,
  on by default) then sets `warnafter` to the requested expiry and extends `exp` by a year.
- The files are swapped by AtomicWriter (pkg/volume/util/atomic_writer.go): a folder made by
  Go's `os.MkdirTemp(dir, "..2006_01_02_15_04_05.")`, UTC time plus MkdirTemp's random decimal
  digits (a uint32), which `..data` points at.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from mockserver.cluster.objects import Pod, ServiceAccount
from mockserver.tokens import WARN_ONLY_DURATION

KUBELET_TOKEN_SECONDS = WARN_ONLY_DURATION
"""The expirationSeconds of the kubelet's default projected token (1 h + 7 s)."""


class Minting(Protocol):
    @property
    def pods(self) -> list[Pod]: ...
    def mint(self, sa: str, *, duration: int, pod: str | None) -> str: ...


def mounting_pod(cluster: Minting, sa: ServiceAccount) -> Pod | None:
    """The pod whose volume holds `sa`'s token: the first, by name, running as it."""
    pods = [p for p in cluster.pods if (p.namespace, p.service_account) == (sa.namespace, sa.name)]
    return min(pods, key=lambda p: p.name, default=None)


def kubelet_token(cluster: Minting, sa: ServiceAccount) -> str:
    """The token the kubelet writes for `sa`: bound to its pod when one runs as it."""
    pod = mounting_pod(cluster, sa)
    return cluster.mint(
        f"{sa.namespace}/{sa.name}",
        duration=KUBELET_TOKEN_SECONDS,
        pod=pod.name if pod is not None else None,
    )


def timestamp_dir(folder: Path, now: float) -> Path:
    """Create `..YYYY_MM_DD_HH_MM_SS.<digits>` in `folder` as MkdirTemp does (mode 0755)."""
    stamp = datetime.fromtimestamp(now, UTC).strftime("..%Y_%m_%d_%H_%M_%S.")
    while True:
        candidate = folder / f"{stamp}{secrets.randbelow(1 << 32)}"
        try:
            candidate.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(candidate, 0o755)
        return candidate
