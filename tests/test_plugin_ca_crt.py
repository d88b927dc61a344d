"""`federation_mock.ca_crt()`: the `ca.crt` string a natural client puts into its own JSON body;
`ca_body()` keeps giving the whole body as before."""

from __future__ import annotations

import base64
import json
import urllib.request


def post_json(url: str, token: str, document: dict[str, str]) -> tuple[int, bytes]:
    """What a client library does with `json={...}`: serialise the object itself."""
    request = urllib.request.Request(url, data=json.dumps(document).encode(), method="POST")
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read()


def test_ca_crt_is_the_base64_string_a_client_sends(federation_mock, sa_token):
    value = federation_mock.ca_crt()
    assert isinstance(value, str)
    assert base64.b64decode(value, validate=True).startswith(b"-----BEGIN CERTIFICATE-----")
    url = federation_mock.url + "/secretstore/app-store/secrets/plain"
    assert post_json(url, sa_token("team-a/web"), {"ca.crt": value}) == (200, b'"hello"\n')


def test_ca_crt_names_a_cluster_and_ca_body_still_wraps_it(federation_mock):
    beta = federation_mock.ca_crt("beta")
    assert beta != federation_mock.ca_crt()
    assert json.loads(federation_mock.ca_body("beta", owner="x")) == {"ca.crt": beta, "owner": "x"}
    assert json.loads(federation_mock.ca_body()) == {"ca.crt": federation_mock.ca_crt("alpha")}
