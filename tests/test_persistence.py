"""Books that survive a restart: GeneratorStates, AuthorizedIdentities and leak records in the
state folder's SQLite database, written only on change, every file of it mode 0600."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from mockserver.clock import Clock
from mockserver.federation.bookkeeping import Bookkeeping
from mockserver.persistence import DATABASE_FILE, SqliteBooks
from mockserver.runtime import MockServer
from mockserver.state import StateFolderError
from tests.wire import ca_body, send

R1_PATH = "/secretstore/app-store/secrets/plain"
R2_PATH = "/generators/team-a/Password/password-default"


class FrozenClock(Clock):
    """A clock that only moves when shifted, so repeated requests share one second."""

    def now(self) -> float:
        return 1_767_225_600.0 + self.offset


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def call(server: MockServer, path: str) -> int:
    alpha = server.clusters["alpha"]
    token = alpha.mint("team-a/web", pod="web-7d9f8b6c5-x2x4q")
    return send(server.federation_url, "POST", path, token, ca_body(alpha.ca.cert_pem)).status


def started(state, **options) -> MockServer:
    return MockServer(state_dir=state, refresh_volumes=False, **options).start()


def test_a_restart_on_the_same_folder_keeps_the_books(tmp_path):
    server = started(tmp_path, quirks=["generate-then-fail"])
    try:
        assert call(server, R2_PATH) == 200
        assert call(server, R1_PATH) == 200
        server.context.bookkeeping.record_leak("team-a", "Password", "lost", ["password"])
        states = server.admin.generator_states()
        identities = server.admin.authorized_identities()
        leaks = server.admin.leaked_credentials()
    finally:
        server.stop()
    assert len(states) == 1
    assert len(identities[0]["spec"]["issuedCredentials"]) == 2
    again = started(tmp_path)
    try:
        assert again.admin.generator_states() == states
        assert again.admin.authorized_identities() == identities
        assert again.admin.leaked_credentials() == leaks
        assert call(again, R2_PATH) == 200
        assert len(again.admin.generator_states()) == 2
    finally:
        again.stop()


def test_reset_empties_the_kept_books_too(tmp_path):
    server = started(tmp_path)
    try:
        assert call(server, R2_PATH) == 200
        server.reset()
    finally:
        server.stop()
    again = started(tmp_path)
    try:
        assert again.admin.generator_states() == []
        assert again.admin.authorized_identities() == []
    finally:
        again.stop()


def test_ephemeral_keeps_nothing_and_writes_no_database(tmp_path):
    server = started(tmp_path, ephemeral=True)
    try:
        assert call(server, R2_PATH) == 200
    finally:
        server.stop()
    assert not (tmp_path / DATABASE_FILE).exists()
    again = started(tmp_path, ephemeral=True)
    try:
        assert again.admin.generator_states() == []
    finally:
        again.stop()


def test_the_database_and_its_side_files_are_0600(tmp_path):
    previous = os.umask(0)  # SQLite alone would then make its files 0666
    server = started(tmp_path)
    try:
        assert call(server, R2_PATH) == 200
        files = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(DATABASE_FILE))
        assert files == [DATABASE_FILE, f"{DATABASE_FILE}-shm", f"{DATABASE_FILE}-wal"]
        assert {name: mode(tmp_path / name) for name in files} == dict.fromkeys(files, 0o600)
    finally:
        server.stop()
        os.umask(previous)
    assert mode(tmp_path / DATABASE_FILE) == 0o600


def test_a_repeated_r1_writes_nothing(tmp_path):
    server = started(tmp_path, clock=FrozenClock())
    try:
        store = server.books_file
        assert store is not None
        assert call(server, R1_PATH) == 200
        after_first = store.total_changes
        assert after_first == 2  # the identity and its credential
        for _ in range(3):
            assert call(server, R1_PATH) == 200
        assert store.total_changes == after_first
        server.clock.shift(1)  # a new second refreshes lastIssuedAt: one row changes
        assert call(server, R1_PATH) == 200
        assert store.total_changes == after_first + 1
    finally:
        server.stop()


def test_books_keep_credential_order_across_a_reload(tmp_path):
    clock = FrozenClock()
    store = SqliteBooks(tmp_path)
    books = Bookkeeping(clock, store)
    ref = {"kind": "KubernetesFederation", "name": "alpha"}
    for key in ("b", "a", "b"):
        books.upsert_identity("oidc", "issuer", "sub", ref, {"remoteRef": {"remoteKey": key}})
        clock.shift(1)
    store.close()
    reloaded = Bookkeeping(clock, SqliteBooks(tmp_path))
    [identity] = reloaded.authorized_identities()
    assert identity == books.authorized_identities()[0]
    assert [c["remoteRef"]["remoteKey"] for c in identity["spec"]["issuedCredentials"]] == [
        "b",
        "a",
    ]


def test_a_database_that_is_not_one_is_refused_naming_it(tmp_path):
    (tmp_path / DATABASE_FILE).write_bytes(b"not a database, just bytes" * 100)
    with pytest.raises(StateFolderError) as refused:
        SqliteBooks(tmp_path)
    assert str(refused.value) == (
        f"state folder {tmp_path}: cannot read {DATABASE_FILE}: file is not a database; "
        "delete the state folder (or start with another) or restore the file"
    )


def test_a_database_of_another_schema_is_refused(tmp_path):
    with sqlite3.connect(tmp_path / DATABASE_FILE) as db:
        db.execute("CREATE TABLE other (x)")
    with pytest.raises(StateFolderError) as refused:
        SqliteBooks(tmp_path)
    assert str(refused.value) == (
        f"state folder {tmp_path}: cannot read {DATABASE_FILE}: schema version 0 with tables "
        "other is not version 1 of esi-mock's books; "
        "delete the state folder (or start with another) or restore the file"
    )


def test_a_row_that_is_not_json_is_refused(tmp_path):
    SqliteBooks(tmp_path).close()
    with sqlite3.connect(tmp_path / DATABASE_FILE) as db:
        db.execute("INSERT INTO generator_states VALUES ('team-a', 'x', '{broken')")
    with pytest.raises(StateFolderError) as refused:
        Bookkeeping(Clock(), SqliteBooks(tmp_path))
    assert str(refused.value).startswith(
        f"state folder {tmp_path}: cannot read {DATABASE_FILE}: a row of generator_states is "
        "not JSON: "
    )
