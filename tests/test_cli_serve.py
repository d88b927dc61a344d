"""`esi-mock serve` and `esi-mock token` as a user runs them, with curl and PyJWT as the clients."""

from __future__ import annotations

import base64
import json
import signal
import ssl
import subprocess
from pathlib import Path

import jwt
import pytest

from tests.wire import BIN, curl, start_serving


def esi_mock(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "esi-mock"), *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    state = tmp_path_factory.mktemp("served")
    process, info = start_serving(state)
    yield state, info, process
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "esi-mock stopped" in out


def token(state: Path, *args: str) -> str:
    result = esi_mock("token", "--state-dir", str(state), *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_connection_json_has_absolute_paths_and_every_cluster(served):
    state, info, _ = served
    assert info["schema_version"] == 1
    assert set(info["clusters"]) == {"alpha", "beta", "gamma", "delta", "epsilon"}
    for cluster in info["clusters"].values():
        assert set(cluster) >= {"issuer", "url", "ca_file", "jwks_url"}
        assert Path(cluster["ca_file"]).is_absolute() and Path(cluster["ca_file"]).exists()
    assert Path(info["state_dir"]) == state.resolve()


def test_serve_prints_where_its_state_is(served):
    state, _, process = served
    first = process.stdout.readline()
    assert first.startswith("esi-mock ")
    assert "ready in" in first
    assert process.stdout.readline().strip() == f"state:       {state.resolve()}"


def test_discovery_answers_a_cluster_token_and_refuses_anonymous(served):
    state, info, _ = served
    alpha = info["clusters"]["alpha"]
    sa_token = token(state, "--cluster", "alpha", "--sa", "team-a/web")
    url = alpha["url"] + "/.well-known/openid-configuration"
    status, body = curl(
        "--cacert", alpha["ca_file"], "-H", f"Authorization: Bearer {sa_token}", url
    )
    assert status == 200
    assert list(json.loads(body)) == [
        "issuer",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ]
    anonymous_status, anonymous_body = curl("--cacert", alpha["ca_file"], url)
    assert anonymous_status == 403
    assert json.loads(anonymous_body)["reason"] == "Forbidden"


def test_token_verifies_with_pyjwt_against_the_served_jwks(served):
    state, info, _ = served
    alpha = info["clusters"]["alpha"]
    sa_token = token(state, "--cluster", "alpha", "--sa", "team-a/web")
    header = json.loads(base64.urlsafe_b64decode(sa_token.split(".")[0] + "=="))
    assert list(header) == ["alg", "kid"]
    context = ssl.create_default_context(cafile=alpha["ca_file"])
    client = jwt.PyJWKClient(
        alpha["jwks_url"], headers={"Authorization": f"Bearer {sa_token}"}, ssl_context=context
    )
    claims = jwt.decode(
        sa_token,
        client.get_signing_key_from_jwt(sa_token).key,
        algorithms=["RS256"],
        audience=alpha["issuer"],
        issuer=alpha["issuer"],
    )
    assert claims["sub"] == "system:serviceaccount:team-a:web"


def test_token_command_refuses_short_durations_as_kubernetes_does(served):
    state, _, _ = served
    result = esi_mock(
        "token",
        "--state-dir",
        str(state),
        "--cluster",
        "alpha",
        "--sa",
        "team-a/web",
        "--duration",
        "60",
    )
    assert result.returncode == 2
    assert "may not specify a duration less than 10 minutes" in result.stderr


def test_r1_with_curl_as_the_issue_shows_it(served):
    state, info, _ = served
    alpha = info["clusters"]["alpha"]
    sa_token = token(state, "--cluster", "alpha", "--sa", "team-a/web")
    ca_b64 = base64.b64encode(Path(alpha["ca_file"]).read_bytes()).decode()
    common = [
        "-X", "POST", "-H", f"Authorization: Bearer {sa_token}",
        "-H", "Content-Type: application/json", "-d", json.dumps({"ca.crt": ca_b64}),
    ]  # fmt: skip
    status, body = curl(*common, info["federation_url"] + "/secretstore/app-store/secrets/plain")
    assert (status, body) == (200, '"hello"\n')
    status, body = curl(*common, info["federation_url"] + "/secretstore/prod/secrets/api-token")
    assert (status, body) == (404, '"Not Found"\n')
    status, body = curl(
        *common,
        "--cacert",
        info["server_ca_file"],
        info["federation_tls_url"] + "/generators/team-a/Fake/fake-static",
    )
    assert (status, json.loads(body)) == (200, {"password": 'p@ss"word<&>', "username": "admin"})


def test_projected_volume_holds_token_ca_and_namespace(served):
    _, info, _ = served
    folder = Path(info["clusters"]["alpha"]["serviceaccounts"]["team-a/web"])
    assert (folder / "namespace").read_text() == "team-a"
    assert (folder / "ca.crt").read_bytes() == Path(
        info["clusters"]["alpha"]["ca_file"]
    ).read_bytes()
    assert (folder / "token").is_symlink()
    assert (folder / "..data").is_symlink()
    claims = jwt.decode((folder / "token").read_text(), options={"verify_signature": False})
    assert claims["sub"] == "system:serviceaccount:team-a:web"


def test_svid_command_writes_a_client_certificate(served, tmp_path):
    state, _, _ = served
    spiffe_id = "spiffe://example.org/app/ns/web/sa/1/frontend/pod/2/frontend-5c7d9"
    result = esi_mock("svid", "--state-dir", str(state), "--id", spiffe_id, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "svid.key").stat().st_mode & 0o777 == 0o600
    assert b"BEGIN CERTIFICATE" in (tmp_path / "svid.pem").read_bytes()


def test_keys_are_kept_with_mode_0600(served):
    state, _, _ = served
    private = [p for p in state.rglob("*.pem") if b"PRIVATE KEY" in p.read_bytes()]
    assert private
    assert {p.stat().st_mode & 0o777 for p in private} == {0o600}
