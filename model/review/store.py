"""The review store: reviewers' corrections (with history) and the review queue.

One API over two back ends, picked by the location: a path or `sqlite:///PATH` is an
embedded SQLite file (the default); `postgresql://...` is a PostgreSQL database shared by
any number of servers. The records, their validation and every query are written once,
here; a back end only runs them in transactions. Every save is one transaction, committed
before it returns; a store that cannot be written raises `StoreUnavailable`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .backend import Backend, Transaction

DEFAULT_PATH = Path("reviews") / "reviews.sqlite3"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
SQLITE_SCHEME = "sqlite:///"


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


def _storable(values: dict[str, str | None]) -> None:
    """PostgreSQL cannot hold NUL in text: refused on every back end, so both behave alike."""
    for name, value in values.items():
        if value is not None and "\x00" in value:
            raise ValueError(f"{name} holds a NUL character at {value.index(chr(0))}")


def open_backend(location: str | os.PathLike, *,
                 on_connect: Callable | None = None) -> Backend:
    """The back end a location names: postgresql://... or a path / sqlite:///PATH."""
    text = os.fspath(location)
    if text.startswith(POSTGRES_SCHEMES):
        from .postgres_store import PostgresBackend  # psycopg only where it is used

        return PostgresBackend(text, on_connect=on_connect)
    if text.startswith(SQLITE_SCHEME):
        text = text[len(SQLITE_SCHEME):]
    elif "://" in text:
        scheme = text.split("://", 1)[0]
        raise ValueError(f"review store {scheme}://...: unknown kind; use a file path, "
                         f"sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE")
    from .sqlite_store import SqliteBackend

    return SqliteBackend(text, on_connect=on_connect)


class ReviewStore:
    """Corrections and the review queue; safe across threads, processes and servers."""

    def __init__(self, location: str | os.PathLike = DEFAULT_PATH, *,
                 on_connect: Callable | None = None):
        self.location = location
        self.backend = open_backend(location, on_connect=on_connect)  # on_connect: test hook

    @property
    def where(self) -> str:
        """The location as it may be printed or logged (a URL's password is ***)."""
        return self.backend.where

    @property
    def path(self) -> Path:
        """The SQLite file (AttributeError on PostgreSQL)."""
        return self.backend.path

    def close(self) -> None:
        """Close this thread's (SQLite) or process's (PostgreSQL) connections."""
        self.backend.close()

    # -- corrections -------------------------------------------------------------------
    def save(self, reviewer: str, corrections: list[Correction]) -> list[int]:
        """Store the corrections in one transaction; returns each one's answer id."""
        if not reviewer:
            raise ValueError("a reviewer name is required")
        _storable({"the reviewer name": reviewer})
        rows = [self._row(c) for c in corrections]

        def work(tx: Transaction) -> list[int]:
            ids, stamp = [], _now()
            for key, values in rows:
                answer_id = tx.execute(
                    "INSERT INTO answers (reviewer, text_key, text, topics, source, article_id,"
                    " model_version, model_topics, model_scores, answered_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (reviewer, text_key) DO UPDATE SET text=excluded.text,"
                    " topics=excluded.topics, source=excluded.source,"
                    " article_id=excluded.article_id, model_version=excluded.model_version,"
                    " model_topics=excluded.model_topics, model_scores=excluded.model_scores,"
                    " answered_at=excluded.answered_at RETURNING id",
                    (reviewer, key, *values, stamp)).fetchone()[0]
                ids.append(answer_id)
                tx.execute(
                    "INSERT INTO history (answer_id, reviewer, text_key, text, topics, source,"
                    " article_id, model_version, model_topics, model_scores, answered_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (answer_id, reviewer, key, *values, stamp))
            return ids

        return self.backend.write(work)

    @staticmethod
    def _row(c: Correction) -> tuple[str, tuple]:
        key = text_key(c.text)
        if not key:
            raise ValueError("a correction's text is empty")
        _storable({"a correction's text": c.text, "its source": c.source,
                   "its article id": c.article_id, "its model version": c.model_version})
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
        return [self._answer(r) for r in self.backend.read(sql)]

    def revision(self) -> int:
        """Grows with every saved answer: how a worker's correction memory knows it is stale."""
        return int(self.backend.read("SELECT COALESCE(MAX(id), 0) FROM history")[0][0])

    def history(self, text: str) -> list[Answer]:
        """Every answer ever given for a text (by any reviewer), oldest first."""
        sql = (self._ANSWER_SQL.format(id="answer_id", table="history")
               + " WHERE text_key=? ORDER BY id")
        return [self._answer(r) for r in self.backend.read(sql, (text_key(text),))]

    # -- the queue ---------------------------------------------------------------------
    def enqueue(self, items: list[QueueItem]) -> int:
        """Queue the texts not queued yet (by normalised text); returns how many were added."""
        rows = [(text_key(i.text), _clean(i.text), i.source, i.article_id, float(i.priority),
                 i.reason) for i in items if text_key(i.text)]
        for _, text, source, article_id, _, reason in rows:
            _storable({"a queued text": text, "its source": source,
                       "its article id": article_id, "its reason": reason})

        def work(tx: Transaction) -> int:
            stamp, added = _now(), 0
            for row in rows:
                added += tx.execute(
                    "INSERT INTO queue (text_key, text, source, article_id, priority,"
                    " reason, queued_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (text_key) DO NOTHING", (*row, stamp)).rowcount
            return added

        return self.backend.write(work)

    _PENDING = (" FROM queue q WHERE NOT EXISTS (SELECT 1 FROM answers a WHERE"
                " a.reviewer=? AND a.text_key=q.text_key) AND NOT EXISTS (SELECT 1 FROM"
                " skips s WHERE s.reviewer=? AND s.queue_id=q.id)")

    def next_items(self, reviewer: str, n: int) -> list[QueueItem]:
        """The reviewer's next `n` items: highest priority first, none answered or skipped."""
        rows = self.backend.read("SELECT id, text, source, article_id, priority, reason"
                                 + self._PENDING + " ORDER BY q.priority DESC, q.id LIMIT ?",
                                 (reviewer, reviewer, max(int(n), 0)))
        return [QueueItem(text=t, source=s, article_id=a, priority=p, reason=r, id=i)
                for i, t, s, a, p, r in rows]

    def remaining(self, reviewer: str) -> int:
        """How many queued items this reviewer has not answered or skipped."""
        return self.backend.read("SELECT COUNT(*)" + self._PENDING, (reviewer, reviewer))[0][0]

    def skip(self, reviewer: str, item_id: int) -> None:
        """Leave a queued item out of this reviewer's queue; unknown id -> LookupError."""
        if not isinstance(item_id, int) or not 0 < item_id < 2**63:
            raise LookupError(f"no queued item with id {item_id}")

        def work(tx: Transaction) -> None:
            if not tx.execute("SELECT 1 FROM queue WHERE id=?", (item_id,)).fetchone():
                raise LookupError(f"no queued item with id {item_id}")
            tx.execute("INSERT INTO skips (reviewer, queue_id, skipped_at) VALUES (?, ?, ?)"
                       " ON CONFLICT (reviewer, queue_id) DO NOTHING",
                       (reviewer, item_id, _now()))

        self.backend.write(work)
