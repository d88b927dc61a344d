"""Fault rules for the federation listeners: what to match, how often, and what to do.

A rule matches requests by listener, route, method and raw-path prefix; fires for the next
`count` matching requests (default 1; `null` means until removed), optionally only with a
probability drawn from a seeded generator whose seed is shown in `GET /faults` and in each journal
entry it touches, so a run can be repeated. TLS rules (`tls`) apply to new connections instead;
backend rules (`backend`) apply inside the mock's backends, where the books consult them before a
GeneratorState write or a secret-store read. The middleware and the books carry out the actions;
this module only decides.
"""

from __future__ import annotations

import random
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mockserver.clock import Clock
from mockserver.federation.bookkeeping import BACKEND_TARGETS, STORE_READ
from mockserver.federation.routing import R1, R2, R3, R4

ACTIONS = (
    "status",
    "delay",
    "drop-before",
    "drop-mid",
    "malformed-json",
    "wrong-content-type",
    "hang",
)
TLS_KINDS = ("untrusted-ca", "expired", "wrong-name")
ROUTES = (R1, R2, R3, R4, "options", "none")
LISTENERS = ("http", "https", "mtls")
TLS_LISTENERS = ("https", "mtls")
MAX_DELAY_MS = 60_000
REQUEST_KEYS = (
    "action",
    "tls",
    "route",
    "method",
    "path_prefix",
    "listener",
    "status",
    "body",
    "content_type",
    "headers",
    "delay",
    "delay_ms",
)


class Counted(Protocol):
    """A fault rule that fires a limited number of times (`count` None: every time)."""

    fired: int
    count: int | None


def spend(rules: list[Any], rule: Counted) -> None:
    """(Under the rule set's lock.) Count one firing of `rule`; a rule whose count runs out is
    removed, so every kind of fault rule fires exactly `count` times."""
    rule.fired += 1
    if rule.count is not None:
        rule.count -= 1
        if rule.count == 0:
            rules.remove(rule)


class FaultError(ValueError):
    """A fault description that cannot be used; the admin API answers it with 400."""


def _opt(spec: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = spec.get(name)
    if value is None:
        return None
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise FaultError(f"{name} must be {_kind_text(kind)}, got {value!r}")
    if not isinstance(value, kind):
        raise FaultError(f"{name} must be {_kind_text(kind)}, got {value!r}")
    return value


def _kind_text(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))


