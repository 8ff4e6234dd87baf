"""Article-level precision, recall and F1: "any sentence", the article rule, and keywords.

An article's true topics are those of any of its labelled sentences. Cross-validated
figures use, for each fold's articles, sentence thresholds and article thresholds tuned on
the other folds only, so no article is judged by a rule tuned on it.
"""

from __future__ import annotations

import numpy as np

from ..articles import (DEFAULT_SUPPORT, any_sentence, article_indices, article_truth,
                        predict_articles, tune_article_thresholds)
from ..crossval import multilabel_metrics

SYSTEMS = ("any_sentence", "article_rule", "keywords")


def _block(truth, predictions: dict, topics: list[str]) -> dict:
    wrong = {name: int((pred != truth).any(axis=1).sum()) for name, pred in predictions.items()}
    return {"articles": int(len(truth)),
            **{name: {**multilabel_metrics(truth, pred, topics), "articles_wrong": wrong[name]}
               for name, pred in predictions.items()}}


def external_articles(rows, Y, scores, kw_pred, tagger) -> dict | None:
    """The fitted model's rule on an external file's labelled articles."""
    spans = article_indices([row.article for row in rows])
    if not spans:
        return None
    truth = article_truth(Y, spans)
    return _block(truth, {
        "any_sentence": np.array([any_sentence(scores[s], tagger.thresholds) for s in spans],
                                 dtype=np.int8),
        "article_rule": predict_articles(scores, spans, tagger.thresholds,
                                         tagger.article_thresholds, tagger.article_support),
        "keywords": article_truth(kw_pred, spans)}, tagger.topics)


def cross_validated_articles(rows, Y, scores, kw_pred, folds, fold_thresholds,
                             topics: list[str]) -> dict | None:
    """Out-of-fold article figures over the labelled articles of the training data."""
    spans = article_indices([row.article for row in rows])
    if not spans:
        return None
    fold_of = np.zeros(len(Y), dtype=int)
    for k, (_, test) in enumerate(folds):
        fold_of[test] = k
    span_fold = np.array([fold_of[s[0]] for s in spans])
    any_pred = np.zeros((len(spans), len(topics)), dtype=np.int8)
    rule_pred = np.zeros_like(any_pred)
    for k, cuts in enumerate(fold_thresholds):
        here = np.flatnonzero(span_fold == k)
        if not len(here):
            continue
        others = [spans[i] for i in np.flatnonzero(span_fold != k)]
        article_cuts = tune_article_thresholds(Y, scores, others, cuts)
        for i in here:
            any_pred[i] = any_sentence(scores[spans[i]], cuts)
            rule_pred[i] = predict_articles(scores, [spans[i]], cuts, article_cuts,
                                            DEFAULT_SUPPORT)[0]
    return _block(article_truth(Y, spans), {"any_sentence": any_pred, "article_rule": rule_pred,
                                            "keywords": article_truth(kw_pred, spans)}, topics)
