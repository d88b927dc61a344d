"""The journal: ring buffer and filters; and, end to end, one curl R1 call against `esi-mock serve`
whose entry shows method, raw path, Authorization and status but no secret in any encoding, in the
admin API, in `esi-mock journal` and in the server log."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from mockserver.admin.journal import Journal, JournalQuery, QueryError
from mockserver.admin.redaction import fingerprint
from mockserver.gojson import go_json
from tests.wire import BIN, curl, start_serving

CANARY = 'Can4ry<>&"secret/ünïcødé-東京-\u2028-v@lue 42'


def entry(status: int, route: str = "secretstore", subject: str = "s", time_: float = 0.0) -> dict:
    return {
        "time": time_,
        "listener": "http",
        "method": "POST",
        "path": f"/{route}",
        "identity": {"subject": subject, "issuer": "i"},
        "outcome": {"route": route, "identity": {"subject": subject, "issuer": "i"}},
        "response": {"status": status},
        "near_miss": "closest" if status == 404 else None,
    }


def test_ring_buffer_keeps_the_newest_and_counts_dropped():
    journal = Journal(size=3)
    ids = [journal.add(entry(200, time_=n)) for n in range(5)]
    assert ids == [1, 2, 3, 4, 5]
    assert [e["id"] for e in journal.entries()] == [3, 4, 5]
    assert journal.summary() == {"size": 3, "count": 3, "dropped": 2}
    assert journal.get(1) is None and journal.get(4)["time"] == 3
    assert journal.clear() == 3 and journal.entries() == []


def test_filters_by_route_status_identity_time_and_limit():
    journal = Journal()
    journal.add(entry(200, "secretstore", "a", 10))
    journal.add(entry(404, "secretstore", "b", 20))
    journal.add(entry(400, "generate", "a", 30))

    def ids(**params):
        return [e["id"] for e in journal.entries(JournalQuery.from_params(params))]

    assert ids(route="secretstore") == [1, 2]
    assert ids(status="404") == [2]
    assert ids(status="4xx") == [2, 3]
    assert ids(identity="a") == [1, 3]
    assert ids(identity="i") == [1, 2, 3]
    assert ids(since="20", until="30") == [2]
    assert ids(near_miss="true") == [2]
    assert ids(limit="2") == [2, 3]
    assert ids(limit="0") == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"colour": "red"}, "unknown journal filter 'colour'"),
        ({"status": "abc"}, "status must be a code like 404 or a class like 4xx: 'abc'"),
        ({"since": "yesterday"}, "since must be a number of seconds: 'yesterday'"),
        ({"limit": "-1"}, "limit must not be negative: '-1'"),
        ({"near_miss": "maybe"}, "near_miss must be true or false: 'maybe'"),
    ],
)
def test_bad_filters_name_the_parameter(params, message):
    with pytest.raises(QueryError) as raised:
        JournalQuery.from_params(params)
    assert str(raised.value).startswith(message)


def test_size_must_be_positive():
    with pytest.raises(ValueError, match="journal size must be at least 1, got 0"):
        Journal(0)


# -- end to end ----------------------------------------------------------------------------------


def all_encodings(secret: str | bytes) -> list[str]:
    """Every form a secret could leak in, plus every 16-character window of each."""
    data = secret if isinstance(secret, bytes) else secret.encode()
    text = data.decode()
    forms = {
        text,
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
        go_json(data)[1:-2].decode(),
        base64.b64encode(data).decode().rstrip("="),
        base64.urlsafe_b64encode(data).decode().rstrip("="),
        quote(text, safe=""),
        quote(text),
        quote_plus(text),
        text.encode("unicode_escape").decode(),
    }
    windows = set()
    for form in forms:
        windows.update(form[i : i + 16] for i in range(0, max(1, len(form) - 15)))
    return sorted(windows)


def assert_clean(output: str, secrets: dict[str, str | bytes]) -> None:
    for name, secret in secrets.items():
        leaked = [w for w in all_encodings(secret) if w in output]
        assert not leaked, f"{name} leaked: {leaked[:3]}"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "esi-mock"), *args], capture_output=True, text=True, timeout=60, check=False
    )


CANARY_MANIFESTS = f"""
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {{name: canary-store}}
spec:
  provider:
    fake:
      data:
        - key: canary/key
          value: {json.dumps(CANARY)}
