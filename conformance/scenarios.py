"""Scenario catalogue: schema, typed model and loader, shared by the server and client runners.

A scenario is data: who calls (identity, token variant, body variant), what (operation and
parameters), the server-side set-up, the answer a conforming server gives, and what a client must
do with that answer. The server runner sends the request and judges the answer; the client runner
makes the embedded mock give the answer and judges the client. Matching lives here too, so both
runners judge bodies, headers and state the same way. The schema is written out in
docs/scenarios.md.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conformance.requirements import NEEDS

OPERATIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # operation: (required params, optional params)
    "store.get": (("store", "key"), ()),
    "generator.generate": (("namespace", "kind", "name"), ()),
    "generator.revoke_self": (("namespace", "kind", "name"), ()),
    "generator.revoke_of": (("namespace",), ("body",)),
    "raw": (("method", "path"), ()),
}
TOKEN_VARIANTS = ("valid", "legacy")
BROKEN_KINDS_FALLBACK = (
    "expired",
    "expired-seconds-ago",
    "not-yet-valid",
    "foreign-key",
    "unknown-kid",
    "no-kid",
    "non-string-kid",
    "alg-none",
    "hs256-public-key",
    "wrong-issuer",
    "wrong-audience",
    "tampered-payload",
)
CA_VARIANTS = (
    "cluster",
    "raw-pem",
    "der-base64",
    "urlsafe-base64",
    "non-certificate-pem",
    "garbage",
    "missing",
)
BODY_VARIANTS = ("json", "empty", "non-json", "json-array", "json-null")
AUTH_FORMS = ("bearer", "none", "bare", "lowercase")
TRANSPORTS = ("http", "https", "mtls")
SVID_VARIANTS = ("valid", "untrusted")
MALFORMED_WLT = (
    "two-segments",
    "bad-base64",
    "bad-json",
    "missing-alg",
    "missing-namespace",
    "missing-sa-name",
    "missing-sa-uid",
)
OUTCOMES = ("response", "no-response", "handshake-refused")
STATE_KINDS = ("GeneratorState", "AuthorizedIdentity", "LeakedCredential")
CLIENT_OUTCOMES = ("success", "failure")
MUST_NOT = ("write-output", "repeat-request", "exec", "leak-secret", "hang")
REPORT_ITEMS = ("status", "message")
# Client-direction inputs the harness hands a client (see ClientInputs).
TOKEN_FILE_FORMS = ("plain", "trailing-newline")
SERVER_URL_FORMS = ("plain", "trailing-slash", "double-trailing-slash")
DELIVERY_SOURCES = ("files", "stdout", "env")
RESPOND_TLS = ("untrusted-ca", "expired", "wrong-name")
DIRECTIONS = ("server", "client", "both")
SETUP_ACTIONS = (
    "manifests.apply",
    "manifests.delete",
    "quirks",
    "clock.shift",
    "keys.rotate",
    "cluster.fault",
    "backend.fault",
    "respond",
)
CLUSTER_FAULTS = ("unreachable", "status-500", "non-json", "non-string-member", "slow")
BACKEND_FAULTS = ("unavailable", "error", "state-write-fails")
SCENARIO_ID = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")
_MISSING = object()


def broken_kinds() -> tuple[str, ...]:
    """The broken-token kinds the fake clusters can mint (the mock's list when installed)."""
    try:
        from mockserver.tokens import BROKEN_KINDS
    except ImportError:
        return BROKEN_KINDS_FALLBACK
    return tuple(BROKEN_KINDS)


class ScenarioError(ValueError):
    """Every problem found in a catalogue, one line each, so a whole folder is fixed in one pass."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KubeIdentity:
    """A service account of a fake cluster and the token variant it presents.

    `signed_by` names another cluster whose current key signs the token while the claims stay
    this cluster's (issuer included): a forged token for cross-issuer checks.
    """

    cluster: str
    service_account: str
    pod: str | None = None
    token: str = "valid"
    signed_by: str | None = None

    @property
    def namespace(self) -> str:
        return self.service_account.split("/", 1)[0]

    @property
    def sa_name(self) -> str:
        return self.service_account.split("/", 1)[1]

    @property
    def broken_kind(self) -> str | None:
        """The BROKEN_KINDS entry for `broken:<kind>` tokens, else None."""
        return self.token.split(":", 1)[1] if self.token.startswith("broken:") else None


@dataclass(frozen=True)
class SpiffeIdentity:
    """A SPIFFE ID presented as an X.509-SVID on the mTLS port (`untrusted`: foreign CA)."""

    spiffe_id: str
    svid: str = "valid"


Identity = KubeIdentity | SpiffeIdentity


@dataclass(frozen=True)
class WorkloadToken:
    """The x-workload-token header: minted for an identity, a malformed kind, or raw text."""

    identity: KubeIdentity | None = None
    malformed: str | None = None
    raw: str | None = None

    def text(self, mint: Callable[[KubeIdentity], str]) -> str:
        """The header value; `mint` turns an identity into a token (the runner's fake clusters)."""
        if self.raw is not None:
            return self.raw
        if self.malformed is not None:
            return malformed_workload_token(self.malformed)
        assert self.identity is not None
        return mint(self.identity)


@dataclass(frozen=True)
class Body:
    """Request body form: `json` (object built from ca.crt and operation members), a fixed form,
    exact text, an exact JSON value, or a JSON object padded to `size` bytes."""

    form: str = "json"
    text: str | None = None
    value: Any = None
    size: int | None = None


@dataclass(frozen=True)
class Request:
    """One HTTP exchange to build: everything a runner needs to produce the bytes on the wire."""

    operation: str
    params: Mapping[str, Any]
    identity: Identity | None = None
    transport: str = "http"
    auth: str = "bearer"
    ca_crt: str = "cluster"
    body: Body = field(default_factory=Body)
    workload_token: WorkloadToken | None = None
    headers: Mapping[str, str | None] = field(default_factory=dict)
    query: str | None = None

    @property
    def method(self) -> str:
        """The HTTP method the operation uses."""
        if self.operation == "raw":
            return str(self.params["method"])
        return "DELETE" if self.operation == "generator.revoke_self" else "POST"

    @property
    def path(self) -> str:
        """The raw request target path (parameters inserted exactly as written, no encoding)."""
        p = self.params
        if self.operation == "store.get":
            path = f"/secretstore/{p['store']}/secrets/{p['key']}"
        elif self.operation in ("generator.generate", "generator.revoke_self"):
            path = f"/generators/{p['namespace']}/{p['kind']}/{p['name']}"
        elif self.operation == "generator.revoke_of":
            path = f"/generators/{p['namespace']}/revoke"
        else:
            path = str(p["path"])
        return f"{path}?{self.query}" if self.query is not None else path

    @property
    def is_kube(self) -> bool:
        return isinstance(self.identity, KubeIdentity)

    def authorization(self, token: str | None) -> str | None:
        """The Authorization header value for `token` in this request's form (None: omit it)."""
        if token is None or self.auth == "none":
            return None
        return {"bearer": f"Bearer {token}", "bare": token, "lowercase": f"bearer {token}"}[
            self.auth
        ]

    def body_bytes(self, ca_crt_value: str | None) -> bytes:
        """The body bytes; `ca_crt_value` is `ca_crt_text(...)` for Kubernetes identities."""
        form = self.body.form
        if form == "empty":
            return b""
        if form == "text":
            return (self.body.text or "").encode("utf-8")
        if form == "non-json":
            return b"this is not JSON"
        if form == "json-array":
            return b"[]"
        if form == "json-null":
            return b"null"
        if form == "value":
            return json.dumps(self.body.value, separators=(",", ":")).encode("utf-8")
        members: dict[str, Any] = {}
        if self.is_kube and ca_crt_value is not None:
            members["ca.crt"] = ca_crt_value
        if self.operation == "generator.revoke_of":
            members.update(self.params.get("body") or {})
        data = json.dumps(members, separators=(",", ":")).encode("utf-8")
        if form == "oversized" and self.body.size is not None and len(data) < self.body.size:
            members["padding"] = ""
            base = len(json.dumps(members, separators=(",", ":")).encode("utf-8"))
            members["padding"] = "x" * max(0, self.body.size - base)
            data = json.dumps(members, separators=(",", ":")).encode("utf-8")
        return data

    def header_list(self, token: str | None, wlt: str | None, body: bytes) -> dict[str, str]:
        """Default headers (Authorization, Content-Type for a non-empty body, x-workload-token)
        with the scenario's `headers` applied on top (a null value removes a header)."""
        out: dict[str, str] = {}
        auth = self.authorization(token)
        if auth is not None:
            out["Authorization"] = auth
        if body:
            out["Content-Type"] = "application/json"
        if wlt is not None:
            out["x-workload-token"] = wlt
        for name, value in self.headers.items():
            for existing in [k for k in out if k.lower() == name.lower()]:
                del out[existing]
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True)
class BodyMatcher:
    """A check on response (or request) body bytes; see docs/scenarios.md for each kind."""

    kind: str
    arg: Any = None

    def check(self, body: bytes, ca_pems: Mapping[str, bytes] | None = None) -> str | None:
        """None when `body` matches, else a one-line reason."""
        return _check_body(self, body, ca_pems or {})


@dataclass(frozen=True)
class HeaderMatcher:
    """A check on one header (names compare case-insensitively)."""

    kind: str
    arg: Any = None

    def check(self, value: str | None) -> str | None:
        """None when the header value (None: absent) matches, else a reason."""
        return _check_header(self, value)


@dataclass(frozen=True)
class StateExpectation:
    """Objects of one kind, selected by namespace, name and labels, before and after a step."""

    kind: str
    namespace: str | None = None
    name: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    count: int | None = None
    delta: int | None = None
    annotations: tuple[str, ...] = ()
    credential: Mapping[str, Any] | None = None

    def select(self, objects: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The objects this expectation is about."""
        out = []
        for obj in objects:
            meta = obj.get("metadata", {})
            if obj.get("kind") != self.kind:
                continue
            if self.namespace is not None and meta.get("namespace") != self.namespace:
                continue
            if self.name is not None and meta.get("name") != self.name:
                continue
            labels = meta.get("labels") or {}
            if any(labels.get(k) != v for k, v in self.labels.items()):
                continue
            out.append(obj)
        return out

    def check(
        self, before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
    ) -> str | None:
        """None when the state change matches, else a reason (objects in Kubernetes shape)."""
        was, now = self.select(before), self.select(after)
        what = f"{self.kind} {self.describe()}"
        if self.count is not None and len(now) != self.count:
            return f"{what}: expected {self.count} after the step, found {len(now)}"
        if self.delta is not None and len(now) - len(was) != self.delta:
            return (
                f"{what}: expected a change of {self.delta:+d}, found {len(was)} before and "
                f"{len(now)} after"
            )
        new_names = {_obj_key(o) for o in now} - {_obj_key(o) for o in was}
        for obj in now:
            if self.delta is not None and _obj_key(obj) not in new_names:
                continue
            annotations = obj.get("metadata", {}).get("annotations") or {}
            missing = [a for a in self.annotations if a not in annotations]
            if missing:
                return f"{what}: {_obj_key(obj)} lacks annotations {missing}"
        if self.credential is not None:
            if not now:
                return f"{what}: no such object"
            for obj in now:
                entries = (obj.get("spec") or {}).get("issuedCredentials") or []
                if not any(_subset(self.credential, e) for e in entries):
                    return f"{what}: no issued credential contains {_show_json(self.credential)}"
        return None

    def describe(self) -> str:
        parts = []
        if self.namespace is not None:
            parts.append(f"namespace={self.namespace}")
        if self.name is not None:
            parts.append(f"name={self.name}")
        parts.extend(f"{k}={v}" for k, v in self.labels.items())
        return "[" + ", ".join(parts) + "]"


@dataclass(frozen=True)
class UpstreamRequest:
    """One request a fake cluster must have received (path without the query)."""

    method: str
    path: str
    headers: tuple[tuple[str, HeaderMatcher], ...] = ()


@dataclass(frozen=True)
class UpstreamExpectation:
    """Requests a fake cluster must have received during the step, in this order."""

    cluster: str
    requests: tuple[UpstreamRequest, ...]

    def check(self, journal: Sequence[Mapping[str, Any]]) -> str | None:
        """`journal`: the cluster's requests during the step, each `{method, path, headers}`."""
        position = 0
        for want in self.requests:
            while position < len(journal):
                got = journal[position]
                position += 1
                if got.get("method") != want.method or got.get("path") != want.path:
                    continue
                headers = {k.lower(): v for k, v in (got.get("headers") or {}).items()}
                problem = next(
                    (
                        p
                        for name, m in want.headers
                        if (p := m.check(headers.get(name.lower()))) is not None
                    ),
                    None,
                )
                if problem is None:
                    break
            else:
                return (
                    f"cluster {self.cluster} did not receive {want.method} {want.path} "
                    "(with the expected headers, in order)"
                )
        return None


@dataclass(frozen=True)
class Expectation:
    """What a conforming server answers. `any_of` alternatives: one must match in full."""

    status: tuple[int, ...] | None = None
    outcome: str = "response"
    body: BodyMatcher | None = None
    headers: tuple[tuple[str, HeaderMatcher], ...] = ()
    state: tuple[StateExpectation, ...] = ()
    upstream: tuple[UpstreamExpectation, ...] = ()
    status_same_as: str | None = None
    any_of: tuple[Expectation, ...] = ()

    def check_response(
        self,
        status: int | None,
        headers: Mapping[str, str],
        body: bytes,
        outcome: str = "response",
        earlier_status: Mapping[str, int] | None = None,
    ) -> list[str]:
        """Problems with an answer (empty when it conforms); state and upstream are separate.

        `outcome` is what happened on the wire: `response`, `no-response` (connection closed
        without an HTTP response) or `handshake-refused`. `earlier_status` maps step names to the
        statuses they got, for `status_same_as`.
        """
        problems = self._own(status, headers, body, outcome, earlier_status or {})
        if self.any_of and not problems:
            alternatives = [
                alt._own(status, headers, body, outcome, earlier_status or {})
                for alt in self.any_of
            ]
            if all(alternatives):
                problems.append(
                    "no alternative matched: " + " | ".join("; ".join(p) for p in alternatives)
                )
        return problems

    def _own(
        self,
        status: int | None,
        headers: Mapping[str, str],
        body: bytes,
        outcome: str,
        earlier: Mapping[str, int],
    ) -> list[str]:
        if outcome != self.outcome:
            return [f"expected {self.outcome}, got {outcome}"]
        if outcome != "response":
            return []
        problems = []
        if self.status is not None and status not in self.status:
            want = " or ".join(str(s) for s in self.status)
            problems.append(f"status: expected {want}, got {status}")
        if self.status_same_as is not None:
            other = earlier.get(self.status_same_as)
            if other != status:
                problems.append(
                    f"status: expected the same as step {self.status_same_as!r} "
                    f"({other}), got {status}"
                )
        lower = {k.lower(): v for k, v in headers.items()}
        for name, matcher in self.headers:
            problem = matcher.check(lower.get(name.lower()))
            if problem is not None:
                problems.append(f"header {name}: {problem}")
        if self.body is not None:
            problem = self.body.check(body)
            if problem is not None:
                problems.append(f"body: {problem}")
        return problems

    def all_state(self) -> tuple[StateExpectation, ...]:
        return self.state + tuple(s for alt in self.any_of for s in alt.state)


@dataclass(frozen=True)
class Delivery:
    """What a client delivers on success: exact text, exact bytes, or exact key/value pairs."""

    text: str | None = None
    data: bytes | None = None
    values: Mapping[str, str] | None = None


@dataclass(frozen=True)
class SentRequest:
    """What the client must send for the operation (checked against the mock's journal)."""

    method: str | None = None
    path: str | None = None
    headers: tuple[tuple[str, HeaderMatcher], ...] = ()
    body: BodyMatcher | None = None


@dataclass(frozen=True)
class ClientInputs:
    """What the client runner hands the client beyond the operation's parameters.

    `token_file`: the token as written (`trailing-newline` adds `\\n`);
    `server_url`: the base URL as given (`trailing-slash` adds `/`); `program_args`: arguments
    for the wrapped program; `delivery`: the scenario applies only to adapters whose operation
    delivers this way (others SKIP).
    """

    token_file: str = "plain"
    server_url: str = "plain"
    program_args: tuple[str, ...] = ()
    delivery: str | None = None


@dataclass(frozen=True)
class ClientExpectation:
    """What a client must do with the server's answer, and what it must not do."""

    outcome: str
    delivers: Delivery | None = None
    sends: SentRequest | None = None
    requests: int | None = None
    report: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()
    inputs: ClientInputs = field(default_factory=ClientInputs)
    max_requests: int | None = None
    private_files: bool = False


@dataclass(frozen=True)
class SetupAction:
    """One set-up action (see SETUP_ACTIONS); `args` as validated for that action."""

    action: str
    args: Any


@dataclass(frozen=True)
class Retry:
    """The runner may repeat the step's request up to `max` times while the status is listed."""

    on_status: tuple[int, ...]
    max: int


@dataclass(frozen=True)
class Step:
    """Set-up, then one exchange and its judgement."""

    name: str
    request: Request
    expect: Expectation
    setup: tuple[SetupAction, ...] = ()
    client: ClientExpectation | None = None
    retry: Retry | None = None


@dataclass(frozen=True)
class Scenario:
    """A named, ordered set of steps exercising one or more requirements."""

    id: str
    title: str
    file: str
    requirements: tuple[str, ...]
    steps: tuple[Step, ...]
    given: tuple[SetupAction, ...] = ()
    direction: str = "server"
    needs: tuple[str, ...] = ()
    notes: str = ""

    def runs_in(self, direction: str) -> bool:
        """Whether the `server` or `client` runner drives this scenario."""
        return self.direction in (direction, "both")


# --------------------------------------------------------------------------------------------
# Value helpers for runners
# --------------------------------------------------------------------------------------------


def ca_crt_text(variant: str, cluster: str, pem_of: Callable[[str], bytes]) -> str | None:
    """The `ca.crt` member for a variant; `pem_of(cluster)` returns that cluster's CA PEM.

    `cluster` is the identity's cluster; `cluster:<name>` picks another one. None: omit the member.
    """
    if variant == "missing":
        return None
    if variant == "garbage":
        return "not base64 at all! %%%"
    name = variant.split(":", 1)[1] if variant.startswith("cluster:") else cluster
    pem = pem_of(name)
    if variant == "raw-pem":
        return pem.decode("ascii")
    if variant == "der-base64":
        return base64.b64encode(ssl.PEM_cert_to_DER_cert(pem.decode("ascii"))).decode("ascii")
    if variant == "urlsafe-base64":
        return base64.urlsafe_b64encode(pem).decode("ascii").rstrip("=")
    if variant == "non-certificate-pem":
        der = ssl.PEM_cert_to_DER_cert(pem.decode("ascii"))
        text = ssl.DER_cert_to_PEM_cert(der).replace("CERTIFICATE", "PUBLIC KEY")
        return base64.b64encode(text.encode("ascii")).decode("ascii")
    return base64.b64encode(pem).decode("ascii")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _jwt(header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
    return ".".join(
        [
            _b64url(json.dumps(header).encode()),
            _b64url(json.dumps(claims).encode()),
            _b64url(b"not-a-signature"),
        ]
    )


def malformed_workload_token(kind: str) -> str:
    """Fixed header text for each MALFORMED_WLT kind (deterministic, so reports are stable)."""
    full = {"namespace": "team-a", "serviceaccount": {"name": "app", "uid": "0000-uid"}}
    if kind == "two-segments":
        return _b64url(b'{"alg":"RS256"}') + "." + _b64url(b'{"sub":"x"}')
    if kind == "bad-base64":
        return "!!!.@@@.###"
    if kind == "bad-json":
        return _b64url(b"not json") + "." + _b64url(b"{") + "." + _b64url(b"sig")
    if kind == "missing-alg":
        return _jwt({"typ": "JWT"}, {"kubernetes.io": full})
    field_path = {
        "missing-namespace": ("namespace",),
        "missing-sa-name": ("serviceaccount", "name"),
        "missing-sa-uid": ("serviceaccount", "uid"),
    }[kind]
    claims = json.loads(json.dumps(full))
    target = claims
    for part in field_path[:-1]:
        target = target[part]
    del target[field_path[-1]]
    return _jwt({"alg": "RS256", "typ": "JWT"}, {"kubernetes.io": claims})


# --------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------


def _show_bytes(data: bytes, limit: int = 80) -> str:
    text = repr(data)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show_json(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _decode_json(body: bytes) -> tuple[bool, Any, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False, None, f"not UTF-8: {_show_bytes(body)}"
    try:
        return True, json.loads(text), ""
    except ValueError:
        return False, None, f"not JSON: {_show_bytes(body)}"


def _subset(want: Any, got: Any) -> bool:
    if isinstance(want, Mapping):
        return isinstance(got, Mapping) and all(
            k in got and _subset(v, got[k]) for k, v in want.items()
        )
    return bool(want == got)


def _obj_key(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata", {})
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def _check_body(m: BodyMatcher, body: bytes, ca_pems: Mapping[str, bytes]) -> str | None:
    kind, arg = m.kind, m.arg
    if kind == "all_of":
        return next((p for sub in arg if (p := sub.check(body, ca_pems)) is not None), None)
    if kind == "any":
        return None
    if kind == "exact":
        want = arg.encode("utf-8")
        return (
            None
            if body == want
            else f"expected exactly {_show_bytes(want)}, got {_show_bytes(body)}"
        )
    if kind == "empty":
        return None if body == b"" else f"expected an empty body, got {_show_bytes(body)}"
    if kind == "binary":
        want = base64.b64decode(arg)
        if body == want:
            return None
        ok, value, _ = _decode_json(body)
        if ok and isinstance(value, str):
            try:
                if base64.b64decode(value, validate=True) == want:
                    return None
            except ValueError:
                pass
        return (
            f"expected the bytes {_show_bytes(want)} raw or base64-encoded, got {_show_bytes(body)}"
        )
    ok, value, problem = _decode_json(body)
    if not ok:
        return problem
    if kind == "json":
        return None if value == arg else f"expected {_show_json(arg)}, got {_show_json(value)}"
    if kind == "json_null":
        return None if value is None else f"expected JSON null, got {_show_json(value)}"
    if kind == "json_string":
        if not isinstance(value, str):
            return f"expected a JSON string, got {_show_json(value)}"
        op, want = next(iter(arg.items()))
        good = {
            "any": True,
            "equals": value == want,
            "prefix": value.startswith(str(want)),
            "contains": str(want) in value,
        }[op]
        return (
            None
            if good
            else f"expected a string that {op.replace('_', ' ')} "
            f"{_show_json(want)}, got {_show_json(value)}"
        )
    if kind == "json_object_of_strings":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            return f"expected a JSON object of strings, got {_show_json(value)}"
        keys = arg.get("keys")
        if keys is not None and sorted(value) != sorted(keys):
            return f"expected exactly the keys {sorted(keys)}, got {sorted(value)}"
        return None
    if kind == "json_object":
        if not isinstance(value, dict):
            return f"expected a JSON object, got {_show_json(value)}"
        return (
            None
            if _subset(arg, value)
            else f"expected an object containing {_show_json(arg)}, got {_show_json(value)}"
        )
    if kind == "ca_crt_of":
        if not isinstance(value, dict) or not isinstance(value.get("ca.crt"), str):
            return "expected a JSON object with a string ca.crt"
        pem = ca_pems.get(arg)
        want = base64.b64encode(pem).decode("ascii") if pem is not None else None
        if value["ca.crt"] != want:
            return f"ca.crt is not the padded standard base64 of cluster {arg}'s CA PEM"
        return None
    raise AssertionError(f"unknown body matcher {kind}")


def _check_header(m: HeaderMatcher, value: str | None) -> str | None:
    kind, arg = m.kind, m.arg
    if kind == "absent":
        return None if value is None else f"expected no header, got {value!r}"
    if value is None:
        return "missing"
    if kind == "present":
        return None
    if kind == "exact":
        return None if value == arg else f"expected {arg!r}, got {value!r}"
    if kind == "prefix":
        return (
            None if value.startswith(arg) else f"expected a value starting {arg!r}, got {value!r}"
        )
    if kind == "media_type":
        media = value.split(";", 1)[0].strip().lower()
        return None if media == arg.lower() else f"expected media type {arg!r}, got {value!r}"
    items = {v.strip().upper() for v in value.split(",") if v.strip()}
    want = {str(v).upper() for v in arg}
    if kind == "set":
        return None if items == want else f"expected the set {sorted(want)}, got {value!r}"
    if kind == "includes":
        return None if want <= items else f"expected at least {sorted(want)}, got {value!r}"
    raise AssertionError(f"unknown header matcher {kind}")


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Checker:
    """Collects problems for one scenario (or file) with a common location prefix."""

    def __init__(self, where: str, errors: list[str]) -> None:
        self.where = where
        self.errors = errors

    def bad(self, path: str, expected: str, got: Any = _MISSING) -> None:
        tail = "" if got is _MISSING else f", got {_show(got)}"
        self.errors.append(f"{self.where}: {path}: expected {expected}{tail}")

    def missing(self, path: str) -> None:
        self.errors.append(f"{self.where}: {path}: required field is missing")

    def mapping(
        self, value: Any, path: str, required: Sequence[str], optional: Sequence[str]
    ) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.bad(path, "a mapping", value)
            return None
        ok = True
        for key in value:
            if key not in required and key not in optional:
                allowed = ", ".join([*required, *optional])
                self.errors.append(
                    f"{self.where}: {_join(path, str(key))}: unknown field "
                    f"(expected one of: {allowed})"
                )
        for key in required:
            if key not in value:
                self.missing(_join(path, key))
                ok = False
        return value if ok else None

    def string(
        self,
        value: Any,
        path: str,
        choices: Sequence[str] | None = None,
        pattern: re.Pattern[str] | None = None,
        what: str = "a string",
    ) -> str | None:
        if not isinstance(value, str) or not value:
            self.bad(path, f"{what}" if choices is None else f"one of {', '.join(choices)}", value)
            return None
        if choices is not None and value not in choices:
            self.bad(path, f"one of {', '.join(choices)}", value)
            return None
        if pattern is not None and not pattern.match(value):
            self.bad(path, what, value)
            return None
        return value

    def integer(self, value: Any, path: str, low: int, high: int, what: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.bad(path, what, value)
            return None
        return value

    def status(self, value: Any, path: str) -> tuple[int, ...] | None:
        what = "an integer 100–599"
        if isinstance(value, list):
            if not value:
                self.bad(path, "a non-empty list of integers 100–599", value)
                return None
            out = [self.integer(v, _join(path, i), 100, 599, what) for i, v in enumerate(value)]
            return None if None in out else tuple(out)  # type: ignore[arg-type]
        one = self.integer(value, path, 100, 599, what)
        return None if one is None else (one,)

    def string_list(
        self, value: Any, path: str, choices: Sequence[str] | None = None, what: str = "a string"
    ) -> tuple[str, ...] | None:
        if not isinstance(value, list):
            self.bad(
                path,
                f"a list of {what}s" if choices is None else f"a list of: {', '.join(choices)}",
                value,
            )
            return None
        out = [self.string(v, _join(path, i), choices, what=what) for i, v in enumerate(value)]
        return None if None in out else tuple(out)  # type: ignore[arg-type]

    def string_map(self, value: Any, path: str) -> dict[str, str] | None:
        if not isinstance(value, dict):
            self.bad(path, "a mapping of strings", value)
            return None
        ok = True
        for k, v in value.items():
            if not isinstance(v, str):
                self.bad(_join(path, str(k)), "a string", v)
                ok = False
        return dict(value) if ok else None


class _Context:
    """Catalogue-wide facts the validator checks against."""

    def __init__(
        self, requirement_ids: set[str] | None, needs_of: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self.requirement_ids = requirement_ids
        self.needs_of = needs_of or {}
        self.broken = broken_kinds()


def _identity(c: _Checker, value: Any, path: str, ctx: _Context) -> Identity | None:
    if isinstance(value, dict) and "spiffe" in value:
        d = c.mapping(value, path, ("spiffe",), ("svid",))
        if d is None:
            return None
        sid = c.string(
            d["spiffe"],
            _join(path, "spiffe"),
            pattern=re.compile(r"^spiffe://\S+$"),
            what="a spiffe:// ID",
        )
        svid = c.string(d.get("svid", "valid"), _join(path, "svid"), SVID_VARIANTS)
        return None if sid is None or svid is None else SpiffeIdentity(sid, svid)
    d = c.mapping(value, path, ("cluster", "serviceAccount"), ("pod", "token", "signed_by"))
    if d is None:
        return None
    cluster = c.string(d["cluster"], _join(path, "cluster"), what="a cluster name")
    sa = c.string(
        d["serviceAccount"],
        _join(path, "serviceAccount"),
        pattern=re.compile(r"^[a-z0-9][a-z0-9.-]*/[a-z0-9][a-z0-9.-]*$"),
        what="<namespace>/<name>",
    )
    pod = None
    if "pod" in d:
        pod = c.string(d["pod"], _join(path, "pod"), what="a pod name")
    token = d.get("token", "valid")
    kinds = [*TOKEN_VARIANTS, *(f"broken:{k}" for k in ctx.broken)]
    token = c.string(token, _join(path, "token"), kinds)
    signed_by = None
    if "signed_by" in d:
        signed_by = c.string(d["signed_by"], _join(path, "signed_by"), what="a cluster name")
    if (
        None in (cluster, sa, token)
        or ("pod" in d and pod is None)
        or ("signed_by" in d and signed_by is None)
    ):
        return None
    return KubeIdentity(cluster, sa, pod, token, signed_by)  # type: ignore[arg-type]


def _body(c: _Checker, value: Any, path: str) -> Body | None:
    if isinstance(value, str):
        form = c.string(value, path, BODY_VARIANTS)
        return None if form is None else Body(form)
    if isinstance(value, dict) and len(value) == 1:
        key, arg = next(iter(value.items()))
        if key == "text":
            if not isinstance(arg, str):
                c.bad(_join(path, "text"), "a string", arg)
                return None
            return Body("text", text=arg)
        if key == "json":
            return Body("value", value=arg)
        if key == "oversized":
            size = c.integer(arg, _join(path, "oversized"), 1, 1 << 30, "a size in bytes")
            return None if size is None else Body("oversized", size=size)
    c.bad(
        path,
        f"one of {', '.join(BODY_VARIANTS)}, or a mapping with one of text, json, oversized",
        value,
    )
    return None


def _workload_token(c: _Checker, value: Any, path: str, ctx: _Context) -> WorkloadToken | None:
    if isinstance(value, dict) and "malformed" in value:
        d = c.mapping(value, path, ("malformed",), ())
        kind = d and c.string(d["malformed"], _join(path, "malformed"), MALFORMED_WLT)
        return WorkloadToken(malformed=kind) if kind else None
    if isinstance(value, dict) and "raw" in value:
        d = c.mapping(value, path, ("raw",), ())
        raw = d and c.string(d["raw"], _join(path, "raw"), what="a string")
        return WorkloadToken(raw=raw) if raw else None
    ident = _identity(c, value, path, ctx)
    if isinstance(ident, SpiffeIdentity):
        c.bad(path, "a Kubernetes identity, {malformed: …} or {raw: …}", value)
        return None
    return WorkloadToken(identity=ident) if ident else None


def _request(c: _Checker, value: Any, path: str, ctx: _Context) -> Request | None:
    d = c.mapping(
        value,
        path,
        ("operation",),
        (
            "params",
            "identity",
            "transport",
            "auth",
            "ca_crt",
            "body",
            "workload_token",
            "headers",
            "query",
        ),
    )
    if d is None:
        return None
    ok = True
    op = c.string(d["operation"], _join(path, "operation"), tuple(OPERATIONS))
    params = d.get("params", {})
    if op is not None:
        required, optional = OPERATIONS[op]
        p = c.mapping(params, _join(path, "params"), required, optional)
        if p is None:
            ok = False
        else:
            for key in required:
                if c.string(p[key], _join(_join(path, "params"), key)) is None:
                    ok = False
            if op == "raw" and isinstance(p.get("path"), str) and not p["path"].startswith("/"):
                c.bad(_join(path, "params.path"), "a path starting with /", p["path"])
                ok = False
            if op == "generator.revoke_of" and "body" in p and not isinstance(p["body"], dict):
                c.bad(_join(path, "params.body"), "a mapping of members to send", p["body"])
                ok = False
    else:
        ok = False
    identity = None
    if "identity" in d and d["identity"] is not None:
        identity = _identity(c, d["identity"], _join(path, "identity"), ctx)
        ok = ok and identity is not None
    default_transport = "mtls" if isinstance(identity, SpiffeIdentity) else "http"
    transport = c.string(
        d.get("transport", default_transport), _join(path, "transport"), TRANSPORTS
    )
    auth = c.string(d.get("auth", "bearer"), _join(path, "auth"), AUTH_FORMS)
    ca = d.get("ca_crt", "cluster")
    ca_ok = isinstance(ca, str) and (
        ca in CA_VARIANTS or (ca.startswith("cluster:") and len(ca) > 8)
    )
    if not ca_ok:
        c.bad(_join(path, "ca_crt"), f"one of {', '.join(CA_VARIANTS)} or cluster:<name>", ca)
    body = _body(c, d.get("body", "json"), _join(path, "body"))
    wlt = None
    if "workload_token" in d:
        wlt = _workload_token(c, d["workload_token"], _join(path, "workload_token"), ctx)
        ok = ok and wlt is not None
    headers: dict[str, str | None] = {}
    if "headers" in d:
        if not isinstance(d["headers"], dict):
            c.bad(
                _join(path, "headers"), "a mapping of header names to strings or null", d["headers"]
            )
            ok = False
        else:
            for k, v in d["headers"].items():
                if v is not None and not isinstance(v, str):
                    c.bad(_join(_join(path, "headers"), str(k)), "a string or null", v)
                    ok = False
            headers = dict(d["headers"])
    query = None
    if "query" in d:
        query = c.string(d["query"], _join(path, "query"), what="a query string")
        ok = ok and query is not None
    if transport == "mtls" and isinstance(identity, KubeIdentity):
        c.bad(_join(path, "transport"), "http or https for a Kubernetes identity", transport)
        ok = False
    if not ok or None in (transport, auth, body) or not ca_ok:
        return None
    return Request(
        op,
        dict(params),
        identity,
        transport,
        auth,
        ca,
        body,
        wlt,  # type: ignore
        headers,
        query,
    )


def _body_matcher(c: _Checker, value: Any, path: str) -> BodyMatcher | None:
    kinds = (
        "exact",
        "json_string",
        "json_object_of_strings",
        "json_object",
        "json_null",
        "json",
        "empty",
        "any",
        "binary",
        "ca_crt_of",
        "all_of",
    )
    if not isinstance(value, dict) or len(value) != 1:
        c.bad(path, f"a mapping with exactly one of: {', '.join(kinds)}", value)
        return None
    kind, arg = next(iter(value.items()))
    sub = _join(path, str(kind))
    if kind == "exact":
        return BodyMatcher(kind, arg) if c.string(arg, sub, what="the body as text") else None
    if kind == "json_string":
        ops = ("equals", "prefix", "contains", "any")
        if not isinstance(arg, dict) or len(arg) != 1 or next(iter(arg)) not in ops:
            c.bad(sub, f"a mapping with exactly one of: {', '.join(ops)}", arg)
            return None
        op, text = next(iter(arg.items()))
        if op == "any":
            if text is not True:
                c.bad(_join(sub, "any"), "true", text)
                return None
        elif not isinstance(text, str):
            c.bad(_join(sub, op), "a string", text)
            return None
        return BodyMatcher(kind, dict(arg))
    if kind == "json_object_of_strings":
        d = c.mapping(arg if arg is not None else {}, sub, (), ("keys",))
        if d is None:
            return None
        if "keys" in d and c.string_list(d["keys"], _join(sub, "keys"), what="key") is None:
            return None
        return BodyMatcher(kind, dict(d))
    if kind == "json_object":
        if not isinstance(arg, dict):
            c.bad(sub, "a mapping of members the object must contain", arg)
            return None
        return BodyMatcher(kind, arg)
    if kind in ("json_null", "empty", "any"):
        if arg is not True:
            c.bad(sub, "true", arg)
            return None
        return BodyMatcher(kind, True)
    if kind == "json":
        return BodyMatcher(kind, arg)
    if kind == "binary":
        d = c.mapping(arg, sub, ("base64",), ())
        if d is None:
            return None
        try:
            base64.b64decode(d["base64"], validate=True)
        except (ValueError, TypeError):
            c.bad(_join(sub, "base64"), "standard base64", d["base64"])
            return None
        return BodyMatcher(kind, d["base64"])
    if kind == "ca_crt_of":
        return BodyMatcher(kind, arg) if c.string(arg, sub, what="a cluster name") else None
    if kind == "all_of":
        if not isinstance(arg, list) or not arg:
            c.bad(sub, "a non-empty list of body matchers", arg)
            return None
        subs = [_body_matcher(c, m, _join(sub, i)) for i, m in enumerate(arg)]
        return None if None in subs else BodyMatcher(kind, tuple(subs))
    c.bad(path, f"a mapping with exactly one of: {', '.join(kinds)}", value)
    return None


def _header_matchers(
    c: _Checker, value: Any, path: str
) -> tuple[tuple[str, HeaderMatcher], ...] | None:
    kinds = ("exact", "prefix", "media_type", "set", "includes", "present", "absent")
    if not isinstance(value, dict):
        c.bad(path, "a mapping of header names to matchers", value)
        return None
    out = []
    for name, spec in value.items():
        sub = _join(path, str(name))
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in kinds:
            c.bad(sub, f"a mapping with exactly one of: {', '.join(kinds)}", spec)
            continue
        kind, arg = next(iter(spec.items()))
        if kind in ("present", "absent"):
            if arg is not True:
                c.bad(_join(sub, kind), "true", arg)
                continue
        elif kind in ("set", "includes"):
            if c.string_list(arg, _join(sub, kind), what="value") is None:
                continue
            arg = tuple(arg)
        elif c.string(arg, _join(sub, kind)) is None:
            continue
        out.append((str(name), HeaderMatcher(kind, arg)))
    return tuple(out) if len(out) == len(value) else None


def _state(c: _Checker, value: Any, path: str) -> StateExpectation | None:
    d = c.mapping(
        value,
        path,
        ("kind",),
        ("namespace", "name", "labels", "count", "delta", "annotations", "credential"),
    )
    if d is None:
        return None
    kind = c.string(d["kind"], _join(path, "kind"), STATE_KINDS)
    ns = d.get("namespace")
    if ns is not None and c.string(ns, _join(path, "namespace")) is None:
        return None
    name = d.get("name")
    if name is not None and c.string(name, _join(path, "name")) is None:
        return None
    labels = c.string_map(d.get("labels", {}), _join(path, "labels"))
    count = delta = None
    if "count" in d:
        count = c.integer(d["count"], _join(path, "count"), 0, 10**6, "a count ≥ 0")
    if "delta" in d:
        delta = c.integer(d["delta"], _join(path, "delta"), -(10**6), 10**6, "an integer")
    annotations = c.string_list(
        d.get("annotations", []), _join(path, "annotations"), what="annotation key"
    )
    credential = d.get("credential")
    if credential is not None and not isinstance(credential, dict):
        c.bad(_join(path, "credential"), "a mapping", credential)
        return None
    if "count" not in d and "delta" not in d and credential is None:
        c.bad(path, "at least one of count, delta, credential")
        return None
    if (
        None in (kind, labels, annotations)
        or ("count" in d and count is None)
        or ("delta" in d and delta is None)
    ):
        return None
    return StateExpectation(
        kind,
        ns,
        name,
        labels,
        count,
        delta,
        annotations,  # type: ignore
        credential,
    )


def _upstream(c: _Checker, value: Any, path: str) -> UpstreamExpectation | None:
    d = c.mapping(value, path, ("cluster", "requests"), ())
    if d is None:
        return None
    cluster = c.string(d["cluster"], _join(path, "cluster"), what="a cluster name")
    reqs = d["requests"]
    if not isinstance(reqs, list) or not reqs:
        c.bad(_join(path, "requests"), "a non-empty list", reqs)
        return None
    out = []
    for i, r in enumerate(reqs):
        sub = _join(_join(path, "requests"), i)
        rd = c.mapping(r, sub, ("method", "path"), ("headers",))
        if rd is None:
            continue
        method = c.string(rd["method"], _join(sub, "method"), what="an HTTP method")
        p = c.string(
            rd["path"], _join(sub, "path"), pattern=re.compile(r"^/"), what="a path starting with /"
        )
        headers = _header_matchers(c, rd.get("headers", {}), _join(sub, "headers"))
        if None not in (method, p, headers):
            out.append(UpstreamRequest(method, p, headers))  # type: ignore[arg-type]
    if cluster is None or len(out) != len(reqs):
        return None
    return UpstreamExpectation(cluster, tuple(out))


_EXPECT_KEYS = (
    "status",
    "outcome",
    "body",
    "headers",
    "state",
    "upstream",
    "status_same_as",
    "any_of",
)


def _expect(c: _Checker, value: Any, path: str, nested: bool = False) -> Expectation | None:
    d = c.mapping(value, path, (), _EXPECT_KEYS if not nested else _EXPECT_KEYS[:-1])
    if d is None:
        return None
    before = len(c.errors)
    status = c.status(d["status"], _join(path, "status")) if "status" in d else None
    outcome = c.string(d.get("outcome", "response"), _join(path, "outcome"), OUTCOMES)
    body = _body_matcher(c, d["body"], _join(path, "body")) if "body" in d else None
    headers = _header_matchers(c, d.get("headers", {}), _join(path, "headers"))
    state_in = d.get("state", [])
    if not isinstance(state_in, list):
        c.bad(_join(path, "state"), "a list of state expectations", state_in)
        state_in = []
    state = tuple(
        s
        for i, v in enumerate(state_in)
        if (s := _state(c, v, _join(_join(path, "state"), i))) is not None
    )
    up_in = d.get("upstream", [])
    if not isinstance(up_in, list):
        c.bad(_join(path, "upstream"), "a list of upstream expectations", up_in)
        up_in = []
    upstream = tuple(
        u
        for i, v in enumerate(up_in)
        if (u := _upstream(c, v, _join(_join(path, "upstream"), i))) is not None
    )
    same = None
    if "status_same_as" in d:
        same = c.string(d["status_same_as"], _join(path, "status_same_as"), what="a step name")
    alternatives: list[Expectation] = []
    if "any_of" in d:
        if not isinstance(d["any_of"], list) or len(d["any_of"]) < 2:
            c.bad(_join(path, "any_of"), "a list of at least two expectations", d["any_of"])
        else:
            for i, alt in enumerate(d["any_of"]):
                e = _expect(c, alt, _join(_join(path, "any_of"), i), nested=True)
                if e is not None:
                    alternatives.append(e)
    if not nested and not d:
        c.bad(path, "at least one of: " + ", ".join(_EXPECT_KEYS))
    if len(c.errors) != before:
        return None
    return Expectation(
        status,
        outcome,
        body,
        headers,
        state,
        upstream,
        same,  # type: ignore
        tuple(alternatives),
    )


def _client(c: _Checker, value: Any, path: str) -> ClientExpectation | None:
    d = c.mapping(
        value,
        path,
        ("outcome",),
        (
            "delivers",
            "sends",
            "requests",
            "report",
            "must_not",
            "inputs",
            "max_requests",
            "private_files",
        ),
    )
    if d is None:
        return None
    before = len(c.errors)
    outcome = c.string(d["outcome"], _join(path, "outcome"), CLIENT_OUTCOMES)
    delivers = None
    if "delivers" in d:
        sub = _join(path, "delivers")
        dd = d["delivers"]
        if (
            not isinstance(dd, dict)
            or len(dd) != 1
            or next(iter(dd)) not in ("text", "base64", "values")
        ):
            c.bad(sub, "a mapping with exactly one of: text, base64, values", dd)
        else:
            key, arg = next(iter(dd.items()))
            if key == "text" and isinstance(arg, str):
                delivers = Delivery(text=arg)
            elif key == "base64" and isinstance(arg, str):
                delivers = Delivery(data=base64.b64decode(arg))
            elif key == "values":
                values = c.string_map(arg, _join(sub, "values"))
                delivers = Delivery(values=values) if values is not None else None
            else:
                c.bad(_join(sub, key), "a string", arg)
        if outcome == "failure":
            c.bad(sub, "no delivery when the outcome is failure")
    sends = None
    if "sends" in d:
        sub = _join(path, "sends")
        sd = c.mapping(d["sends"], sub, (), ("method", "path", "headers", "body"))
        if sd is not None:
            method = sd.get("method")
            if method is not None:
                c.string(method, _join(sub, "method"), what="an HTTP method")
            spath = sd.get("path")
            if spath is not None:
                c.string(spath, _join(sub, "path"), what="a path")
            headers = _header_matchers(c, sd.get("headers", {}), _join(sub, "headers"))
            body = _body_matcher(c, sd["body"], _join(sub, "body")) if "body" in sd else None
            sends = SentRequest(method, spath, headers or (), body)
    requests = None
    if "requests" in d:
        requests = c.integer(d["requests"], _join(path, "requests"), 0, 100, "a count 0–100")
    report = c.string_list(d.get("report", []), _join(path, "report"), REPORT_ITEMS) or ()
    must_not = c.string_list(d.get("must_not", []), _join(path, "must_not"), MUST_NOT) or ()
    inputs = _client_inputs(c, d.get("inputs", {}), _join(path, "inputs"))
    most = None
    if "max_requests" in d:
        most = c.integer(d["max_requests"], _join(path, "max_requests"), 0, 100, "a count 0–100")
    private = d.get("private_files", False)
    if not isinstance(private, bool):
        c.bad(_join(path, "private_files"), "true or false", private)
    if len(c.errors) != before or inputs is None:
        return None
    return ClientExpectation(
        outcome,
        delivers,
        sends,
        requests,
        report,
        must_not,  # type: ignore
        inputs,
        most,
        private,
    )


def _client_inputs(c: _Checker, value: Any, path: str) -> ClientInputs | None:
    d = c.mapping(value, path, (), ("token_file", "server_url", "program_args", "delivery"))
    if d is None:
        return None
    before = len(c.errors)
    token = c.string(d.get("token_file", "plain"), _join(path, "token_file"), TOKEN_FILE_FORMS)
    url = c.string(d.get("server_url", "plain"), _join(path, "server_url"), SERVER_URL_FORMS)
    args = d.get("program_args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        c.bad(_join(path, "program_args"), "a list of strings", args)
    delivery = None
    if "delivery" in d:
        delivery = c.string(d["delivery"], _join(path, "delivery"), DELIVERY_SOURCES)
    if len(c.errors) != before:
        return None
    return ClientInputs(token or "plain", url or "plain", tuple(args), delivery)


def _setup(c: _Checker, value: Any, path: str) -> tuple[SetupAction, ...] | None:
    if not isinstance(value, list):
        c.bad(path, "a list of set-up actions", value)
        return None
    out = []
    before = len(c.errors)
    for i, item in enumerate(value):
        sub = _join(path, i)
        if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in SETUP_ACTIONS:
            c.bad(sub, f"a mapping with exactly one of: {', '.join(SETUP_ACTIONS)}", item)
            continue
        action, arg = next(iter(item.items()))
        asub = _join(sub, action)
        parsed = _setup_args(c, action, arg, asub)
        if parsed is not _MISSING:
            out.append(SetupAction(action, parsed))
    return tuple(out) if len(c.errors) == before else None


def _setup_args(c: _Checker, action: str, arg: Any, path: str) -> Any:
    if action in ("manifests.apply", "manifests.delete"):
        if isinstance(arg, dict) and "file" in arg:
            d = c.mapping(arg, path, ("file",), ())
            return d if d is not None and c.string(d["file"], _join(path, "file")) else _MISSING
        if isinstance(arg, dict) and "documents" in arg:
            d = c.mapping(arg, path, ("documents",), ())
            if d is None:
                return _MISSING
            docs = d["documents"]
            if not isinstance(docs, list) or not docs or not all(isinstance(x, dict) for x in docs):
                c.bad(_join(path, "documents"), "a non-empty list of manifest mappings", docs)
                return _MISSING
            return {"documents": docs}
        if action == "manifests.delete" and isinstance(arg, dict):
            d = c.mapping(arg, path, ("kind", "name"), ("namespace",))
            if d is None:
                return _MISSING
            for key in d:
                if c.string(d[key], _join(path, key)) is None:
                    return _MISSING
            return dict(d)
        c.bad(
            path,
            "a mapping with file or documents"
            + (" (or kind, name, namespace)" if action == "manifests.delete" else ""),
            arg,
        )
        return _MISSING
    if action == "quirks":
        names = c.string_list(arg, path, what="quirk name")
        return names if names is not None else _MISSING
    if action == "clock.shift":
        seconds = c.integer(arg, path, -(10**9), 10**9, "a number of seconds")
        return seconds if seconds is not None else _MISSING
    if action == "keys.rotate":
        d = c.mapping(arg, path, ("cluster",), ("retire_old",))
        if d is None or c.string(d["cluster"], _join(path, "cluster")) is None:
            return _MISSING
        if not isinstance(d.get("retire_old", False), bool):
            c.bad(_join(path, "retire_old"), "true or false", d["retire_old"])
            return _MISSING
        return dict(d)
    if action == "cluster.fault":
        d = c.mapping(arg, path, ("cluster", "endpoint", "fault"), ())
        if d is None:
            return _MISSING
        ok = c.string(d["cluster"], _join(path, "cluster")) is not None
        ok = (
            c.string(d["endpoint"], _join(path, "endpoint"), ("discovery", "jwks", "all"))
            is not None
            and ok
        )
        ok = c.string(d["fault"], _join(path, "fault"), CLUSTER_FAULTS) is not None and ok
        return dict(d) if ok else _MISSING
    if action == "backend.fault":
        d = c.mapping(arg, path, ("fault",), ("store", "generator"))
        if d is None:
            return _MISSING
        ok = c.string(d["fault"], _join(path, "fault"), BACKEND_FAULTS) is not None
        if ("store" in d) == ("generator" in d):
            c.bad(path, "exactly one of store, generator")
            return _MISSING
        target = "store" if "store" in d else "generator"
        ok = (
            c.string(d[target], _join(path, target), what="<name> or <ns>/<kind>/<name>")
            is not None
            and ok
        )
        return dict(d) if ok else _MISSING
    # respond: a canned answer from the mock (client direction only)
    d = c.mapping(arg, path, (), ("status", "headers", "body", "drop", "hang", "tls", "count"))
    if d is None:
        return _MISSING
    if "status" in d and c.status(d["status"], _join(path, "status")) is None:
        return _MISSING
    if "headers" in d and c.string_map(d["headers"], _join(path, "headers")) is None:
        return _MISSING
    if "body" in d:
        b = d["body"]
        kinds = ("text", "json", "base64", "oversized")
        if not isinstance(b, dict) or len(b) != 1 or next(iter(b)) not in kinds:
            c.bad(_join(path, "body"), f"a mapping with exactly one of: {', '.join(kinds)}", b)
            return _MISSING
        if (
            "oversized" in b
            and c.integer(
                b["oversized"], _join(path, "body.oversized"), 1, 64 << 20, "a size in bytes"
            )
            is None
        ):
            return _MISSING
    for flag in ("drop", "hang"):
        if flag in d and d[flag] is not True:
            c.bad(_join(path, flag), "true", d[flag])
            return _MISSING
    if "tls" in d and c.string(d["tls"], _join(path, "tls"), RESPOND_TLS) is None:
        return _MISSING
    if (
        "count" in d
        and c.integer(d["count"], _join(path, "count"), 1, 100, "an integer 1–100") is None
    ):
        return _MISSING
    if sum(k in d for k in ("status", "drop", "hang", "tls")) != 1:
        c.bad(path, "exactly one of status, drop, hang, tls")
        return _MISSING
    return dict(d)


_STEP_KEYS = ("request", "expect", "setup", "client", "retry")


def _step(c: _Checker, value: dict[str, Any], path: str, name: str, ctx: _Context) -> Step | None:
    before = len(c.errors)
    request = _request(c, value["request"], _join(path, "request"), ctx)
    expect = _expect(c, value["expect"], _join(path, "expect"))
    setup = _setup(c, value.get("setup", []), _join(path, "setup"))
    client = _client(c, value["client"], _join(path, "client")) if "client" in value else None
    retry = None
    if "retry" in value:
        sub = _join(path, "retry")
        d = c.mapping(value["retry"], sub, ("on_status", "max"), ())
        if d is not None:
            on = c.status(d["on_status"], _join(sub, "on_status"))
            most = c.integer(d["max"], _join(sub, "max"), 1, 3, "an integer 1–3")
            if on is not None and most is not None:
                retry = Retry(on, most)
    if len(c.errors) != before:
        return None
    return Step(name, request, expect, setup or (), client, retry)  # type: ignore[arg-type]


def _scenario(c: _Checker, value: Any, file: str, ctx: _Context) -> Scenario | None:
    single = ("request", "expect")
    d = c.mapping(
        value,
        "",
        ("id", "title", "requirements"),
        ("direction", "needs", "given", "notes", "steps", *_STEP_KEYS),
    )
    if d is None:
        return None
    before = len(c.errors)
    sid = d["id"]
    c.string(d["title"], "title", what="a one-line title")
    reqs = c.string_list(d["requirements"], "requirements", what="requirement ID")
    if reqs is not None:
        if not reqs:
            c.bad("requirements", "at least one requirement ID", d["requirements"])
        for i, rid in enumerate(reqs):
            if ctx.requirement_ids is not None and rid not in ctx.requirement_ids:
                c.bad(_join("requirements", i), "a registered requirement ID", rid)
    direction = c.string(
        d.get("direction", "both" if _has_client(d) else "server"), "direction", DIRECTIONS
    )
    needs = c.string_list(d.get("needs", []), "needs", (*NEEDS, "mock"))
    given = _setup(c, d.get("given", []), "given")
    notes = d.get("notes", "")
    if not isinstance(notes, str):
        c.bad("notes", "a string", notes)
    steps: list[Step] = []
    if "steps" in d:
        stray = [k for k in _STEP_KEYS if k in d]
        if stray:
            c.errors.append(f"{c.where}: {stray[0]}: not allowed next to steps (put it in a step)")
        elif not isinstance(d["steps"], list) or not d["steps"]:
            c.bad("steps", "a non-empty list of steps", d["steps"])
        else:
            names: set[str] = set()
            order: list[str] = []
            for i, raw in enumerate(d["steps"]):
                sub = _join("steps", i)
                sd = c.mapping(raw, sub, single, ("name", *_STEP_KEYS[2:]))
                if sd is None:
                    continue
                name = sd.get("name", str(i + 1))
                if not isinstance(name, str) or not name or name in names:
                    c.bad(_join(sub, "name"), "a step name unique in the scenario", name)
                    continue
                names.add(name)
                order.append(name)
                step = _step(c, sd, sub, name, ctx)
                if step is not None:
                    steps.append(step)
                    same = step.expect.status_same_as
                    if same is not None and same not in order[:-1]:
                        c.bad(
                            _join(sub, "expect.status_same_as"), "the name of an earlier step", same
                        )
    else:
        for key in single:
            if key not in d:
                c.missing(key)
        if all(k in d for k in single):
            step = _step(c, d, "", "1", ctx)
            if step is not None:
                steps.append(step)
    if direction == "server" and any(s.client for s in steps):
        c.bad("direction", "both or client when a step has a client block", direction)
    if direction in ("server", "both"):
        for action in (*(given or ()), *(a for s in steps for a in s.setup)):
            if action.action == "respond":
                c.bad("direction", "client when a set-up action is respond", direction)
                break
    if len(c.errors) != before:
        return None
    derived = set(needs or ())
    for rid in reqs or ():
        derived |= set(ctx.needs_of.get(rid, ()))
    for action in (*(given or ()), *(a for s in steps for a in s.setup)):
        derived |= _action_needs(action)
    if any(
        isinstance(s.request.identity, SpiffeIdentity) or s.request.transport == "mtls"
        for s in steps
    ):
        derived.add("mtls")
    if any(s.expect.all_state() for s in steps):
        derived.add("state-hooks")
    return Scenario(
        sid,
        d["title"],
        file,
        tuple(reqs or ()),
        tuple(steps),
        given or (),
        direction or "server",
        tuple(sorted(derived)),
        notes,
    )


def _has_client(d: dict[str, Any]) -> bool:
    if "client" in d:
        return True
    steps = d.get("steps")
    return isinstance(steps, list) and any(isinstance(s, dict) and "client" in s for s in steps)


def _action_needs(action: SetupAction) -> set[str]:
    return {
        "manifests.apply": {"state-hooks"},
        "manifests.delete": {"state-hooks"},
        "quirks": {"mock"},
        "respond": {"mock"},
        "backend.fault": {"faults"},
    }.get(action.action, set())


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def default_scenarios_dir() -> Path:
    """The shipped catalogue: `mockserver.paths` when present, else the repository folder."""
    try:
        from mockserver import paths  # type: ignore[attr-defined]

        return Path(paths.default_scenarios_dir())
    except (ImportError, AttributeError):
        return Path(__file__).resolve().parent.parent / "scenarios"


def parse_file(text: str, file: str, requirement_ids: set[str] | None = None) -> list[Scenario]:
    """Scenarios of one YAML text; `file` is how errors name it. Raises ScenarioError."""
    errors: list[str] = []
    scenarios = _parse(text, file, _Context(requirement_ids), errors)
    if errors:
        raise ScenarioError(errors)
    return scenarios


def _parse(text: str, file: str, ctx: _Context, errors: list[str]) -> list[Scenario]:
    fc = _Checker(file, errors)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        errors.append(f"{file}: not valid YAML{where}: {getattr(exc, 'problem', exc)}")
        return []
    d = fc.mapping(data, "(top level)", ("scenarios",), ("description",))
    if d is None:
        return []
    if not isinstance(d["scenarios"], list) or not d["scenarios"]:
        fc.bad("scenarios", "a non-empty list of scenarios", d["scenarios"])
        return []
    out = []
    for i, raw in enumerate(d["scenarios"]):
        sid = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(sid, str) or not SCENARIO_ID.match(sid):
            fc.bad(
                f"scenarios[{i}].id",
                "a scenario ID of lower-case letters, digits and '-'",
                sid if isinstance(raw, dict) and "id" in raw else None,
            )
            continue
        scenario = _scenario(_Checker(f'{file}: scenario "{sid}"', errors), raw, file, ctx)
        if scenario is not None:
            out.append(scenario)
    return out


def load_catalogue(
    root: Path | str | None = None, requirement_ids: set[str] | None = None
) -> list[Scenario]:
    """Every scenario under `root` (default: the shipped catalogue), sorted by file then order.

    Checks requirement IDs against `requirement_ids` (default: the whole registry) and that
    scenario IDs are unique. Raises ScenarioError listing every problem.
    """
    base = Path(root) if root is not None else default_scenarios_dir()
    from conformance.requirements import all_requirements

    registry = all_requirements()
    if requirement_ids is None:
        requirement_ids = set(registry)
    ctx = _Context(requirement_ids, {rid: r.needs for rid, r in registry.items()})
    errors: list[str] = []
    out: list[Scenario] = []
    seen: dict[str, str] = {}
    files = sorted([*base.rglob("*.yaml"), *base.rglob("*.yml")])
    for path in files:
        shown = f"{base.name}/{path.relative_to(base).as_posix()}"
        for scenario in _parse(path.read_text(encoding="utf-8"), shown, ctx, errors):
            if scenario.id in seen:
                errors.append(
                    f'{shown}: scenario "{scenario.id}": id: already used in {seen[scenario.id]}'
                )
                continue
            seen[scenario.id] = shown
            out.append(scenario)
    if errors:
        raise ScenarioError(errors)
    return out


def scenarios_by_requirement(scenarios: Sequence[Scenario]) -> dict[str, list[str]]:
    """Requirement ID → IDs of the scenarios exercising it."""
    out: dict[str, list[str]] = {}
    for scenario in scenarios:
        for rid in scenario.requirements:
            out.setdefault(rid, []).append(scenario.id)
    return out
