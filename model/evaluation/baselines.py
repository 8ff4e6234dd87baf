"""Baselines the model must beat: a hand-written keyword dictionary and the majority answer."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from ..features import normalize_text
from ..labels import Topic


class KeywordBaseline:
    """A topic is found when any of its dictionary phrases occurs as whole words.

    The dictionaries are data (the `keywords` column of labels/topics.csv), the kind of
    theme lists news monitors write by hand; a topic without keywords is never found.
    """

    name = "keywords"

    def __init__(self, topics: list[Topic]):
        self.topics = [t.name for t in topics]
        self._patterns = [self._compile(t.keywords) for t in topics]

    @staticmethod
    def _compile(keywords: tuple[str, ...]):
        if not keywords:
            return None
        alternatives = "|".join(re.escape(normalize_text(k)) for k in
                                sorted(keywords, key=len, reverse=True))
        return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")

    def fit(self, texts, Y):
        return self

    def predict(self, texts) -> np.ndarray:
        out = np.zeros((len(texts), len(self.topics)), dtype=np.int8)
        for i, text in enumerate(texts):
            normalized = normalize_text(text)
            for j, pattern in enumerate(self._patterns):
                out[i, j] = bool(pattern and pattern.search(normalized))
        return out


class MajorityBaseline:
    """Predicts the most frequent topic set of the training rows for every row (usually none)."""

    name = "majority"

    def fit(self, texts, Y):
        counts = Counter(tuple(row) for row in np.asarray(Y))
        self.answer_ = np.array(counts.most_common(1)[0][0], dtype=np.int8)
        return self

    def predict(self, texts) -> np.ndarray:
        return np.tile(self.answer_, (len(texts), 1))


def cross_validated(baseline, texts: list[str], Y: np.ndarray, folds: list[tuple]) -> np.ndarray:
    """Baseline predictions on the same folds as the model (fitted on each training part)."""
    texts = np.asarray(texts, dtype=object)
    pred = np.zeros(Y.shape, dtype=np.int8)
    for train, test in folds:
        pred[test] = baseline.fit(texts[train], Y[train]).predict(list(texts[test]))
    return pred
