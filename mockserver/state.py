"""The state folder: `connection.json`, kept keys and CAs, and projected service-account volumes.

Clients find everything through `connection.json` (written atomically once the mock is ready).
Projected volumes follow the kubelet's AtomicWriter layout, so a client that re-reads its token
file, as it must in a real pod, sees refreshed tokens appear atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from mockserver.cluster.kubelet import timestamp_dir
from mockserver.files import write_private_file

__all__ = ["StateDir", "write_private_file", "write_projected_volume"]

SCHEMA_VERSION = 1
CONNECTION_FILE = "connection.json"


class StateDir:
    """Paths inside one mock's state folder."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        if root is None:
            root = tempfile.mkdtemp(prefix="esi-mock-")
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def connection_file(self) -> Path:
        return self.root / CONNECTION_FILE

    def cluster_dir(self, cluster: str) -> Path:
        return self.root / "clusters" / cluster

    def cluster_ca_file(self, cluster: str) -> Path:
        return self.cluster_dir(cluster) / "ca.crt"

    def volume_dir(self, cluster: str, namespace: str, name: str) -> Path:
        return self.cluster_dir(cluster) / "serviceaccounts" / namespace / name

    @property
    def server_dir(self) -> Path:
        return self.root / "server"

    @property
    def spiffe_dir(self) -> Path:
        return self.root / "spiffe"

    def write_connection(self, document: dict[str, Any]) -> None:
        body = {"schema_version": SCHEMA_VERSION, **document}
        write_private_file(
            self.connection_file,
            (json.dumps(body, indent=2, sort_keys=True) + "\n").encode(),
            0o644,
        )

    def read_connection(self) -> dict[str, Any]:
        try:
            return json.loads(self.connection_file.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{self.connection_file} does not exist: is `esi-mock serve --state-dir "
                f"{self.root}` running, or was it started with another state folder?"
            ) from None


def write_projected_volume(folder: Path, files: dict[str, bytes], now: float) -> None:
    """Swap in new files the way the kubelet's AtomicWriter does.

    A new hidden timestamped folder is written, `..data` is re-pointed at it through
    `..data_tmp` (an atomic rename), and user-visible names are symlinks into `..data/`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    payload = timestamp_dir(folder, now)
    for name, data in files.items():
        target = payload / name
        target.write_bytes(data)
        os.chmod(target, 0o644)
    data_link = folder / "..data"
    previous = os.readlink(data_link) if data_link.is_symlink() else None
    tmp_link = folder / "..data_tmp"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(payload.name)
    os.replace(tmp_link, data_link)
    for name in files:
        visible = folder / name
        if not visible.is_symlink():
            visible.unlink(missing_ok=True)
            visible.symlink_to(Path("..data") / name)
    if previous and previous != payload.name:
        old = folder / previous
        for child in old.iterdir():
            child.unlink()
        old.rmdir()
