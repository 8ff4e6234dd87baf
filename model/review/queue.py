"""What to ask reviewers first: sentences the model is least sure of, diverse, not known yet.

Pure functions (scores in, ranked picks out) so `sectag review queue` and the simulation
use exactly the same selection:

- uncertainty: the distance, in log-odds, between a topic's score and its threshold; a
  sentence is as uncertain as its closest topic (`margins`);
- disagreement: the model and the keyword baseline (labels/topics.csv) disagree on a topic
  whose score is not far from its threshold;
- diversity: a sentence whose word 3-shingles overlap (Jaccard) an already labelled,
  reviewed or picked sentence beyond a cut is a near-duplicate and is dropped. Optionally
  (`balance=True`) picks are drawn in turn for each topic (the topic a sentence is closest
  to deciding); off by default: on the development pools of `sectag review simulate` it
  did slightly worse than plain priority order at budgets of 50-100.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ..features import normalize_text, tokenize

SHINGLE_WORDS = 3
NEAR_DUPLICATE = 0.5  # word 3-shingle Jaccard at or above this: a near-duplicate
DISAGREEMENT_WEIGHT = 0.5
DISAGREEMENT_MARGIN = 3.0  # log-odds: farther than this from the threshold, keywords are ignored
_EPS = 1e-6


@dataclass(frozen=True)
class Pick:
    """One selected sentence: its index in the input, its priority and why it was picked."""

    index: int
    priority: float
    reason: str
    topic: str


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def margins(probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Rows x topics |logit(score) - logit(threshold)|: 0 on the threshold, large when sure."""
    return np.abs(_logit(probs) - _logit(np.asarray(thresholds, dtype=float)[None, :]))


def priorities(probs: np.ndarray, thresholds: np.ndarray, keyword_pred: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(priority per row, the topic deciding it, rows x topics disagreement).

    Priority is exp(-smallest margin) (1 on a threshold) plus DISAGREEMENT_WEIGHT times
    exp(-margin) of the closest topic the keywords disagree on, within DISAGREEMENT_MARGIN.
    """
    probs = np.asarray(probs, dtype=float)
    m = margins(probs, thresholds)
    found = probs >= np.asarray(thresholds, dtype=float)[None, :]
    if keyword_pred is None:
        disagree = np.zeros_like(found)
    else:
        disagree = (np.asarray(keyword_pred, dtype=bool) != found) & (m <= DISAGREEMENT_MARGIN)
    uncertainty = np.exp(-m.min(axis=1)) if m.size else np.zeros(len(probs))
    closest = np.where(disagree, m, np.inf).min(axis=1) if m.size else np.full(len(probs),
                                                                                np.inf)
    priority = uncertainty + DISAGREEMENT_WEIGHT * np.exp(-closest)
    decisive = m.argmin(axis=1) if m.size else np.zeros(len(probs), dtype=int)
    return priority, decisive, disagree


def shingles(text: str, n: int = SHINGLE_WORDS) -> frozenset:
    """The word n-grams of a text, tokenised as the model's word vectorizer does."""
    words = tokenize(normalize_text(text))
    if len(words) < n:
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


class NearDuplicates:
    """An inverted index of shingle sets; asks whether a text is close to one already added."""

    def __init__(self, cut: float = NEAR_DUPLICATE):
        self.cut = cut
        self._postings: dict[tuple, list[int]] = {}
        self._sizes: list[int] = []

    def add(self, grams: frozenset) -> None:
        doc = len(self._sizes)
        self._sizes.append(len(grams))
        for gram in grams:
            self._postings.setdefault(gram, []).append(doc)

    def add_texts(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.add(shingles(text))

    def similarity(self, grams: frozenset) -> float:
        """The highest Jaccard similarity between `grams` and any set added."""
        if not grams:
            return 0.0
        shared: dict[int, int] = {}
        for gram in grams:
            for doc in self._postings.get(gram, ()):
                shared[doc] = shared.get(doc, 0) + 1
        return max((k / (len(grams) + self._sizes[d] - k) for d, k in shared.items()),
                   default=0.0)

    def is_near(self, grams: frozenset) -> bool:
        return self.similarity(grams) >= self.cut


def reason(probs_row: np.ndarray, thresholds: np.ndarray, disagree_row: np.ndarray,
           keyword_row: np.ndarray | None, topics: Sequence[str], decisive: int) -> str:
    """Why a sentence was picked, for the reviewer: the closest topic and any disagreement."""
    j = decisive
    parts = [f"near threshold: {topics[j]} {probs_row[j]:.2f} (threshold {thresholds[j]:.2f})"]
    for k in np.flatnonzero(disagree_row):
        says = "yes" if keyword_row is not None and keyword_row[k] else "no"
        parts.append(f"keywords say {says} on {topics[k]}, the model "
                     f"{'yes' if says == 'no' else 'no'} ({probs_row[k]:.2f})")
    return "; ".join(parts)


def select(texts: Sequence[str], probs: np.ndarray, thresholds: np.ndarray,
           topics: Sequence[str], *, limit: int, keyword_pred: np.ndarray | None = None,
           known_texts: Iterable[str] = (), near_duplicate: float = NEAR_DUPLICATE,
           balance: bool = False) -> list[Pick]:
    """The `limit` most informative sentences, highest priority first, no near-duplicates.

    `known_texts` are sentences already labelled or reviewed: nothing close to them is
    picked. With `balance`, picks are taken in turn from each topic's own ranking (the
    topic a sentence is closest to deciding), then ordered by priority.
    """
    probs = np.asarray(probs, dtype=float)
    thresholds = np.asarray(thresholds, dtype=float)
    if limit <= 0 or len(texts) == 0:
        return []
    priority, decisive, disagree = priorities(probs, thresholds, keyword_pred)
    order = np.lexsort((np.arange(len(texts)), -priority))  # stable: ties keep input order
    seen = NearDuplicates(near_duplicate)
    seen.add_texts(known_texts)
    queues = ([[i for i in order if decisive[i] == j] for j in range(len(topics))]
              if balance else [list(order)])
    heads = [0] * len(queues)
    chosen: list[int] = []
    while len(chosen) < limit:
        progressed = False
        for q, queue in enumerate(queues):
            while heads[q] < len(queue):
                i = int(queue[heads[q]])
                heads[q] += 1
                grams = shingles(texts[i])
                if not seen.is_near(grams):
                    seen.add(grams)
                    chosen.append(i)
                    progressed = True
                    break
            if len(chosen) >= limit:
                break
        if not progressed:
            break
    chosen.sort(key=lambda i: (-priority[i], i))
    return [Pick(i, float(priority[i]),
                 reason(probs[i], thresholds, disagree[i],
                        None if keyword_pred is None else keyword_pred[i], topics,
                        int(decisive[i])), topics[int(decisive[i])])
            for i in chosen]
