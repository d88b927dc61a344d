"""The bundle's README.md: everything a vendor needs, inside the bundle.

It names no document the vendor does not have: the hooks file format, the workloads the server
must know and the real server's known defects are written out here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def vendor_readme(info: Mapping[str, Any]) -> str:
    """The README.md of a bundle described by `info` (the content of bundle.json)."""
    rows = "\n".join(
        f"| `{n}` | `{c['issuer']}` | `{c['url']}` | `{c['bind_host']}:{c['bind_port']}` "
        f"| `{c['ca_file']}` |"
        for n, c in info["clusters"].items()
    )
    first = next(iter(info["clusters"]), "alpha")
    idps = _idp_section(info.get("idps") or {})
    return f"""# Conformance bundle

Written by `esi-conformance bundle` on {info["created"]}. Keep this folder: it holds the keys and
CAs of the harness's fake clusters (private files are mode 0600), so every later run presents
the same identities at the same addresses. `esi-conformance bundle` refuses to write over it
unless given `--force` (which makes new keys: load the manifests again afterwards).

## 1. Load it into the server under test

Apply the two manifest files to the server's cluster, Kubernetes objects first:

    kubectl apply -f kubernetes.yaml
    kubectl apply -f manifests.yaml

- `kubernetes.yaml`: the `Namespace`s every manifest and workload uses, and one `ServiceAccount`
  and one `Pod` for each workload the harness's tokens name. The server looks up the caller's Pod
  (or ServiceAccount) by name in the workload's namespace, in its own cluster, when it records a
  generated credential; without it a generator request answers 400 `pods "<name>" not found`.
  The Pods run `registry.k8s.io/pause:3.9`; they only have to exist. Kubernetes gives them new
  UIDs: the tokens carry the fake clusters' UIDs (`workloads` in `bundle.json`, and each
  object's `conformance.esi-federation.dev/token-uid` annotation), so a server that compares UIDs
  will not find them equal.
- `manifests.yaml`: standard CRDs only: `KubernetesFederation`s pointing at the fake clusters
  below, a `SpiffeFederation`, `ClusterSecretStore`s with fake-provider data, generators, a
  `ClusterGenerator`, a `Secret` and the `Authorization`s.

| cluster | issuer | federation URL | harness listens on | CA (callers send it as `ca.crt`) |
|---|---|---|---|---|
{rows}

