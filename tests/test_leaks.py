"""No secret in any log or journal line, on the three paths that leaked: the access line of a
token first sent as a bearer and then in `?token=`; Flask's and Werkzeug's own log lines and
tracebacks; a token never sent as a credential (custom header, query, body member)."""

from __future__ import annotations

import base64
import http.client
import io
import json
import logging
from collections.abc import Iterator

import pytest
import trustme

from mockserver.admin.redaction import fingerprint
from mockserver.clock import Clock
from mockserver.federation.authenticators.oidc import KubernetesOIDC
from mockserver.runtime import MockServer
from tests.wire import ca_body, send

PATH = "/secretstore/app-store/secrets/db/password"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[MockServer]:
    mock = MockServer(
        state_dir=tmp_path_factory.mktemp("leaks"), clock=Clock(), refresh_volumes=False
    )
    mock.start()
    mock.listeners["http"].set_access_log(True)
    yield mock
    mock.stop()


@pytest.fixture
def mock(server: MockServer) -> Iterator[MockServer]:
    server.journal.clear()
    yield server
    server.take_errors()


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Whatever a plain handler on the root logger prints, as a user's logging setup would."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def access_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if '" 401 ' in line or '" 200 ' in line]


def test_a_token_sent_as_bearer_then_in_the_query_is_fingerprinted_in_the_access_log(
    mock, captured
):
    alpha = mock.clusters["alpha"]
    token = alpha.mint("team-a/web")
    opaque = "opaque-credential-0123456789"
    assert send(mock.federation_url, "POST", PATH, token, ca_body(alpha.ca.cert_pem)).status == 200
    assert send(mock.federation_url, "POST", f"{PATH}?token={token}").status == 401
    assert send(mock.federation_url, "POST", PATH, opaque, ca_body(alpha.ca.cert_pem)).status == 401
    assert send(mock.federation_url, "POST", f"{PATH}?token={opaque}").status == 401
    # In one request: the credential is learnt before the request's own line is written.
    other = "second-opaque-credential-42"
    assert send(mock.federation_url, "POST", f"{PATH}?t={other}", other).status == 401
    lines = [line.split('] "', 1)[1] for line in access_lines(captured.getvalue())]
    assert [line.rsplit(" ", 1)[0] for line in lines] == [
        f'POST {PATH} HTTP/1.1" 200',
        f'POST {PATH}?token={fingerprint(token)} HTTP/1.1" 401',
        f'POST {PATH} HTTP/1.1" 401',
        f'POST {PATH}?token={fingerprint(opaque)} HTTP/1.1" 401',
        f'POST {PATH}?t={fingerprint(other)} HTTP/1.1" 401',
    ]
    for secret in (token, token.split(".")[2], opaque, other):
        assert secret not in captured.getvalue()


def test_panic_tracebacks_and_werkzeug_lines_go_through_the_redactor(mock, captured, monkeypatch):
    alpha = mock.clusters["alpha"]
    token = alpha.mint("team-a/web")
    # A CA the mock has never seen: only what the request taught the redactor can hide it.
    ca_pem = trustme.CA().cert_pem.bytes()
    ca_crt = base64.b64encode(ca_pem).decode()

    def failing(self, creds):
        raise RuntimeError(f"cannot use {creds.body.decode()}")

    monkeypatch.setattr(KubernetesOIDC, "authenticate", failing)
    app_stream = io.StringIO()
    app_logger = logging.getLogger("mockserver.federation.http")  # the federation app's logger
    app_handler = logging.StreamHandler(app_stream)
    app_logger.addHandler(app_handler)
    try:
        # The real server's panic: the connection closes with no answer.
        with pytest.raises(http.client.RemoteDisconnected):
            send(mock.federation_url, "POST", f"{PATH}?token={token}", token, ca_body(ca_pem))
        logging.getLogger("werkzeug").error("could not serve %s with %s", token, ca_crt)
    finally:
        app_logger.removeHandler(app_handler)
    failure = f'RuntimeError: cannot use {{"ca.crt": "{fingerprint(ca_crt)}"}}'
    for text in (app_stream.getvalue(), captured.getvalue()):
        lines = text.splitlines()
        assert f"panic serving POST {PATH}?token={fingerprint(token)}: {failure[14:]}" in lines
        assert "Traceback (most recent call last):" in lines
        assert failure in lines
        assert ca_crt[:16] not in text and token.split(".")[2] not in text
    assert mock.take_errors() == [f"federation app mockserver.federation.http: {failure}"]
    assert (
        f"could not serve {fingerprint(token)} with {fingerprint(ca_crt)}"
        in captured.getvalue().splitlines()
    )


def test_a_token_never_sent_as_a_credential_is_fingerprinted_in_the_journal(mock):
    alpha = mock.clusters["alpha"]
    bearer = alpha.mint("team-a/web")
    # Same cluster, same key: its header is the bearer's, only claims and signature differ.
    passenger = alpha.mint("team-b/reporter", duration=900)
    assert passenger.split(".")[0] == bearer.split(".")[0]
    body = ca_body(alpha.ca.cert_pem, note=f"forwarded {passenger}")
    reply = send(
        mock.federation_url,
        "POST",
        f"{PATH}?audit={passenger}",
        bearer,
        body,
        headers={"X-Forwarded-Token": passenger},
    )
    assert reply.status == 200
    [entry] = mock.admin.journal()
    shown = fingerprint(passenger)
    assert entry["headers"]["X-Forwarded-Token"] == shown
    assert entry["headers"]["Authorization"] == f"Bearer {fingerprint(bearer)}"
    assert entry["query"] == f"audit={shown}"
    assert json.loads(entry["body"])["note"] == f"forwarded {shown}"
    text = json.dumps(entry)
    for part in (*passenger.split("."), *bearer.split(".")[1:]):
        assert part not in text
