"""Grouped cross-validation, threshold tuning and multi-label metrics.

Training and the evaluation report both use these functions, so the figures in
a manifest and in a report are computed the same way.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from contextlib import contextmanager
from typing import Callable

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import clone
from sklearn.metrics import (average_precision_score, f1_score, hamming_loss,
                             precision_recall_fscore_support)
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold
from sklearn.pipeline import FeatureUnion

from .sparse import hstack_csr

THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)
DEFAULT_FOLDS = 5


def grouped_folds(groups: list[str], n_splits: int = DEFAULT_FOLDS,
                  strata: list | None = None) -> list[tuple]:
    """Deterministic (train, test) index pairs; a group never straddles the two.

    With `strata` (one value per row), each stratum's rows are spread evenly over the folds
    (scikit-learn's StratifiedGroupKFold) when every stratum has a group per fold: the
    labels' few real-text articles then never crowd into one fold as group sizes shift.
    """
    n_groups = len(set(groups))
    if n_groups < 2:
        raise ValueError("cross-validation needs at least two groups of rows")
    n_splits = min(n_splits, n_groups)
    dummy = np.zeros(len(groups))
    if strata is not None:
        groups_per_stratum: dict = {}
        for group, stratum in zip(groups, strata):
            groups_per_stratum.setdefault(stratum, set()).add(group)
        if len(groups_per_stratum) > 1 and \
                min(map(len, groups_per_stratum.values())) >= n_splits:
            splitter = StratifiedGroupKFold(n_splits=n_splits)
            return list(splitter.split(dummy, list(strata), groups=groups))
    return list(GroupKFold(n_splits=n_splits).split(dummy, groups=groups))


def fit_params(sample_weight: np.ndarray | None, rows: np.ndarray | None = None) -> dict:
    """Pipeline fit parameters giving the classifier these rows' weights (none: unweighted)."""
    if sample_weight is None:
        return {}
    weights = np.asarray(sample_weight, dtype=float)
    return {"clf__sample_weight": weights if rows is None else weights[rows]}


@contextmanager
def exclusive(lock_path: str | None):
    """Hold an exclusive lock on the file `lock_path` (None: no lock) across processes."""
    if lock_path is None:
        yield
        return
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _featurize(union: FeatureUnion, texts: np.ndarray, lock_path: str | None):
    """FeatureUnion.fit_transform block by block, character n-gram blocks under `lock_path`.

    A character n-gram block is a fit's memory peak (six times the word block's non-zeros,
    and its counting holds about twice the final matrix), so only one process at a time
    builds one, or stacks the blocks; the word and lexicon blocks (small matrices, but
    seconds of work) and the other processes' classifier fits overlap it. The union ends
    fitted exactly as by its own fit_transform (its transformers are fitted in place, in
    order; sparse blocks are stacked into the same arrays as its hstack, in half the memory).
    """
    blocks = []
    for _, transformer in union.transformer_list:
        heavy = getattr(transformer, "analyzer", None) in ("char", "char_wb")
        with exclusive(lock_path if heavy else None):
            blocks.append(transformer.fit_transform(texts))
    with exclusive(lock_path):
        return hstack_csr(blocks)


def _fit(pipeline, texts: np.ndarray, Y: np.ndarray, rows: np.ndarray,
         sample_weight: np.ndarray | None = None, featurize_lock: str | None = None,
         test: np.ndarray | None = None, keep: bool = True):
    """(the pipeline fitted on `rows` or None unless `keep`, its scores of `test` or None).

    Pipeline.fit in its steps, so the memory-heavy featurizing can hold `featurize_lock`:
    at most one process builds count matrices while the others fit their classifiers, which
    bounds training memory at large corpora (issue 19) for little time. The held-out rows
    are scored here, in the fold's process, so no fold's model is sent back unless wanted.
    """
    model = clone(pipeline)
    features = model[:-1]
    union = features[0] if len(features) == 1 else None
    if (isinstance(union, FeatureUnion) and not union.transformer_weights
            and not any(isinstance(t, str) for _, t in union.transformer_list)):
        X = _featurize(union, texts[rows], featurize_lock)
    else:
        with exclusive(featurize_lock):
            X = features.fit_transform(texts[rows])
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)[rows]
    model[-1].fit(X, Y[rows], sample_weight=weights)
    del X
    scores = None if test is None else model.predict_proba(texts[test])
    return (model if keep else None), scores


