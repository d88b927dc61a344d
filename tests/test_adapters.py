"""The adapter format: exact schema errors, placeholder expansion, delivery readers, and both
shipped adapters driving their clients against the mock (and the curl client on the wire)."""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
from pathlib import Path

import pytest

from conformance.adapters import (
    AdapterError,
    Output,
    builtin_adapters,
    load_adapter,
    parse_adapter,
    read_delivery,
    resolve_adapter,
)
from conformance.record_env import make_recorder
from tests.test_reference_client import TRICKY, identity, scripted  # noqa: F401

MINIMAL = {
    "apiVersion": "harness.esi-federation.dev/v1alpha1",
    "kind": "ClientAdapter",
    "metadata": {"name": "x"},
    "spec": {
        "operations": {
            "store.get": {
                "command": ["client", "{server_url}", "{store}/{key}", "{out_dir}/v"],
                "output": {"from": "files", "value": "v"},
            }
        }
    },
}


def parse(mutate) -> object:
    document = copy.deepcopy(MINIMAL)
    mutate(document)
    return parse_adapter(document, Path("a.yaml"))


def store_op(d: dict) -> dict:
    return d["spec"]["operations"]["store.get"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(kind="Adapter"), "a.yaml: kind: must be ClientAdapter, got 'Adapter'"),
        (
            lambda d: d.pop("apiVersion"),
            "a.yaml: apiVersion: must be harness.esi-federation.dev/v1alpha1, got nothing",
        ),
        (
            lambda d: d["metadata"].update(name="X y"),
            "a.yaml: metadata.name: must be lower-case letters, digits and -, got 'X y'",
        ),
        (
            lambda d: d["spec"]["operations"].update({"store.list": {}}),
            "a.yaml: spec.operations: unknown field 'store.list' (allowed: store.get, "
            "generator.generate, generator.revoke_self, generator.revoke_of)",
        ),
        (
            lambda d: store_op(d).update(command="client {key}"),
            "a.yaml: spec.operations.store.get.command: must be a non-empty list of strings "
            "(or a string with shell: true), got 'client {key}'",
        ),
        (
            lambda d: store_op(d)["command"].append("{owner}"),
            "a.yaml: spec.operations.store.get.command[4]: unknown placeholder {owner} here "
            "(allowed: {server_url}, {token_file}, {client_ca_file}, {server_ca_file}, "
            "{out_dir}, {program}, {program_args}, {program_args_csv}, {python}, "
            "{adapter_dir}, {store}, {key})",
        ),
        (
            lambda d: store_op(d)["command"].append("--args={program_args}"),
            "a.yaml: spec.operations.store.get.command[4]: {program_args} must be a whole argv "
            "element",
        ),
        (
            lambda d: store_op(d)["command"].append("{key!r}"),
            "a.yaml: spec.operations.store.get.command[4]: bad placeholder {key!r}",
        ),
        (
            lambda d: store_op(d).update(timeout=0),
            "a.yaml: spec.operations.store.get.timeout: must be a number of seconds in "
            "(0, 600], got 0",
        ),
        (
            lambda d: store_op(d).update(timeot=5),
            "a.yaml: spec.operations.store.get: unknown field 'timeot' (allowed: command, "
            "shell, timeout, env, output)",
        ),
        (
            lambda d: store_op(d).pop("output"),
            "a.yaml: spec.operations.store.get: missing field 'output'",
        ),
        (
            lambda d: store_op(d).update(output={"from": "env", "value": "V"}),
            "a.yaml: spec.operations.store.get.command: from: env needs {program} in the command",
        ),
        (
            lambda d: store_op(d).update(output={"from": "socket"}),
            "a.yaml: spec.operations.store.get.output.from: must be one of files, stdout, env, "
            "got 'socket'",
        ),
        (
            lambda d: d["spec"]["operations"].update(
                {"generator.revoke_of": {"command": ["c"], "output": {"from": "files"}}}
            ),
            "a.yaml: spec.operations.generator.revoke_of.output: generator.revoke_of delivers "
            "nothing; judge it by exit status only",
        ),
        (
            lambda d: d["spec"].update(
                daemon={
                    "command": ["c", "{refresh_interval}"],
                    "output": {"from": "stdout"},
                    "refresh_interval": 1,
                }
            ),
            "a.yaml: spec.daemon.output.from: a daemon delivers files only",
        ),
        (
            lambda d: d["spec"].update(daemon={"command": ["c"], "output": {"from": "files"}}),
            "a.yaml: spec.daemon: missing field 'refresh_interval'",
        ),
        (
            lambda d: d.update(spec={"operations": {}}),
            "a.yaml: spec: declares no operation (give spec.operations or spec.daemon)",
        ),
    ],
)
def test_schema_errors_name_the_file_and_field(mutate, message):
    with pytest.raises(AdapterError) as caught:
        parse(mutate)
    assert str(caught.value) == message