@dataclass
class FaultRule:
    """One fault: its match, its budget, its action (see the module docstring)."""

    id: int
    action: str | None = None
    tls: str | None = None
    backend: str | None = None
    store: str | None = None
    generator: str | None = None
    route: str | None = None
    method: str | None = None
    path_prefix: str | None = None
    listener: str | None = None
    count: int | None = 1
    probability: float | None = None
    seed: int | None = None
    status: int | None = None
    body: str | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float | None = None  # seconds on the mock's clock
    delay_ms: int | None = None  # real milliseconds
    fired: int = 0
    skipped: int = 0
    _rng: random.Random | None = field(default=None, repr=False)

    KEYS = (
        "action",
        "tls",
        "backend",
        "store",
        "generator",
        "route",
        "method",
        "path_prefix",
        "listener",
        "count",
        "probability",
        "seed",
        "status",
        "body",
        "content_type",
        "headers",
        "delay",
        "delay_ms",
    )

    @classmethod
    def from_json(cls, rule_id: int, spec: Any) -> FaultRule:
        """Validate a JSON fault description; every problem names the field."""
        if not isinstance(spec, dict):
            raise FaultError("a fault is a JSON object")
        unknown = sorted(set(spec) - set(cls.KEYS))
        if unknown:
            raise FaultError(f"unknown fault field {unknown[0]!r}; known: {', '.join(cls.KEYS)}")
        rule = cls(
            id=rule_id,
            action=_opt(spec, "action", str),
            tls=_opt(spec, "tls", str),
            backend=_opt(spec, "backend", str),
            store=_opt(spec, "store", str),
            generator=_opt(spec, "generator", str),
            route=_opt(spec, "route", str),
            method=(_opt(spec, "method", str) or "").upper() or None,
            path_prefix=_opt(spec, "path_prefix", str),
            listener=_opt(spec, "listener", str),
            count=_opt(spec, "count", int) if "count" in spec else 1,
            probability=_opt(spec, "probability", (int, float)),
            seed=_opt(spec, "seed", int),
            status=_opt(spec, "status", int),
            body=_opt(spec, "body", str),
            content_type=_opt(spec, "content_type", str),
            headers=_opt(spec, "headers", dict) or {},
            delay=_opt(spec, "delay", (int, float)),
            delay_ms=_opt(spec, "delay_ms", int),
        )
        rule._validate()
        if rule.probability is not None:
            if rule.seed is None:
                rule.seed = secrets.randbelow(2**32)
            rule._rng = random.Random(rule.seed)
        return rule

    def _validate(self) -> None:
        self._validate_budget()
        if self.backend is not None:
            self._validate_backend()
            return
        if self.store is not None or self.generator is not None:
            raise FaultError("store and generator are only for backend faults")
        if self.tls is not None:
            if self.tls not in TLS_KINDS:
                raise FaultError(f"tls must be one of {', '.join(TLS_KINDS)}, got {self.tls!r}")
            if self.action is not None:
                raise FaultError("a fault has either tls (new connections) or action, not both")
            if self.listener is not None and self.listener not in TLS_LISTENERS:
                raise FaultError(
                    f"tls faults apply to the {' and '.join(TLS_LISTENERS)} listeners, "
                    f"not {self.listener!r}"
                )
            return
        if self.action is None:
            self.action = "status" if self.status is not None else None
            if self.action is None and (self.delay is not None or self.delay_ms is not None):
                self.action = "delay"
        if self.action not in ACTIONS:
            raise FaultError(f"action must be one of {', '.join(ACTIONS)}, got {self.action!r}")
        if self.action == "status" and self.status is None:
            raise FaultError("action status needs a status code")
        if self.status is not None and not 100 <= self.status <= 599:
            raise FaultError(f"status must be between 100 and 599, got {self.status}")
        if self.status is not None and self.action != "status":
            raise FaultError(f"status is only for action status, not {self.action}")
        if self.route is not None and self.route not in ROUTES:
            raise FaultError(f"route must be one of {', '.join(ROUTES)}, got {self.route!r}")
        if self.listener is not None and self.listener not in LISTENERS:
            raise FaultError(
                f"listener must be one of {', '.join(LISTENERS)}, got {self.listener!r}"
            )
        if self.delay is not None and self.delay < 0:
            raise FaultError(f"delay must not be negative, got {self.delay}")
        if self.delay_ms is not None and not 0 <= self.delay_ms <= MAX_DELAY_MS:
            raise FaultError(f"delay_ms must be between 0 and {MAX_DELAY_MS}, got {self.delay_ms}")
        if self.action == "delay" and self.delay is None and self.delay_ms is None:
            raise FaultError("action delay needs delay (mock-clock seconds) or delay_ms")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in self.headers.items()):
            raise FaultError("headers must map names to string values")

    def _validate_budget(self) -> None:
        if self.count is not None and self.count < 1:
            raise FaultError(f"count must be at least 1 (or null for no limit), got {self.count}")
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise FaultError(f"probability must be between 0 and 1, got {self.probability}")

    def _validate_backend(self) -> None:
        if self.backend not in BACKEND_TARGETS:
            raise FaultError(
                f"backend must be one of {', '.join(BACKEND_TARGETS)}, got {self.backend!r}"
            )
        request_only = [k for k in REQUEST_KEYS if getattr(self, k) not in (None, {})]
        if request_only:
            raise FaultError(
                f"a backend fault matches by store or generator, not {request_only[0]}"
            )
        if self.backend == STORE_READ:
            if self.store is None or self.generator is not None:
                raise FaultError("backend store-read needs store (a ClusterSecretStore name)")
        elif self.generator is None or self.store is not None:
            raise FaultError("backend generator-state-write needs generator (namespace/kind/name)")
        elif len(self.generator.split("/")) != 3 or not all(self.generator.split("/")):
            raise FaultError(f"generator must be namespace/kind/name, got {self.generator!r}")

    def fires_in_backend(self, target: str, subject: str) -> bool:
        """Whether this is a backend rule for `target` on `subject` (store or ns/kind/name)."""
        wanted = self.store if target == STORE_READ else self.generator
        return self.backend == target and wanted == subject

    def matches(self, listener: str, method: str, path: str, route: str | None) -> bool:
        return (
            (self.listener is None or self.listener == listener)
            and (self.route is None or self.route == (route or "none"))
            and (self.method is None or self.method == method)
            and (self.path_prefix is None or path.startswith(self.path_prefix))
        )

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"id": self.id}
        for key in self.KEYS:
            value = getattr(self, key)
            if value is not None and value != {}:
                described[key] = value
        described["count"] = self.count
        described["fired"] = self.fired
        if self.probability is not None:
            described["skipped"] = self.skipped
        return described


