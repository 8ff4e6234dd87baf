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
    for train_idx, test_idx in grouped_folds(labels.groups):
        assert not set(groups[train_idx]) & set(groups[test_idx])


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