def test_yaml_and_document_count_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n")
    with pytest.raises(AdapterError, match=r"bad\.yaml: not valid YAML: "):
        load_adapter(bad)
    two = tmp_path / "two.yaml"
    two.write_text("a: 1\n---\nb: 2\n")
    with pytest.raises(AdapterError) as caught:
        load_adapter(two)
    assert str(caught.value) == f"{two}: must hold exactly one YAML document, found 2"


VALUES = {
    "server_url": "http://h:1", "token_file": "/t", "client_ca_file": "/c", "server_ca_file": "/s",
    "out_dir": "/o", "program": "/p", "store": "app store", "key": "a'b",
}  # fmt: skip


def test_argv_placeholders_expand_without_a_shell_and_program_args_splat():
    adapter = parse(
        lambda d: store_op(d)["command"].extend(["{program}", "{program_args}", "{{x}}"])
    )
    op = adapter.operation("store.get")
    assert op is not None
    invocation = op.render(VALUES, ["a b", "c,d"])
    assert invocation.argv == (
        "client", "http://h:1", "app store/a'b", "/o/v", "/p", "a b", "c,d", "{x}",
    )  # fmt: skip
    assert (invocation.shell, invocation.timeout) == (False, 30.0)
    assert op.value_name(VALUES) == "v"
    assert adapter.operation("generator.generate") is None
    assert adapter.skip_reason("generator.generate") == (
        "adapter x declares no generator.generate operation"
    )


def test_shell_commands_quote_every_value():
    def shell(d: dict) -> None:
        store_op(d).update(
            shell=True, command="client {key} {program_args} --csv {program_args_csv}"
        )

    op = parse(shell).operation("store.get")
    assert op is not None
    invocation = op.render(VALUES, ["a b", "c"])
    assert invocation.argv == (
        "/bin/sh", "-c", "client 'a'\"'\"'b' 'a b' c --csv 'a b,c'",
    )  # fmt: skip


def test_both_shipped_adapters_load():
    shipped = builtin_adapters()
    assert {"curl", "reference"} <= set(shipped)
    for path in shipped.values():
        load_adapter(path)
    reference, curl = resolve_adapter("reference"), resolve_adapter("curl")
    operations = ["store.get", "generator.generate", "generator.revoke_self", "generator.revoke_of"]
    assert list(reference.operations) == list(curl.operations) == operations
    assert reference.daemon is not None and reference.daemon.refresh_interval == 0.5
    assert reference.daemon_of == "store.get"
    assert (
        curl.daemon is None and curl.skip_reason("daemon") == "adapter curl declares no daemon mode"
    )
    generate = reference.operations["generator.generate"].output
    assert generate == Output("env", None, "esi")
    assert generate.variable("privateKey") == "PRIVATEKEY"
    assert curl.operations["generator.generate"].output == Output("files", None, "esi")


def test_delivery_readers(tmp_path):
    (tmp_path / "value").write_bytes(b"a\n")
    (tmp_path / "sub").mkdir()
    files = read_delivery(Output("files", "value"), out_dir=tmp_path)
    assert files.values == {"value": b"a\n"}
    assert files.problems == ("sub in the output folder is not a regular file",)
    stdout = read_delivery(Output("stdout"), out_dir=tmp_path, stdout=b'{"k":"v\\u00e9"}\n')
    assert stdout.values == {"k": "vé".encode()}
    bad = read_delivery(Output("stdout"), out_dir=tmp_path, stdout=b'{"k":1}')
    assert bad.problems == ("stdout is not a JSON object of strings",)
    record = {"env": {"PATH": "/bin", "NEW": "x", "CHANGED": "2"}}
    env = read_delivery(Output("env", "NEW"), out_dir=tmp_path, record=record,
                        base_env={"PATH": "/bin", "CHANGED": "1"})  # fmt: skip
    assert env.values == {"NEW": b"x", "CHANGED": b"2"}
    assert read_delivery(Output("env", "NEW"), out_dir=tmp_path).problems == (
        "the program was not run",
    )


# -- shipped adapters, driven as the runner will drive them --------------------------------------


def values_for(mock, out_dir: Path, sa: str = "team-a/web", **params: str) -> dict[str, str]:
    who = identity(mock, "alpha", sa)
    return {
        "server_url": who.url, "token_file": str(who.volume / "token"),
        "client_ca_file": str(who.volume / "ca.crt"), "server_ca_file": who.server_ca,
        "out_dir": str(out_dir), **params,
    }  # fmt: skip


