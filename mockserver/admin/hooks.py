"""The conformance suite's state hooks, answered by the mock: the shapes both adapters share.

`esi-conformance server` changes and inspects a target through hooks (apply and delete
manifests, list state, backend faults, reset). The embedded mock answers them in process
(`conformance/runner/embedded.py`); a mock started with `esi-mock serve --bundle` answers them
on its admin listener (`hooks_api.py`) and writes the hooks file that names those URLs, the
worked example of a hooks file for a real server (docs/vendor-bundle.md). Both read the state
and translate faults here, so the two give the suite the same answers.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from mockserver.admin.control import AdminError, MockControl
from mockserver.federation.bookkeeping import GENERATOR_STATE_WRITE, STORE_READ

HOOKS_FILE = "hooks.yaml"
"""The hooks file `esi-mock serve --bundle` writes into its state folder."""
HOOK_ROUTES = {
    "apply": "/hooks/apply",
    "delete": "/hooks/delete",
    "state": "/hooks/state",
    "backend_fault": "/hooks/backend-fault",
    "reset": "/hooks/reset",
}
LEAK_API_VERSION = "conformance.esi-federation.dev/v1"
STORE_FAULTS = ("unavailable", "error")
GENERATOR_FAULTS = ("state-write-fails",)


def state_items(control: MockControl) -> list[dict[str, Any]]:
    """Every GeneratorState, AuthorizedIdentity and LeakedCredential, Kubernetes-shaped."""
    leaks = [
        {
            "apiVersion": LEAK_API_VERSION,
            "kind": "LeakedCredential",
            "metadata": {"namespace": leak["namespace"], "name": f"leak-{i}"},
            "spec": dict(leak),
        }
        for i, leak in enumerate(control.leaked_credentials())
    ]
    return [*control.generator_states(), *control.authorized_identities(), *leaks]


def backend_fault_rule(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A hook's `{store: NAME | generator: NS/KIND/NAME, fault: F}` as the mock's backend fault
    rule; a 400 naming what is wrong otherwise."""
    fault = spec.get("fault")
    if not isinstance(fault, str):
        raise AdminError(400, "a backend fault needs a string field 'fault'")
    if isinstance(spec.get("store"), str):
        if fault not in STORE_FAULTS:
            raise AdminError(400, f"fault {fault} does not apply to a store")
        return {"backend": STORE_READ, "store": spec["store"]}
    generator = spec.get("generator")
    if not isinstance(generator, str):
        raise AdminError(400, "a backend fault needs a string field 'store' or 'generator'")
    if len(generator.split("/")) != 3:
        raise AdminError(400, f"generator must be <namespace>/<kind>/<name>, got {generator!r}")
    if fault not in GENERATOR_FAULTS:
        raise AdminError(400, f"fault {fault} is not available for generators on the mock")
    return {"backend": GENERATOR_STATE_WRITE, "generator": generator}


class HookFaults:
    """The fault rules added through hooks, so `reset` removes those and no others."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: list[int] = []

    def add(self, control: MockControl, spec: Mapping[str, Any]) -> dict[str, Any]:
        added = control.add_fault(backend_fault_rule(spec), count=None)
        with self._lock:
            self._ids.append(int(added["id"]))
        return added

    def remove_all(self, control: MockControl) -> int:
        """Remove every rule still in place; returns how many were."""
        with self._lock:
            ids, self._ids = self._ids, []
        removed = 0
        for rule_id in ids:
            try:
                control.remove_fault(rule_id)
                removed += 1
            except AdminError:
                continue  # spent or removed by hand
        return removed


def hooks_file_text(admin_url: str) -> str:
    """The hooks file naming this mock's hook URLs, for `esi-conformance server --hooks`."""
    base = admin_url.rstrip("/")
    lines = [
        "# State hooks of the mock served from a bundle (`esi-mock serve --bundle`), for",
        "# `esi-conformance server --hooks THIS_FILE`. Each hook is a URL of the mock's admin",
        "# listener; a real server's hooks file names its own commands or URLs instead",
        "# (see docs/vendor-bundle.md, State hooks file).",
    ]
    lines += [f'{name + ":":<15}{{url: "{base}{path}"}}' for name, path in HOOK_ROUTES.items()]
    lines.append("timeout: 30")
    return "\n".join(lines) + "\n"
