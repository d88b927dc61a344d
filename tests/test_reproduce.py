"""The curl line of a step: tokens and CAs as commands over the bundle folder, never as values."""

from __future__ import annotations

from conformance.runner.prepare import PreparedRequest
from conformance.runner.reproduce import curl_command, token_command
from conformance.scenarios.model import KubeIdentity, Request, SpiffeIdentity

STORE = {"store": "app-store", "key": "plain"}


def prepared(body: bytes = b"", base: str = "http://srv:8080", mtls: bool = False):
    headers = {"Authorization": "Bearer eyJsecret", "Content-Type": "application/json"}
    headers["Content-Length"] = str(len(body))
    return PreparedRequest(
        "POST", "/secretstore/app-store/secrets/plain", headers, body, base, None, mtls, "Q0FDRVJU"
    )


def test_a_plain_request_mints_from_the_bundle_and_reads_the_ca_file():
    request = Request("store.get", STORE, KubeIdentity("alpha", "team-a/web"))
    line = curl_command(
        request, prepared(b'{"ca.crt":"Q0FDRVJU"}'), "Q0FDRVJU", "/b", None, lambda t: t
    )
    assert line == (
        "curl -sS -i -X POST http://srv:8080/secretstore/app-store/secrets/plain "
        '-H "Authorization: Bearer $(esi-mock token --state-dir /b --cluster alpha --sa team-a/web)" '
        "-H 'Content-Type: application/json' "
        '--data-binary "{\\"ca.crt\\":\\"$(base64 -w0 /b/clusters/alpha/ca.crt)\\"}"'
    )


def test_variants_esi_mock_cannot_mint_become_placeholders_with_a_note():
    forged = KubeIdentity("alpha", "team-a/web", token="expired")
    assert token_command(forged, "/b") is None
    assert token_command(KubeIdentity("alpha", "team-a/web", signed_by="beta"), "/b") is None
    assert token_command(KubeIdentity("a", "n/s", token="broken:no-kid"), "/b") == (
        "esi-mock token --state-dir /b --cluster a --sa n/s --broken no-kid"
    )
    request = Request("store.get", STORE, forged, ca_crt="urlsafe-base64")
    line = curl_command(
        request, prepared(b'{"ca.crt":"Q0FDRVJU"}'), "Q0FDRVJU", "/b", None, lambda t: t
    )
    note, command = line.split("\n")
    assert note == "# TOKEN: a expired token of team-a/web"
    assert '"Authorization: Bearer $TOKEN"' in command
    assert '"{\\"ca.crt\\":\\"$CA_CRT\\"}"' in command
    assert "eyJ" not in line and "Q0FDRVJU" not in line


def test_mtls_writes_an_svid_first_and_https_names_the_target_ca():
    spiffe = "spiffe://example.org/frontend/ns/web/sa/u/frontend/pod/p/f"
    request = Request("store.get", STORE, SpiffeIdentity(spiffe), transport="mtls")
    line = curl_command(
        request, prepared(base="https://srv:8443", mtls=True), None, "/b", "ca.pem", lambda t: t
    )
    svid, note, command = line.split("\n")
    assert note == "# TOKEN: the scenario's bearer token" and "eyJ" not in line
    assert svid == f"esi-mock svid --state-dir /b --id {spiffe} --out svid >/dev/null"
    assert "--cert svid/svid.pem --key svid/svid.key --cacert ca.pem" in command
