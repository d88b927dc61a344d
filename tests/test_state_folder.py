"""A damaged state folder is refused naming the file and the fix, never silently regenerated;
a cluster the folder has never seen gets fresh keys."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import trustme

from mockserver.runtime import MockServer
from mockserver.state import StateFolderError
from tests.wire import BIN

FIX = "delete the state folder (or start with another) or restore the file"


@pytest.fixture
def state(tmp_path):
    """A state folder a mock has run on once."""
    MockServer(state_dir=tmp_path, refresh_volumes=False, ephemeral=True).start().stop()
    return tmp_path


def refusal(state) -> str:
    server = MockServer(state_dir=state, refresh_volumes=False, ephemeral=True)
    with pytest.raises(StateFolderError) as refused:
        server.start()
    assert server.listeners == {}
    return str(refused.value)


def kids(state) -> dict[str, list[str]]:
    server = MockServer(state_dir=state, refresh_volumes=False, ephemeral=True).start()
    try:
        return {name: [k.kid for k in c.keys] for name, c in server.clusters.items()}
    finally:
        server.stop()


def test_a_restart_reuses_every_kept_key(state):
    assert kids(state) == kids(state)


def test_a_deleted_cluster_ca_key_is_refused(state):
    (state / "clusters/alpha/ca/ca-key.pem").unlink()
    assert refusal(state) == (
        f"state folder {state}: cannot read clusters/alpha/ca/ca-key.pem: missing (ca.pem is "
        f"there); {FIX}"
    )


def test_a_deleted_cluster_ca_folder_is_refused(state):
    shutil.rmtree(state / "clusters/alpha/ca")
    assert refusal(state) == (
        f"state folder {state}: cannot read clusters/alpha/ca/ca-key.pem: missing (the cluster "
        f"ran before); {FIX}"
    )


def test_a_replaced_server_ca_key_is_refused(state):
    other = trustme.CA().private_key_pem.bytes()
    (state / "server/ca/ca-key.pem").write_bytes(other)
    assert refusal(state) == (
        f"state folder {state}: cannot read server/ca/ca-key.pem: this key does not belong to "
        f"ca.pem; {FIX}"
    )


def test_a_deleted_spiffe_ca_is_refused_while_its_bundle_remains(state):
    shutil.rmtree(state / "spiffe/ca")
    assert refusal(state) == (
        f"state folder {state}: cannot read spiffe/ca/ca-key.pem: missing (bundle.pem is "
        f"there); {FIX}"
    )


def test_a_key_index_that_is_not_json_is_refused(state):
    (state / "clusters/alpha/keys/index.json").write_text("{not json")
    assert refusal(state).startswith(
        f"state folder {state}: cannot read clusters/alpha/keys/index.json: not JSON ("
    )


def test_a_garbled_signing_key_is_refused(state):
    [key_file] = (state / "clusters/alpha/keys").glob("*.pem")
    key_file.write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    message = refusal(state)
    assert message.startswith(
        f"state folder {state}: cannot read clusters/alpha/keys/{key_file.name}: not a signing "
        "key ("
    )
    assert message.endswith(FIX)


def test_a_cluster_new_to_the_folder_gets_fresh_keys(state):
    before = kids(state)
    shutil.rmtree(state / "clusters/beta")
    after = kids(state)
    assert after["beta"] != before["beta"]
    assert {n: k for n, k in after.items() if n != "beta"} == {
        n: k for n, k in before.items() if n != "beta"
    }


def test_serve_refuses_a_damaged_folder_with_exit_2(state):
    (state / "clusters/alpha/ca/ca-key.pem").unlink()
    done = subprocess.run(
        [str(BIN / "esi-mock"), "serve", "--state-dir", str(state), "--ephemeral"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        f"esi-mock: state folder {state}: cannot read clusters/alpha/ca/ca-key.pem: missing "
        f"(ca.pem is there); {FIX}\n",
    )
