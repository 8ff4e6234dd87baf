"""The review store: reviewers' corrections (with history) and the review queue, in SQLite.

WAL mode with synchronous=FULL, so a save that returned survives a killed process; every
write is one `BEGIN IMMEDIATE` transaction, so concurrent reviewers (threads or worker
processes) never overwrite each other. A store that cannot be written raises
`StoreUnavailable`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from model.errors import StoreUnavailable

DEFAULT_PATH = Path("reviews") / "reviews.sqlite3"
BUSY_TIMEOUT_MS = 30_000

# An answer's columns: the current answers and their history hold the same record.
_ANSWER_COLUMNS = """
    reviewer TEXT NOT NULL,
    text_key TEXT NOT NULL,
    text TEXT NOT NULL,
    topics TEXT NOT NULL,
    source TEXT,
    article_id TEXT,
    model_version TEXT,
    model_topics TEXT NOT NULL,
    model_scores TEXT,
    answered_at TEXT NOT NULL"""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY,{_ANSWER_COLUMNS},
    UNIQUE (reviewer, text_key)
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    answer_id INTEGER NOT NULL,{_ANSWER_COLUMNS}
);
CREATE INDEX IF NOT EXISTS history_text ON history (text_key);
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY,
    text_key TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    source TEXT,
    article_id TEXT,
    priority REAL NOT NULL,
    reason TEXT NOT NULL,
    queued_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_priority ON queue (priority DESC, id);
CREATE TABLE IF NOT EXISTS skips (
    reviewer TEXT NOT NULL,
    queue_id INTEGER NOT NULL,
    skipped_at TEXT NOT NULL,
    PRIMARY KEY (reviewer, queue_id)
);
"""

_COLUMNS = ("text", "topics", "source", "article_id", "model_version", "model_topics",
            "model_scores")


@dataclass(frozen=True)
class Correction:
    """What a reviewer submits for one sentence, plus what the model said then."""

    text: str
    topics: tuple[str, ...]
    source: str | None = None
    article_id: str | None = None
    model_version: str | None = None
    model_topics: tuple[str, ...] = ()
    model_scores: dict[str, float] | None = None


@dataclass(frozen=True)
class Answer(Correction):
    """A stored correction: one reviewer's answer for one text."""

    id: int = 0
    reviewer: str = ""
    answered_at: str = ""


@dataclass(frozen=True)
class QueueItem:
    """A sentence waiting for review; higher priority is asked first."""

    text: str
    source: str | None = None
    article_id: str | None = None
    priority: float = 0.0
    reason: str = ""
    id: int | None = None


def text_key(text: str) -> str:
    """The identity of a sentence: its words, whitespace-normalised (as is if all space)."""
    return " ".join(text.split()) or text


def _clean(text: str) -> str:
    return text.strip() or text


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _unavailable(path: Path, exc: sqlite3.Error) -> StoreUnavailable:
    reason = str(exc)
    hint = {"readonly": "the file or its folder is read-only",
            "disk is full": "the disk is full",
            "unable to open": "the file or its folder cannot be opened or created",
            "database is locked": "another writer held the lock too long"}
    why = next((v for k, v in hint.items() if k in reason.lower()), reason)
    return StoreUnavailable(f"the review store {path} cannot be written: {why} "
                            f"(sqlite: {reason}); nothing was saved")


