"""After `esi-mock clock --shift` a token minted before it is expired: the fake cluster refuses
discovery to it, and the journal keeps the real server's text with the mock's hint after it."""

from __future__ import annotations

import base64
import json

from mockserver.clock import Clock
from mockserver.runtime import MockServer
from tests.wire import send

REAL_TEXT = (
    "oidc: token is unverifiable: error while executing keyfunc: no jwks found: discovery "
    "document has no string jwks_uri"
)


def test_an_expired_forwarded_token_gets_the_real_text_and_a_hint(tmp_path):
    with MockServer(state_dir=tmp_path, clock=Clock(), refresh_volumes=False) as mock:
        alpha = mock.clusters["alpha"]
        token = alpha.mint("team-a/web", duration=3600)
        body = json.dumps({"ca.crt": base64.b64encode(alpha.ca.cert_pem).decode()}).encode()
        path = "/secretstore/app-store/secrets/plain"
        assert send(mock.federation_url, "POST", path, token, body).status == 200
        mock.admin.shift_clock(7200)
        reply = send(mock.federation_url, "POST", path, token, body)
        assert reply.status == 401
        error = mock.admin.journal()[-1]["error"]
        assert error.startswith(REAL_TEXT + " (mock hint: the forwarded token expired ")
        assert "s ago on the mock's clock, so the cluster refused discovery; after " in error
        assert "`esi-mock clock --shift` mint a new token)" in error
        fresh = alpha.mint("team-a/web", duration=3600)
        assert send(mock.federation_url, "POST", path, fresh, body).status == 200
