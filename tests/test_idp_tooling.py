"""Okta/PingOne tooling: connection.json `idps`, `esi-mock token --idp`, admin API, IdP faults."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

from click.testing import CliRunner

from mockserver.cli import main
from mockserver.federation.jwtclaims import OKTA_CLAIMS, PING_CLAIMS
from mockserver.federation.jwtparse import parse_unverified

STORE = "/secretstore/app-store/secrets/db-password"


def admin(mock: Any, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    parts = urlsplit(mock.admin_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        data = None if body is None else json.dumps(body)
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def federation(mock: Any, token: str) -> tuple[int, Any]:
    parts = urlsplit(mock.federation_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("POST", STORE, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_connection_json_lists_each_idp_with_kind_issuer_jwks_and_ca(mock):
    written = json.loads(mock.state.connection_file.read_text())
    okta, ping = written["idps"]["okta"], written["idps"]["pingone"]
    assert okta["kind"] == "okta"
    assert okta["issuer"] == "https://esi-mock.okta.com/oauth2/default"
    assert okta["jwks_url"] == "https://esi-mock.okta.com/oauth2/default/v1/keys"
    assert okta["hosts"] == {"esi-mock.okta.com": okta["url"].removeprefix("https://")}
    assert open(okta["ca_file"], "rb").read() == mock.idps["okta"].ca.cert_pem
    assert ping["kind"] == "pingidentity"
    assert set(ping["hosts"]) == {"auth.pingone.com", "auth.pingone.eu"}
    assert ping["issuers"]["a1b2c3d4-0000-4000-8000-0000000000e0"]["region"] == "eu"


def test_esi_mock_token_idp_mints_with_the_kept_keys(mock):
    state = str(mock.state.root)
    run = CliRunner().invoke(
        main,
        ["token", "--state-dir", state, "--idp", "pingone", "--client-id", "ping-batch-client"],
    )
    assert run.exit_code == 0, run.output
    token = run.output.strip()
    assert "sub" not in parse_unverified(token, PING_CLAIMS).claims
    assert federation(mock, token)[0] == 400  # authenticated and allowed: the key is absent
    user = CliRunner().invoke(
        main,
        ["token", "--state-dir", state, "--idp", "okta", "--subject", "me", "--scope", "a"],
    )
    assert parse_unverified(user.output.strip(), OKTA_CLAIMS).claims["scp"] == ["a"]


def test_esi_mock_token_idp_refuses_bad_input_with_exit_2(mock):
    state = str(mock.state.root)
    unknown = CliRunner().invoke(main, ["token", "--state-dir", state, "--idp", "auth0"])
    assert unknown.exit_code == 2
    assert "unknown identity provider 'auth0'; known: okta, pingone" in unknown.output
    nobody = CliRunner().invoke(main, ["token", "--state-dir", state, "--idp", "okta"])
    assert nobody.exit_code == 2
    assert "a token needs a subject" in nobody.output
    mixed = CliRunner().invoke(
        main, ["token", "--state-dir", state, "--idp", "okta", "--cluster", "alpha"]
    )
    assert mixed.exit_code == 2
    neither = CliRunner().invoke(main, ["token", "--state-dir", state])
    assert neither.exit_code == 2
    assert "give --cluster and --sa" in neither.output


def test_admin_api_mints_rotates_and_refuses_bad_fields(mock):
    mock.reset()
    status, body = admin(mock, "POST", "/idps/okta/tokens", {"subject": "0oa-esi-ci-client"})
    assert status == 200
    assert federation(mock, body["token"])[0] == 400
    assert admin(mock, "POST", "/idps/okta/tokens", {"subjekt": "x"}) == (
        400,
        {
            "error": "unknown field 'subjekt'; known: subject, client_id, scopes, audience, "
            "duration, server, broken"
        },
    )
    assert admin(mock, "POST", "/idps/nope/tokens", {"subject": "x"})[0] == 400
    old = body["token"]
    status, rotated = admin(mock, "POST", "/idps/okta/rotate", {"step": "full"})
    assert status == 200 and rotated["signing"] == rotated["kid"]
    old_kid = parse_unverified(old).header["kid"]
    status, _ = admin(mock, "POST", "/idps/okta/rotate", {"step": "retire", "kid": old_kid})
    assert status == 200
    assert federation(mock, old) == (
        401,
        "token validation failed: token is unverifiable: error while executing keyfunc: "
        f"key with kid '{old_kid}' not found in JWKS",
    )
    mock.reset()
    assert federation(mock, old)[0] == 400  # reset restored the keys


def test_idp_faults_break_the_key_fetch_until_cleared(mock):
    mock.reset()
    token = mock.admin.idp_token("okta", subject="0oa-esi-ci-client")
    assert federation(mock, token)[0] == 400
    kid = parse_unverified(token).header["kid"]
    expected = {
        "status-500": "failed to get JWKS: no jwks found",
        "garbage": "failed to get JWKS: no jwks found",
        "unknown-kid": "token validation failed: token is unverifiable: error while executing "
        f"keyfunc: key with kid '{kid}' not found in JWKS",
    }
    for kind, text in expected.items():
        status, rule = admin(mock, "POST", "/idp-faults", {"idp": "okta", "kind": kind})
        assert status == 201 and rule["kind"] == kind
        assert federation(mock, token) == (401, text)
        assert admin(mock, "DELETE", "/idp-faults") == (200, {"cleared": 1})
        assert federation(mock, token)[0] == 400
    assert admin(mock, "POST", "/idp-faults", {"idp": "okta", "kind": "slow"}) == (
        400,
        {"error": "kind must be one of status-500, garbage, timeout, unknown-kid, got 'slow'"},
    )
    mock.reset()


def test_pytest_plugin_idp_token_fixture(idp_token, federation_mock):
    token = idp_token("pingone", client_id="ping-batch-client")
    assert parse_unverified(token, PING_CLAIMS).claims["client_id"] == "ping-batch-client"
    assert parse_unverified(idp_token(subject="x")).issuer.endswith("/oauth2/default")


def test_the_journal_shows_the_okta_identity_and_its_near_miss(mock):
    mock.reset()
    token = mock.admin.idp_token("okta", subject="0OA-esi-ci-client", client_id="c")
    assert federation(mock, token) == (404, "Not Found")
    entry = mock.admin.journal()[-1]
    assert entry["identity"] == {
        "method": "okta",
        "issuer": "https://esi-mock.okta.com/oauth2/default",
        "subject": "0OA-esi-ci-client",
    }
    assert entry["near_miss"] == (
        "no Authorization for issuer 'https://esi-mock.okta.com/oauth2/default' names subject "
        "'0OA-esi-ci-client'; closest subject is '0oa-esi-ci-client'"
    )
    mock.reset()


def test_a_timeout_fault_holds_the_key_fetch_until_released(mock):
    import threading

    mock.reset()
    token = mock.admin.idp_token("okta", subject="0oa-esi-ci-client")
    assert admin(mock, "POST", "/idp-faults", {"idp": "okta", "kind": "timeout"})[0] == 201
    answers: list[tuple[int, Any]] = []
    caller = threading.Thread(target=lambda: answers.append(federation(mock, token)))
    caller.start()
    assert mock.idp_admin.holding.wait(10)
    assert answers == []  # still held
    mock.admin.clear_idp_faults()
    caller.join(10)
    # The held fetch failed (504); the issuer's second Authorization names the same Okta
    # federation, whose fetch, tried next as the real store does, meets no fault any more.
    assert answers == [(400, "Secret does not exist")]
    assert mock.context.issuer_keys.fetches.snapshot()["jwks"] >= 2
    mock.reset()


def test_a_rotation_is_kept_for_esi_mock_token(mock):
    mock.reset()
    rotated = mock.admin.rotate_idp_keys("okta", step="full")
    run = CliRunner().invoke(
        main, ["token", "--state-dir", str(mock.state.root), "--idp", "okta", "--subject", "x"]
    )
    assert parse_unverified(run.output.strip()).header["kid"] == rotated["kid"]
    mock.reset()
    again = CliRunner().invoke(
        main, ["token", "--state-dir", str(mock.state.root), "--idp", "okta", "--subject", "x"]
    )
    assert parse_unverified(again.output.strip()).header["kid"] != rotated["kid"]
