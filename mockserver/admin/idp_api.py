"""Admin routes for the fake identity providers: tokens, key rotation, faults.

`POST /idps/<idp>/tokens`, `POST /idps/<idp>/rotate`, `GET|POST|DELETE /idp-faults`; all
behaviour is in `MockControl` (and `admin/idps.py`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from mockserver.admin.control import AdminError, MockControl

idp_routes = Blueprint("idps", __name__)

_TOKEN_FIELDS: dict[str, type | tuple[type, ...]] = {
    "subject": str,
    "client_id": str,
    "scopes": list,
    "audience": str,
    "duration": int,
    "server": str,
    "broken": str,
}
_ROTATE_FIELDS: dict[str, type | tuple[type, ...]] = {"server": str, "step": str, "kid": str}


def _control() -> MockControl:
    control: MockControl = current_app.extensions["esi_admin"]
    return control


def _options(allowed: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    """The JSON object sent (may be empty), each field of the type it needs."""
    if not request.get_data():
        return {}
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise AdminError(400, "the body must be a JSON object")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise AdminError(400, f"unknown field {unknown[0]!r}; known: {', '.join(allowed)}")
    for name, value in body.items():
        kind = allowed[name]
        if value is not None and (isinstance(value, bool) or not isinstance(value, kind)):
            raise AdminError(400, f"field {name!r} has the wrong type: {value!r}")
    return {k: v for k, v in body.items() if v is not None}


@idp_routes.post("/idps/<idp>/tokens")
def mint_idp_token(idp: str) -> Any:
    return jsonify({"token": _control().idp_token(idp, **_options(_TOKEN_FIELDS))})


@idp_routes.post("/idps/<idp>/rotate")
def rotate_idp_keys(idp: str) -> Any:
    return jsonify(_control().rotate_idp_keys(idp, **_options(_ROTATE_FIELDS)))


@idp_routes.get("/idp-faults")
def list_idp_faults() -> Any:
    return jsonify({"faults": _control().idp_faults()})


@idp_routes.post("/idp-faults")
def add_idp_fault() -> Any:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise AdminError(400, "the body must be a JSON object {idp, kind, endpoint?, count?}")
    return jsonify(_control().add_idp_fault(body)), 201


@idp_routes.delete("/idp-faults")
def clear_idp_faults() -> Any:
    return jsonify({"cleared": _control().clear_idp_faults()})
