"""The review store's SQLite back end: one file, WAL, a connection per thread.

WAL mode with synchronous=FULL, so a save that returned survives a killed process; every
write is one `BEGIN IMMEDIATE` transaction, so concurrent writers (threads or worker
processes) queue for the lock instead of overwriting each other.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from model.errors import StoreUnavailable

from . import migrations
from .backend import T, plain_reason, unavailable

BUSY_TIMEOUT_MS = 30_000
_HINTS = {"readonly": "the file or its folder is read-only",
          "disk is full": "the disk is full",
          "unable to open": "the file or its folder cannot be opened or created",
          "database is locked": "another writer held the lock too long"}


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL, waiting for other writers up to BUSY_TIMEOUT_MS.

    SQLite answers the switch with "database is locked" at once, without its busy handler,
    while another connection writes (a first connection migrating the new file, say), so
    the wait is done here.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class SqliteBackend:
    """One SQLite file; safe across threads (one connection each) and processes."""

    dialect = migrations.SQLITE.name

    def __init__(self, path: str | os.PathLike, *,
                 on_connect: Callable[[sqlite3.Connection], None] | None = None):
        self.path = Path(path)
        self.where = str(self.path)
        self._on_connect = on_connect  # a test hook, e.g. PRAGMA max_page_count
        self._local = threading.local()

    def _unavailable(self, exc: sqlite3.Error) -> StoreUnavailable:
        reason = str(exc)
        return unavailable(self.where, plain_reason(reason, _HINTS), "sqlite", reason)

    def connect(self) -> sqlite3.Connection:
        """This thread's connection (a new one after fork), with the schema migrated."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"the review store's folder {self.path.parent} cannot be "
                                   f"created: {exc.strerror}") from exc
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            _use_wal(conn)
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            if self._on_connect:
                self._on_connect(conn)
            if not migrations.is_current(conn, migrations.SQLITE, self.where):
                self._transaction(conn, lambda tx: migrations.migrate(
                    tx, migrations.SQLITE, self.where))
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @staticmethod
    def _transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one IMMEDIATE transaction: all of it is stored, or none."""
        conn = self.connect()
        try:
            return self._transaction(conn, work)
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc

    def read(self, sql: str, params: Iterable = ()) -> list[tuple]:
        try:
            return self.connect().execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