@dataclass(frozen=True)
class Firing:
    """A rule that fired for one request, with the roll that decided it (for the journal)."""

    rule: FaultRule
    roll: float | None

    def describe(self) -> dict[str, Any]:
        rule = self.rule
        described: dict[str, Any] = {
            "id": rule.id,
            "action": rule.action or rule.tls or rule.backend,
        }
        if rule.probability is not None:
            described.update(seed=rule.seed, probability=rule.probability, roll=self.roll)
        return described


class FaultSet:
    """The active rules of one mock, in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 1

    def add(self, spec: Any) -> FaultRule:
        with self._lock:
            rule = FaultRule.from_json(self._next_id, spec)
            self._next_id += 1
            self._rules.append(rule)
            return rule

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            kept = [r for r in self._rules if r.id != rule_id]
            found = len(kept) != len(self._rules)
            self._rules = kept
            return found

    def clear(self) -> int:
        with self._lock:
            count = len(self._rules)
            self._rules = []
            return count

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.describe() for r in self._rules]

    def pick(self, listener: str, method: str, path: str, route: str | None) -> Firing | None:
        """The first request rule that matches and fires; its budget is spent here."""
        return self._pick(
            lambda r: (
                r.tls is None and r.backend is None and r.matches(listener, method, path, route)
            )
        )

    def pick_tls(self, listener: str) -> Firing | None:
        """The first TLS rule for a new connection on `listener`."""
        return self._pick(
            lambda r: r.tls is not None and (r.listener is None or r.listener == listener)
        )

    def fire_backend(self, target: str, subject: str) -> int | None:
        """The id of the first backend rule that fires for this write or read (a `BackendGuard`)."""
        firing = self._pick(lambda r: r.fires_in_backend(target, subject))
        return None if firing is None else firing.rule.id

    def _pick(self, wanted: Callable[[FaultRule], bool]) -> Firing | None:
        with self._lock:
            for rule in self._rules:
                if not wanted(rule):
                    continue
                roll = None
                if rule._rng is not None and rule.probability is not None:
                    roll = rule._rng.random()
                    if roll >= rule.probability:
                        rule.skipped += 1
                        continue
                spend(self._rules, rule)
                return Firing(rule, roll)
        return None


class ClockGate:
    """Lets request threads wait for the mock's clock to reach a time; shifting wakes them."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._cond = threading.Condition()
        self._closed = False

    def wait_until(self, deadline: float, give_up: Callable[[], bool] = lambda: False) -> bool:
        """Block until clock.now() >= deadline; False if the gate closed or `give_up()` said so.

        Polls every 50 ms as well, so a clock shifted directly (not through the admin API) and
        plain wall time are both noticed.
        """
        with self._cond:
            while not self._closed:
                if self.clock.now() >= deadline:
                    return True
                if give_up():
                    return False
                self._cond.wait(0.05)
        return False

    def notify(self) -> None:
        """Wake every waiter to look at the clock again (after a shift)."""
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        """Release every waiter for good (the mock is stopping)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def open(self) -> None:
        with self._cond:
            self._closed = False
