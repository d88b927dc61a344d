"""`esi-mock svid --help` gives an example ID the mock accepts, and a refused SVID is logged (the
connection closes without an HTTP answer, so the log is the only place that says why)."""

from __future__ import annotations

import logging
import re
import ssl
from pathlib import Path

import pytest
from click.testing import CliRunner

from mockserver.cli import main
from mockserver.tls import client_context
from tests.wire import send


def example_id() -> str:
    text = CliRunner().invoke(main, ["svid", "--help"]).output
    joined = re.sub(r"\s+", "", text.split("--id", 1)[1].split("--out", 1)[0])
    return re.search(r"spiffe://[^\s(]+", joined).group(0)


def svid_context(mock, folder: Path) -> ssl.SSLContext:
    context = client_context(mock.server_ca.cert_pem)
    context.load_cert_chain(folder / "svid.pem", folder / "svid.key")
    return context


def test_the_help_example_id_reads_a_store_over_mtls(mock, tmp_path):
    spiffe_id = example_id()
    assert spiffe_id == (
        "spiffe://example.org/frontend/ns/web/sa/6f1c2a4e-1b0d-4c52-9a1e-2f3b4c5d6e07/frontend"
        "/pod/0c8e7d6a-2f3b-4a1c-8d9e-7a6b5c4d3e03/frontend-5c7d9"
    )
    done = CliRunner().invoke(
        main,
        ["svid", "--state-dir", str(mock.state.root), "--id", spiffe_id, "--out", str(tmp_path)],
    )
    assert done.exit_code == 0, done.output
    reply = send(
        mock.connection()["federation_mtls_url"],
        "POST",
        "/secretstore/app-store/secrets/plain",
        context=svid_context(mock, tmp_path),
    )
    assert (reply.status, reply.body) == (200, b'"hello"\n')


def test_a_refused_svid_is_logged_with_its_id(mock, caplog):
    other = "spiffe://example.org/other/ns/web/sa/1/x/pod/2/y"
    context = client_context(mock.server_ca.cert_pem, client_cert=mock.spiffe.issue_svid(other))
    with (
        caplog.at_level(logging.WARNING, logger="mockserver.spiffe"),
        pytest.raises(ssl.SSLError) as refused,
    ):
        send(mock.connection()["federation_mtls_url"], "POST", "/", context=context)
    assert refused.value.reason == "SSLV3_ALERT_BAD_CERTIFICATE"
    assert [r.getMessage() for r in caplog.records if r.name == "mockserver.spiffe"] == [
        f"mTLS: refused SVID {other}: no Authorization names it (spec.subject.spiffe.spiffeID)"
    ]
