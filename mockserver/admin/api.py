"""The admin HTTP API: JSON in and out, on its own loopback listener.

Each blueprint is a thin mapping of HTTP onto `MockControl`; all behaviour lives there. Bad input
is a 4xx with `{"error": "..."}`; an unexpected failure is a 500 with the same shape and is also
reported to the mock's error list (which the pytest plugin raises in the test).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from mockserver import __version__
from mockserver.admin.browserguard import TOKEN_HEADER, BrowserGuard
from mockserver.admin.control import AdminError, MockControl
from mockserver.admin.hooks_api import hook_routes
from mockserver.admin.idp_api import idp_routes
from mockserver.console import CONSOLE_GUARD, CONSOLE_RESULTS, console

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")


def _control() -> MockControl:
    return current_app.extensions["esi_admin"]


def _body(required: bool = True) -> dict[str, Any]:
    """The JSON object sent, or a 400 that says what was wrong with it."""
    if not request.get_data():
        if required:
            raise AdminError(400, "this call needs a JSON object body")
        return {}
    value = request.get_json(force=True, silent=True)
    if value is None:
        raise AdminError(400, "the body is not valid JSON")
    if not isinstance(value, dict):
        raise AdminError(400, "the body must be a JSON object")
    return value


def _field(
    body: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = ...
) -> Any:
    if name not in body:
        if default is ...:
            raise AdminError(400, f"missing field {name!r}")
        return default
    value = body[name]
    if value is None and default is None:
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise AdminError(400, f"field {name!r} has the wrong type: {value!r}")
    if not isinstance(value, kind):
        raise AdminError(400, f"field {name!r} has the wrong type: {value!r}")
    return value


# -- journal -------------------------------------------------------------------------------------

journal = Blueprint("journal", __name__)


@journal.get("/journal")
def list_journal() -> Any:
    control = _control()
    entries = control.journal(**request.args.to_dict())
    return jsonify({"entries": entries, **control.journal_summary(), "matched": len(entries)})


@journal.get("/journal/<int:entry_id>")
def get_journal_entry(entry_id: int) -> Any:
    return jsonify(_control().journal_entry(entry_id))


@journal.delete("/journal")
def clear_journal() -> Any:
    return jsonify({"cleared": _control().clear_journal()})


# -- faults --------------------------------------------------------------------------------------

faults = Blueprint("faults", __name__)


@faults.get("/faults")
def list_faults() -> Any:
    return jsonify({"faults": _control().faults()})


@faults.post("/faults")
def add_fault() -> Any:
    return jsonify(_control().add_fault(_body())), 201


@faults.delete("/faults")
def clear_faults() -> Any:
    return jsonify({"cleared": _control().clear_faults()})


@faults.delete("/faults/<int:rule_id>")
def remove_fault(rule_id: int) -> Any:
    _control().remove_fault(rule_id)
    return jsonify({"deleted": rule_id})


@faults.get("/cluster-faults")
def list_cluster_faults() -> Any:
    return jsonify({"faults": _control().cluster_faults()})


@faults.post("/cluster-faults")
def add_cluster_fault() -> Any:
    return jsonify(_control().add_cluster_fault(_body())), 201


@faults.delete("/cluster-faults")
def clear_cluster_faults() -> Any:
    return jsonify({"cleared": _control().clear_cluster_faults()})


@faults.delete("/cluster-faults/<int:rule_id>")
def remove_cluster_fault(rule_id: int) -> Any:
    _control().remove_cluster_fault(rule_id)
    return jsonify({"deleted": rule_id})


# -- state and manifests -------------------------------------------------------------------------

state = Blueprint("state", __name__)


@state.get("/state")
def get_state() -> Any:
    return jsonify(_control().state())


@state.get("/state/generator-states")
def get_generator_states() -> Any:
    namespace = request.args.get("namespace") or None
    return jsonify({"generator_states": _control().generator_states(namespace)})


@state.get("/state/authorized-identities")
def get_authorized_identities() -> Any:
    return jsonify({"authorized_identities": _control().authorized_identities()})


@state.get("/state/leaked-credentials")
def get_leaked_credentials() -> Any:
    return jsonify({"leaked_credentials": _control().leaked_credentials()})


@state.get("/state/clusters")
def get_clusters() -> Any:
    return jsonify({"clusters": _control().clusters()})


@state.get("/manifests")
def get_manifests() -> Any:
    return jsonify(_control().manifests())


@state.post("/manifests")
def apply_manifests() -> Any:
    mimetype = request.mimetype or ""
    if mimetype in YAML_TYPES:
        text = request.get_data(as_text=True)
        return jsonify({"applied": _control().apply_manifests(text)})
    body = _body()
    if "yaml" in body:
        applied = _control().apply_manifests(_field(body, "yaml", str))
    elif "documents" in body:
        applied = _control().apply_manifests(_field(body, "documents", list))
    else:
        raise AdminError(400, "send {'yaml': '<manifests>'} or {'documents': [...]}")
    return jsonify({"applied": applied})


@state.delete("/manifests")
def delete_manifest() -> Any:
    body = _body()
    kind, name = _field(body, "kind", str), _field(body, "name", str)
    namespace = _field(body, "namespace", str, None)
    _control().delete_manifest(kind, name, namespace)
    deleted = {"kind": kind, "name": name}
    if namespace:
        deleted["namespace"] = namespace
    return jsonify({"deleted": deleted})


# -- quirks, clock, keys, tokens, reset ----------------------------------------------------------

settings = Blueprint("settings", __name__)


@settings.get("/quirks")
def get_quirks() -> Any:
    return jsonify(_control().quirks())


@settings.put("/quirks")
def put_quirks() -> Any:
    body = _body()
    quirks = _field(body, "quirks", list)
    return jsonify(_control().set_quirks(quirks, _field(body, "strict", bool, None)))


@settings.post("/quirks/<name>")
def enable_quirk(name: str) -> Any:
    return jsonify(_control().enable_quirk(name))


@settings.delete("/quirks/<name>")
def disable_quirk(name: str) -> Any:
    return jsonify(_control().disable_quirk(name))


@settings.get("/clock")
def get_clock() -> Any:
    return jsonify(_control().clock())


@settings.post("/clock")
def set_clock() -> Any:
    body = _body()
    control = _control()
    if "shift" in body:
        return jsonify(control.shift_clock(_field(body, "shift", (int, float))))
    if "offset" in body:
        return jsonify(control.set_clock_offset(_field(body, "offset", (int, float))))
    if body.get("reset") is True:
        return jsonify(control.set_clock_offset(0))
    raise AdminError(400, "send {'shift': seconds}, {'offset': seconds} or {'reset': true}")


@settings.get("/keys")
def get_keys() -> Any:
    return jsonify({"clusters": _control().clusters()})


@settings.post("/keys/<cluster>/rotate")
def rotate_keys(cluster: str) -> Any:
    body = _body(required=False)
    return jsonify(
        _control().rotate_keys(
            cluster,
            step=_field(body, "step", str, "full"),
            kid=_field(body, "kid", str, None),
            key_type=_field(body, "key_type", str, "rsa"),
        )
    )


@settings.post("/tokens")
def mint_token() -> Any:
    body = _body()
    token = _control().mint_token(
        _field(body, "cluster", str),
        _field(body, "sa", str),
        audiences=_field(body, "audiences", list, None),
        duration=_field(body, "duration", int, 3600),
        pod=_field(body, "pod", str, None),
        node=_field(body, "node", str, None),
        legacy=_field(body, "legacy", bool, False),
        broken=_field(body, "broken", str, None),
    )
    return jsonify({"token": token})


@settings.post("/reset")
def reset() -> Any:
    _control().reset()
    return jsonify({"reset": True})


@settings.get("/health")
def health() -> Any:
    control = _control()
    return jsonify(
        {
            "status": "ok",
            "version": __version__,
            "redacted": control.redacted,
            "journal": control.journal_summary(),
        }
    )


# -- the app -------------------------------------------------------------------------------------


def create_admin_app(
    control: MockControl,
    on_error: Callable[[BaseException, str], None],
    results_file: Path | None = None,
) -> Flask:
    """The admin Flask app for one mock, with the console at its root (`results_file`: a
    conformance `results.json` the console offers to open)."""
    app = Flask("mockserver.admin")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["esi_admin"] = control
    guard = BrowserGuard()
    control.parts.redactor.add(guard.token, "console token")
    app.extensions[CONSOLE_GUARD] = guard
    app.extensions[CONSOLE_RESULTS] = results_file
    for blueprint in (journal, faults, state, settings, idp_routes, hook_routes, console):
        app.register_blueprint(blueprint)

    @app.before_request
    def check_browser_rules() -> Any:
        refusal = guard.refusal(
            method=request.method,
            host=request.headers.get("Host"),
            origin=request.headers.get("Origin"),
            token=request.headers.get(TOKEN_HEADER),
            server_name=str(request.environ.get("SERVER_NAME", "")),
            port=str(request.environ.get("SERVER_PORT", "")),
        )
        if refusal is None:
            return None
        return jsonify({"error": refusal}), 403

    @app.errorhandler(AdminError)
    def admin_error(error: AdminError) -> Any:
        return jsonify({"error": error.message}), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        message = error.description or error.name
        if error.code == 404:
            message = f"no admin route {request.path}; see docs/admin-api.md"
        elif error.code == 405:
            message = f"{request.method} is not allowed on {request.path}"
        return jsonify({"error": message}), error.code or 400

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        on_error(error, f"admin API {request.method} {request.path}")
        return jsonify({"error": f"internal error: {type(error).__name__}: {error}"}), 500

    return app