def execute(adapter_name: str, operation: str, values: dict[str, str], program_args=()):
    adapter = resolve_adapter(adapter_name)
    op = adapter.operation(operation)
    assert op is not None
    invocation = op.render({**adapter.base_values(), **values}, program_args)
    return op, subprocess.run(
        invocation.argv, capture_output=True, timeout=invocation.timeout,
        env={**os.environ, **invocation.env}, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("adapter", ["curl", "reference"])
@pytest.mark.parametrize("key", ["html", "unicode", "trailing-newline", "empty", "db/password"])
def test_store_value_arrives_byte_exact(mock, tmp_path, adapter, key):
    out = tmp_path / "out"
    values = values_for(mock, out, store="app-store", key=key)
    op, done = execute(adapter, "store.get", values)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert op.output is not None
    delivery = read_delivery(op.output, out_dir=out)
    assert delivery.values == {op.value_name(values): TRICKY[key].encode()}
    assert (out / "value").stat().st_mode & 0o777 == 0o600


def test_curl_generator_writes_one_file_per_key(mock, tmp_path):
    out = tmp_path / "out"
    op, done = execute("curl", "generator.generate", values_for(
        mock, out, namespace="team-a", kind="Fake", name="fake-static"))  # fmt: skip
    assert (done.returncode, done.stderr) == (0, b"")
    assert op.output is not None
    delivered = read_delivery(op.output, out_dir=out)
    assert delivered == read_delivery(Output("files"), out_dir=out)
    assert delivered.values == {"password": b'p@ss"word<&>', "username": b"admin"}


def test_reference_generator_delivers_into_the_recorded_environment(mock, tmp_path):
    recorder = make_recorder(tmp_path / "rec")
    values = values_for(mock, tmp_path / "out", namespace="team-a", kind="Fake",
                        name="fake-static", program=str(recorder.program))  # fmt: skip
    op, done = execute("reference", "generator.generate", values, ["x,y", "z"])
    assert done.returncode == 0, done.stderr
    record = recorder.read()
    assert record is not None and record["argv"] == ["x,y", "z"]
    assert op.output is not None
    delivery = read_delivery(op.output, out_dir=tmp_path, record=record, base_env=os.environ)
    assert delivery.values == {"PASSWORD": b'p@ss"word<&>', "USERNAME": b"admin"}


@pytest.mark.parametrize("adapter", ["curl", "reference"])
def test_denied_fetch_exits_non_zero_and_writes_nothing(mock, tmp_path, adapter):
    out = tmp_path / "out"
    _, done = execute(adapter, "store.get", values_for(mock, out, store="prod", key="db-url"))
    assert done.returncode == 1
    assert b'404 "Not Found"' in done.stderr and done.stdout == b""
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize("adapter", ["curl", "reference"])
def test_revoke_operations_succeed(mock, tmp_path, adapter):
    gen = {"namespace": "team-a", "kind": "UUID", "name": "uuid"}
    _, done = execute(adapter, "generator.revoke_self", values_for(mock, tmp_path, **gen))
    assert (done.returncode, done.stderr) == (0, b"")
    _, done = execute("curl", "generator.revoke_of", values_for(
        mock, tmp_path, "ops/admin", namespace="team-a", owner="web"))  # fmt: skip
    assert (done.returncode, done.stderr) == (0, b"")


# -- the curl client on the wire -----------------------------------------------------------------


def test_curl_client_request_shape_retry_and_failures(mock, scripted, tmp_path):  # noqa: F811
    who = identity(mock, "alpha", "team-a/web")
    token = tmp_path / "token"
    token.write_text("tok.en.value\n")
    values = {
        "server_url": scripted.url + "/base/", "token_file": str(token),
        "client_ca_file": str(who.volume / "ca.crt"), "server_ca_file": who.server_ca,
        "out_dir": str(tmp_path / "out"),
    }  # fmt: skip
    ca_b64 = base64.b64encode((who.volume / "ca.crt").read_bytes()).decode()

    scripted.answers = [(401, b'"no"\n'), (200, b'"x y\\n"\n')]
    _, done = execute("curl", "store.get", {**values, "store": "s", "key": "a b/ä?%"})
    assert done.returncode == 0, done.stderr
    first, second = scripted.seen
    assert first.path == second.path == "/base/secretstore/s/secrets/a%20b/%C3%A4%3F%25"
    assert first.headers["Authorization"] == "Bearer tok.en.value"
    assert json.loads(first.body) == {"ca.crt": ca_b64}
    assert (tmp_path / "out" / "value").read_bytes() == b"x y\n"

    scripted.seen.clear()
    scripted.answers = [(200, b"null\n")]
    _, done = execute("curl", "generator.revoke_self",
                      {**values, "namespace": "n", "kind": "K", "name": "g"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    (delete,) = scripted.seen
    assert (delete.method, delete.path) == ("DELETE", "/base/generators/n/K/g")
    assert delete.headers["Content-Type"] == "application/json"
    assert json.loads(delete.body) == {"ca.crt": ca_b64}

    scripted.seen.clear()
    scripted.answers = [(500, b'"boom"\n')]
    out = tmp_path / "gen"
    generate = {**values, "out_dir": str(out), "namespace": "n", "kind": "K", "name": "g"}
    _, done = execute("curl", "generator.generate", generate)
    assert done.returncode == 1
    assert len(scripted.seen) == 1
    assert b'answered 500 "boom"' in done.stderr
    assert not out.exists()

    scripted.seen.clear()
    scripted.answers = [(200, b'{"a":"1","b":2}\n')]
    _, done = execute("curl", "generator.generate", generate)
    assert done.returncode == 1
    assert not out.exists()
    assert b"tok.en.value" not in done.stderr
