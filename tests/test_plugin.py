"""The pytest fixtures as a user writes them: a client test in a few lines."""

from __future__ import annotations

import json
import urllib.request

import pytest

from mockserver.admin.control import MockThreadError


def post(url: str, token: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_client_reads_a_secret_and_the_journal_shows_it(federation_mock, sa_token):
    url = federation_mock.url + "/secretstore/app-store/secrets/plain"
    assert post(url, sa_token("team-a/web"), federation_mock.ca_body()) == (200, b'"hello"\n')
    [entry] = federation_mock.journal(route="secretstore")
    assert (entry["authorization"], entry["response"]["status"]) == ("alpha-web", 200)


def test_a_fault_reaches_the_client_and_each_test_starts_clean(federation_mock, sa_token):
    assert federation_mock.journal() == [] and federation_mock.faults() == []
    federation_mock.add_fault(status=503, body='"try later"\n')
    url = federation_mock.url + "/secretstore/app-store/secrets/plain"
    assert post(url, sa_token(), federation_mock.ca_body()) == (503, b'"try later"\n')


def test_failures_in_the_mock_threads_surface_in_the_test(federation_mock):
    federation_mock.report_error(RuntimeError("handler blew up"), "federation app http")
    with pytest.raises(MockThreadError, match="federation app http: RuntimeError: handler blew"):
        federation_mock.check_errors()
    federation_mock.check_errors()  # reported once


def test_fake_cluster_serves_its_jwks_to_its_service_accounts(fake_cluster):
    request = urllib.request.Request(fake_cluster.jwks_url)
    request.add_header("Authorization", f"Bearer {fake_cluster.mint('default/default')}")
    context = fake_cluster.client_context()
    with urllib.request.urlopen(request, context=context, timeout=5) as response:
        keys = json.loads(response.read())["keys"]
    assert [k["kid"] for k in keys] == [fake_cluster.signing_key.kid]
