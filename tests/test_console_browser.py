"""The console in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright.

Without a browser these tests skip with the way to install one, except with `CI=true`, where a
missing browser is a failure (`.ci/run` installs it). Each page's screenshot is saved under
`reports/console-screenshots/` (or `$ESI_CONSOLE_SCREENSHOTS`), printed at the end of the run.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.report import results_json
from conformance.requirements import all_requirements
from conformance.results import (
    FAIL,
    PASS,
    Evidence,
    RequirementResult,
    RunMetadata,
    RunResult,
    ScenarioResult,
)
from mockserver.clock import Clock
from mockserver.runtime import MockServer

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "install a browser to run them: `sudo apt-get install chromium` (Debian/Ubuntu) and "
    "`pip install -e '.[test]'` (Playwright for Python); set ESI_CHROMIUM if chromium is not "
    "/usr/bin/chromium"
)
R1_PATH = "/secretstore/app-store/secrets/plain"


def chromium_path() -> str | None:
    found = os.environ.get("ESI_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return found if Path(found).exists() else None


def screenshots_dir() -> Path:
    folder = Path(
        os.environ.get("ESI_CONSOLE_SCREENSHOTS") or ROOT / "reports" / "console-screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if executable is None or sync_playwright is None:
        missing = "chromium" if executable is None else "playwright (Python)"
        message = f"browser tests need {missing}: {INSTALL_HINT}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None:
        with capture.global_and_fixture_disabled():
            reporter.write(f"\nconsole screenshots: {screenshots_dir()}\n")


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    server = MockServer(
        state_dir=tmp_path_factory.mktemp("console-browser"), clock=Clock(), refresh_volumes=False
    )
    with server:
        yield server


@pytest.fixture
def page(browser: Any, mock: MockServer) -> Iterator[Any]:
    mock.reset()
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == []
    assert mock.take_errors() == []


def read_secret(mock: MockServer, token: str) -> int:
    """One R1 call as a client makes it; the status it got."""
    request = urllib.request.Request(
        mock.federation_url + R1_PATH,
        data=mock.admin.ca_body(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def shoot(page: Any, name: str) -> None:
    page.screenshot(path=str(screenshots_dir() / f"{name}.png"), full_page=True)


def test_a_client_request_appears_in_the_journal_within_a_second(page, mock):
    page.goto(mock.connection()["console_url"])
    page.wait_for_selector("#journal-summary:has-text('0 shown')")
    page.evaluate("window.notReloaded = true")
    token = mock.clusters["alpha"].mint("team-a/web", pod="web-7d9f8b6c5-x2x4q")
    sent = time.time()
    assert read_secret(mock, token) == 200
    # The row records when the page first showed it: the page's own latency, not Playwright's.
    # The journal was empty (0 shown), so the first row is this request, whatever its id.
    shown = page.wait_for_selector("#journal-table tbody tr[data-id]")
    assert int(shown.get_attribute("data-shown-at")) / 1000 - sent < 1.0
    assert page.evaluate("window.notReloaded") is True
    row = page.locator("#journal-table tbody tr").first
    assert row.locator("td.status").inner_text() == "200"
    row.click()
    page.wait_for_selector("#curl")
    detail = page.inner_text("#entry-detail")
    assert "Authorization alpha-web" in detail
    assert "system:serviceaccount:team-a:web" in detail
    assert token not in page.content()
    assert "$(esi-mock token --state-dir" in page.inner_text("#curl")
    page.select_option("select[name=route]", "generate")
    page.wait_for_selector("#journal-summary:has-text('0 shown')", timeout=1000)
    page.select_option("select[name=route]", "")
    page.wait_for_selector("#journal-summary:has-text('1 shown')", timeout=1000)
    shoot(page, "journal")


def test_a_fault_added_from_the_page_fails_the_next_request(page, mock):
    page.goto(mock.admin_url + "/console/faults")
    page.fill("#add-status input[name=status]", "503")
    page.fill("#add-status input[name=body]", '"down for the test"')
    page.click("#add-status button")
    page.wait_for_selector("#faults-table tbody tr[data-id]")
    [rule] = mock.admin.faults()
    assert (rule["status"], rule["body"]) == (503, '"down for the test"')
    token = mock.clusters["alpha"].mint("team-a/web", pod="web-7d9f8b6c5-x2x4q")
    assert read_secret(mock, token) == 503
    assert read_secret(mock, token) == 200
    page.click("#quirk-sticky-authorizations")
    page.wait_for_function("document.querySelector('#notice').textContent.includes('on')")
    assert "sticky-authorizations" in mock.behaviour.quirks
    page.click("#strict")
    page.wait_for_function("document.querySelector('#notice').textContent === 'strict on'")
    assert mock.behaviour.strict is True
    shoot(page, "faults")


def test_rotating_a_key_from_the_page_changes_the_signing_kid(page, mock):
    page.goto(mock.admin_url + "/console/state")
    kid = page.locator("#cluster-alpha .signing-kid")
    kid.wait_for()
    before = kid.inner_text()
    assert before == mock.clusters["alpha"].signing_key.kid
    page.click("#rotate-alpha")
    page.wait_for_function(
        f"document.querySelector('#cluster-alpha .signing-kid').textContent !== {before!r}"
    )
    after = kid.inner_text()
    assert after == mock.clusters["alpha"].signing_key.kid != before
    page.select_option("#mint-sa-alpha", "team-a/web")
    page.click("#mint-alpha")
    minted = page.locator("#token-alpha").input_value()
    header = json.loads(base64.urlsafe_b64decode(minted.split(".")[0] + "=="))
    assert header["kid"] == after
    shoot(page, "state")
    page.reload()
    page.locator("#cluster-alpha .signing-kid").wait_for()
    assert minted not in page.content()


def failing_run() -> str:
    requirement = next(iter(all_requirements().values()))
    evidence = Evidence(
        step="R1 with an expired token",
        request={"method": "POST", "path": R1_PATH},
        response={"status": 200, "body": '"hello"'},
        problems=("expected status 401, got 200",),
    )
    failed = RequirementResult(
        requirement,
        FAIL,
        (ScenarioResult("expired-token", FAIL, "the server accepted it", (evidence,)),),
    )
    metadata = RunMetadata("esi-conformance", "0.1.0", "http://server.test", "t0", "t1")
    return results_json(RunResult(metadata, (failed,)))


def test_a_failing_conformance_result_shows_its_evidence(page, mock, tmp_path):
    results = tmp_path / "results.json"
    results.write_text(failing_run())
    page.goto(mock.admin_url + "/console/conformance")
    page.set_input_files("#results-upload", str(results))
    page.wait_for_selector("section.req.FAIL")
    section = page.inner_text("section.req.FAIL")
    assert "expected status 401, got 200" in section
    assert "R1 with an expired token" in section
    assert "the server accepted it" in section
    assert PASS in page.inner_text("#results-summary")
    shoot(page, "conformance")


@pytest.fixture
def elsewhere() -> Iterator[str]:
    """Another site on this machine: a plain page on its own loopback port."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!DOCTYPE html><p>another site</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_page_on_another_origin_cannot_change_the_mock(page, mock, elsewhere):
    page.goto(elsewhere)
    outcome = page.evaluate(
        """async (url) => {
            const answer = await fetch(url + "/faults", {method: "POST", mode: "no-cors",
                headers: {"Content-Type": "text/plain"}, body: '{"status": 500}'});
            return answer.type;
        }""",
        mock.admin_url,
    )
    assert outcome == "opaque"  # sent and answered (403); the page cannot read the answer
    assert mock.admin.faults() == []
