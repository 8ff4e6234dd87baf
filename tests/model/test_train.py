"""Training: grouped CV never leaks a group, thresholds are tuned, results are deterministic."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from model.crossval import best_threshold, grouped_folds, multilabel_metrics
from model.train import train


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_training_is_deterministic(tiny_labels, tiny_trained, n_jobs):
    """Same data and seed, same figures and scores, whether folds run in one process or two.

    (Threading in BLAS may move the last bits of a score between those two setups.)
    """
    again = train(tiny_labels, seed=0, n_jobs=n_jobs)
    assert again.manifest["cv"] == tiny_trained.manifest["cv"]
    assert again.manifest["thresholds"] == tiny_trained.manifest["thresholds"]
    texts = tiny_labels.texts[:40]
    np.testing.assert_allclose(again.pipeline.predict_proba(texts),
                               tiny_trained.pipeline.predict_proba(texts), rtol=1e-9)


def test_manifest_records_provenance(tiny_labels, tiny_trained):
    m = tiny_trained.manifest
    assert m["data_sha256"] == tiny_labels.data_sha256
    assert [t["name"] for t in m["topics"]] == tiny_labels.topic_names
    assert set(m["thresholds"]) == set(tiny_labels.topic_names)
    assert set(m["cv"]["per_topic"]) == set(tiny_labels.topic_names)
    assert m["counts"]["rows"] == len(tiny_labels.rows)
    assert {"python", "scikit-learn", "joblib"} <= set(m["libraries"])


def test_fitted_model_carries_topics_and_thresholds(tiny_labels, tiny_trained):
    clf = tiny_trained.pipeline.named_steps["clf"]
    assert clf.topics_ == tiny_labels.topic_names
    assert clf.coef_.shape[0] == len(tiny_labels.topic_names)


def test_folds_never_split_a_group(labels):
    groups = np.asarray(labels.groups)
    for folds in (grouped_folds(labels.groups), labels.folds()):
        for train_idx, test_idx in folds:
            assert not set(groups[train_idx]) & set(groups[test_idx])
        assert sorted(np.concatenate([test for _, test in folds])) == list(range(len(groups)))


def test_folds_spread_the_real_articles(labels):
    """The five seed articles land in five different folds (by group size alone, four of them
    shared one), and stay spread when more authored batches join the labels."""
    groups = np.asarray(labels.groups)
    real = {r.group for r in labels.rows if r.is_seed}
    assert len(real) == 5
    extra = [f"authored:extra-{i // 7}" for i in range(60)]
    strata = [r.group in real for r in labels.rows] + [False] * len(extra)
    for folds, names in ((labels.folds(), groups),
                         (grouped_folds(list(groups) + extra, strata=strata),
                          np.asarray(list(groups) + extra))):
        assert [len(real & set(names[test])) for _, test in folds] == [1] * 5


def test_folds_fall_back_when_a_stratum_is_too_small():
    groups = [f"g{i}" for i in range(10)]
    strata = [i == 0 for i in range(10)]  # one real group: fewer than the folds
    assert [list(t) for _, t in grouped_folds(groups, strata=strata)] == \
        [list(t) for _, t in grouped_folds(groups)]


@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=1, max_size=60))
def test_best_threshold_maximises_f1(pairs):
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs])
    cut = best_threshold(y, s)
    if not y.any():
        return

    def f1(t):
        pred = s >= t
        tp = (pred & y).sum()
        return 2 * tp / (pred.sum() + y.sum())

    grid = np.round(np.arange(0.05, 0.951, 0.01), 2)
    assert f1(cut) >= max(f1(t) for t in grid) - 1e-12


def test_metrics_agree_with_hand_count():
    Y = np.array([[1, 0], [1, 1], [0, 0], [0, 1]])
    P = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    m = multilabel_metrics(Y, P, ["a", "b"])
    assert m["per_topic"]["a"] == {"support": 2, "precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert m["per_topic"]["b"]["f1"] == 1.0
    assert m["macro_f1"] == 0.75
    assert m["subset_accuracy"] == 0.5
    assert m["hamming_loss"] == 2 / 8


def as_reviewed(labels, every: int = 3):
    """The same rows, every `every`-th article row relabelled as reviewed (same CV groups)."""
    import dataclasses

    from model.labels import REVIEW

    rows = [dataclasses.replace(r, source=REVIEW) if r.get("article") and i % every == 0
            else r for i, r in enumerate(labels.rows)]
    assert [r.group for r in rows] == labels.groups
    return dataclasses.replace(labels, rows=rows), np.array([r.source == REVIEW for r in rows])


def mean_log_loss(pipeline, labels, rows):
    texts = [labels.texts[i] for i in np.flatnonzero(rows)]
    p = np.clip(pipeline.predict_proba(texts), 1e-12, 1 - 1e-12)
    Y = labels.indicator_matrix()[rows]
    return float(-(Y * np.log(p) + (1 - Y) * np.log(1 - p)).mean())


def test_review_weight_one_reproduces_the_unweighted_fit(tiny_labels, tiny_trained):
    reviewed, _ = as_reviewed(tiny_labels)
    again = train(reviewed, seed=0, review_weight=1.0)
    assert again.manifest["review_weight"] == 1.0
    assert again.manifest["cv"] == tiny_trained.manifest["cv"]
    assert again.manifest["thresholds"] == tiny_trained.manifest["thresholds"]
    texts = tiny_labels.texts[:60]
    np.testing.assert_array_equal(again.pipeline.predict_proba(texts),
                                  tiny_trained.pipeline.predict_proba(texts))


def test_review_weight_pulls_the_fit_toward_reviewed_rows(tiny_labels, tiny_trained):
    reviewed, rows = as_reviewed(tiny_labels)
    assert rows.sum() >= 10
    heavy = train(reviewed, seed=0, review_weight=5.0)
    assert heavy.manifest["review_weight"] == 5.0
    assert (mean_log_loss(heavy.pipeline, tiny_labels, rows)
            < mean_log_loss(tiny_trained.pipeline, tiny_labels, rows))


def test_fold_fits_take_only_their_own_rows_weights(tiny_labels):
    """A huge weight on fold 0's held-out rows cannot change fold 0's model."""
    from model.crossval import out_of_fold_scores
    from model.pipeline import build_pipeline

    texts, Y = tiny_labels.texts, tiny_labels.indicator_matrix()
    folds = grouped_folds(tiny_labels.groups)[:2]
    weights = np.ones(len(Y))
    weights[folds[0][1]] = 1000.0
    plain, weighted = [], []
    out_of_fold_scores(build_pipeline(), texts, Y, folds, models=plain, n_jobs=1)
    out_of_fold_scores(build_pipeline(), texts, Y, folds, models=weighted, n_jobs=1,
                       sample_weight=weights)
    probe = texts[:40]
    np.testing.assert_array_equal(weighted[0].predict_proba(probe),
                                  plain[0].predict_proba(probe))
    assert not np.allclose(weighted[1].predict_proba(probe), plain[1].predict_proba(probe))


def test_featurize_lock_excludes_other_processes(tmp_path):
    """The lock the parallel folds featurize under is held across processes."""
    import subprocess
    import sys

    from model.crossval import exclusive

    lock = str(tmp_path / "featurize.lock")
    probe = ("import fcntl, sys\nh = open(sys.argv[1], 'a+b')\n"
             "try:\n    fcntl.flock(h, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
             "except BlockingIOError:\n    sys.exit(3)\n")
    with exclusive(lock):
        assert subprocess.run([sys.executable, "-c", probe, lock]).returncode == 3
    assert subprocess.run([sys.executable, "-c", probe, lock]).returncode == 0


def test_review_weight_is_chosen_by_cv_on_the_reviewed_rows(tiny_labels):
    from model.train import REVIEW_WEIGHT_CANDIDATES

    reviewed, rows = as_reviewed(tiny_labels)
    chosen = train(reviewed, seed=0)
    runs = chosen.manifest["review_weight_cv"]
    assert [r["weight"] for r in runs] == list(REVIEW_WEIGHT_CANDIDATES)
    best = max(runs, key=lambda r: (r["reviewed_macro_f1"], r["macro_f1"], -r["weight"]))
    assert chosen.manifest["review_weight"] == best["weight"]
    # the kept run is that weight's own fit: the same as asking for that weight
    fixed = train(reviewed, seed=0, review_weight=best["weight"])
    assert fixed.manifest["review_weight_cv"] is None
    assert chosen.manifest["cv"] == fixed.manifest["cv"]
    texts = tiny_labels.texts[:40]
    np.testing.assert_array_equal(chosen.pipeline.predict_proba(texts),
                                  fixed.pipeline.predict_proba(texts))


def test_without_reviewed_rows_one_cv_runs(tiny_trained):
    assert tiny_trained.manifest["review_weight_cv"] is None


def test_fit_block_by_block_equals_pipeline_fit(tiny_labels, tmp_path):
    """The fold fit (blocks featurized one by one, some under the lock) is Pipeline.fit's."""
    from sklearn.base import clone

    from model.crossval import _fit
    from model.pipeline import build_pipeline

    texts = np.asarray(tiny_labels.texts, dtype=object)
    Y = tiny_labels.indicator_matrix()
    rows, test = np.arange(0, len(texts), 2), np.arange(1, len(texts), 2)
    pipeline = build_pipeline()
    ours, scores = _fit(pipeline, texts, Y, rows, None, str(tmp_path / "lock"), test)
    theirs = clone(pipeline).fit(texts[rows], Y[rows])
    np.testing.assert_array_equal(scores, theirs.predict_proba(texts[test]))
    for (name, mine), (_, reference) in zip(ours.named_steps["features"].transformer_list,
                                            theirs.named_steps["features"].transformer_list):
        assert getattr(mine, "vocabulary_", None) == getattr(reference, "vocabulary_", None)
    assert _fit(pipeline, texts, Y, rows, None, None, test, keep=False)[0] is None
