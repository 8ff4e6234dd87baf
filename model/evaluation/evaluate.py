"""The evaluation report's numbers: grouped CV, baselines, seed-only figures, errors, comparison.

`evaluate()` returns plain data; `model.evaluation.report` renders it as HTML, Markdown and JSON.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from sklearn.metrics import precision_recall_curve

from .actor_metrics import actor_results
from .article_metrics import cross_validated_articles, external_articles
from .baselines import KeywordBaseline, MajorityBaseline, cross_validated
from ..crossval import (cross_fitted_thresholds, multilabel_metrics,
                       out_of_fold_scores)
from ..labels import (REVIEW, LabelSet, Row, Topic, indicator_matrix,
                      read_labelled_file)
from ..lexicon import entries_as_params
from ..pipeline import build_pipeline
from ..registry import Registry
from ..tagger import Tagger
from ..train import DEFAULT_REVIEW_WEIGHT, pipeline_params, review_weights

GROUPING = ("StratifiedGroupKFold by group: each article (seed or labelled article) is one "
            "group; other authored sentences are grouped by their batch file, one region and set "
            "of facts per batch, so near-paraphrases of one fact never straddle train and test; "
            "the seed articles (real outlets' text) are spread evenly over the folds")
ERRORS_PER_TOPIC = 25


def _metrics_block(Y, pred, scores, kw_pred, maj_pred, topics) -> dict:
    return {"rows": int(len(Y)),
            "model": multilabel_metrics(Y, pred, topics, scores),
            "keywords": multilabel_metrics(Y, kw_pred, topics),
            "majority": multilabel_metrics(Y, maj_pred, topics)}


def _curves(Y: np.ndarray, scores: np.ndarray, topics: list[str]) -> dict:
    curves = {}
    for j, topic in enumerate(topics):
        if Y[:, j].any():
            p, r, _ = precision_recall_curve(Y[:, j], scores[:, j])
            curves[topic] = {"precision": p.round(4).tolist(), "recall": r.round(4).tolist()}
    return curves


def _cooccurrence(Y: np.ndarray, pred: np.ndarray) -> list[list[int]]:
    """Cell [i][j]: rows whose true topics include i and predicted topics include j."""
    return (Y.T.astype(int) @ pred.astype(int)).tolist()


def _errors(rows, Y, pred, scores, topics, explainers) -> dict:
    """False positives (highest score first) and false negatives (lowest first) per topic."""
    out = {}
    for j, topic in enumerate(topics):
        fp = [i for i in np.flatnonzero((pred[:, j] == 1) & (Y[:, j] == 0))]
        fn = [i for i in np.flatnonzero((pred[:, j] == 0) & (Y[:, j] == 1))]
        fp.sort(key=lambda i: -scores[i, j])
        fn.sort(key=lambda i: scores[i, j])

        def entry(i):
            terms = explainers[i].explain(rows[i].text, [topic])[topic]
            return {"id": rows[i].id, "text": rows[i].text, "score": round(float(scores[i, j]), 4),
                    "true_topics": list(rows[i].topics), "terms": terms}

        out[topic] = {"false_positives": [entry(i) for i in fp],
                      "false_negatives": [entry(i) for i in fn]}
    return out


def _fold_taggers(models, thresholds, topics, manifest) -> list[Tagger]:
    taggers = []
    for model, cuts in zip(models, thresholds):
        clf = model.named_steps["clf"]
        clf.topics_, clf.thresholds_ = list(topics), cuts
        taggers.append(Tagger(model, {**manifest, "version": "cv-fold"}))
    return taggers


def cross_validate(labels: LabelSet, manifest: dict,
                   progress: Callable[[int, int], None] | None = None) -> dict:
    """Grouped-CV predictions of the version's configuration on the current labels."""
    topics = labels.topic_names
    texts, Y = labels.texts, labels.indicator_matrix()
    folds = labels.folds()
    pipeline = build_pipeline(pipeline_params(manifest.get("params", {})),
                              seed=manifest.get("seed", 0),
                              lexicons=entries_as_params(labels.lexicons))
    models: list = []
    weights = review_weights(labels.rows, manifest.get("review_weight", DEFAULT_REVIEW_WEIGHT))
    scores = out_of_fold_scores(pipeline, texts, Y, folds, progress, models,
                                sample_weight=weights)
    thresholds = cross_fitted_thresholds(Y, scores, folds)
    pred = np.zeros(Y.shape, dtype=np.int8)
    fold_of = np.zeros(len(Y), dtype=int)
    for k, ((_, test), cuts) in enumerate(zip(folds, thresholds)):
        pred[test] = scores[test] >= cuts
        fold_of[test] = k
    kw_pred = cross_validated(KeywordBaseline(labels.topics), texts, Y, folds)
    maj_pred = cross_validated(MajorityBaseline(), texts, Y, folds)
    seed = np.array([r.is_seed for r in labels.rows])
    reviewed = np.array([r.source == REVIEW for r in labels.rows], dtype=bool)
    taggers = _fold_taggers(models, thresholds, topics, manifest)
    return {
        "folds": len(folds),
        "groups": len(set(labels.groups)),
        "all": _metrics_block(Y, pred, scores, kw_pred, maj_pred, topics),
        "seed": _metrics_block(Y[seed], pred[seed], scores[seed], kw_pred[seed],
                               maj_pred[seed], topics),
        # Rows exported from the review store, scored out of fold (held out by group).
        "review": (_metrics_block(Y[reviewed], pred[reviewed], scores[reviewed],
                                  kw_pred[reviewed], maj_pred[reviewed], topics)
                   if reviewed.any() else None),
        "curves": _curves(Y, scores, topics),
        "cooccurrence": _cooccurrence(Y, pred),
        "articles": cross_validated_articles(labels.rows, Y, scores, kw_pred, folds,
                                             thresholds, topics),
        "errors": _errors(labels.rows, Y, pred, scores, topics,
                          [taggers[k] for k in fold_of]),
    }


