// State: clusters (keys, rotation, minting), the books, clock and modes, and anything else
// the mock's state view carries (identity providers, once the mock has them).
"use strict";

(() => {
  const { api, el, json, table, notice, copy } = Console;
  const KNOWN = new Set(["generator_states", "authorized_identities", "leaked_credentials", "clusters", "behaviour", "clock"]);
  const meta = (item) => item.metadata || {};
  const folded = (value) => el("details", {}, el("summary", {}, "spec"), json(value));

  function mintForm(name, cluster) {
    const output = el("div", { className: "minted", id: `minted-${name}` });
    const sa = el("select", { name: "sa", id: `mint-sa-${name}` },
      cluster.service_accounts.map((s) => el("option", {}, `${s.namespace}/${s.name}`)));
    const audiences = el("input", { name: "audiences", placeholder: "audiences (comma separated, default the cluster's)", size: 36 });
    const mint = async () => {
      const body = { cluster: name, sa: sa.value };
      const list = audiences.value.split(",").map((a) => a.trim()).filter(Boolean);
      if (list.length) body.audiences = list;
      try {
        const { token } = await api("POST", "/tokens", body);
        // Shown once, on this click: nothing keeps it, a reload or the next mint replaces it.
        const box = el("textarea", { readonly: true, rows: 3, cols: 80, id: `token-${name}` }, token);
        output.replaceChildren(box, el("button", { type: "button", onclick: () => copy(token, "token") }, "Copy token"));
      } catch (error) {
        notice(error.message, true);
      }
    };
    return el("div", { className: "mint" }, sa, audiences,
      el("button", { type: "button", id: `mint-${name}`, onclick: mint }, "Mint token"), output);
  }

  function clusterCard(name, cluster) {
    const rotate = async () => {
      try {
        const data = await api("POST", `/keys/${encodeURIComponent(name)}/rotate`, { step: "full" });
        notice(`${name} now signs with ${data.kid}`);
        renderClusters();
      } catch (error) {
        notice(error.message, true);
      }
    };
    return el("div", { className: "card", id: `cluster-${name}` },
      el("h3", {}, name),
      el("p", {}, "issuer ", el("code", {}, cluster.issuer), " · ", el("code", {}, cluster.url), " · CA ", cluster.ca_fingerprint),
      el("p", {}, "signing kid ", el("code", { className: "signing-kid" }, cluster.signing_kid), " ",
        el("button", { type: "button", id: `rotate-${name}`, onclick: rotate }, "Rotate key")),
      table(cluster.keys, [
        ["kid", (k) => el("code", {}, k.kid)], ["alg", (k) => k.alg], ["kty", (k) => k.kty],
        ["signs", (k) => (k.signing ? "yes" : "")],
      ]),
      el("p", { className: "muted" }, `${cluster.service_accounts.length} service accounts, ${cluster.pods.length} pods; requests ${JSON.stringify(cluster.request_counts)}`),
      mintForm(name, cluster));
  }

  async function renderClusters() {
    try {
      const { clusters } = await api("GET", "/state/clusters");
      document.getElementById("clusters").replaceChildren(...Object.entries(clusters).map(([n, c]) => clusterCard(n, c)));
    } catch (error) {
      notice(error.message, true);
    }
  }

  async function renderBooks() {
    let state;
    try {
      state = await api("GET", "/state");
    } catch (error) {
      notice(error.message, true);
      return;
    }
    document.getElementById("generator-states").replaceChildren(table(state.generator_states, [
      ["namespace", (g) => meta(g).namespace], ["name", (g) => meta(g).name], ["detail", (g) => folded(g.spec || g)],
    ]));
    document.getElementById("authorized-identities").replaceChildren(table(state.authorized_identities, [
      ["name", (a) => meta(a).name], ["credentials", (a) => ((a.spec || {}).issuedCredentials || []).length], ["detail", (a) => folded(a.spec || a)],
    ]));
    document.getElementById("leaked-credentials").replaceChildren(table(state.leaked_credentials, [
      ["namespace", (l) => l.namespace], ["kind", (l) => l.kind], ["name", (l) => l.name], ["keys", (l) => (l.keys || []).join(", ")],
    ]));
    document.getElementById("behaviour").replaceChildren(json({ clock: state.clock, ...state.behaviour }));
    const others = Object.entries(state).filter(([k]) => !KNOWN.has(k));
    document.getElementById("other-state").replaceChildren(...others.map(([k, v]) =>
      el("section", {}, el("h2", {}, k.replaceAll("_", " ")), json(v))));
  }

  async function loop() {
    await renderBooks();
    setTimeout(loop, 2000);
  }
  renderClusters();
  loop();
})();
