"""The typed model of a scenario: pure data a runner reads, with no parsing or judging in it.

A scenario names who calls (identity, token, body and transport variants), what (operation and
parameters), the set-up, the answer a conforming server gives and what a client must do with it.
The server runner sends the request and judges the answer (`conformance.runner.judge`); the
client runner makes the embedded mock give the answer and judges the client.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


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


@dataclass(frozen=True)
class IdPIdentity:
    """An Okta or PingOne caller: a token of a fake identity provider (`idp`: okta or pingone).

    `subject` makes a user token; `client_id` alone a client-credentials token. `server` is the
    Okta authorization server (`default` unless given) or the PingOne environment.
    """

    idp: str
    subject: str | None = None
    client_id: str | None = None
    server: str | None = None
    token: str = "valid"

    @property
    def broken_kind(self) -> str | None:
        return self.token.split(":", 1)[1] if self.token.startswith("broken:") else None

    @property
    def need(self) -> str:
        """The capability a target needs to be judged with this caller."""
        return "pingone" if self.idp == "pingone" else "okta"


Identity = KubeIdentity | SpiffeIdentity | IdPIdentity


@dataclass(frozen=True)
class WorkloadToken:
    """The x-workload-token header: minted for an identity, a malformed kind, or raw text."""

    identity: KubeIdentity | None = None
    malformed: str | None = None
    raw: str | None = None


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
    """One HTTP exchange to build; `conformance.scenarios.variants` turns it into bytes."""

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
    ca_member: str = "ca.crt"

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


@dataclass(frozen=True)
class BodyMatcher:
    """A check on response (or request) body bytes; see docs/scenarios.md for each kind."""

    kind: str
    arg: Any = None


@dataclass(frozen=True)
class HeaderMatcher:
    """A check on one header (names compare case-insensitively)."""

    kind: str
    arg: Any = None


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

    def describe(self) -> str:
        """The selector as reports show it: `[namespace=…, name=…, label=value]`."""
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

    def all_state(self) -> tuple[StateExpectation, ...]:
        """State expectations here and in every alternative (what needs state hooks)."""
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
    """One set-up action of `conformance.scenarios.actions.ACTIONS`; `args` as its parser
    validated them (the shape is the action's own, documented in docs/scenarios.md)."""

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

    def setup_actions(self) -> Iterator[SetupAction]:
        """Every set-up action: the scenario's `given`, then each step's `setup`, in order."""
        yield from self.given
        for step in self.steps:
            yield from step.setup

    @property
    def operations(self) -> tuple[str, ...]:
        """The operations its steps exercise, first use first (each once)."""
        return tuple(dict.fromkeys(step.request.operation for step in self.steps))