The server must reach those URLs over HTTPS. From a container or a kind cluster, 127.0.0.1 is
the container itself: write the bundle with `--advertise-host HOST` (an address of this machine
the server can reach, e.g. `host.docker.internal` or the kind network's gateway) or one
`--cluster-url NAME=URL` per cluster. By default a cluster answers discovery and JWKS only to
callers presenting one of its service-account tokens (as kube-apiserver does): the real server
forwards the caller's token. A server that does not forward it needs a bundle written with
`--anonymous-discovery`.

For SPIFFE callers (mTLS port): trust `spiffe/bundle.pem` for client certificates (trust
domain(s) {", ".join(info["spiffe"]["trust_domains"])}). `spiffe/svids/` holds one SVID per
SPIFFE Authorization, for trying the port by hand; the harness issues its own from the same CA
(`spiffe/ca/`).

{idps}## 2. Run the suite

    esi-conformance server --target http://SERVER:PORT --bundle <this folder>
        [--target-ca server-ca.pem] [--target-mtls https://SERVER:MTLS_PORT]
        [--hooks hooks.yaml] [--profile smoke|core|full] [--report-dir reports/server]

The harness starts the fake clusters on the addresses above (a clear error if a port is taken),
checks the target once before any scenario, and writes `results.json`, `junit.xml` and
`report.html`. Each failure in the report carries a `curl` command that repeats the request;
the token in it comes from this folder:

    curl -sS -X POST http://SERVER:PORT/secretstore/app-store/secrets/plain \\
      -H "Authorization: Bearer $(esi-mock token --state-dir <this folder> --cluster {first} \\
            --sa team-a/web)" \\
      -H 'Content-Type: application/json' \\
      -d "{{\\"ca.crt\\": \\"$(base64 -w0 clusters/{first}/ca.crt)\\"}}"

To try the harness itself first, `esi-mock serve --bundle <this folder> --state-dir STATE`
plays a conforming server that loaded this bundle, and writes `STATE/hooks.yaml` for it (the
worked example of section 3): pass `--hooks STATE/hooks.yaml` and every MUST is judged.

## 3. Optional state hooks (`--hooks FILE`)

Requirements about side effects (GeneratorStates, AuthorizedIdentities, Authorization changes
taking effect, backend faults) need hooks; without them those requirements are SKIP with the
reason, never FAIL. The file is YAML; every hook is a command or a URL:

```yaml
apply:         {{command: ["./hooks/apply.sh"]}}        # manifests as multi-document YAML on stdin
delete:        {{command: "kubectl delete -f -"}}       # same input (only kind and metadata matter)
state:         {{url: "http://127.0.0.1:9000/state"}}   # JSON list of objects, or {{"items": [...]}}
backend_fault: {{url: "http://127.0.0.1:9000/fault"}}   # JSON {{"store": NAME | "generator": NS/KIND/NAME, "fault": F}}
reset:         {{command: ["./hooks/reset.sh"]}}        # after each scenario that used a hook
timeout: 30                                           # seconds per hook
```

- A command (a list, or a string split like a shell would) runs in the hooks file's folder, gets
  its input on stdin and must exit 0; `state` prints its JSON on stdout. A URL gets a POST with
  the input as the body and must answer 2xx; `state` is a GET.
- `state` lists every `GeneratorState`, `AuthorizedIdentity` and `LeakedCredential` in
  Kubernetes shape (`kind`, `metadata.namespace`, `metadata.name`, `metadata.labels`,
  `metadata.annotations`, and for AuthorizedIdentities `spec.issuedCredentials`).
- Faults are `unavailable` (a store outage; a conforming server answers 5xx), `error` and
  `state-write-fails`. A failing hook makes the scenario ERROR, never FAIL.
- The runner undoes what a scenario changed (deletes what it applied, re-applies what it
  deleted), then runs `reset`: use it to clear faults.
- Worked example: the `hooks.yaml` of `esi-mock serve --bundle` names one URL per hook
  (`apply: {{url: "http://127.0.0.1:PORT/hooks/apply"}}`, and `delete`, `state`,
  `backend-fault`, `reset`). For a server in Kubernetes, `apply` is `kubectl apply -f -` (then
  wait for the reconcile), `delete` is `kubectl delete --ignore-not-found -f -`, and `state`
  prints the GeneratorStates and AuthorizedIdentities as one JSON list.

## 4. Known defects of the real server

- D18 `sni-with-port`: its discovery fetch uses the federation URL minus `https://` as the TLS
  server name, so URLs with a port fail verification. Write the bundle with
  `--issuer-url https://HOST` (no port): the clusters then listen on port 443 as
  `https://<cluster>.HOST`, and HOST's subdomains must resolve to the harness.
- D14 `home-cluster-owner`: owners are looked up in the server's own cluster by name, which is
  why `kubernetes.yaml` exists.
- It forwards the caller's token to discovery and JWKS; servers that do not need
  `--anonymous-discovery`.
- D9 `first-request-401`: the first OIDC request per new `ca.crt` may get 401; the suite retries
  once where the scenarios allow it.
"""


def _idp_section(idps: Mapping[str, Any]) -> str:
    """How the server under test reaches the bundle's fake Okta and PingOne ("" without them)."""
    if not idps:
        return ""
    rows = "\n".join(
        f"| `{n}` | {e['kind']} | {', '.join(f'`{h}`' for h in e['hosts'])} "
        f"| `{e['bind_host']}:{e['bind_port']}` | `{e['ca_file']}` |"
        for n, e in idps.items()
    )
    okta = idps.get("okta", {})
    port = okta.get("bind_port", "PORT")
    return f"""### Okta and PingOne callers

`manifests.yaml` also holds `OktaFederation`s (domain `https://esi-mock.okta.com`) and
`PingIdentityFederation`s (regions `com` and `eu`), and Authorizations for callers with their
tokens. The harness plays both identity providers, with keys kept in `idps/`:

| provider | kind | public host names | harness listens on | CA |
|---|---|---|---|---|
{rows}

The real server fetches Okta keys from the federation's domain and PingOne keys from the fixed
public names `auth.pingone.<region>`, on port 443, trusting the system trust store. On a test
machine (never on one that talks to the real Okta or PingOne):

1. Resolve the host names above to the machine running the harness: a hosts-file line per name
   (`10.0.0.5 esi-mock.okta.com auth.pingone.com auth.pingone.eu`) or DNS records; in
   Kubernetes, `hostAliases` on the server's Pod or a CoreDNS rewrite.
2. Send port 443 of those names to the port the harness listens on, e.g. on the harness
   machine `socat TCP-LISTEN:443,fork,reuseaddr TCP:127.0.0.1:{port}` (one per provider, on its
   own address) or an `iptables -t nat ... --dport 443 -j REDIRECT --to-ports {port}` rule.
3. Trust the CA files above in the server's system trust store (a Go binary on Linux also reads
   `SSL_CERT_FILE` and `SSL_CERT_DIR`), e.g. `cp idps/*/ca.crt
   /usr/local/share/ca-certificates/` then `update-ca-certificates`.

Before any scenario the harness sends one request per provider with a valid token; when the
server neither fetched that provider's keys nor answered anything but 401, the Okta or PingOne
scenarios are SKIP with the reason, never FAIL. `esi-mock serve --bundle <this folder>`
resolves these names itself, so its Okta and PingOne scenarios are judged.

"""
