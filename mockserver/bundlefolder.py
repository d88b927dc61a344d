"""A conformance bundle's folder as the mock reads it (`esi-mock serve --bundle DIR`).

`esi-conformance bundle` writes the folder; the mock then plays the vendor's part: it loads the
bundle's `manifests.yaml` as written (its federation URLs point at the harness's fake clusters,
started by `esi-conformance server --bundle DIR`) and knows the bundle's workloads (the clusters'
service accounts and pods, keyed as the bundle keeps them) for owner lookups and `esi-mock token`.
The bundle's fake Okta and PingOne names resolve to where `esi-conformance server --bundle DIR`
serves them (`remote.json` in the state's `idps/`, with the bundle's CAs and keys copied), so
the mock judges Okta and PingOne callers as a vendor's server with those names mapped would.
The folder names live here because `mockserver` never imports `conformance`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mockserver.idp.group import REMOTE_FILE

BUNDLE_FILE = "bundle.json"
MANIFESTS_FILE = "manifests.yaml"
CLUSTERS_FILE = "harness-clusters.yaml"
KUBERNETES_FILE = "kubernetes.yaml"
IDPS_FOLDER = "idps"
"""The bundle's fake identity providers: `<name>/ca`, `<name>/ca.crt` and their issuers' keys."""
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


def write_idp_routes(info: dict[str, object], bundle: Path, folder: Path) -> None:
    """`<state>/idps/remote.json`: the bundle's IdP host names → where `esi-conformance server
    --bundle` serves them, and their CA. The mock resolves those names there itself (a vendor
    needs a hosts file or DNS for it), so the bundle's Okta and Ping callers are judged."""
    entries = info.get("idps")
    if not isinstance(entries, dict) or not entries:
        return
    routes = {}
    for entry in entries.values():
        bind = str(entry["bind_host"])
        address = f"{'127.0.0.1' if bind in ('', '0.0.0.0', '::') else bind}:{entry['bind_port']}"
        for host in entry["hosts"]:
            routes[host] = {"address": address, "ca_file": str(bundle / str(entry["ca_file"]))}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / REMOTE_FILE).write_text(json.dumps(routes, indent=2) + "\n", encoding="utf-8")


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
    for part in ("clusters", "spiffe", IDPS_FOLDER):
        source = bundle / part
        if source.is_dir():
            shutil.copytree(source, state_dir / part, dirs_exist_ok=True)
    write_idp_routes(read_info(bundle), bundle, state_dir / IDPS_FOLDER)
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
