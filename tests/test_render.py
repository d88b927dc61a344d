"""esi-mock render against the session mock: exact bytes, as-released defects, failures."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mockserver.render import diff, from_mock, load, render
from mockserver.render.cli import render as render_command

FIXTURES = Path(__file__).parent / "render_fixtures"

TRICKY = {
    "plain": b"hello",
    "quotes": b'she said "hi" and it\'s fine',
    "html": b'<b>fish & chips</b> <script>alert("x")</script>',
    "unicode": "Grüße, 東京 ☃ 🔑 line\u2028separator\u2029paragraph".encode(),
    "empty": b"",
    "trailing-newline": b"ends with a newline\n",
    "multiline": b"first line\nsecond line\n",
    "db-password": b"c0rrect/h0rse:battery@staple",
    "json-user": b"admin",
    "json-password": b'p@ss"w0rd',
    "json-ratio": b"1.5",
    "json-tags": b'["a","b"]',
    "auto-plain": b"hello",
}


def _secret_data(text: str) -> dict[str, bytes]:
    (secret,) = [d for d in yaml.safe_load_all(text) if d["kind"] == "Secret"]
    return {k: base64.b64decode(v) for k, v in secret["data"].items()}


def _run(mock, name: str, released: bool = False):
    env = from_mock(mock)
    return render(load([FIXTURES / name], env), env, released=released)


def test_provider_renders_every_value_byte_for_byte(mock) -> None:
    result = _run(mock, "provider.yaml")
    assert not result.failed
    (outcome,) = result.outcomes
    assert outcome.data == TRICKY
    assert _secret_data(result.yaml()) == TRICKY


def test_secret_carries_eso_markers_and_the_external_secret_labels(mock) -> None:
    (secret,) = yaml.safe_load_all(_run(mock, "provider.yaml").yaml())
    assert secret["metadata"]["name"] == "tricky-values"
    assert secret["metadata"]["namespace"] == "team-a"
    assert secret["metadata"]["labels"] == {
        "app": "web",
        # ObjectHash("team-a/tricky"): SHA3-224 of the text.
        "reconcile.external-secrets.io/created-by": (
            "b080558dbe8d82ecdec68a6c4c7e78d2972ef826dc394c4d47fb1e76"
        ),
        "reconcile.external-secrets.io/managed": "true",
    }
    assert secret["type"] == "Opaque"


def test_provider_requests_as_a_correct_client_sends_them(mock) -> None:
    result = _run(mock, "provider.yaml")
    first = result.exchanges[0]
    assert (first.method, first.target, first.status) == (
        "POST",
        "/secretstore/app-store/secrets/plain",
        200,
    )
    assert not first.chunked
    ca = mock.clusters["alpha"].ca.cert_pem
    assert first.body == b'{"ca.crt": "' + base64.b64encode(ca) + b'"}'
    assert [e.target for e in result.exchanges if "db" in e.target] == [
        "/secretstore/app-store/secrets/db/password"
    ]


def test_as_released_keeps_json_quotes_and_trailing_newline(mock) -> None:
    result = _run(mock, "provider.yaml", released=True)
    data = _secret_data(result.yaml())
    assert data["plain"] == b'"hello"\n'
    assert data["quotes"] == b'"she said \\"hi\\" and it\'s fine"\n'
    assert data["empty"] == b'""\n'
    assert data["html"] == (
        b'"\\u003cb\\u003efish \\u0026 chips\\u003c/b\\u003e '
        b'\\u003cscript\\u003ealert(\\"x\\")\\u003c/script\\u003e"\n'
    )
    # property ignored (M11): the whole JSON document, JSON-quoted.
    assert data["json-user"] == data["json-ratio"]
    assert data["json-user"].startswith(b'"{\\"user\\":\\"admin\\"')
    assert all(e.chunked for e in result.exchanges)


def test_diff_shows_what_the_released_provider_stores(mock) -> None:
    env = from_mock(mock)
    manifests = load([FIXTURES / "provider.yaml"], env)
    text = diff(render(manifests, env), render(manifests, env, released=True))
    assert '-team-a/tricky plain: "hello"\n' in text
    assert '+team-a/tricky plain: "\\"hello\\"\\n"\n' in text
    assert '-team-a/tricky trailing-newline: "ends with a newline\\n"\n' in text


@pytest.mark.parametrize(
    ("released", "tail"),
    [(False, '"Not Found"'), (True, '"Not Found"\n')],
)
def test_denied_store_renders_the_failure_and_no_secret(mock, released, tail) -> None:
    result = _run(mock, "denied.yaml", released=released)
    assert result.failed
    documents = list(yaml.safe_load_all(result.yaml()))
    assert [d["kind"] for d in documents] == ["ExternalSecret", "Event"]
    assert documents[0]["status"]["conditions"] == [
        {
            "type": "Ready",
            "status": "False",
            "reason": "SecretSyncedError",
            "message": "could not get secret data from provider",
        }
    ]
    assert documents[1]["type"] == "Warning"
    assert documents[1]["reason"] == "UpdateFailed"
    assert documents[1]["message"] == (
        "error processing spec.data[0] (key: plain), err: failed to get secret: "
        f"status 404 Not Found, body: {tail}"
    )


def test_generator_output_rewrite_and_trailing_slash(mock) -> None:
    result = _run(mock, "generator.yaml")
    generated, pem = result.outcomes
    assert generated.data == {"fake-username": b"admin", "fake-password": b'p@ss"word<&>'}
    # correct: ca.crt from a PEM Secret is base64-encoded; the trailing '/' is trimmed
    assert pem.data == {"username": b"admin", "password": b'p@ss"word<&>'}
    assert [e.target for e in result.exchanges] == ["/generators/team-a/Fake/fake-static"] * 2


def test_released_generator_sends_a_pem_secret_unencoded(mock) -> None:
    result = _run(mock, "generator.yaml", released=True)
    generated, pem = result.outcomes
    assert generated.data == {"fake-username": b"admin", "fake-password": b'p@ss"word<&>'}
    assert pem.data is None
    assert pem.error.startswith(
        "error processing spec.dataFrom[0].sourceRef.generatorRef, err: error using generator: "
        "federation server returned non-OK status: 401, body: "
    )
    sent = result.exchanges[1]
    assert sent.body.startswith(b'{"ca.crt":"-----BEGIN CERTIFICATE-----\\n')
    assert sent.target == "//generators/team-a/Fake/fake-static"


def test_extract_and_federation_store_alias(mock) -> None:
    extracted, versioned = _run(mock, "extract.yaml").outcomes
    assert extracted.data == {
        "user": b"hello",
        "password": b'p@ss"w0rd',
        "port": b"5432",
        "ratio": b"1.50",
        "tags": b'["a","b"]',
        "nested": b'{"ok":true,"none":null}',
    }
    assert versioned.error == (
        'error processing spec.data[0] (key: versioned), err: version "v1" cannot be '
        "requested: the Federation protocol fetches the unversioned value only"
    )


def test_released_provider_lacks_get_secret_map_and_ignores_version(mock) -> None:
    extracted, versioned = _run(mock, "extract.yaml", released=True).outcomes
    assert extracted.error == "error processing spec.dataFrom[0].extract, err: not implemented"
    assert versioned.data == {"value": b'"unversioned value"\n'}


def test_cli_render_with_the_state_folder(mock) -> None:
    runner = CliRunner()
    args = ["-f", str(FIXTURES / "provider.yaml"), "--state-dir", str(mock.state.root)]
    ok = runner.invoke(render_command, args)
    assert ok.exit_code == 0, ok.output
    assert _secret_data(ok.output)["trailing-newline"] == b"ends with a newline\n"
    released = runner.invoke(render_command, [*args, "--as-released"])
    assert _secret_data(released.output)["trailing-newline"] == b'"ends with a newline\\n"\n'
    denied = runner.invoke(
        render_command, ["-f", str(FIXTURES / "denied.yaml"), "--state-dir", str(mock.state.root)]
    )
    assert denied.exit_code == 1
    assert "kind: Secret" not in denied.output
    assert 'status 404 Not Found, body: "Not Found"' in denied.output


def _operation_args(mock, tmp_path: Path, token: str) -> list[str]:
    token_file = tmp_path / "token"
    token_file.write_text(token)
    return [
        "--server",
        mock.federation_url,
        "--token-file",
        str(token_file),
        "--ca-file",
        str(mock.state.cluster_ca_file("alpha")),
    ]


def test_operation_store_get_writes_exact_bytes(mock, tmp_path) -> None:
    runner = CliRunner()
    token = mock.clusters["alpha"].mint("team-a/web") + "\n"
    base = [*_operation_args(mock, tmp_path, token), "--operation", "store-get"]
    out = tmp_path / "value"
    result = runner.invoke(
        render_command, [*base, "--store", "app-store", "--key", "multiline", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == b"first line\nsecond line\n"
    released = tmp_path / "released"
    runner.invoke(
        render_command,
        [*base, "--as-released", "--store", "app-store", "--key", "plain", "--out", str(released)],
    )
    assert released.read_bytes() == b'"hello"\n'


def test_operation_generator_delete_and_failures(mock, tmp_path) -> None:
    runner = CliRunner()
    token = mock.clusters["alpha"].mint("team-a/web")
    base = [*_operation_args(mock, tmp_path, token), "--generator", "team-a/Fake/fake-static"]
    out = tmp_path / "generated"
    ok = runner.invoke(render_command, [*base, "--operation", "generate", "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    assert (out / "password").read_bytes() == b'p@ss"word<&>'
    assert runner.invoke(render_command, [*base, "--operation", "revoke-self"]).exit_code == 0
    released = runner.invoke(render_command, [*base, "--operation", "revoke-self", "--as-released"])
    assert released.exit_code == 1
    assert released.output.startswith(
        "esi-mock render: federation server returned non-OK status: 401, body: "
    )
    newline = _operation_args(mock, tmp_path, token + "\n")
    bad = runner.invoke(
        render_command,
        [
            *newline,
            "--generator",
            "team-a/Fake/fake-static",
            "--operation",
            "generate",
            "--as-released",
            "--out",
            str(tmp_path / "never"),
        ],
    )
    assert bad.exit_code == 1
    assert bad.output == (
        f'esi-mock render: failed to call federation server: Post "{mock.federation_url}'
        '/generators/team-a/Fake/fake-static": net/http: invalid header field value for '
        '"Authorization"\n'
    )
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize(
    ("adapter", "expected"),
    [("ese-provider", b"hello"), ("ese-provider-as-released", b'"hello"\n')],
)
def test_shipped_adapters_run_render_as_a_client(mock, tmp_path, adapter, expected) -> None:
    import subprocess

    from conformance.adapters import STORE_GET, load_adapter

    root = Path(__file__).parent.parent
    loaded = load_adapter(root / "conformance" / "adapters" / f"{adapter}.yaml")
    token_file = tmp_path / "token"
    token_file.write_text(mock.clusters["alpha"].mint("team-a/web"))
    values = {
        **loaded.base_values(),
        "server_url": mock.federation_url,
        "token_file": str(token_file),
        "client_ca_file": str(mock.state.cluster_ca_file("alpha")),
        "server_ca_file": "",
        "out_dir": str(tmp_path / "out"),
        "store": "app-store",
        "key": "plain",
    }
    invocation = loaded.operations[STORE_GET].render(values)
    done = subprocess.run(invocation.argv, capture_output=True, timeout=30, cwd=root)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "value").read_bytes() == expected
