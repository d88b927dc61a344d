// Conformance results: a results.json (uploaded, or the one the mock was started with) shown
// as report.html shows it: summary by level, failures and errors first with their evidence.
"use strict";

(() => {
  const { api, el, json, notice } = Console;
  const STATUSES = ["PASS", "FAIL", "SKIP", "ERROR", "XFAIL", "XPASS"];
  const LEVELS = ["MUST-SEC", "MUST", "SHOULD", "MAY"];
  const target = document.getElementById("results");
  const badge = (status) => el("span", { className: `badge ${status}` }, status);

  function evidence(scenario) {
    return el("div", { className: "scenario" },
      el("h4", {}, badge(scenario.status), " ", scenario.scenario, scenario.duration ? ` (${scenario.duration} s)` : ""),
      scenario.message ? el("p", { className: "message" }, scenario.message) : null,
      (scenario.evidence || []).map((ev) => el("div", { className: "evidence" },
        el("p", {}, el("strong", {}, ev.step)),
        (ev.problems || []).length ? el("ul", { className: "problems" }, ev.problems.map((p) => el("li", {}, p))) : null,
        el("details", { open: true }, el("summary", {}, "request"), json(ev.request)),
        el("details", { open: true }, el("summary", {}, "response"), json(ev.response)))));
  }

  function requirement(r, withEvidence) {
    return el("section", { className: `req ${r.status}`, id: `req-${r.id}` },
      el("h3", {}, badge(r.status), ` ${r.id} [${r.level}]`),
      el("p", {}, r.text, " ", el("em", {}, `(reference ${r.reference})`)),
      r.reason ? el("p", {}, r.reason) : null,
      r.expected_failure ? el("p", {}, `Expected failure: ${r.expected_failure}`) : null,
      withEvidence ? (r.scenarios || []).map(evidence) : null);
  }

  function render(run, source) {
    if (!run || !Array.isArray(run.requirements)) {
      notice(`${source} is not a conformance results.json (no 'requirements' list)`, true);
      return;
    }
    const meta = run.metadata || {};
    const byLevel = run.summary_by_level || {};
    const levels = [...LEVELS.filter((l) => l in byLevel), ...Object.keys(byLevel).filter((l) => !LEVELS.includes(l)).sort()];
    const pick = (...statuses) => run.requirements.filter((r) => statuses.includes(r.status));
    const group = (title, list, withEvidence) => list.length
      ? [el("h2", {}, `${title} (${list.length})`), ...list.map((r) => requirement(r, withEvidence))] : [];
    target.replaceChildren(
      el("h2", {}, `Conformance report: ${meta.target || source}`),
      el("p", {}, `${meta.tool || ""} ${meta.version || ""}, profile ${meta.profile || "?"}, level ${meta.level || "all"}, ${meta.started || ""} – ${meta.finished || ""}. Exit status `, el("strong", {}, run.exit_status ?? "?"), ` · from ${source}`),
      el("table", { className: "list", id: "results-summary" },
        el("tr", {}, el("th", {}, "level"), STATUSES.map((s) => el("th", {}, badge(s)))),
        levels.map((l) => el("tr", {}, el("td", {}, l), STATUSES.map((s) => el("td", {}, (byLevel[l] || {})[s] ?? 0))))),
      ...group("Failures and errors", pick("FAIL", "ERROR"), true),
      ...group("Passed although expected to fail", pick("XPASS"), true),
      ...group("Expected failures", pick("XFAIL"), true),
      ...group("Skipped", pick("SKIP"), false),
      ...group("Passed", pick("PASS"), false),
      el("h2", {}, "Settings (redacted)"), json(meta.settings || {}));
  }

  document.getElementById("results-upload").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    let run;
    try {
      run = JSON.parse(await file.text());
    } catch (error) {
      notice(`${file.name} is not JSON: ${error.message}`, true);
      return;
    }
    render(run, file.name);
  });
  const kept = document.getElementById("results-kept");
  if (kept) {
    kept.addEventListener("click", async () => {
      try {
        render(await api("GET", "/console/results"), kept.dataset.path);
      } catch (error) {
        notice(error.message, true);
      }
    });
  }
})();
