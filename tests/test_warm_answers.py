"""Warm R1 answers (mockserver/federation/warm.py) are exactly what a fresh computation gives.

The differential walk below interleaves R1 requests with every kind of change an answer may
depend on (keys, pods, service accounts, the clock, manifests, modes, backend faults, identity
provider keys). Each request is answered twice in a row, once with warm answers switched off and
once on: the two answers and their journal outcomes must be identical, and the walk must really
exercise hits, so a stale hit after any change fails here.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest

from mockserver.clock import Clock
from mockserver.federation import warm as warm_module
from mockserver.federation.bookkeeping import rfc3339
from mockserver.federation.warm import WarmAnswers
from mockserver.runtime import MockServer
from mockserver.tokens import TokenRequestError

POD = ("team-a", "web-7d9f8b6c5-x2x4q")
PLAIN = "/secretstore/app-store/secrets/plain"
NO_JWKS = b'"token is unverifiable: error while executing keyfunc: no jwks found"\n'


def _environ(path: str, authorization: str, body: bytes, **extra: str) -> dict[str, Any]:
    path, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "REQUEST_URI": path + (f"?{query}" if query else ""),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": authorization,
    }
    environ.update(extra)
    return environ


class StaleAnswer(AssertionError):
    """A warm answer that differs from the fresh one."""


class Walk:
    """One mock, its http listener's app, and the two-way comparison of every request."""

    def __init__(self, mock: MockServer) -> None:
        self.mock = mock
        self.app = mock.listeners["http"].app
        self.warm = self.app.app.warm  # the federation app inside the journal middleware
        alpha = mock.clusters["alpha"]
        self.body = json.dumps({"ca.crt": base64.b64encode(alpha.ca.cert_pem).decode()}).encode()
        self.tokens: dict[str, str] = {}
        self.remint()

    def remint(self) -> None:
        """New tokens where they can be minted (not while their account or pod is deleted)."""
        alpha, admin = self.mock.clusters["alpha"], self.mock.admin
        minters = {
            "sa": lambda: alpha.mint("team-a/web", duration=7200),
            "pod": lambda: alpha.mint("team-a/web", duration=7200, pod=POD[1]),
            "short": lambda: alpha.mint("team-a/web", duration=600),
            "okta": lambda: admin.idp_token("okta", subject="0oa-esi-ci-client", duration=7200),
        }
        for name, mint in minters.items():
            with contextlib.suppress(TokenRequestError):
                self.tokens[name] = mint()

    def call(self, path: str, token: str, warm: bool, **extra: str) -> tuple[Any, ...]:
        self.warm.enabled = warm
        body = b"" if token == "okta" else self.body
        environ = _environ(path, f"Bearer {self.tokens[token]}", body, **extra)
        started: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
            started["status"], started["headers"] = status, sorted(headers)
            return None

        self.mock.admin.clear_journal()
        answer = b"".join(self.app(environ, start_response))
        [entry] = self.mock.admin.journal()
        outcome = entry["outcome"]
        if "error" in outcome:
            # The journal's hint counts wall-clock seconds, which may tick between the two calls
            # (or between two spec copies of one call, which then do not fold into one reason).
            error = re.sub(r"expired \d+ s ago", "expired N s ago", outcome["error"])
            outcome["error"] = re.sub(r"(\(mock hint: [^)]*\))(; [^;(]*\1)+", r"\1", error)
        return started["status"], started["headers"], answer, outcome

    def request(self, path: str, token: str, **extra: str) -> tuple[Any, ...]:
        fresh = self.call(path, token, warm=False, **extra)
        warm = self.call(path, token, warm=True, **extra)
        if warm != fresh:
            raise StaleAnswer(f"{path} with the {token} token: warm {warm} != fresh {fresh}")
        return warm


@pytest.fixture
def walk(tmp_path) -> Iterator[Walk]:
    mock = MockServer(state_dir=tmp_path / "state", refresh_volumes=False).start()
    try:
        yield Walk(mock)
    finally:
        mock.stop()