---
apiVersion: federation.external-secrets.io/v1alpha1
kind: Authorization
metadata: {{name: canary-reader}}
spec:
  federationRef: {{kind: KubernetesFederation, name: alpha}}
  subject:
    oidc:
      issuer: https://kubernetes.default.svc.cluster.local
      subject: system:serviceaccount:team-a:web
  allowedClusterSecretStores: [canary-store]
  allowedGenerators: []
  allowedGeneratorStates: []
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    state = tmp_path_factory.mktemp("journal-served")
    process, info = start_serving(state, "--access-log")
    logs: dict[str, str] = {}
    yield state, info, process, logs
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        logs["out"], logs["err"] = process.communicate(timeout=20)


def test_one_curl_r1_call_is_journalled_without_any_secret(served):
    state, connection, process, logs = served
    admin = connection["admin_url"]
    status, _ = curl(
        "-X",
        "POST",
        "-H",
        "Content-Type: application/yaml",
        "--data-binary",
        CANARY_MANIFESTS,
        f"{admin}/manifests",
    )
    assert status == 200
    token = run("token", "--state-dir", str(state), "--cluster", "alpha", "--sa", "team-a/web")
    token = token.stdout.strip()
    ca_pem = Path(connection["clusters"]["alpha"]["ca_file"]).read_bytes()
    ca_crt = base64.b64encode(ca_pem).decode()
    path = "/secretstore/canary-store/secrets/canary/key"
    status, body = curl(
        "-X",
        "POST",
        "-H",
        f"Authorization: Bearer {token}",
        "-H",
        "Content-Type: application/json",
        "--data",
        json.dumps({"ca.crt": ca_crt}),
        connection["federation_url"] + path,
    )
    assert (status, json.loads(body)) == (200, CANARY)

    status, answer = curl(f"{admin}/journal?route=secretstore")
    assert status == 200
    entries = json.loads(answer)["entries"]
    assert len(entries) == 1
    journalled = entries[0]
    assert journalled["method"] == "POST"
    assert journalled["path"] == path
    assert journalled["authorization"] == "canary-reader"
    assert journalled["response"]["status"] == 200
    assert journalled["headers"]["Authorization"] == f"Bearer {fingerprint(token)}"
    assert journalled["response"]["body"] == f'"{fingerprint(CANARY)}"\n'
    assert journalled["identity"]["subject"] == "system:serviceaccount:team-a:web"

    cli = run("journal", "--state-dir", str(state))
    assert cli.returncode == 0, cli.stderr
    assert f"POST  {path}  -> 200" in cli.stdout
    assert "authorization=canary-reader" in cli.stdout
    cli_json = run("journal", "--state-dir", str(state), "--json", "--route", "secretstore")
    listed = json.loads(cli_json.stdout)
    assert set(listed) == {"entries", "size", "count", "dropped", "matched"}
    assert listed["entries"][0]["id"] == journalled["id"]

    process.send_signal(signal.SIGTERM)
    logs["out"], logs["err"] = process.communicate(timeout=20)
    assert f'"POST {path} HTTP/1.1" 200' in logs["err"]
    secrets = {"token": token, "ca.crt": ca_crt, "ca.crt PEM": ca_pem, "secret value": CANARY}
    for output in (answer, cli.stdout, cli_json.stdout, logs["out"], logs["err"]):
        assert_clean(output, secrets)


def test_unredacted_says_so_loudly_and_shows_the_token(tmp_path, capsys):
    from mockserver.clock import Clock
    from mockserver.runtime import MockServer
    from tests.wire import ca_body, send

    with MockServer(
        state_dir=tmp_path, clock=Clock(), refresh_volumes=False, unredacted=True
    ) as server:
        assert "WARNING: esi-mock runs UNREDACTED" in capsys.readouterr().err
        alpha = server.clusters["alpha"]
        token = alpha.mint("team-a/web")
        path = "/secretstore/app-store/secrets/db/password"
        send(server.federation_url, "POST", path, token, ca_body(alpha.ca.cert_pem))
        [entry] = server.admin.journal()
        assert entry["headers"]["Authorization"] == f"Bearer {token}"
        assert entry["response"]["body"] == '"c0rrect/h0rse:battery@staple"\n'
        assert (entry["redacted"], server.connection()["unredacted"]) == (False, True)
