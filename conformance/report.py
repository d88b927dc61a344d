"""Writers for one result tree: results.json (machines), junit.xml (CI), report.html (people),
and a short terminal summary. Evidence arrives redacted; everything printed into HTML or XML is
escaped here, because evidence holds whatever the target sent."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from conformance.requirements import LEVELS, NOT_COVERED
from conformance.results import (
    ERROR,
    FAIL,
    PASS,
    SKIP,
    STATUSES,
    XFAIL,
    XPASS,
    RequirementResult,
    RunResult,
    exit_status,
)

RESULTS_JSON, JUNIT_XML, REPORT_HTML = "results.json", "junit.xml", "report.html"


def write_reports(run: RunResult, report_dir: Path | str) -> dict[str, Path]:
    """Write all three files into `report_dir` (created if needed); returns their paths."""
    base = Path(report_dir)
    base.mkdir(parents=True, exist_ok=True)
    paths = {"json": base / RESULTS_JSON, "junit": base / JUNIT_XML, "html": base / REPORT_HTML}
    paths["json"].write_text(results_json(run), encoding="utf-8")
    paths["junit"].write_bytes(junit_xml(run))
    paths["html"].write_text(report_html(run), encoding="utf-8")
    return paths


def results_json(run: RunResult) -> str:
    """The whole tree as indented JSON (stable key order, UTF-8 kept readable)."""
    return json.dumps(run.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"


def _evidence_text(result: RequirementResult) -> str:
    lines = []
    for scenario in result.scenarios:
        lines.append(f"[{scenario.status}] {scenario.scenario_id}: {scenario.message}".rstrip())
        for ev in scenario.evidence:
            lines.append(f"  step {ev.step}")
            for p in ev.problems:
                lines.append(f"    problem: {p}")
            if ev.request:
                shown = {k: v for k, v in ev.request.items() if k != "curl"}
                lines.append("    request: " + json.dumps(shown, ensure_ascii=False, default=str))
                if ev.request.get("curl"):
                    lines.append("    repeat it:")
                    lines += [f"      {line}" for line in str(ev.request["curl"]).splitlines()]
            if ev.response:
                lines.append(
                    "    response: " + json.dumps(ev.response, ensure_ascii=False, default=str)
                )
    return "\n".join(lines)


def _xml_safe(text: str) -> str:
    """Drop characters XML 1.0 cannot hold at all (control characters from a target's body)."""
    return "".join(
        ch for ch in text if ch in "\t\n\r" or (ord(ch) >= 0x20 and ord(ch) not in (0xFFFE, 0xFFFF))
    )


def short_title(text: str, width: int = 60) -> str:
    """A requirement text cut at a word boundary: test names, progress lines, listings."""
    text = " ".join(text.split()).rstrip(".")
    if len(text) <= width:
        return text
    return text[: width - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def junit_xml(run: RunResult) -> bytes:
    """One testsuite; one testcase per requirement, named `ID: short title`, with the class name
    `<suite>.<area>` (`server.AUTH`, `client.AUTH`) so the two suites never collide.

    Only what fails the run is `<failure>` (an unexpected MUST or MUST-SEC FAIL) or `<error>`
    (ERROR), so CI dashboards agree with the exit status. A SHOULD FAIL and an XFAIL are
    `<skipped>` with a message saying so (visible, not failing); XPASS passes with a
    system-out note; the full status of each case is also its `status` property.
    """
    counts = run.counts()
    failing = sum(1 for r in run.requirements if r.status == FAIL and r.counts_as_failure)
    should_fails = counts[FAIL] - failing
    suite = ET.Element(
        "testsuite",
        {
            "name": f"{run.metadata.tool} {run.metadata.target}",
            "tests": str(len(run.requirements)),
            "failures": str(failing),
            "errors": str(counts[ERROR]),
            "skipped": str(counts[SKIP] + counts[XFAIL] + should_fails),
            "time": f"{sum(s.duration for r in run.requirements for s in r.scenarios):.3f}",
            "timestamp": run.metadata.started,
        },
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("version", run.metadata.version),
        ("profile", run.metadata.profile),
        ("level", run.metadata.level or "all"),
        ("exit_status", str(exit_status(run))),
    ):
        ET.SubElement(props, "property", {"name": key, "value": _xml_safe(str(value))})
    for r in run.requirements:
        req = r.requirement
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": f"{req.direction}.{req.area}",
                "name": _xml_safe(f"{req.id}: {short_title(req.text)}"),
                "time": f"{sum(s.duration for s in r.scenarios):.3f}",
            },
        )
        case_props = ET.SubElement(case, "properties")
        for key, value in (("status", r.status), ("level", req.level)):
            ET.SubElement(case_props, "property", {"name": key, "value": value})
        detail = _xml_safe(_evidence_text(r))
        if r.status == FAIL and r.counts_as_failure:
            el = ET.SubElement(
                case, "failure", {"message": _xml_safe(r.reason or "failed"), "type": req.level}
            )
            el.text = detail
        elif r.status == FAIL:
            el = ET.SubElement(
                case,
                "skipped",
                {
                    "message": _xml_safe(
                        f"{req.level} not met (does not fail the run): {r.reason or 'failed'}"
                    ),
                    "type": "should-fail",
                },
            )
            el.text = detail
        elif r.status == ERROR:
            el = ET.SubElement(
                case, "error", {"message": _xml_safe(r.reason or "error"), "type": "harness"}
            )
            el.text = detail
        elif r.status == SKIP:
            ET.SubElement(case, "skipped", {"message": _xml_safe(r.reason), "type": "skip"})
        elif r.status == XFAIL:
            ET.SubElement(
                case,
                "skipped",
                {"message": _xml_safe(f"expected failure: {r.expected_failure}"), "type": "xfail"},
            )
        elif r.status == XPASS:
            out = ET.SubElement(case, "system-out")
            out.text = _xml_safe(f"XPASS: {r.reason} (entry: {r.expected_failure})")
    ET.indent(suite)
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True) + b"\n"


