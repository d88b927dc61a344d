"""The state folder: `connection.json`, kept keys and CAs, and projected service-account volumes.

Clients find everything through `connection.json` (written atomically once the mock is ready).
Projected volumes follow the kubelet's AtomicWriter layout, so a client that re-reads its token
file, as it must in a real pod, sees refreshed tokens appear atomically.

Kept keys and CAs are checked before they are used: a file that exists but cannot be read or
parsed, a certificate without its key (or with a key that is not its own), a cluster whose kept
keys or CA have gone, are refused naming the file and the fix (`StateFolderError`), never
silently regenerated, since clients already trust what was there. A cluster the state folder
has never seen gets fresh keys.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mockserver.cluster.kubelet import timestamp_dir
from mockserver.files import write_private_file
from mockserver.keys import SigningKey
from mockserver.tls import CA_CERT_FILE, CA_KEY_FILE

__all__ = ["StateDir", "StateFolderError", "write_private_file", "write_projected_volume"]

SCHEMA_VERSION = 1
CONNECTION_FILE = "connection.json"


KEYS_INDEX = "index.json"
FIX = "delete the state folder (or start with another) or restore the file"


class StateFolderError(ValueError):
    """A state folder whose kept material cannot be used; names the file and the fix."""

    def __init__(self, root: Path, file: Path, problem: str) -> None:
        shown = file.relative_to(root) if file.is_relative_to(root) else file
        super().__init__(f"state folder {root}: cannot read {shown}: {problem}; {FIX}")
        self.file = file


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

    # -- checks before kept material is used ----------------------------------------------------

    def _refuse(self, file: Path, problem: str) -> StateFolderError:
        return StateFolderError(self.root, file, problem)

    def _read(self, file: Path) -> bytes:
        try:
            return file.read_bytes()
        except OSError as exc:
            raise self._refuse(file, exc.strerror or str(exc)) from None

    def check_authority(self, directory: Path) -> bool:
        """Whether a CA is kept in `directory` (False: none yet); refuses half or broken ones."""
        cert_file, key_file = directory / CA_CERT_FILE, directory / CA_KEY_FILE
        present = [f for f in (cert_file, key_file) if f.exists()]
        if not present:
            return False
        if len(present) == 1:
            missing = key_file if present[0] == cert_file else cert_file
            raise self._refuse(missing, f"missing ({present[0].name} is there)")
        try:
            certificate = x509.load_pem_x509_certificate(self._read(cert_file))
        except ValueError as exc:
            raise self._refuse(cert_file, f"not a PEM certificate ({exc})") from None
        try:
            key = serialization.load_pem_private_key(self._read(key_file), password=None)
        except (ValueError, TypeError) as exc:
            raise self._refuse(key_file, f"not a PEM private key ({exc})") from None
        raw = serialization.PublicFormat.SubjectPublicKeyInfo
        pem = serialization.Encoding.PEM
        if key.public_key().public_bytes(pem, raw) != certificate.public_key().public_bytes(
            pem, raw
        ):
            raise self._refuse(key_file, f"this key does not belong to {cert_file.name}")
        return True

    def check_keys(self, directory: Path) -> bool:
        """Whether signing keys are kept in `directory`; refuses a broken or partial set."""
        index_file = directory / KEYS_INDEX
        if not index_file.exists():
            if any(directory.glob("*.pem")):
                raise self._refuse(index_file, "missing (key files are there)")
            return False
        try:
            index = json.loads(self._read(index_file))
        except ValueError as exc:
            raise self._refuse(index_file, f"not JSON ({exc})") from None
        kids = index.get("keys") if isinstance(index, dict) else None
        if not isinstance(kids, list) or not kids or not all(isinstance(k, str) for k in kids):
            raise self._refuse(index_file, 'expected {"keys": [kid, ...], "signing": kid}')
        if index.get("signing") not in kids:
            raise self._refuse(index_file, f"signing kid {index.get('signing')!r} is not a key")
        for kid in kids:
            key_file = directory / f"{kid}.pem"
            try:
                key = SigningKey.from_pem(self._read(key_file))
            except (ValueError, TypeError) as exc:
                raise self._refuse(key_file, f"not a signing key ({exc})") from None
            if key.kid != kid:
                raise self._refuse(key_file, f"holds the key whose kid is {key.kid}")
        return True

    def check_cluster(self, cluster: str) -> None:
        """A cluster seen before must still have both its keys and its CA."""
        folder = self.cluster_dir(cluster)
        keys = self.check_keys(folder / "keys")
        ca = self.check_authority(folder / "ca")
        if not (keys or ca or self.cluster_ca_file(cluster).exists()):
            return  # new to this state folder: fresh keys and CA
        if not keys:
            raise self._refuse(folder / "keys" / KEYS_INDEX, "missing (the cluster ran before)")
        if not ca:
            raise self._refuse(folder / "ca" / CA_KEY_FILE, "missing (the cluster ran before)")

    def check_server_authority(self, directory: Path, public_copy: Path) -> bool:
        """Like `check_authority`, also refusing a CA whose public copy outlived it."""
        kept = self.check_authority(directory)
        if not kept and public_copy.exists():
            raise self._refuse(directory / CA_KEY_FILE, f"missing ({public_copy.name} is there)")
        return kept

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
