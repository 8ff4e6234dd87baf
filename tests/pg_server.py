"""A throwaway PostgreSQL server from Debian's binaries, for the store's tests.

initdb into a temporary folder owned by the `postgres` user (the server refuses to run as
root), started on a free loopback port with its socket in that folder; ready once a
connection succeeds (polled against a deadline), stopped and deleted afterwards. The server
is never crashed in the tests, so fsync is off to keep them fast.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from waiting import wait_until

PG_BIN = Path(os.environ.get("SECTAG_PG_BIN", "/usr/lib/postgresql/15/bin"))
MISSING = (f"PostgreSQL server binaries not found at {PG_BIN}: make test installs Debian's "
           f"postgresql")


def available() -> bool:
    return all((PG_BIN / tool).is_file() for tool in ("initdb", "pg_ctl"))


def _as_postgres(*command: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


class PostgresServer:
    """One server; `url(schema)` names a fresh schema in its `sectag` database."""

    def __init__(self, port: int):
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="sectag-pg-"))
        self.data = self.root / "data"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        subprocess.run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust",
                                    "-U", "postgres", "--no-sync", "-E", "UTF8"),
                       check=True, capture_output=True)
        self.start()
        self.admin("CREATE DATABASE sectag")

    def start(self, seconds: float = 60) -> "PostgresServer":
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   f"-c fsync=off -c max_connections=200")
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l",
                                    str(self.root / "log"), "-o", options, "start"),
                       check=True, capture_output=True)
        self.wait_ready(seconds)
        return self

    def wait_ready(self, seconds: float) -> None:
        import psycopg

        def accepts() -> bool:
            psycopg.connect(self.dsn("postgres"), connect_timeout=2).close()
            return True

        try:
            wait_until(accepts, seconds, "PostgreSQL to accept connections",
                       ignoring=(psycopg.OperationalError,))
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n" + (self.root / "log").read_text()[-2000:]) from None

    def stop(self) -> None:
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                                    "stop"), check=False, capture_output=True)

    def dsn(self, database: str = "sectag", password: str = "") -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://postgres{secret}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.dsn(database), autocommit=True) as conn:
            conn.execute(sql)

    def url(self, schema: str | None = None, password: str = "") -> str:
        """A fresh schema of the `sectag` database (or the given one), as a store URL."""
        schema = schema or f"t_{uuid.uuid4().hex[:12]}"
        self.admin(f"CREATE SCHEMA IF NOT EXISTS {schema}", "sectag")
        return f"{self.dsn(password=password)}?options=-csearch_path%3D{schema}"

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