def terminal_summary(run: RunResult, width: int = 100) -> str:
    """A few lines for the terminal: totals, per level, the failures, the exit status."""
    counts = run.counts()
    lines = [
        f"{run.metadata.tool} {run.metadata.version} against {run.metadata.target}: "
        f"{len(run.requirements)} requirements, profile {run.metadata.profile}"
    ]
    lines.append("  " + "  ".join(f"{s} {counts[s]}" for s in STATUSES if counts[s]))
    for level, by in sorted(
        run.counts_by_level().items(),
        key=lambda i: LEVELS.index(i[0]) if i[0] in LEVELS else len(LEVELS),
    ):
        lines.append(f"  {level:<8} " + "  ".join(f"{s} {by[s]}" for s in STATUSES if by[s]))
    for r in run.requirements:
        if r.status in (FAIL, ERROR, XPASS):
            text = f"  {r.status:<5} {r.requirement.id} [{r.requirement.level}] {r.reason}"
            lines.append(text if len(text) <= width else text[: width - 3] + "...")
    code = exit_status(run)
    lines.append(
        f"exit status {code}: "
        + (
            "a MUST requirement failed or the run had errors"
            if code
            else "no MUST failure and no error"
        )
    )
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#1d1d1f}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;
text-align:left;vertical-align:top}
.PASS{color:#1a7f37}.FAIL,.ERROR{color:#b42318;font-weight:bold}.SKIP{color:#6e6e73}
.XFAIL{color:#8a6d00}.XPASS{color:#0b5cad;font-weight:bold}
pre{background:#f5f5f7;padding:.6rem;overflow-x:auto;white-space:pre-wrap}
section.req{border-left:4px solid #b42318;padding-left:1rem;margin:1rem 0}
section.req.ERROR{border-color:#7a1a1a}section.req.XPASS{border-color:#0b5cad}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _badge(status: str) -> str:
    return f'<span class="{_e(status)}">{_e(status)}</span>'


def report_html(run: RunResult) -> str:
    """A self-contained page: summary by level, failures and errors first with requirement text
    and evidence, then XPASS, the skipped ones with reasons, and everything else."""
    meta = run.metadata
    code = exit_status(run)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Conformance report: {_e(meta.target)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Conformance report: {_e(meta.target)}</h1>",
        f"<p>{_e(meta.tool)} {_e(meta.version)}, profile {_e(meta.profile)}, level "
        f"{_e(meta.level or 'all')}, {_e(meta.started)} – {_e(meta.finished)}. "
        f"Exit status <strong>{code}</strong>.</p>",
    ]
    parts.append(
        "<h2>Summary by level</h2><table><tr><th>level</th>"
        + "".join(f"<th>{_badge(s)}</th>" for s in STATUSES)
        + "</tr>"
    )
    by_level = run.counts_by_level()
    for level in [lv for lv in LEVELS if lv in by_level] + sorted(set(by_level) - set(LEVELS)):
        parts.append(
            f"<tr><td>{_e(level)}</td>"
            + "".join(f"<td>{by_level[level][s]}</td>" for s in STATUSES)
            + "</tr>"
        )
    parts.append("</table>")

    def section(title: str, statuses: tuple[str, ...], with_evidence: bool) -> None:
        chosen = [r for r in run.requirements if r.status in statuses]
        if not chosen:
            return
        parts.append(f"<h2>{_e(title)} ({len(chosen)})</h2>")
        for r in chosen:
            req = r.requirement
            parts.append(
                f'<section class="req {_e(r.status)}" id="{_e(req.id)}">'
                f"<h3>{_badge(r.status)} {_e(req.id)} [{_e(req.level)}]</h3>"
                f"<p>{_e(req.text)} <em>(reference {_e(req.reference)})</em></p>"
            )
            if r.reason:
                parts.append(f"<p>{_e(r.reason)}</p>")
            if r.expected_failure is not None:
                parts.append(f"<p>Expected failure: {_e(r.expected_failure)}</p>")
            if with_evidence:
                parts.append(f"<pre>{_e(_evidence_text(r))}</pre>")
            parts.append("</section>")

    section("Failures and errors", (FAIL, ERROR), True)
    section("Passed although expected to fail", (XPASS,), True)
    section("Expected failures", (XFAIL,), True)
    skipped = [r for r in run.requirements if r.status == SKIP]
    if skipped:
        parts.append(
            f"<h2>Skipped ({len(skipped)})</h2><table><tr><th>requirement</th>"
            "<th>level</th><th>text</th><th>reason</th></tr>"
        )
        for r in skipped:
            parts.append(
                f"<tr><td>{_e(r.requirement.id)}</td><td>{_e(r.requirement.level)}"
                f"</td><td>{_e(r.requirement.text)}</td><td>{_e(r.reason)}</td></tr>"
            )
        parts.append("</table>")
    passed = [r for r in run.requirements if r.status == PASS]
    if passed:
        parts.append(
            f"<h2>Passed ({len(passed)})</h2><table><tr><th>requirement</th>"
            "<th>level</th><th>text</th><th>scenarios</th></tr>"
        )
        for r in passed:
            ids = ", ".join(s.scenario_id for s in r.scenarios)
            parts.append(
                f"<tr><td>{_e(r.requirement.id)}</td><td>{_e(r.requirement.level)}"
                f"</td><td>{_e(r.requirement.text)}</td><td>{_e(ids)}</td></tr>"
            )
        parts.append("</table>")
    if NOT_COVERED:
        parts.append("<h2>Reference items not covered yet</h2><ul>")
        parts.extend(f"<li>{_e(item)}: {_e(why)}</li>" for item, why in NOT_COVERED.items())
        parts.append("</ul>")
    parts.append("<h2>Settings (redacted)</h2>")
    parts.append(f"<pre>{_e(json.dumps(dict(meta.settings), indent=2, default=str))}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
