// Faults and modes: the rules in force, a form per kind to add one, quirks and strict.
"use strict";

(() => {
  const { api, el, notice, formFields } = Console;

  function describe(rule) {
    const { id, fired, count, ...rest } = rule;
    return Object.entries(rest).filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
  }

  function rows(path, rules) {
    return rules.map((rule) => el("tr", { "data-id": rule.id },
      el("td", {}, rule.id), el("td", { className: "rule" }, describe(rule)),
      el("td", {}, rule.fired ?? 0), el("td", {}, rule.count === null || rule.count === undefined ? "∞" : rule.count),
      el("td", {}, el("button", { type: "button", onclick: () => act("DELETE", `${path}/${rule.id}`, `removed ${rule.id}`) }, "Remove"))));
  }

  async function render() {
    try {
      const [plain, cluster, quirks] = await Promise.all([api("GET", "/faults"), api("GET", "/cluster-faults"), api("GET", "/quirks")]);
      document.querySelector("#faults-table tbody").replaceChildren(...rows("/faults", plain.faults));
      document.querySelector("#cluster-faults-table tbody").replaceChildren(...rows("/cluster-faults", cluster.faults));
      document.getElementById("strict").checked = quirks.strict;
      document.querySelector("#quirks-table tbody").replaceChildren(...Object.entries(quirks.available).map(([name, summary]) =>
        el("tr", {}, el("td", {}, el("code", {}, name)),
          el("td", {}, el("input", { type: "checkbox", id: `quirk-${name}`, checked: quirks.quirks.includes(name),
            onchange: (event) => act(event.target.checked ? "POST" : "DELETE", `/quirks/${encodeURIComponent(name)}`, `${name} ${event.target.checked ? "on" : "off"}`) })),
          el("td", {}, summary))));
    } catch (error) {
      notice(error.message, true);
    }
  }

  async function act(method, path, done, body) {
    try {
      const data = await api(method, path, body);
      notice(typeof done === "function" ? done(data) : done);
    } catch (error) {
      notice(error.message, true);
    }
    render();
  }

  for (const form of document.querySelectorAll("form.fault-form")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      act("POST", form.dataset.endpoint, (rule) => `added fault ${rule.id}`, formFields(form));
    });
  }
  document.getElementById("faults-clear").addEventListener("click", () => act("DELETE", "/faults", (d) => `cleared ${d.cleared}`));
  document.getElementById("cluster-faults-clear").addEventListener("click", () => act("DELETE", "/cluster-faults", (d) => `cleared ${d.cleared}`));
  document.getElementById("strict").addEventListener("change", async (event) => {
    const { quirks } = await api("GET", "/quirks");
    act("PUT", "/quirks", `strict ${event.target.checked ? "on" : "off"}`, { quirks, strict: event.target.checked });
  });
  render();
  setInterval(render, 2000);
})();
