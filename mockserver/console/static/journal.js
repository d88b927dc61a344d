// The live journal: polls the admin API, newest first, with filters and an entry's detail.
"use strict";

(() => {
  const { api, el, json, notice, copy } = Console;
  const POLL_MS = 250;
  const firstShown = new Map(); // entry id -> when this page first showed it (ms since epoch)
  const form = document.getElementById("journal-filters");
  const body = document.querySelector("#journal-table tbody");
  const summary = document.getElementById("journal-summary");
  const detail = document.getElementById("entry-detail");
  const pause = document.getElementById("journal-pause");
  let shown = "";
  let selected = null;

  function query() {
    const params = new URLSearchParams({ limit: "200" });
    for (const input of form.querySelectorAll("input[name], select[name]")) {
      if (input.value) params.set(input.name, input.value.trim());
    }
    return params.toString();
  }

  function notes(entry) {
    const out = [];
    if (entry.fault) out.push(`fault ${entry.fault.id}: ${entry.fault.action}`);
    if (entry.near_miss) out.push("near miss");
    if (entry.dropped) out.push(`dropped: ${entry.dropped}`);
    if (entry.authorization) out.push(`granted by ${entry.authorization}`);
    return out.join("; ");
  }

  function row(entry) {
    const status = entry.response ? entry.response.status : "—";
    const full = entry.identity ? entry.identity.subject || entry.identity.spiffe_id || "" : "";
    const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(full);
    const who = sa ? `${sa[1]}/${sa[2]}` : full;
    const cls = typeof status === "number" && status >= 400 ? "bad" : "good";
    if (!firstShown.has(entry.id)) firstShown.set(entry.id, Date.now());
    return el(
      "tr",
      { "data-id": entry.id, "data-shown-at": firstShown.get(entry.id), className: entry.id === selected ? "selected" : "", onclick: () => open(entry.id) },
      el("td", {}, entry.id),
      el("td", {}, (entry.time_iso || "").slice(11, 23)),
      el("td", {}, entry.listener),
      el("td", {}, entry.method),
      el("td", { className: "path" }, entry.path + (entry.query ? `?${entry.query}` : "")),
      el("td", { className: `status ${cls}` }, status),
      el("td", { title: full }, who),
      el("td", {}, notes(entry))
    );
  }

  async function refresh() {
    let data;
    try {
      data = await api("GET", `/journal?${query()}`);
    } catch (error) {
      summary.textContent = error.message;
      return;
    }
    const entries = data.entries.slice().reverse();
    const key = entries.map((e) => e.id).join(",");
    summary.textContent = `${data.matched} shown · ${data.count} kept of ${data.size} · ${data.dropped} dropped`;
    if (key === shown) return;
    shown = key;
    body.replaceChildren(...entries.map(row));
  }

  function section(title, ...content) {
    return el("div", { className: "block" }, el("h3", {}, title), ...content);
  }

  async function open(id) {
    selected = id;
    for (const tr of body.querySelectorAll("tr")) tr.classList.toggle("selected", tr.dataset.id === String(id));
    let entry, curl;
    try {
      [entry, curl] = await Promise.all([api("GET", `/journal/${id}`), api("GET", `/console/journal/${id}/curl`)]);
    } catch (error) {
      notice(error.message, true);
      return;
    }
    const response = entry.response;
    detail.replaceChildren(...[
      el("h2", {}, `#${entry.id} ${entry.method} ${entry.path}`),
      section("Request", el("pre", { className: "json" },
        `${entry.method} ${entry.path}${entry.query ? "?" + entry.query : ""} (${entry.listener})\n` +
        Object.entries(entry.headers || {}).map(([k, v]) => `${k}: ${v}`).join("\n") +
        (entry.body ? `\n\n${entry.body}` : ""))),
      section("Answer", response
        ? el("pre", { className: "json" }, `${response.status}\n` +
            Object.entries(response.headers || {}).map(([k, v]) => `${k}: ${v}`).join("\n") +
            (response.body ? `\n\n${response.body}` : ""))
        : el("p", {}, `no answer: ${entry.dropped || "dropped"}`)),
      section("Identity", entry.identity ? json(entry.identity) : el("p", { className: "muted" }, "none")),
      entry.authorization ? section("Granted by", el("p", { className: "granted" }, `Authorization ${entry.authorization}`)) : null,
      entry.near_miss ? section("Near miss", el("p", { className: "near-miss" }, entry.near_miss)) : null,
      entry.error ? section("Error", el("p", { className: "error-text" }, entry.error)) : null,
      entry.fault ? section("Fault that fired", json(entry.fault)) : null,
      section("Repeat it", el("pre", { id: "curl", className: "json" }, curl.curl),
        el("button", { type: "button", id: "copy-curl", onclick: () => copy(curl.curl, "curl command") }, "Copy curl")),
    ].filter(Boolean));
    detail.hidden = false;
  }

  form.addEventListener("input", () => { shown = ""; refresh(); });
  form.addEventListener("submit", (event) => event.preventDefault());
  document.getElementById("journal-clear").addEventListener("click", async () => {
    try {
      const data = await api("DELETE", "/journal");
      notice(`cleared ${data.cleared} entries`);
      detail.hidden = true;
      refresh();
    } catch (error) {
      notice(error.message, true);
    }
  });

  async function loop() {
    if (!pause.checked) await refresh();
    setTimeout(loop, POLL_MS);
  }
  loop();
})();
