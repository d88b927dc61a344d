"""A conformance bundle's folder as the mock reads it (`esi-mock serve --bundle DIR`).

`esi-conformance bundle` writes the folder; the mock then plays the vendor's part: it loads the
bundle's `manifests.yaml` as written (its federation URLs point at the harness's fake clusters,
started by `esi-conformance server --bundle DIR`) and knows the bundle's workloads (the clusters'
service accounts and pods, keyed as the bundle keeps them) for owner lookups and `esi-mock token`.
The folder names live here because `mockserver` never imports `conformance`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

BUNDLE_FILE = "bundle.json"
MANIFESTS_FILE = "manifests.yaml"
CLUSTERS_FILE = "harness-clusters.yaml"
KUBERNETES_FILE = "kubernetes.yaml"
SCHEMA_VERSION = 1
SERVED_FIXTURES = "bundle-fixtures"
"""The folder inside the mock's state folder that holds the bundle's manifests as fixtures."""


class BundleFolderError(ValueError):
    """A folder that is not a readable bundle (with what to do about it)."""


def is_bundle(folder: Path) -> bool:
    return (folder / BUNDLE_FILE).is_file()


def read_info(folder: Path) -> dict[str, object]:
    """bundle.json, checked for the schema this version writes."""
    try:
        info = json.loads((folder / BUNDLE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleFolderError(
            f"{folder} is not a bundle (no {BUNDLE_FILE}); write one with "
            "`esi-conformance bundle --out DIR`"
        ) from None
    except (OSError, ValueError) as exc:
        raise BundleFolderError(f"{folder / BUNDLE_FILE}: unreadable ({exc})") from None
    if not isinstance(info, dict) or info.get("schema_version") != SCHEMA_VERSION:
        version = info.get("schema_version") if isinstance(info, dict) else None
        raise BundleFolderError(
            f"{folder / BUNDLE_FILE}: unsupported schema_version {version!r}; write the bundle "
            "again with this version's `esi-conformance bundle --out DIR --force`"
        )
    return info


def prepare_state(bundle: Path, state_dir: Path) -> Path:
    """Copy the bundle's cluster keys and SPIFFE CA into `state_dir`; return the fixtures folder.

    The fixtures folder holds the harness's FakeCluster documents (the workloads and keys the
    mock knows as its own Kubernetes API) and the bundle's manifests.yaml unchanged.
    """
    read_info(bundle)
    for name in (MANIFESTS_FILE, CLUSTERS_FILE):
        if not (bundle / name).is_file():
            raise BundleFolderError(
                f"{bundle / name} is missing; write the bundle again with "
                "`esi-conformance bundle --out DIR --force`"
            )
    state_dir.mkdir(parents=True, exist_ok=True)
    for part in ("clusters", "spiffe"):
        source = bundle / part
        if source.is_dir():
            shutil.copytree(source, state_dir / part, dirs_exist_ok=True)
    fixtures = state_dir / SERVED_FIXTURES
    fixtures.mkdir(exist_ok=True)
    shutil.copyfile(bundle / CLUSTERS_FILE, fixtures / "00-clusters.yaml")
    shutil.copyfile(bundle / MANIFESTS_FILE, fixtures / "10-manifests.yaml")
    return fixtures


def write_hooks_file(state_dir: Path, admin_url: str) -> Path:
    """Write `STATE/hooks.yaml`: the suite's state hooks as URLs of this mock's admin listener,
    so `esi-conformance server --hooks` can judge the requirements that need them."""
    from mockserver.admin.hooks import HOOKS_FILE, hooks_file_text
    from mockserver.files import write_private_file

    path = state_dir / HOOKS_FILE
    write_private_file(path, hooks_file_text(admin_url).encode("utf-8"), 0o644)
    return path
