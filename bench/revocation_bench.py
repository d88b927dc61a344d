"""Requests accepted after each kind of revocation (goal: 0 for every kind, in default and strict).

The real server forwards the caller's token to the cluster on every request, so a token the
cluster stops accepting is refused at once; the mock's key caches must not change that.
"""

from __future__ import annotations

import base64
import http.client
import json
import tempfile
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

REQUESTS_AFTER = 20
PATH = "/secretstore/app-store/secrets/plain"
POD = ("team-a", "web-7d9f8b6c5-x2x4q")
LEEWAY = 60


Restore = Callable[[], object]


def _retire_key(alpha: Any) -> Restore:
    old = alpha.signing_key.kid
    alpha.rotate_sign_with(alpha.rotate_add_key("rsa").kid)
    alpha.rotate_retire(old)
    return lambda: None  # the admin reset restores the starting keys


def _delete_pod(alpha: Any) -> Restore:
    pod = alpha.pod(*POD)
    alpha.remove_pod(*POD)
    return lambda: alpha.add_pod(pod.namespace, pod.name, pod.service_account, pod.uid, pod.node)


def _delete_service_account(alpha: Any) -> Restore:
    account = alpha.service_account("team-a", "web")
    alpha.remove_service_account("team-a", "web")
    return lambda: alpha.add_service_account("team-a", "web", account.uid)


def _delete_node(alpha: Any) -> Restore:
    alpha.remove_node("bench-node")
    return lambda: None


def _shift_past_exp(alpha: Any) -> Restore:
    alpha.clock.shift(600 + LEEWAY + 1)
    return lambda: None  # the admin reset restores the clock


REVOCATIONS: dict[str, tuple[Callable[[Any], str], Callable[[Any], Restore]]] = {
    "key retired": (lambda a: a.mint("team-a/web", pod=POD[1]), _retire_key),
    "pod deleted": (lambda a: a.mint("team-a/web", pod=POD[1]), _delete_pod),
    "service account deleted": (lambda a: a.mint("team-a/web"), _delete_service_account),
    "bound node deleted": (lambda a: a.mint("team-a/web", node="bench-node"), _delete_node),
    "clock past exp": (lambda a: a.mint("team-a/web", duration=600), _shift_past_exp),
}


def _post(conn: http.client.HTTPConnection, token: str, body: str) -> int:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request("POST", PATH, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def accepted_after_revocations(strict: bool) -> dict[str, int]:
    """Revocation kind → requests answered 200 after it (of `REQUESTS_AFTER`)."""
    from mockserver.runtime import MockServer

    results: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="esi-bench-") as state:
        server = MockServer(state_dir=state, refresh_volumes=False, strict=strict).start()
        try:
            parts = urlsplit(server.federation_url)
            for name, (mint, revoke) in REVOCATIONS.items():
                alpha = server.clusters["alpha"]
                body = json.dumps({"ca.crt": base64.b64encode(alpha.ca.cert_pem).decode()})
                conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
                token = mint(alpha)
                if any(_post(conn, token, body) != 200 for _ in range(5)):
                    raise RuntimeError(f"{name}: the token was refused before the revocation")
                restore = revoke(alpha)
                try:
                    results[name] = sum(
                        _post(conn, token, body) == 200 for _ in range(REQUESTS_AFTER)
                    )
                finally:
                    restore()
                    conn.close()
                    server.admin.reset()
        finally:
            server.stop()
    return results


def run() -> Iterator[tuple[str, bool]]:
    for strict in (False, True):
        results = accepted_after_revocations(strict)
        figures = ", ".join(f"{name} {count}" for name, count in results.items())
        mode = "strict" if strict else "default"
        yield (
            f"revocation ({mode}): requests accepted of {REQUESTS_AFTER} after each revocation: "
            f"{figures} (goal: 0 each)",
            not any(results.values()),
        )
