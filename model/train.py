"""Train a model on a LabelSet: grouped CV for thresholds and metrics, then a final fit."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from typing import Callable

import joblib
import numpy as np
import scipy
import sklearn
from sklearn.metrics import f1_score

from .articles import DEFAULT_SUPPORT, article_indices, tune_article_thresholds
from .crossval import (cross_fitted_predictions, multilabel_metrics,
                       out_of_fold_scores, tune_thresholds)
from .corpus import corpus_counts
from .labels import REVIEW, LabelSet
from .lexicon import entries_as_params
from .pipeline import DEFAULT_PARAMS, build_pipeline

DEFAULT_SEED = 0
# Reviewed rows are the user's own news: each counts as this many rows in every fit. With
# reviewed rows and no weight asked for, `train` cross-validates each candidate and keeps the
# one whose out-of-fold predictions on the reviewed rows are best.
DEFAULT_REVIEW_WEIGHT = 3.0
REVIEW_WEIGHT_CANDIDATES = (1.0, 3.0, 10.0)


@dataclass
class TrainedModel:
    """A fitted pipeline and everything the manifest says about how it was made."""

    pipeline: object
    manifest: dict


def library_versions() -> dict:
    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__,
            "joblib": joblib.__version__, "numpy": np.__version__, "scipy": scipy.__version__}


def json_params(params: dict) -> dict:
    """Parameters as JSON values (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


def pipeline_params(params: dict) -> dict:
    """Parameters read back from JSON, ranges restored to the tuples scikit-learn wants."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}


def review_weights(rows, weight: float) -> np.ndarray | None:
    """Per-row sample weights: `weight` for reviewed rows (source `review`), 1 for the rest.

    None (an unweighted fit, exactly as before weights existed) when no row is reviewed or
    `weight` is 1.
    """
    if weight <= 0:
        raise ValueError(f"review weight must be positive, not {weight}")
    reviewed = np.array([row.source == REVIEW for row in rows], dtype=bool)
    if weight == 1.0 or not reviewed.any():
        return None
    return np.where(reviewed, float(weight), 1.0)


def choose_weight(runs, Y: np.ndarray, reviewed: np.ndarray) -> tuple[int, list[dict] | None]:
    """(index of the run to keep, each candidate's CV figures or None for a single run).

    Best macro-F1 of the cross-fitted predictions on the reviewed rows (the user's own news:
    do the other folds' corrections carry to them?), then on all rows, then the smaller
    weight. Every reviewed row is predicted by folds that did not see it.
    """
    if len(runs) == 1:
        return 0, None
    figures = [{"weight": float(weight),
                "reviewed_macro_f1": round(float(f1_score(Y[reviewed], pred[reviewed],
                                                          average="macro", zero_division=0)), 4),
                "macro_f1": round(float(f1_score(Y, pred, average="macro", zero_division=0)), 4)}
               for weight, _, pred, _ in runs]
    best = max(range(len(runs)), key=lambda i: (figures[i]["reviewed_macro_f1"],
                                                figures[i]["macro_f1"], -figures[i]["weight"]))
    return best, figures


def train(labels: LabelSet, *, params: dict | None = None, seed: int = DEFAULT_SEED,
          progress: Callable[[int, int], None] | None = None, n_jobs: int = -1,
          review_weight: float | None = None) -> TrainedModel:
    """Cross-validate by group, tune one threshold per topic, fit on all rows.

    The folds and the final fit run in `n_jobs` processes (-1: one per core). Reviewed rows
    weigh `review_weight` rows each in every fit (CV folds and the final one); None chooses
    it by CV among REVIEW_WEIGHT_CANDIDATES when rows are reviewed (see `choose_weight`).
    """
    started = time.perf_counter()
    params = {**DEFAULT_PARAMS, **(params or {})}
    pipeline = build_pipeline(params, seed=seed, lexicons=entries_as_params(labels.lexicons))
    texts, Y, topics = labels.texts, labels.indicator_matrix(), labels.topic_names
    folds = labels.folds()
    reviewed = np.array([row.source == REVIEW for row in labels.rows], dtype=bool)
    if review_weight is not None or not reviewed.any():
        candidates = (DEFAULT_REVIEW_WEIGHT if review_weight is None else review_weight,)
    else:
        candidates = REVIEW_WEIGHT_CANDIDATES
    runs = []
    for weight in candidates:
        fitted: list = []
        scores = out_of_fold_scores(pipeline, texts, Y, folds, progress, fitted, refit=True,
                                    n_jobs=n_jobs, keep_folds=False,
                                    sample_weight=review_weights(labels.rows, weight))
        runs.append((weight, scores, cross_fitted_predictions(Y, scores, folds), fitted[-1]))
    chosen, weight_cv = choose_weight(runs, Y, reviewed)
    review_weight, scores, predictions, pipeline = runs[chosen]
    thresholds = tune_thresholds(Y, scores)
    cv = multilabel_metrics(Y, predictions, topics, scores)
    articles = article_indices([row.article for row in labels.rows])
    article_thresholds = tune_article_thresholds(Y, scores, articles, thresholds)
    clf = pipeline.named_steps["clf"]
    clf.topics_, clf.thresholds_ = list(topics), thresholds
    clf.article_thresholds_, clf.article_support_ = article_thresholds, DEFAULT_SUPPORT
    manifest = {
        "data_sha256": labels.data_sha256,
        "label_files": labels.files,
        "counts": corpus_counts(labels),
        "topics": [{"name": t.name, "description": t.description} for t in labels.topics],
        "thresholds": {t: float(c) for t, c in zip(topics, thresholds)},
        "article_rule": {
            "rule": "an article carries a topic when its best sentence reaches the article "
                    f"threshold, or when {DEFAULT_SUPPORT} sentences reach the sentence "
                    "threshold",
            "thresholds": {t: float(c) for t, c in zip(topics, article_thresholds)},
            "support": DEFAULT_SUPPORT,
            "tuned_on_articles": len(articles)},
        "lexicons": {topic: sum(e.topic == topic for e in labels.lexicons)
                     for topic in sorted({e.topic for e in labels.lexicons})},
        "cv": {"scheme": f"{len(folds)} grouped folds by article / authored batch, seed "
                         "articles spread over the folds; "
                         "thresholds cross-fitted on the other folds",
               "groups": len(set(labels.groups)), **cv},
        "params": json_params(params),
        "review_weight": float(review_weight),
        "review_weight_cv": weight_cv,
        "seed": seed,
        "libraries": library_versions(),
        "training_seconds": round(time.perf_counter() - started, 3),
    }
    return TrainedModel(pipeline, manifest)