def _changes(walk: Walk) -> dict[str, Callable[[], Callable[[], object]]]:
    """Each change, applied, returns its undo (the walk undoes it a few requests later)."""
    mock = walk.mock
    alpha, admin = mock.clusters["alpha"], mock.admin
    pod = alpha.pod(*POD)
    account = alpha.service_account("team-a", "web")
    assert pod is not None and account is not None
    changed_store = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ClusterSecretStore",
        "metadata": {"name": "app-store"},
        "spec": {"provider": {"fake": {"data": [{"key": "plain", "value": "changed"}]}}},
    }

    def nothing() -> None:
        return None

    def retire() -> Callable[[], object]:
        old = alpha.signing_key.kid
        alpha.rotate_sign_with(alpha.rotate_add_key("rsa").kid)
        alpha.rotate_retire(old)
        return nothing

    def new_key() -> Callable[[], object]:
        alpha.rotate_sign_with(alpha.rotate_add_key("rsa").kid)
        return nothing

    def delete_pod() -> Callable[[], object]:
        alpha.remove_pod(*POD)
        return lambda: alpha.add_pod(
            pod.namespace, pod.name, pod.service_account, pod.uid, pod.node
        )

    def delete_account() -> Callable[[], object]:
        alpha.remove_service_account("team-a", "web")
        return lambda: alpha.add_service_account("team-a", "web", account.uid)

    def shift(seconds: int) -> Callable[[], Callable[[], object]]:
        def apply() -> Callable[[], object]:
            admin.shift_clock(seconds)
            return lambda: admin.shift_clock(-seconds)

        return apply

    def delete_authorization() -> Callable[[], object]:
        admin.delete_manifest("Authorization", "alpha-web")
        return admin.reset_manifests

    def change_store() -> Callable[[], object]:
        admin.apply_manifests([changed_store])
        return admin.reset_manifests

    def quirk() -> Callable[[], object]:
        admin.enable_quirk("sticky-authorizations")
        return lambda: admin.set_quirks([])

    def strict() -> Callable[[], object]:
        def set_to(on: bool) -> None:
            mock.behaviour.strict = on
            for cluster in mock.clusters.values():
                cluster.anonymous_discovery = on

        set_to(True)
        return lambda: set_to(False)

    def backend_fault() -> Callable[[], object]:
        admin.add_backend_fault("store-read", store="app-store", count=None)
        return admin.clear_faults

    def retire_okta() -> Callable[[], object]:
        old = jwt.get_unverified_header(walk.tokens["okta"])["kid"]
        admin.rotate_idp_keys("okta", step="full")
        admin.rotate_idp_keys("okta", step="retire", kid=old)
        return nothing

    return {
        "retire the signing key": retire,
        "add and sign with a new key": new_key,
        "delete the pod": delete_pod,
        "delete the service account": delete_account,
        "shift the clock past the short token's exp": shift(700),
        "shift the clock a little": shift(5),
        "delete the Authorization": delete_authorization,
        "change the store's value": change_store,
        "switch on a quirk": quirk,
        "strict mode": strict,
        "a store-read backend fault": backend_fault,
        "rotate Okta's keys, retiring the old": retire_okta,
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_warm_answers_equal_fresh_answers_across_every_kind_of_change(walk, seed):
    _walk(walk, seed)


def test_the_walk_catches_a_warm_answer_blind_to_changes(walk, monkeypatch):
    """The walk's power: warm answers that ignore the versions are served stale, and caught."""
    monkeypatch.setattr(WarmAnswers, "world", lambda self: ())
    with pytest.raises(StaleAnswer, match=r"with the \w+ token: warm"):
        _walk(walk, 1)


def _walk(walk: Walk, seed: int) -> None:
    rng = random.Random(seed)
    changes = _changes(walk)
    paths = [PLAIN, PLAIN, PLAIN + "?pretty", "/secretstore/app-store/secrets/missing"]
    tokens = ["sa", "sa", "pod", "short", "okta"]
    answers: set[tuple[str, bytes]] = set()
    hits_before = walk.warm.hits

    def requests(count: int) -> None:
        for _ in range(count):
            status, _headers, body, _outcome = walk.request(rng.choice(paths), rng.choice(tokens))
            answers.add((status.split()[0], body))

    for name in rng.sample(sorted(changes), len(changes)) * 2:
        requests(rng.randint(3, 8))
        undo = changes[name]()
        requests(rng.randint(3, 8))
        undo()
        walk.remint()
    # Not vacuous: values, denials and refusals were all answered, and hits really happened.
    statuses = {status for status, _ in answers}
    assert {"200", "401", "400", "503"} <= statuses, statuses
    assert (("200", b'"changed"\n')) in answers
    assert walk.warm.hits - hits_before >= 10


def test_a_repeated_request_is_a_warm_hit_that_still_journals_and_issues(walk):
    first = walk.call(PLAIN, "sa", warm=True)
    assert walk.warm.hits == 0
    again = walk.call(PLAIN, "sa", warm=True)
    assert walk.warm.hits == 1
    assert first == again
    assert again[2] == b'"hello"\n'
    assert again[3]["authorization"] == "alpha-web"
    assert again[3]["identity"]["subject"] == "system:serviceaccount:team-a:web"
    names = [i["metadata"]["name"] for i in walk.mock.admin.authorized_identities()]
    assert "oidc-system-serviceaccount-team-a-web" in names or any(
        n.startswith("oidc-") for n in names
    )


def test_retiring_the_key_refuses_the_very_next_request_after_a_warm_hit(walk):
    walk.call(PLAIN, "sa", warm=True)
    walk.call(PLAIN, "sa", warm=True)
    alpha = walk.mock.clusters["alpha"]
    old = alpha.signing_key.kid
    alpha.rotate_sign_with(alpha.rotate_add_key("rsa").kid)
    alpha.rotate_retire(old)
    status, _, body, _ = walk.call(PLAIN, "sa", warm=True)
    assert (status, body) == ("401 Unauthorized", NO_JWKS)


def test_no_warm_answer_for_a_large_body(walk):
    """Memory stays bounded: a body over 8 KiB (padding after the JSON) is never kept."""
    walk.body = walk.body + b" " * 8192
    walk.call(PLAIN, "sa", warm=True)
    hits = walk.warm.hits
    assert walk.call(PLAIN, "sa", warm=True)[2] == b'"hello"\n'
    assert walk.warm.hits == hits


def test_no_warm_answer_with_a_workload_token_or_a_quirk(walk):
    walk.call(PLAIN, "sa", warm=True)
    hits = walk.warm.hits
    workload = {"HTTP_X_WORKLOAD_TOKEN": walk.tokens["pod"]}
    walk.call(PLAIN, "sa", warm=True, **workload)
    walk.call(PLAIN, "sa", warm=True, **workload)
    walk.mock.admin.enable_quirk("sticky-authorizations")
    walk.call(PLAIN, "sa", warm=True)
    assert walk.warm.hits == hits


def test_a_backend_fault_fires_on_a_warm_request(walk):
    walk.call(PLAIN, "sa", warm=True)
    fresh_hits = walk.warm.hits
    assert walk.call(PLAIN, "sa", warm=True)[2] == b'"hello"\n'
    assert walk.warm.hits == fresh_hits + 1
    walk.mock.admin.add_backend_fault("store-read", store="app-store", count=None)
    warm = walk.call(PLAIN, "sa", warm=True)
    fresh = walk.call(PLAIN, "sa", warm=False)
    assert warm[:3] == fresh[:3]
    assert warm[0] != "200 OK"


class StoppedClock(Clock):
    """A mock clock that moves only when told (no real-time waits)."""

    def __init__(self, start: float) -> None:
        super().__init__()
        self.at = start

    def now(self) -> float:
        return self.at + self.offset


@pytest.fixture
def timed(tmp_path) -> Iterator[tuple[Walk, StoppedClock]]:
    clock = StoppedClock(float(int(time.time())))
    mock = MockServer(state_dir=tmp_path / "state", refresh_volumes=False, clock=clock).start()
    try:
        yield Walk(mock), clock
    finally:
        mock.stop()


def test_a_warm_hit_records_the_credential_at_its_own_time(timed):
    walk, clock = timed
    walk.call(PLAIN, "sa", warm=True)
    clock.at += 5  # time passes; no clock shift, so the warm answer still holds
    walk.call(PLAIN, "sa", warm=True)
    assert walk.warm.hits == 1
    [identity] = [
        i
        for i in walk.mock.admin.authorized_identities()
        if i["spec"]["identitySpec"]["subject"].get("oidc", {}).get("subject")
        == "system:serviceaccount:team-a:web"
    ]
    [credential] = identity["spec"]["issuedCredentials"]
    assert credential["lastIssuedAt"] == rfc3339(clock.at)


def test_a_warm_answer_ends_at_the_tokens_exp_exactly(timed):
    walk, clock = timed
    exp = jwt.decode(walk.tokens["short"], options={"verify_signature": False})["exp"]
    clock.at = exp - 1
    assert walk.call(PLAIN, "short", warm=True)[0] == "200 OK"
    clock.at = exp  # golang-jwt: expired once now is not before exp
    status, _, body, _ = walk.call(PLAIN, "short", warm=True)
    assert (status, body) == ("401 Unauthorized", b'"token has invalid claims: token is expired"\n')
    assert walk.warm.hits == 0


def test_a_request_repeated_at_the_same_instant_is_a_hit(timed):
    walk, _clock = timed
    walk.call(PLAIN, "sa", warm=True)
    walk.call(PLAIN, "sa", warm=True)
    assert walk.warm.hits == 1


def test_a_warm_hit_does_not_authenticate_again(walk, monkeypatch):
    calls = []
    authenticator = walk.mock.context.authenticator
    real = authenticator.authenticate
    monkeypatch.setattr(authenticator, "authenticate", lambda creds: calls.append(1) or real(creds))
    first = walk.call(PLAIN, "sa", warm=True)
    again = walk.call(PLAIN, "sa", warm=True)
    assert (len(calls), walk.warm.hits, again) == (1, 1, first)


def test_an_okta_callers_repeated_request_is_a_hit(walk):
    assert walk.call(PLAIN, "okta", warm=True)[2] == b'"hello"\n'
    assert walk.call(PLAIN, "okta", warm=True)[2] == b'"hello"\n'
    assert walk.warm.hits == 1


def test_a_body_of_exactly_8_kib_is_kept_and_one_byte_more_is_not(walk):
    walk.body = walk.body + b" " * (8192 - len(walk.body))
    walk.call(PLAIN, "sa", warm=True)
    walk.call(PLAIN, "sa", warm=True)
    assert walk.warm.hits == 1
    walk.body += b" "
    walk.call(PLAIN, "sa", warm=True)
    walk.call(PLAIN, "sa", warm=True)
    assert walk.warm.hits == 1


def test_the_memo_holds_at_most_its_bound_and_drops_the_oldest(walk, monkeypatch):
    monkeypatch.setattr(warm_module, "MAX_ENTRIES", 2)
    for path in (PLAIN, PLAIN + "?a", PLAIN + "?b"):
        walk.call(path, "sa", warm=True)
    assert len(walk.warm._kept) == 2
    walk.call(PLAIN, "sa", warm=True)  # the oldest was dropped: computed again
    assert walk.warm.hits == 0
    walk.call(PLAIN + "?b", "sa", warm=True)
    assert walk.warm.hits == 1


def test_a_pingone_callers_repeated_request_is_a_hit(walk):
    walk.tokens["ping"] = walk.mock.admin.idp_token("pingone", client_id="ping-batch-client")
    walk.body = b""
    assert walk.call(PLAIN, "ping", warm=True)[2] == b'"hello"\n'
    assert walk.call(PLAIN, "ping", warm=True)[3]["identity"]["method"] == "pingidentity"
    assert walk.warm.hits == 1
