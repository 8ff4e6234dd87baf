"""The review store's PostgreSQL back end: psycopg 3 with a connection pool per process.

Every write is one transaction at READ COMMITTED: answers are upserted on their unique
(reviewer, text) key, so concurrent reviewers never overwrite each other and a reviewer
replaces only their own answer; a transaction the server aborts for a deadlock or a
serialization conflict is run again from the start. The commit happens before `write`
returns, so an acknowledged save is stored. Migrations run once per process under an
advisory lock, so servers opening one database together apply each migration once.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors
from psycopg_pool import ConnectionPool, PoolTimeout

from model.errors import StoreUnavailable

from . import migrations
from .backend import T, plain_reason, unavailable

POOL_SIZE = 8               # connections per process at most (a worker's request threads)
POOL_WAIT_SECONDS = 5.0     # a request waits this long for a connection, then gets a 503
CONNECT_TIMEOUT_SECONDS = 3
RETRIES = 5                 # deadlocks and serialization failures are retried this often
MIGRATION_LOCK = 0x5EC7A6   # pg_advisory_xact_lock key: one migrating process at a time
_RETRYABLE = (errors.DeadlockDetected, errors.SerializationFailure)
_HINTS = {"read-only": "the database refuses writes (read-only)",
          "read only": "the database refuses writes (read-only)",
          "permission denied": "the database role may not write here",
          "could not extend": "the database server's disk is full",
          "no space left": "the database server's disk is full",
          "shutting down": "the database server is shutting down",
          "terminating connection": "the database server closed the connection",
          "starting up": "the database server is starting up",
          "connection refused": "the database server cannot be reached",
          "timeout expired": "the database server did not answer in time",
          "does not exist": "the database does not exist",
          "authentication failed": "the database refused the credentials"}


def redact(url: str) -> str:
    """The URL with its password (in the authority or a `password=` parameter) as ***."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
    query = urlencode([(k, "***" if k == "password" else v)
                       for k, v in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _secrets(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    return found + [v for k, v in parse_qsl(parts.query) if k == "password" and v]


@functools.lru_cache(maxsize=256)
def _pyformat(sql: str) -> str:
    """The store's `?` placeholders as psycopg's `%s` (its SQL has no `%` of its own)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Qmark:
    """A psycopg connection that takes the store's `?` placeholders."""

    def __init__(self, conn: psycopg.Connection):
        self._conn = conn

    def execute(self, sql: str, params: Iterable = ()) -> psycopg.Cursor:
        params = tuple(params)
        return self._conn.execute(_pyformat(sql) if params else sql, params or None)


class PostgresBackend:
    """One PostgreSQL database (or schema, via `options=-csearch_path=...` in the URL)."""

    dialect = migrations.POSTGRESQL.name

    def __init__(self, url: str, *,
                 on_connect: Callable[[psycopg.Connection], None] | None = None):
        self.url = url
        self.where = redact(url)
        self._secrets = _secrets(url)
        self._on_connect = on_connect
        self._lock = threading.Lock()
        self._pool_: ConnectionPool | None = None
        self._pid = 0
        # A forked child must not close its parent's connections (it would end them for the
        # parent too): their pools are kept, unused, in this list.
        self._inherited: list[ConnectionPool] = []

    # -- failures ----------------------------------------------------------------------
    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        for secret in self._secrets:
            reason = reason.replace(secret, "***")
        return unavailable(self.where, plain_reason(reason, _HINTS), "postgresql", reason)

    def _unreachable(self, exc: PoolTimeout) -> StoreUnavailable:
        """Why no connection came: one direct attempt says (refused, auth, ...), else busy."""
        try:
            psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
        except psycopg.Error as direct:
            return self._unavailable(direct)
        return unavailable(self.where, f"all {POOL_SIZE} connections stayed busy for "
                                       f"{POOL_WAIT_SECONDS:g} s", "postgresql", str(exc))

    # -- connections -------------------------------------------------------------------
    def _configure(self, conn: psycopg.Connection) -> None:
        if self._on_connect:
            self._on_connect(conn)

    def _pool(self) -> ConnectionPool:
        """This process's pool (a new one after fork), made once the schema is migrated."""
        with self._lock:
            if self._pool_ is not None and self._pid == os.getpid():
                return self._pool_
            if self._pool_ is not None:
                self._inherited.append(self._pool_)
            pool = ConnectionPool(self.url, min_size=1, max_size=POOL_SIZE, open=False,
                                  timeout=POOL_WAIT_SECONDS, configure=self._configure,
                                  check=ConnectionPool.check_connection,
                                  kwargs={"autocommit": True,
                                          "connect_timeout": CONNECT_TIMEOUT_SECONDS},
                                  name="sectag-review")
            try:
                pool.open()
                with pool.connection() as conn:
                    self._migrate(conn)
            except BaseException:
                pool.close()
                raise
            self._pool_, self._pid = pool, os.getpid()
            return pool

    def _migrate(self, conn: psycopg.Connection) -> None:
        tx = _Qmark(conn)
        if migrations.is_current(tx, migrations.POSTGRESQL, self.where):
            return
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            migrations.migrate(tx, migrations.POSTGRESQL, self.where)

    def write(self, work: Callable[[_Qmark], T]) -> T:
        """Run `work` in one transaction, committed before returning; conflicts run again."""
        for attempt in range(RETRIES):
            try:
                with self._pool().connection() as conn, conn.transaction():
                    return work(_Qmark(conn))
            except _RETRYABLE as exc:
                if attempt == RETRIES - 1:
                    raise self._unavailable(exc) from exc
            except PoolTimeout as exc:
                raise self._unreachable(exc) from exc
            except psycopg.Error as exc:
                raise self._unavailable(exc) from exc
        raise AssertionError("unreachable")

    def read(self, sql: str, params: Iterable = ()) -> list[tuple]:
        try:
            with self._pool().connection() as conn:
                return _Qmark(conn).execute(sql, params).fetchall()
        except PoolTimeout as exc:
            raise self._unreachable(exc) from exc
        except psycopg.Error as exc:
            raise self._unavailable(exc) from exc

    def close(self) -> None:
        """Close this process's pool (the next call opens a new one)."""
        with self._lock:
            if self._pool_ is not None and self._pid == os.getpid():
                self._pool_.close()
            self._pool_ = None
