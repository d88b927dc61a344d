"""The console's routes: four pages, the `curl` line of a journal entry, a kept results.json.

Pages are rendered with the per-run token (see `admin/browserguard.py`) in a meta tag, which the
page's scripts send back on every call that changes state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template

from mockserver import __version__
from mockserver.admin.browserguard import TOKEN_HEADER, BrowserGuard
from mockserver.admin.control import AdminError, MockControl
from mockserver.console.curl import curl_command

CONSOLE_GUARD = "esi_console_guard"
CONSOLE_RESULTS = "esi_console_results"
PAGES = {
    "journal": "Journal",
    "state": "State",
    "faults": "Faults and modes",
    "conformance": "Conformance results",
}

console = Blueprint(
    "console",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/console/static",
)


def _control() -> MockControl:
    control: MockControl = current_app.extensions["esi_admin"]
    return control


def _results_file() -> Path | None:
    found: Path | None = current_app.extensions.get(CONSOLE_RESULTS)
    return found


def _page(name: str) -> str:
    guard: BrowserGuard = current_app.extensions[CONSOLE_GUARD]
    control = _control()
    return render_template(
        f"console/{name}.html",
        page=name,
        pages=PAGES,
        token=guard.token,
        token_header=TOKEN_HEADER,
        version=__version__,
        redacted=control.redacted,
        results_file=str(_results_file() or ""),
    )


@console.get("/")
def journal_page() -> str:
    return _page("journal")


@console.get("/console/state")
def state_page() -> str:
    return _page("state")


@console.get("/console/faults")
def faults_page() -> str:
    return _page("faults")


@console.get("/console/conformance")
def conformance_page() -> str:
    return _page("conformance")


@console.get("/console/journal/<int:entry_id>/curl")
def entry_curl(entry_id: int) -> Any:
    control = _control()
    entry = control.journal_entry(entry_id)
    return jsonify({"id": entry_id, "curl": curl_command(entry, control.connection())})


@console.get("/console/results")
def kept_results() -> Any:
    """The results.json named at start (`esi-mock serve --results`), parsed once more here so a
    broken file is one clear error rather than a blank page."""
    path = _results_file()
    if path is None:
        raise AdminError(
            404, "no results file was given at start; upload one, or start with --results PATH"
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AdminError(404, f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise AdminError(
            400, f"{path} is not JSON ({exc}); give a conformance results.json"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("requirements"), list):
        raise AdminError(400, f"{path} has no 'requirements' list; give a conformance results.json")
    return jsonify(document)
