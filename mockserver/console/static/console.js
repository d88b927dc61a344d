// Shared helpers of the console pages: calls to the admin API and safe DOM building.
// Text from the journal is attacker-controlled: it only ever goes in through textContent.
"use strict";

const Console = (() => {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const token = meta("esi-console-token");
  const tokenHeader = meta("esi-console-token-header");

  async function api(method, path, body) {
    const headers = { [tokenHeader]: token };
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = { error: `answer ${response.status} was not JSON` };
    }
    if (!response.ok) {
      const error = new Error((data && data.error) || `HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function json(value) {
    return el("pre", { className: "json" }, JSON.stringify(value, null, 2));
  }

  function table(rows, columns) {
    if (!rows || rows.length === 0) return el("p", { className: "muted" }, "none");
    return el(
      "table",
      { className: "list" },
      el("thead", {}, el("tr", {}, columns.map(([title]) => el("th", {}, title)))),
      el("tbody", {}, rows.map((row) => el("tr", {}, columns.map(([, cell]) => el("td", {}, cell(row))))))
    );
  }

  let noticeTimer = null;
  function notice(text, isError) {
    const box = document.getElementById("notice");
    box.textContent = text;
    box.className = isError ? "error" : "ok";
    box.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { box.hidden = true; }, isError ? 8000 : 3000);
  }

  async function copy(text, what) {
    try {
      await navigator.clipboard.writeText(text);
      notice(`${what} copied`);
    } catch (_) {
      notice(`select the ${what} and copy it by hand (the clipboard is not available here)`, true);
    }
  }

  function formFields(form) {
    const out = {};
    for (const input of form.querySelectorAll("input, select")) {
      if (!input.name || input.value === "") continue;
      const kind = input.dataset.type;
      if (kind === "int" || kind === "count") out[input.name] = parseInt(input.value, 10);
      else if (kind === "float") out[input.name] = parseFloat(input.value);
      else out[input.name] = input.value;
    }
    return out;
  }

  return { api, el, json, table, notice, copy, formFields };
})();
