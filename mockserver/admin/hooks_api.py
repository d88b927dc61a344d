"""The suite's state hooks as admin routes: what the hooks file of `esi-mock serve --bundle`
names (`hooks.py` writes it).

Each route takes exactly what `esi-conformance server` sends a URL hook (docs/vendor-bundle.md,
State hooks file) and maps it onto `MockControl`:

    POST /hooks/apply          multi-document YAML    -> apply_manifests
    POST /hooks/delete         multi-document YAML    -> delete_manifest per document (absent: ok)
    GET  /hooks/state                                 -> {"items": [GeneratorStates, ...]}
    POST /hooks/backend-fault  JSON {store|generator, fault} -> a backend fault rule until reset
    POST /hooks/reset                                 -> removes the rules the hooks added
"""

from __future__ import annotations

from typing import Any

import yaml
from flask import Blueprint, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState

from mockserver.admin.control import AdminError, MockControl
from mockserver.admin.hooks import HookFaults, state_items

hook_routes = Blueprint("hooks", __name__)
FAULTS_KEY = "esi_hook_faults"


@hook_routes.record_once
def _setup(state: BlueprintSetupState) -> None:
    state.app.extensions[FAULTS_KEY] = HookFaults()


def _control() -> MockControl:
    control: MockControl = current_app.extensions["esi_admin"]
    return control


def _faults() -> HookFaults:
    faults: HookFaults = current_app.extensions[FAULTS_KEY]
    return faults


def _documents() -> list[dict[str, Any]]:
    """The YAML body's documents (empty ones dropped); a 400 when it is not YAML mappings."""
    try:
        documents = [d for d in yaml.safe_load_all(request.get_data(as_text=True)) if d]
    except yaml.YAMLError as exc:
        raise AdminError(400, f"the body is not YAML: {exc}") from None
    for index, doc in enumerate(documents):
        if not isinstance(doc, dict):
            raise AdminError(400, f"document {index + 1}: expected a mapping")
    return documents


@hook_routes.post("/hooks/apply")
def apply() -> Any:
    documents = _documents()
    if not documents:
        raise AdminError(400, "no manifest documents in the request")
    return jsonify({"applied": _control().apply_manifests(documents)})


@hook_routes.post("/hooks/delete")
def delete() -> Any:
    deleted = []
    for doc in _documents():
        found = doc.get("metadata")
        meta: dict[str, Any] = found if isinstance(found, dict) else {}
        kind, name, namespace = doc.get("kind"), meta.get("name"), meta.get("namespace") or None
        if not isinstance(kind, str) or not isinstance(name, str):
            raise AdminError(400, "every document needs a string kind and metadata.name")
        try:
            _control().delete_manifest(kind, name, namespace)
        except AdminError as exc:
            if exc.status != 404:  # deleting what is not loaded leaves it not loaded
                raise
            continue
        deleted.append(
            {"kind": kind, "name": name, **({"namespace": namespace} if namespace else {})}
        )
    return jsonify({"deleted": deleted})


@hook_routes.get("/hooks/state")
def state() -> Any:
    return jsonify({"items": state_items(_control())})


@hook_routes.post("/hooks/backend-fault")
def backend_fault() -> Any:
    spec = request.get_json(force=True, silent=True)
    if not isinstance(spec, dict):
        raise AdminError(400, "send a JSON object {store|generator, fault}")
    return jsonify({"fault": _faults().add(_control(), spec)})


@hook_routes.post("/hooks/reset")
def reset() -> Any:
    return jsonify({"removed": _faults().remove_all(_control())})
