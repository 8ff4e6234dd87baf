"""The correction memory: a reviewed sentence, and its near-duplicates, get the reviewer's
topics at once, before any retrain.

A sentence matches a reviewed one when their normalised texts are equal (casefolded words,
punctuation and spacing ignored), or when it is a near-duplicate: the Jaccard similarity of
their word 3-shingles is at least `threshold` AND the model scores the two alike (no topic's
score differs by more than `max_shift`). Shingles alone cannot tell a changed figure or a
dropped dateline from "reopened" replaced by "closed"; the model's scores can, since the
words it weighs are the ones that move them. Both defaults were chosen with
`bench/memory_threshold.py`. When several reviewers answered the same sentence, the latest
answer stands (the store keeps all of them in its history).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

SHINGLE_WORDS = 3
DEFAULT_THRESHOLD = 0.5
DEFAULT_MAX_SHIFT = 0.05
_WORD = re.compile(r"\w+")


def words(text: str) -> tuple[str, ...]:
    """The text's words, NFKC-normalised and casefolded: what two copies of a sentence share."""
    return tuple(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def shingles(tokens: Sequence[str]) -> frozenset[tuple[str, ...]]:
    """Word 3-shingles; a text of fewer words is one shingle of all its words."""
    if len(tokens) < SHINGLE_WORDS:
        return frozenset([tuple(tokens)]) if tokens else frozenset()
    return frozenset(tuple(tokens[i:i + SHINGLE_WORDS])
                     for i in range(len(tokens) - SHINGLE_WORDS + 1))


@dataclass(frozen=True)
class Reviewed:
    """One remembered answer: the topics a reviewer gave a sentence."""

    answer_id: int
    text: str
    topics: tuple[str, ...]
    reviewer: str
    answered_at: str


@dataclass(frozen=True)
class Recall:
    """A sentence matched to a remembered answer, and how closely (1.0: the same words)."""

    entry: Reviewed
    similarity: float

    def to_dict(self) -> dict:
        return {"id": self.entry.answer_id, "reviewer": self.entry.reviewer,
                "text": self.entry.text, "similarity": round(self.similarity, 4),
                "answered_at": self.entry.answered_at}


class CorrectionMemory:
    """Reviewed sentences indexed by their words and by their shingles.

    `score` (texts -> rows x topics probabilities, e.g. `Tagger.scores(...)[1]`) scores the
    reviewed sentences once, so a near-duplicate's scores can be compared with them; without
    it only exact repeats are recalled.
    """

    def __init__(self, answers: Iterable, *, score=None,
                 threshold: float = DEFAULT_THRESHOLD, max_shift: float = DEFAULT_MAX_SHIFT,
                 revision: int = 0):
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold {threshold}: expected a number in (0, 1]")
        if not 0.0 <= max_shift <= 1.0:
            raise ValueError(f"max_shift {max_shift}: expected a number in [0, 1]")
        self.threshold, self.max_shift, self.revision = threshold, max_shift, revision
        latest: dict[tuple[str, ...], Reviewed] = {}
        for a in sorted(answers, key=lambda a: (a.answered_at, a.id)):
            key = words(a.text)
            if key:
                latest[key] = Reviewed(a.id, a.text, tuple(a.topics), a.reviewer,
                                       a.answered_at)
        self._exact = latest
        self._entries = list(latest.items())
        self._shingles = [shingles(key) for key, _ in self._entries]
        self._scores = (np.asarray(score([e.text for _, e in self._entries]), dtype=float)
                        if score is not None and self._entries else None)
        self._index: dict[tuple[str, ...], list[int]] = {}
        for i, grams in enumerate(self._shingles):
            for gram in grams:
                self._index.setdefault(gram, []).append(i)

    def __len__(self) -> int:
        return len(self._entries)

    def recall(self, text: str, scores=None) -> Recall | None:
        """The remembered answer this text repeats or nearly repeats, if any; `scores` are
        the model's scores of `text` (needed for near-duplicates)."""
        if not self._entries:
            return None
        key = words(text)
        exact = self._exact.get(key)
        if exact is not None:
            return Recall(exact, 1.0)
        if self._scores is None or scores is None:
            return None
        grams = shingles(key)
        shared = Counter(i for gram in grams for i in self._index.get(gram, ()))
        best: Recall | None = None
        for i, common in shared.items():
            similarity = common / (len(grams) + len(self._shingles[i]) - common)
            if similarity < self.threshold or \
                    np.abs(self._scores[i] - scores).max() > self.max_shift:
                continue
            entry = self._entries[i][1]
            if best is None or (similarity, entry.answered_at) > (best.similarity,
                                                                  best.entry.answered_at):
                best = Recall(entry, similarity)
        return best

    def recall_many(self, texts: Sequence[str], scores=None) -> list[Recall | None]:
        """`recall` for each text; `scores` the model's rows x topics scores of `texts`."""
        if not self._entries:
            return [None] * len(texts)
        rows = [None] * len(texts) if scores is None else np.asarray(scores, dtype=float)
        return [self.recall(t, row) for t, row in zip(texts, rows)]

    def describe(self) -> dict:
        """What /v1/model says of the memory."""
        return {"entries": len(self), "revision": self.revision,
                "jaccard_threshold": self.threshold, "max_score_shift": self.max_shift,
                "shingle_words": SHINGLE_WORDS}
