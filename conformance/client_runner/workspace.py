"""The files and placeholder values one client run is given, in a fresh folder per run.

Hard inputs come from here: a token file ending in a newline, a server URL ending in slashes,
and the client-cluster CA and the server CA as separate files.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.adapters import REVOKE_OF, Adapter
from conformance.record_env import Recorder, make_recorder
from conformance.scenarios.model import ClientInputs, Request

TOKEN_SUFFIX = {"plain": "", "trailing-newline": "\n"}
URL_SUFFIX = {"plain": "", "trailing-slash": "/", "double-trailing-slash": "//"}


@dataclass(frozen=True)
class Workspace:
    """One run's folder: inputs, the output folder, the recording program."""

    root: Path
    out_dir: Path
    recorder: Recorder
    values: dict[str, str]


def prepare(
    parent: Path,
    adapter: Adapter,
    request: Request,
    inputs: ClientInputs,
    *,
    token: str,
    client_ca: bytes,
    server_ca: bytes,
    base_url: str,
) -> Workspace:
    """Write the run's files and compute every placeholder value the adapter may use."""
    root = Path(tempfile.mkdtemp(prefix="run-", dir=parent))
    out_dir = root / "out"
    out_dir.mkdir(mode=0o700)
    token_file = root / "token"
    token_file.write_text(token + TOKEN_SUFFIX[inputs.token_file], encoding="ascii")
    client_ca_file = root / "client-ca.crt"
    client_ca_file.write_bytes(client_ca)
    server_ca_file = root / "server-ca.crt"
    server_ca_file.write_bytes(server_ca)
    recorder = make_recorder(root / "program")
    values = {
        **adapter.base_values(),
        "server_url": base_url + URL_SUFFIX[inputs.server_url],
        "token_file": str(token_file),
        "client_ca_file": str(client_ca_file),
        "server_ca_file": str(server_ca_file),
        "out_dir": str(out_dir),
        "program": str(recorder.program),
        **operation_values(request),
    }
    return Workspace(root, out_dir, recorder, values)


def operation_values(request: Request) -> dict[str, str]:
    """The operation's placeholders (`store`, `key`, `namespace`, `kind`, `name`, `owner`)."""
    params: Mapping[str, Any] = request.params
    out = {k: str(v) for k, v in params.items() if isinstance(v, str)}
    if request.operation == REVOKE_OF:
        body = params.get("body") or {}
        out["owner"] = str(body.get("owner", ""))
    return out
