"""First contact with `esi-conformance`: preflight problems and bad input are one line and
exit 2, never pytest internals or a traceback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.bundle import Bundle, create_bundle
from conformance.cli import main

ROOT = Path(__file__).resolve().parent.parent
SERVER = "esi-conformance server: "


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Bundle:
    return create_bundle(tmp_path_factory.mktemp("bundle"))


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def free_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


# -- preflight ---------------------------------------------------------------------------------


def test_target_without_scheme_names_both_fixes(capsys, bundle, mock):
    hostport = mock.listeners["http"].url.removeprefix("http://")
    code, out, err = run(capsys, "server", "--target", hostport, "--bundle", str(bundle.root))
    assert (code, out) == (2, "")
    assert err == (
        f"{SERVER}--target {hostport}: not an http:// or https:// URL; write http://{hostport} "
        f"for a plain port or https://{hostport} with --target-ca for a TLS port\n"
    )


def test_unreachable_target_is_one_line(capsys, bundle):
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err = run(capsys, "server", "--target", url, "--bundle", str(bundle.root))
    assert (code, out) == (2, "")
    assert err == (
        f"{SERVER}--target {url}: cannot connect (Connection refused); start the server or "
        "fix the address\n"
    )


def test_https_target_without_ca_asks_for_target_ca(capsys, bundle, mock):
    url = mock.listeners["https"].url
    code, _, err = run(capsys, "server", "--target", url, "--bundle", str(bundle.root))
    assert code == 2
    assert err == (
        f"{SERVER}--target {url}: the TLS certificate is not trusted (unable to get local "
        "issuer certificate); pass --target-ca with the PEM CA that signed the target's "
        "certificate\n"
    )


def test_https_scheme_on_the_plain_port(capsys, bundle, mock):
    url = mock.listeners["http"].url.replace("http://", "https://")
    code, _, err = run(capsys, "server", "--target", url, "--bundle", str(bundle.root))
    assert code == 2
    assert err == (
        f"{SERVER}--target {url}: TLS handshake failed (WRONG_VERSION_NUMBER); a plain HTTP "
        "port takes http://\n"
    )


def test_target_ca_that_is_not_pem(capsys, bundle, mock, tmp_path):
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate\n")
    url = mock.listeners["https"].url
    code, _, err = run(
        capsys, "server", "--target", url, "--bundle", str(bundle.root), "--target-ca", str(junk)
    )
    assert code == 2
    assert err == (
        f"{SERVER}--target-ca {junk}: not a PEM CA certificate; pass the CA that signed the "
        "target's TLS certificate\n"
    )


def test_https_target_with_its_ca_passes_preflight(bundle, mock, tmp_path):
    from conformance.runner.preflight import preflight
    from conformance.settings import ServerSettings

    ca = tmp_path / "server-ca.pem"
    ca.write_bytes(mock.server_ca.cert_pem)
    settings = ServerSettings.build(
        target=mock.listeners["https"].url, bundle=bundle.root, target_ca=ca
    )
    assert preflight(settings) is None


def test_misspelt_hook_is_caught_before_any_scenario(capsys, bundle, mock, tmp_path):
    hooks = tmp_path / "hooks.yaml"
    hooks.write_text("aply:\n  command: ./apply.sh\n")
    url = mock.listeners["http"].url
    code, out, err = run(
        capsys, "server", "--target", url, "--bundle", str(bundle.root), "--hooks", str(hooks)
    )
    assert (code, out) == (2, "")
    assert err == (
        f"{SERVER}--hooks: {hooks}: unknown hook aply (known: apply, delete, state, backend_fault, "
        "reset)\n"
    )


def test_target_needs_a_bundle(capsys):
    code, _, err = run(capsys, "server", "--target", "http://127.0.0.1:1")
    assert (code, err) == (
        2,
        f"{SERVER}--target needs --bundle (write one with `esi-conformance bundle --out DIR`)\n",
    )


# -- bad input ---------------------------------------------------------------------------------


def test_requirement_ids_in_any_case(capsys):
    code, out, _ = run(capsys, "server", "--list", "--requirement", "srv-http-004")
    assert code == 0
    assert out.splitlines() == [
        "profile full, level all: 1 requirements, 2 scenarios",
        "SRV-HTTP-004     MUST     http-unauthenticated, http-unauthenticated-client",
    ]


@pytest.mark.parametrize("suite", ["server", "client"])
def test_unknown_requirement_is_one_line(capsys, suite):
    adapter = ["--adapter", "reference"] if suite == "client" else []
    prefix = "SRV" if suite == "server" else "CLI"
    code, out, err = run(capsys, suite, *adapter, "--requirement", f"{prefix.lower()}-nope-001")
    assert (code, out) == (2, "")
    assert err == (
        f"esi-conformance {suite}: unknown {suite} requirement '{prefix.lower()}-nope-001' "
        f"(IDs look like {prefix}-AUTH-001); `esi-conformance {suite} --list` shows them\n"
    )


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("- id: SRV-NOPE-001\n  reason: x\n", "entry 1: id: unknown requirement SRV-NOPE-001"),
        (
            "- id: SRV-AUTH-014\n",
            "entry 1 (SRV-AUTH-014): reason: every expected failure needs a reason",
        ),
        (
            "- id: [x\n",
            "not valid YAML at line 2: expected ',' or ']', but got '<stream end>'; "
            "expected a list of {id, reason}",
        ),
    ],
)
def test_bad_expected_failures_file(capsys, tmp_path, content, line):
    path = tmp_path / "xfail.yaml"
    path.write_text(content)
    code, out, err = run(capsys, "server", "--expected-failures", str(path))
    assert (code, out) == (2, "")
    assert err == f"{SERVER}--expected-failures {path}: {line}\n"


def test_missing_expected_failures_file(capsys, tmp_path):
    path = tmp_path / "none.yaml"
    code, _, err = run(capsys, "client", "--adapter", "reference", "--expected-failures", str(path))
    assert (code, err) == (
        2,
        f"esi-conformance client: --expected-failures {path}: no such file (a YAML list of "
        "{id, reason})\n",
    )


def test_unknown_adapter_lists_the_shipped_ones(capsys):
    code, _, err = run(capsys, "client", "--adapter", "nope")
    assert (code, err) == (
        2,
        "esi-conformance client: no adapter 'nope': give an adapter file or a shipped adapter "
        "(curl, ese-generator, ese-generator-as-released, ese-provider, "
        "ese-provider-as-released, reference)\n",
    )


def test_unknown_option_and_bad_choice(capsys):
    assert run(capsys, "server", "--bogus")[::2] == (
        2,
        "esi-conformance server: No such option '--bogus'; see `esi-conformance server --help`\n",
    )
    code, _, err = run(capsys, "client", "--adapter", "reference", "--level", "may")
    assert (code, err) == (
        2,
        "esi-conformance client: Invalid value for '--level' (env var: "
        "'ESI_CONFORMANCE_CLIENT_LEVEL'): 'may' is not one of 'must', 'should', 'MUST', "
        "'MUST-SEC', 'SHOULD'; see `esi-conformance client --help`\n",
    )


def test_list_into_a_closed_pipe_ends_quietly():
    done = subprocess.run(
        f"{sys.executable} -m conformance.cli server --list | head -1",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout == "profile full, level all: 75 requirements, 105 scenarios\n"
    assert done.stderr == ""


# -- one CLI -----------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["-h"], ["--help"], ["client", "-h"], ["server", "-h"]])
def test_help_in_both_spellings(capsys, args):
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert out.startswith("Usage: esi-conformance")


def test_every_option_has_help_a_default_and_a_variable(capsys):
    _, out, _ = run(capsys, "server", "--help")
    text = " ".join(out.split())
    assert "[env var: ESI_CONFORMANCE_TARGET]" in text
    assert "[env var: ESI_CONFORMANCE_REPORT_DIR; default: reports/server]" in text
    _, out, _ = run(capsys, "client", "--help")
    text = " ".join(out.split())
    assert "[env var: ESI_CONFORMANCE_CLIENT_REPORT_DIR; default: reports/client]" in text


def test_version_names_the_server_commit(capsys):
    code, out, _ = run(capsys, "--version")
    assert (code, out) == (
        0,
        "esi-conformance 0.1.0 (the embedded mock follows "
        "external-secrets-inc/federation-server at ed0c3e9)\n",
    )


def test_environment_variables_feed_the_options(capsys, monkeypatch):
    monkeypatch.setenv("ESI_CONFORMANCE_REQUIREMENT", "srv-http-004 SRV-AUTH-001")
    monkeypatch.setenv("ESI_CONFORMANCE_LEVEL", "must")
    code, out, _ = run(capsys, "server", "--list")
    assert code == 0
    assert out.splitlines()[0] == "profile full, level must: 2 requirements, 6 scenarios"


def test_list_json_is_one_object(capsys):
    code, out, _ = run(
        capsys, "client", "--adapter", "curl", "--list", "--json", "--requirement", "CLI-TLS-002"
    )
    assert code == 0
    assert json.loads(out) == {
        "suite": "client",
        "profile": "full",
        "level": "all",
        "requirements": [
            {
                "id": "CLI-TLS-002",
                "level": "MUST",
                "title": json.loads(out)["requirements"][0]["title"],
                "scenarios": ["client-server-never-answers", "client-store-server-never-answers"],
            }
        ],
        "scenarios": ["client-server-never-answers", "client-store-server-never-answers"],
    }


# -- esi-client --------------------------------------------------------------------------------


def test_esi_client_version_and_help(capsys):
    from conformance.reference_client.cli import main as client_main

    assert client_main(["--version"]) == 0
    assert capsys.readouterr().out == (
        "esi-client 0.1.0 (esi-cli's federation flags; server protocol as of "
        "external-secrets-inc/federation-server at ed0c3e9)\n"
    )
    assert client_main(["-h"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert text.startswith(
        "Usage: esi-client --mode MODE --federated-server-url URL [OPTIONS] [-- PROGRAM [ARG ...]]"
    )
    assert "--timeout DURATION Per request. [default: 10s]" in text


def test_esi_client_bad_flag_is_one_line(capsys):
    from conformance.reference_client.cli import main as client_main

    assert client_main(["--mode", "x", "--federated-server-url", "http://127.0.0.1:9"]) == 2
    assert capsys.readouterr().err == (
        "esi-client: usage error: Invalid value for '--mode': 'x' is not one of 'init', "
        "'daemon', 'revoke-self', 'revoke-of'.\n"
    )


def test_every_option_of_the_three_commands_has_help():
    import click

    from conformance.cli import group
    from conformance.reference_client.cli import command
    from mockserver.cli import main as mock_main

    missing = []

    def walk(cmd: click.Command, path: str) -> None:
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, f"{path} {name}")
        missing.extend(
            f"{path} {p.opts[0]}"
            for p in cmd.params
            if isinstance(p, click.Option) and not p.help and p.name not in ("help", "version")
        )

    for cmd, name in ((mock_main, "esi-mock"), (group, "esi-conformance"), (command, "esi-client")):
        walk(cmd, name)
    assert missing == []
