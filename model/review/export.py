"""Reviewers' answers as a label file (labels/sentences/reviewed.csv), written atomically.

One row per sentence: when several reviewers answered the same text (compared as the label
check compares texts: case and spacing ignored) the latest answer wins. A text that already
appears in another label file (sentences/ or holdout/), or that shares an 8-word run with
an authored row of sentences/, is skipped and reported, so `sectag labels check` stays happy; so is an
answer naming a topic that labels/topics.csv no longer has.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..atomic import write_atomic
from ..errors import LabelError, SectagError
from ..labels import (HOLDOUT_DIR, PROVENANCE_COLUMNS, REVIEW, SENTENCE_COLUMNS, SENTENCES_DIR,
                      TOPIC_SEPARATOR, TOPICS_FILE, Row, read_labelled_file, shared_runs)

DEFAULT_NAME = "reviewed.csv"
COLUMNS = SENTENCE_COLUMNS + PROVENANCE_COLUMNS  # answers carry no actor labels


def text_identity(text: str) -> str:
    """How label files compare texts: case and whitespace ignored."""
    return " ".join(text.lower().split())


def row_id(text: str) -> str:
    """A stable id per text: `rev-` and 12 hex digits of sha256 of its identity."""
    return "rev-" + hashlib.sha256(text_identity(text).encode("utf-8")).hexdigest()[:12]


@dataclass
class ExportResult:
    """What was written where, and every answer left out with the reason."""

    path: Path
    written: int
    answers: int
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (text, reason)


def latest_answers(answers: Iterable) -> list:
    """One answer per text identity, the latest (by `answered_at`, then id) winning."""
    latest: dict[str, object] = {}
    for answer in sorted(answers, key=lambda a: (a.answered_at, a.id)):
        latest.pop(text_identity(answer.text), None)  # re-insert: file order = answer order
        latest[text_identity(answer.text)] = answer
    return list(latest.values())


def topic_names(labels_dir: Path) -> list[str]:
    with open(labels_dir / TOPICS_FILE, encoding="utf-8-sig", newline="") as handle:
        return [r["name"].strip() for r in csv.DictReader(handle) if r.get("name", "").strip()]


def other_rows(labels_dir: Path, out: Path, topics: list[str]) -> dict[str, list[Row]]:
    """Rows of every other label file, by folder (sentences/, holdout/); `out` excluded."""
    rows: dict[str, list[Row]] = {}
    for folder in (SENTENCES_DIR, HOLDOUT_DIR):
        rows[folder] = []
        for path in sorted((labels_dir / folder).glob("*.csv")):
            if path.resolve() == out.resolve():
                continue
            try:
                rows[folder] += read_labelled_file(path, topics)
            except LabelError as exc:
                raise SectagError(f"cannot check the reviewed rows against {path}: it has "
                                  f"problems (run `sectag labels check`):\n{exc}") from exc
    return rows


def review_rows(answers: list, topics: list[str], others: dict[str, list[Row]]
                ) -> tuple[list[list[str]], list[tuple[str, str]]]:
    """(CSV rows to write, (text, reason) skipped) for the latest answer per text."""
    known = {text_identity(r.text): r for rows in others.values() for r in rows}
    rows, skipped, candidates = [], [], []
    for answer in answers:
        text = " ".join(answer.text.split())
        unknown = [t for t in answer.topics if t not in topics]
        first = known.get(text_identity(text))
        if unknown:
            skipped.append((text, f"unknown topic {', '.join(map(repr, unknown))} (known: "
                                  f"{', '.join(topics)}); rename it in the store or add it "
                                  f"to {TOPICS_FILE}"))
        elif first is not None:
            skipped.append((text, f"already labelled in {first.file}:{first.line}"))
        else:
            candidates.append((text, answer))
    # As `sectag labels check`: a row sharing an 8-word run with an authored row is refused.
    probe = [Row(row_id(t), REVIEW, t, tuple(a.topics), "<review>", k)
             for k, (t, a) in enumerate(candidates)]
    clashes = {p.row: p.message for p in shared_runs(others[SENTENCES_DIR] + probe)
               if p.file == "<review>"}
    for k, (text, answer) in enumerate(candidates):
        if k in clashes:
            skipped.append((text, clashes[k]))
            continue
        rows.append([row_id(text), REVIEW, text, TOPIC_SEPARATOR.join(answer.topics),
                     answer.article_id or "", answer.source or "", answer.reviewer,
                     answer.answered_at, answer.model_version or ""])
    return rows, skipped


def encode(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def export(store, labels_dir: str | os.PathLike, out: str | os.PathLike | None = None
           ) -> ExportResult:
    """Write the store's answers as a label file; returns what was written and skipped."""
    labels_dir = Path(labels_dir)
    out = Path(out) if out is not None else labels_dir / SENTENCES_DIR / DEFAULT_NAME
    topics = topic_names(labels_dir)
    answers = latest_answers(store.answers())
    rows, skipped = review_rows(answers, topics, other_rows(labels_dir, out, topics))
    data = encode(rows)
    _validate(data, out, topics)
    write_atomic(out, data)
    return ExportResult(out, len(rows), len(answers), skipped)


def _validate(data: bytes, out: Path, topics: list[str]) -> None:
    """Read the new file back with the label loader before it replaces the old one."""
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / out.name
        probe.write_bytes(data)
        try:
            read_labelled_file(probe, topics)
        except LabelError as exc:
            raise SectagError(f"the export would not be a valid label file; nothing was "
                              f"written:\n{exc}") from exc
