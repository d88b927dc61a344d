"""docs/examples/render-*.yaml rendered through the mock: the exact Secret (every value byte for
byte, its type, labels and annotations), as docs/render.md shows them."""

from __future__ import annotations

import base64
import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from mockserver.paths import default_fixtures_dir
from mockserver.render import from_mock, load, render
from mockserver.render.secret import data_hash, object_hash
from mockserver.runtime import MockServer

EXAMPLES = Path(__file__).parent.parent / "docs" / "examples"
MANAGED = "reconcile.external-secrets.io/managed"
OWNER = "reconcile.external-secrets.io/created-by"
HASH = "reconcile.external-secrets.io/data-hash"


def _secret(server: MockServer, name: str) -> dict:
    env = from_mock(server)
    result = render(load([EXAMPLES / name], env), env)
    assert not result.failed, result.yaml()
    (secret,) = yaml.safe_load_all(result.yaml())
    # The outcome (what --diff compares) holds the written data, templates applied.
    (outcome,) = result.outcomes
    assert outcome.data == {k: base64.b64decode(v) for k, v in secret["data"].items()}
    return secret


def _check(secret: dict, es: str, kind: str, data: dict[str, bytes], labels, annotations) -> None:
    assert secret["type"] == kind
    decoded = {k: base64.b64decode(v) for k, v in secret["data"].items()}
    assert decoded == data
    assert secret["metadata"]["labels"] == {
        **labels,
        OWNER: object_hash(f"team-a/{es}"),
        MANAGED: "true",
    }
    assert secret["metadata"]["annotations"] == {**annotations, HASH: data_hash(data)}


def test_dockerconfigjson(mock) -> None:
    secret = _secret(mock, "render-dockerconfigjson.yaml")
    assert secret["metadata"]["name"] == "registry-pull"
    auth = base64.b64encode(b'admin:p@ss"w0rd').decode()
    config = (
        '{"auths":{"registry.example":{"username":"admin","password":"p@ss\\"w0rd",'
        f'"auth":"{auth}"}}}}}}'
    ).encode()
    _check(
        secret, "registry", "kubernetes.io/dockerconfigjson", {".dockerconfigjson": config}, {}, {}
    )


def test_connection_string(mock) -> None:
    secret = _secret(mock, "render-connection-string.yaml")
    data = {
        "url": b"postgres://admin:p%40ss%22w0rd@db.internal:5432/app?sslmode=require",
        "DB_USER": b"admin",
        "DB_PORT": b"5432",
    }
    _check(
        secret,
        "db",
        "Opaque",
        data,
        {"db.example/user": "admin"},
        {"db.example/port": "5432"},
    )


def test_federation_store_example(mock) -> None:
    secret = _secret(mock, "render-federationstore.yaml")
    data = {"username": b"admin", "password": b'p@ss"w0rd', "greeting": b"ends with a newline\n"}
    _check(secret, "app-credentials", "Opaque", data, {"app": "web"}, {})


@pytest.fixture
def tls_mock(tmp_path):
    fixtures = tmp_path / "fixtures"
    shutil.copytree(default_fixtures_dir(), fixtures)
    shutil.copy(EXAMPLES / "render-tls-server.yaml", fixtures)
    server = MockServer(fixtures=fixtures, state_dir=tmp_path / "state", refresh_volumes=False)
    server.start()
    yield server
    server.stop()


def test_tls_pair(tls_mock) -> None:
    server_doc = yaml.safe_load_all((EXAMPLES / "render-tls-server.yaml").read_text())
    bundle = next(iter(server_doc))["spec"]["provider"]["fake"]["data"][0]["value"]
    key = bundle[bundle.index("-----BEGIN PRIVATE KEY-----") : bundle.index("-----BEGIN CERT")]
    cert = bundle[bundle.index("-----BEGIN CERTIFICATE-----") :]
    secret = _secret(tls_mock, "render-tls-pair.yaml")
    _check(
        secret,
        "app-tls",
        "kubernetes.io/tls",
        {"tls.crt": cert.encode(), "tls.key": key.encode()},
        {"app.kubernetes.io/name": "app"},
        {"cert.example/sha256": hashlib.sha256(cert.encode()).hexdigest()},
    )