class ReviewStore:
    """Corrections and the review queue in one SQLite file; safe across threads and processes."""

    def __init__(self, path: str | os.PathLike = DEFAULT_PATH, *,
                 on_connect: Callable[[sqlite3.Connection], None] | None = None):
        self.path = Path(path)
        self._on_connect = on_connect  # a test hook, e.g. PRAGMA max_page_count
        self._local = threading.local()

    # -- connections -------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        """This thread's connection (a new one after fork), with the schema in place."""
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
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            if self._on_connect:
                self._on_connect(conn)
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='skips'").fetchone():
                conn.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
        except sqlite3.Error as exc:
            raise _unavailable(self.path, exc) from exc
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _write(self, work: Callable[[sqlite3.Connection], object]):
        """Run `work` in one IMMEDIATE transaction: all of it is stored, or none."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise _unavailable(self.path, exc) from exc
        return result

    def _read(self, sql: str, params: Iterable = ()) -> list[tuple]:
        try:
            return self._connect().execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise _unavailable(self.path, exc) from exc

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- corrections -------------------------------------------------------------------
    def save(self, reviewer: str, corrections: list[Correction]) -> list[int]:
        """Store the corrections in one transaction; returns each one's answer id."""
        if not reviewer:
            raise ValueError("a reviewer name is required")
        rows = [self._row(c) for c in corrections]

        def work(conn: sqlite3.Connection) -> list[int]:
            ids, stamp = [], _now()
            for key, values in rows:
                conn.execute(
                    "INSERT INTO answers (reviewer, text_key, text, topics, source, article_id,"
                    " model_version, model_topics, model_scores, answered_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (reviewer, text_key) DO UPDATE SET text=excluded.text,"
                    " topics=excluded.topics, source=excluded.source,"
                    " article_id=excluded.article_id, model_version=excluded.model_version,"
                    " model_topics=excluded.model_topics, model_scores=excluded.model_scores,"
                    " answered_at=excluded.answered_at",
                    (reviewer, key, *values, stamp))
                answer_id = conn.execute(
                    "SELECT id FROM answers WHERE reviewer=? AND text_key=?",
                    (reviewer, key)).fetchone()[0]
                conn.execute(
                    "INSERT INTO history (answer_id, reviewer, text_key, text, topics, source,"
                    " article_id, model_version, model_topics, model_scores, answered_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (answer_id, reviewer, key, *values, stamp))
                ids.append(answer_id)
            return ids

        return self._write(work)

    @staticmethod
    def _row(c: Correction) -> tuple[str, tuple]:
        key = text_key(c.text)
        if not key:
            raise ValueError("a correction's text is empty")
        scores = None if c.model_scores is None else json.dumps(c.model_scores)
        return key, (_clean(c.text), json.dumps(list(c.topics)), c.source, c.article_id,
                     c.model_version, json.dumps(list(c.model_topics)), scores)

    _ANSWER_SQL = ("SELECT {id}, reviewer, text, topics, source, article_id, model_version,"
                   " model_topics, model_scores, answered_at FROM {table}")

    @staticmethod
    def _answer(row: tuple) -> Answer:
        (id_, reviewer, text, topics, source, article_id, version, model_topics, scores,
         answered_at) = row
        return Answer(text=text, topics=tuple(json.loads(topics)), source=source,
                      article_id=article_id, model_version=version,
                      model_topics=tuple(json.loads(model_topics)),
                      model_scores=None if scores is None else json.loads(scores),
                      id=id_, reviewer=reviewer, answered_at=answered_at)

    def answers(self) -> list[Answer]:
        """Every reviewer's current answer, oldest first."""
        sql = self._ANSWER_SQL.format(id="id", table="answers") + " ORDER BY answered_at, id"
        return [self._answer(r) for r in self._read(sql)]

    def revision(self) -> int:
        """Grows with every saved answer: how a worker's correction memory knows it is stale."""
        return int(self._read("SELECT COALESCE(MAX(id), 0) FROM history")[0][0])

    def history(self, text: str) -> list[Answer]:
        """Every answer ever given for a text (by any reviewer), oldest first."""
        sql = (self._ANSWER_SQL.format(id="answer_id", table="history")
               + " WHERE text_key=? ORDER BY id")
        return [self._answer(r) for r in self._read(sql, (text_key(text),))]

    # -- the queue ---------------------------------------------------------------------
    def enqueue(self, items: list[QueueItem]) -> int:
        """Queue the texts not queued yet (by normalised text); returns how many were added."""
        rows = [(text_key(i.text), _clean(i.text), i.source, i.article_id, float(i.priority),
                 i.reason) for i in items if text_key(i.text)]

        def work(conn: sqlite3.Connection) -> int:
            stamp, added = _now(), 0
            for row in rows:
                added += conn.execute(
                    "INSERT OR IGNORE INTO queue (text_key, text, source, article_id, priority,"
                    " reason, queued_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (*row, stamp)).rowcount
            return added

        return self._write(work)

    _PENDING = (" FROM queue q WHERE NOT EXISTS (SELECT 1 FROM answers a WHERE"
                " a.reviewer=? AND a.text_key=q.text_key) AND NOT EXISTS (SELECT 1 FROM"
                " skips s WHERE s.reviewer=? AND s.queue_id=q.id)")

    def next_items(self, reviewer: str, n: int) -> list[QueueItem]:
        """The reviewer's next `n` items: highest priority first, none answered or skipped."""
        rows = self._read("SELECT id, text, source, article_id, priority, reason" + self._PENDING
                          + " ORDER BY q.priority DESC, q.id LIMIT ?",
                          (reviewer, reviewer, max(int(n), 0)))
        return [QueueItem(text=t, source=s, article_id=a, priority=p, reason=r, id=i)
                for i, t, s, a, p, r in rows]

    def remaining(self, reviewer: str) -> int:
        """How many queued items this reviewer has not answered or skipped."""
        return self._read("SELECT COUNT(*)" + self._PENDING, (reviewer, reviewer))[0][0]

    def skip(self, reviewer: str, item_id: int) -> None:
        """Leave a queued item out of this reviewer's queue; unknown id -> LookupError."""
        if not isinstance(item_id, int) or not 0 < item_id < 2**63:
            raise LookupError(f"no queued item with id {item_id}")

        def work(conn: sqlite3.Connection) -> None:
            if not conn.execute("SELECT 1 FROM queue WHERE id=?", (item_id,)).fetchone():
                raise LookupError(f"no queued item with id {item_id}")
            conn.execute("INSERT OR IGNORE INTO skips (reviewer, queue_id, skipped_at)"
                         " VALUES (?, ?, ?)", (reviewer, item_id, _now()))

        self._write(work)