def external_results(tagger: Tagger, rows: list[Row], definitions: list[Topic]) -> dict:
    """The fitted model (not retrained) and the keyword baseline on an external file."""
    topics = tagger.topics
    Y = indicator_matrix(rows, topics)
    texts = [r.text for r in rows]
    _, scores = tagger.scores(texts)
    pred = (scores >= tagger.thresholds).astype(np.int8)
    by_name = {t.name: t for t in definitions}
    kw_pred = KeywordBaseline([by_name.get(t, Topic(t, "")) for t in topics]).predict(texts)
    maj_pred = np.zeros_like(Y)
    return {**_metrics_block(Y, pred, scores, kw_pred, maj_pred, topics),
            "articles": external_articles(rows, Y, scores, kw_pred, tagger),
            "curves": _curves(Y, scores, topics), "cooccurrence": _cooccurrence(Y, pred),
            "errors": _errors(rows, Y, pred, scores, topics, [tagger] * len(rows))}


def compare(new: Tagger, old: Tagger, rows: list[Row], test_rows: list[Row] | None,
            definitions: list[Topic]) -> dict:
    """Two versions side by side per topic, and every sentence whose tags changed."""
    topics = new.topics
    side = {}
    for topic in topics:
        side[topic] = {"new_cv_f1": new.manifest["cv"]["per_topic"].get(topic, {}).get("f1"),
                       "old_cv_f1": old.manifest["cv"]["per_topic"].get(topic, {}).get("f1")}
    result = {"new": new.version, "old": old.version, "per_topic": side,
              "macro_f1": {"new_cv": new.manifest["cv"]["macro_f1"],
                           "old_cv": old.manifest["cv"]["macro_f1"]}}
    every = rows + (test_rows or [])
    texts = [r.text for r in every]
    after, before = new.predict(texts, evidence=False), old.predict(texts, evidence=False)
    result["changed"] = [{"id": r.id, "text": r.text, "old": b.topics, "new": a.topics,
                          "true": list(r.topics)}
                         for r, a, b in zip(every, after, before) if a.topics != b.topics]
    if test_rows:
        for name, tagger in (("new", new), ("old", old)):
            if tagger.topics != topics:
                continue
            block = external_results(tagger, test_rows, definitions)["model"]
            result["macro_f1"][f"{name}_test"] = block["macro_f1"]
            for topic in topics:
                side[topic][f"{name}_test_f1"] = block["per_topic"][topic]["f1"]
    return result


def previous_version(registry: Registry, version: str) -> str | None:
    versions = registry.versions()
    earlier = [v for v in versions if int(v[1:]) < int(version[1:])]
    return earlier[-1] if earlier else None


def evaluate(labels: LabelSet, registry: Registry, *, version: str | None = None,
             against: str | None = None, test_file: str | None = None,
             progress: Callable[[int, int], None] | None = None) -> dict:
    """Everything the report shows, as one JSON-ready dict."""
    tagger = Tagger.from_registry(registry, version)
    test_rows = read_labelled_file(test_file, tagger.topics) if test_file else None
    report = {
        "model_version": tagger.version,
        "model_data_sha256": tagger.manifest.get("data_sha256"),
        "data_sha256": labels.data_sha256,
        "topics": tagger.topics,
        "thresholds": dict(zip(tagger.topics, map(float, tagger.thresholds))),
        "grouping": GROUPING,
        # Reviewed rows (source `review`) in the version's training data; None: not recorded.
        "model_review_rows": tagger.manifest.get("counts", {}).get("review_rows"),
        "cv": cross_validate(labels, tagger.manifest, progress),
        "test": None,
        "comparison": None,
    }
    if test_rows is not None:
        report["test"] = {"file": str(test_file),
                          **external_results(tagger, test_rows, labels.topics)}
    report["actors"] = {
        "training": actor_results(labels.rows, tagger.actors, tagger.partner_rule),
        "test": actor_results(test_rows, tagger.actors, tagger.partner_rule)
        if test_rows else None}
    against = against or previous_version(registry, tagger.version)
    if against:
        old = Tagger.from_registry(registry, against)
        report["comparison"] = compare(tagger, old, labels.rows, test_rows, labels.topics)
    return report
