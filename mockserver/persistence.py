"""The books in the state folder: one SQLite database, each change one transaction.

A restart on the same folder finds its GeneratorStates, AuthorizedIdentities and leak records
again, as a real cluster keeps its objects. The database and its side files (`-wal`, `-shm`,
`-journal`) are mode 0600: the file is created 0600 before SQLite opens it, and SQLite gives its
side files the mode of the database. A database that exists but cannot be read is refused with
its name and the fix (`StateFolderError`), never replaced.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from mockserver.federation.bookkeeping import Books
from mockserver.state import StateFolderError

DATABASE_FILE = "books.sqlite3"
SCHEMA_VERSION = 1
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
_SCHEMA = """
CREATE TABLE generator_states (
    namespace TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (namespace, name));
CREATE TABLE authorized_identities (name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE issued_credentials (
    position INTEGER PRIMARY KEY AUTOINCREMENT, identity TEXT NOT NULL, key TEXT NOT NULL,
    body TEXT NOT NULL, UNIQUE (identity, key));
CREATE TABLE leaked_credentials (position INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
"""
_TABLES = ("authorized_identities", "generator_states", "issued_credentials", "leaked_credentials")


def _dump(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class SqliteBooks:
    """A `BookStore` in `<state folder>/books.sqlite3` (write-ahead log, 0600)."""

    def __init__(self, state_root: Path) -> None:
        self.root = state_root
        self.path = state_root / DATABASE_FILE
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(self.path, 0o600)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._prepare()
        except sqlite3.Error as exc:
            raise self._refusal(exc) from None
        self.private_side_files()

    def _refusal(self, problem: object) -> StateFolderError:
        return StateFolderError(self.root, self.path, str(problem))

    def _prepare(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        tables = sorted(
            row[0]
            for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not row[0].startswith("sqlite_")
        )
        if version == 0 and not tables:
            self._db.executescript(
                f"BEGIN; {_SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
            )
            return
        if version != SCHEMA_VERSION or tables != sorted(_TABLES):
            raise self._refusal(
                f"schema version {version} with tables {', '.join(tables) or 'none'} is not "
                f"version {SCHEMA_VERSION} of esi-mock's books"
            )

    def private_side_files(self) -> None:
        """Make sure every file of the database is 0600, whatever made it."""
        for suffix in ("", *SIDE_SUFFIXES):
            side = Path(f"{self.path}{suffix}")
            if side.exists():
                os.chmod(side, 0o600)

    @property
    def total_changes(self) -> int:
        """Rows written since the database was opened (to show writes happen only on change)."""
        return self._db.total_changes

    def close(self) -> None:
        self._db.close()

    # -- BookStore -------------------------------------------------------------------------------

    def load(self) -> Books:
        books = Books()
        try:
            for namespace, name, body in self._db.execute(
                "SELECT namespace, name, body FROM generator_states ORDER BY namespace, name"
            ):
                books.states[(namespace, name)] = self._parse(body, "generator_states")
            for name, body in self._db.execute(
                "SELECT name, body FROM authorized_identities ORDER BY name"
            ):
                books.identities[name] = self._parse(body, "authorized_identities")
                books.credentials[name] = {}
            for identity, key, body in self._db.execute(
                "SELECT identity, key, body FROM issued_credentials ORDER BY position"
            ):
                if identity not in books.credentials:
                    raise self._refusal(f"issued credential of unknown identity {identity!r}")
                books.credentials[identity][key] = self._parse(body, "issued_credentials")
            for (body,) in self._db.execute(
                "SELECT body FROM leaked_credentials ORDER BY position"
            ):
                books.leaks.append(self._parse(body, "leaked_credentials"))
        except sqlite3.Error as exc:
            raise self._refusal(exc) from None
        return books

    def _parse(self, body: str, table: str) -> dict[str, Any]:
        try:
            value = json.loads(body)
        except (TypeError, ValueError) as exc:
            raise self._refusal(f"a row of {table} is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise self._refusal(f"a row of {table} is not a JSON object")
        return value

    def _write(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            for sql, params in statements:
                self._db.execute(sql, params)
        self.private_side_files()

    def put_state(self, namespace: str, name: str, state: dict[str, Any]) -> None:
        self._write(
            [
                (
                    "INSERT OR REPLACE INTO generator_states VALUES (?, ?, ?)",
                    (namespace, name, _dump(state)),
                )
            ]
        )

    def delete_states(self, keys: list[tuple[str, str]]) -> None:
        self._write(
            [("DELETE FROM generator_states WHERE namespace = ? AND name = ?", k) for k in keys]
        )

    def put_identity(
        self, name: str, identity: dict[str, Any] | None, key: str, credential: dict[str, Any]
    ) -> None:
        statements: list[tuple[str, tuple[Any, ...]]] = []
        if identity is not None:
            statements.append(
                (
                    "INSERT OR REPLACE INTO authorized_identities VALUES (?, ?)",
                    (name, _dump(identity)),
                )
            )
        statements.append(
            (
                "INSERT INTO issued_credentials (identity, key, body) VALUES (?, ?, ?) "
                "ON CONFLICT (identity, key) DO UPDATE SET body = excluded.body",
                (name, key, _dump(credential)),
            )
        )
        self._write(statements)

    def add_leak(self, leak: dict[str, Any]) -> None:
        self._write([("INSERT INTO leaked_credentials (body) VALUES (?)", (_dump(leak),))])

    def clear(self) -> None:
        self._write([(f"DELETE FROM {table}", ()) for table in _TABLES])
