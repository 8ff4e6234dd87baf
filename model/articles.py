"""An article's topics from its sentences' scores: the rule, and its tuning on labelled articles.

"Any sentence" lets one weak sentence give a whole article a topic. The rule here asks for
more: the article carries a topic when its best sentence reaches the topic's *article*
threshold (at least the sentence threshold), or when `support` sentences reach the
sentence threshold. Article thresholds are tuned on out-of-fold scores of labelled
articles, never on the training fit; without labelled articles the rule is "any sentence".
"""

from __future__ import annotations

import numpy as np

DEFAULT_SUPPORT = 2


def article_indices(articles: list[str]) -> list[np.ndarray]:
    """Row indices of each article (rows sharing a non-empty article id), first-seen order."""
    by_id: dict[str, list[int]] = {}
    for i, article in enumerate(articles):
        if article:
            by_id.setdefault(article, []).append(i)
    return [np.asarray(rows) for rows in by_id.values()]


def carried(scores: np.ndarray, thresholds: np.ndarray, article_thresholds: np.ndarray,
            support: int = DEFAULT_SUPPORT) -> np.ndarray:
    """Topics (bool per topic) an article carries, from its units x topics scores."""
    if len(scores) == 0:
        return np.zeros(len(thresholds), dtype=bool)
    found = (scores >= thresholds).sum(axis=0)
    return (scores.max(axis=0) >= article_thresholds) | (found >= support)


def any_sentence(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The old rule: a topic when at least one sentence has it."""
    return carried(scores, thresholds, thresholds, support=1)


def article_truth(Y: np.ndarray, spans: list[np.ndarray]) -> np.ndarray:
    """An article's true topics: those of any of its sentences (the guide labels sentences)."""
    return np.array([Y[rows].max(axis=0) for rows in spans], dtype=np.int8).reshape(
        len(spans), Y.shape[1])


def _f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    tp = int((truth & predicted).sum())
    denominator = int(truth.sum() + predicted.sum())
    return 2 * tp / denominator if denominator else 1.0


def tune_article_thresholds(Y: np.ndarray, scores: np.ndarray, spans: list[np.ndarray],
                            thresholds: np.ndarray, support: int = DEFAULT_SUPPORT) -> np.ndarray:
    """Per topic, the article threshold that maximises article-level F1 (lowest on ties).

    Candidates run from the sentence threshold up, so the rule is never looser than "any
    sentence"; the lowest best candidate keeps as much recall as the data allows.
    """
    from .crossval import THRESHOLD_GRID  # here: crossval imports scikit-learn, serving never

    thresholds = np.asarray(thresholds, dtype=float)
    if not spans:
        return thresholds.copy()
    truth = article_truth(Y, spans).astype(bool)
    best_scores = np.array([scores[rows].max(axis=0) for rows in spans])
    counts = np.array([(scores[rows] >= thresholds).sum(axis=0) for rows in spans])
    tuned = thresholds.copy()
    for j, cut in enumerate(thresholds):
        candidates = [cut] + [float(t) for t in THRESHOLD_GRID if t > cut]
        f1s = [_f1(truth[:, j], (best_scores[:, j] >= t) | (counts[:, j] >= support))
               for t in candidates]
        tuned[j] = candidates[int(np.argmax(f1s))]
    return tuned


def predict_articles(scores: np.ndarray, spans: list[np.ndarray], thresholds: np.ndarray,
                     article_thresholds: np.ndarray, support: int = DEFAULT_SUPPORT
                     ) -> np.ndarray:
    """Articles x topics 0/1 under the rule."""
    return np.array([carried(scores[rows], thresholds, article_thresholds, support)
                     for rows in spans], dtype=np.int8).reshape(len(spans), len(thresholds))