def out_of_fold_scores(pipeline, texts: list[str], Y: np.ndarray, folds: list[tuple],
                       progress: Callable[[int, int], None] | None = None,
                       models: list | None = None, *, refit: bool = False,
                       n_jobs: int = -1, sample_weight: np.ndarray | None = None,
                       keep_folds: bool = True) -> np.ndarray:
    """Scores for every row from a model that never saw that row's group.

    Folds are fitted in parallel (`n_jobs` processes, -1 for one per core); each fit is
    independent and seeded, so the figures do not depend on `n_jobs` (scores may differ
    in their last bits, from threading in BLAS). Pass a list as
    `models` to receive each fold's fitted pipeline (for error analysis); with `refit`, a
    pipeline fitted on every row is fitted alongside the folds and appended to it last
    (`keep_folds=False`: only that one, and no fold's model leaves its process).
    `sample_weight` (one per row, or None) weighs each fit's rows in the classifier.
    """
    texts = np.asarray(texts, dtype=object)
    scores = np.zeros(Y.shape, dtype=float)
    # The fit on every row, the longest, goes first: the last job to finish is then a fold.
    fits = ([(np.arange(len(Y)), None)] if refit else []) + list(folds)
    jobs = min(effective_n_jobs(n_jobs), len(fits))
    kept, final = [], None
    with tempfile.TemporaryDirectory(prefix="sectag-cv-") as work:
        lock = os.path.join(work, "featurize.lock") if jobs > 1 else None
        fitted = Parallel(n_jobs=jobs, return_as="generator")(
            delayed(_fit)(pipeline, texts, Y, rows, sample_weight, lock, test,
                          models is not None and (keep_folds or test is None))
            for rows, test in fits)
        done = 0
        for (_, test), (model, test_scores) in zip(fits, fitted):
            if test is None:
                final = model
                continue
            scores[test] = test_scores
            done += 1
            if progress:
                progress(done, len(folds))
            if model is not None:
                kept.append(model)
    if models is not None:
        models.extend(kept + ([final] if refit else []))
    return scores


def best_threshold(y: np.ndarray, s: np.ndarray) -> float:
    """The F1-maximising cut on the grid; the middle of the best plateau on ties."""
    y = np.asarray(y, dtype=bool)
    if not y.any():
        return 0.5
    predicted = np.asarray(s)[None, :] >= THRESHOLD_GRID[:, None]  # grid x rows
    tp = (predicted & y).sum(axis=1)
    f1s = 2 * tp / (predicted.sum(axis=1) + y.sum())
    best = np.flatnonzero(np.isclose(f1s, f1s.max()))
    return float(THRESHOLD_GRID[best[len(best) // 2]])


def tune_thresholds(Y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return np.array([best_threshold(Y[:, j], scores[:, j]) for j in range(Y.shape[1])])


def cross_fitted_thresholds(Y: np.ndarray, scores: np.ndarray,
                            folds: list[tuple]) -> list[np.ndarray]:
    """Per fold, thresholds tuned on the other folds' out-of-fold scores only."""
    everything = np.arange(len(Y))
    return [tune_thresholds(Y[rest], scores[rest])
            for rest in (np.setdiff1d(everything, test) for _, test in folds)]


def cross_fitted_predictions(Y: np.ndarray, scores: np.ndarray,
                             folds: list[tuple]) -> np.ndarray:
    """0/1 predictions where each fold's thresholds were tuned on the other folds only."""
    pred = np.zeros(Y.shape, dtype=np.int8)
    for (_, test), cuts in zip(folds, cross_fitted_thresholds(Y, scores, folds)):
        pred[test] = scores[test] >= cuts
    return pred


def multilabel_metrics(Y: np.ndarray, pred: np.ndarray, topics: list[str],
                       scores: np.ndarray | None = None) -> dict:
    """Per-topic support/precision/recall/F1 (and AP with scores) plus overall figures."""
    p, r, f, support = precision_recall_fscore_support(Y, pred, average=None,
                                                       zero_division=0)
    per_topic = {}
    for j, name in enumerate(topics):
        entry = {"support": int(support[j]), "precision": float(p[j]),
                 "recall": float(r[j]), "f1": float(f[j])}
        if scores is not None:
            entry["average_precision"] = (float(average_precision_score(Y[:, j], scores[:, j]))
                                          if Y[:, j].any() else None)
        per_topic[name] = entry
    return {
        "per_topic": per_topic,
        "micro_f1": float(f1_score(Y, pred, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(Y, pred, average="macro", zero_division=0)),
        "subset_accuracy": float((Y == pred).all(axis=1).mean()) if len(Y) else 0.0,
        "hamming_loss": float(hamming_loss(Y, pred)) if len(Y) else 0.0,
        "rows": int(len(Y)),
    }
