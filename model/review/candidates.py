"""Fill the review queue from a news file: read it as `sectag batch` does, score, select, store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..batch.engine import BatchJob, iter_items
from ..evaluation.baselines import KeywordBaseline
from ..labels import Topic
from ..segment import split_sentences
from ..tagger import Tagger
from .queue import Pick, select
from .store import QueueItem, ReviewStore

CHUNK = 5000


@dataclass(frozen=True)
class Candidate:
    """A sentence that could be reviewed, with the article and title/URL it came from."""

    text: str
    article_id: str | None = None
    source: str | None = None


def read_candidates(job: BatchJob) -> tuple[list[Candidate], int, int]:
    """(unique sentences in input order, rows read, rows refused) of a batch input file."""
    out, seen, rows, refused = [], set(), 0, 0
    for item in iter_items(job):
        rows += 1
        if item.reason is not None or _holds_nul(item):
            refused += 1
            continue
        for candidate in _sentences(item, job.unit):
            key = " ".join(candidate.text.split())
            if key not in seen:
                seen.add(key)
                out.append(candidate)
    return out, rows, refused


def _holds_nul(item) -> bool:
    """The store refuses NUL (PostgreSQL cannot keep it): such a row is refused, not fatal."""
    return any("\x00" in (value or "") for value in (item.text, item.id, item.source))


def _sentences(item, unit: str) -> Iterator[Candidate]:
    if unit == "sentence":
        yield Candidate(item.text.strip(), None, item.source)
        return
    for sentence in split_sentences(item.text):
        yield Candidate(sentence.text, item.id, item.source)


def scores(tagger: Tagger, texts: list[str], chunk: int = CHUNK) -> np.ndarray:
    """Rows x topics scores, computed a chunk at a time (features are not kept)."""
    parts = [tagger.scores(texts[i:i + chunk])[1] for i in range(0, len(texts), chunk)]
    return np.vstack(parts) if parts else np.zeros((0, len(tagger.topics)))


def fill_queue(store: ReviewStore, tagger: Tagger, definitions: list[Topic],
               candidates: list[Candidate], *, known_texts: list[str], limit: int
               ) -> tuple[list[Pick], int]:
    """Score the candidates, select the `limit` most informative, enqueue them.

    Returns the picks and how many were new to the queue (the store skips queued texts).
    """
    texts = [c.text for c in candidates]
    probs = scores(tagger, texts)
    by_name = {t.name: t for t in definitions}
    keywords = KeywordBaseline([by_name.get(t, Topic(t, "")) for t in tagger.topics])
    answered = [a.text for a in store.answers()]
    picks = select(texts, probs, tagger.thresholds, tagger.topics, limit=limit,
                   keyword_pred=keywords.predict(texts), known_texts=[*known_texts, *answered])
    items = [QueueItem(text=texts[p.index], source=candidates[p.index].source,
                       article_id=candidates[p.index].article_id, priority=p.priority,
                       reason=f"{p.reason} (model {tagger.version})") for p in picks]
    return picks, store.enqueue(items)
