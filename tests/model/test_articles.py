"""The article rule: stricter than "any sentence", tuned on labelled articles only."""

from __future__ import annotations

import numpy as np
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

from model.articles import (any_sentence, article_indices, article_truth, carried,
                            tune_article_thresholds)

CUTS = np.array([0.4, 0.3])


def test_one_weak_sentence_no_longer_flips_an_article():
    scores = np.array([[0.45, 0.1], [0.1, 0.05], [0.2, 0.1]])  # one sentence just over 0.4
    assert any_sentence(scores, CUTS).tolist() == [True, False]
    assert carried(scores, CUTS, np.array([0.7, 0.3])).tolist() == [False, False]


def test_a_strong_sentence_or_two_supporting_sentences_carry_the_topic():
    strong = np.array([[0.9, 0.1], [0.1, 0.1]])
    supported = np.array([[0.45, 0.1], [0.5, 0.1]])
    article_cuts = np.array([0.7, 0.3])
    assert carried(strong, CUTS, article_cuts)[0]
    assert carried(supported, CUTS, article_cuts)[0]


def test_articles_group_rows_by_id_and_skip_loose_rows():
    spans = article_indices(["a", "a", "", "b", "a"])
    assert [s.tolist() for s in spans] == [[0, 1, 4], [3]]
    Y = np.array([[1, 0], [0, 0], [0, 1], [0, 0], [0, 1]])
    assert article_truth(Y, spans).tolist() == [[1, 1], [0, 0]]


def test_tuning_raises_the_cut_where_single_weak_sentences_were_wrong():
    # Topic 0: false articles have one sentence at 0.5; true ones have a sentence at 0.8.
    rows, Y, articles = [], [], []
    for k in range(6):
        true = k % 2 == 0
        rows += [[0.8 if true else 0.5, 0.0], [0.1, 0.0]]
        Y += [[int(true), 0], [0, 0]]
        articles += [f"art{k}", f"art{k}"]
    scores, Y = np.array(rows), np.array(Y)
    tuned = tune_article_thresholds(Y, scores, article_indices(articles), CUTS)
    assert 0.5 < tuned[0] <= 0.8
    assert tuned[1] == CUTS[1], "no positive articles: the sentence cut stays"


@given(arrays(float, (5, 2), elements=st.floats(0, 1)),
       arrays(float, 2, elements=st.floats(0, 1)))
def test_the_rule_never_finds_more_than_any_sentence(scores, extra):
    article_cuts = np.maximum(CUTS, extra)
    assert not (carried(scores, CUTS, article_cuts) & ~any_sentence(scores, CUTS)).any()


def test_tagger_applies_the_article_thresholds(tagger):
    text = ("Ministers met in Rome on Tuesday. They discussed trade and tourism. "
            "The talks ended with a joint statement.")
    result = tagger.tag_article(text)
    scores = np.array([[s["scores"][t] for t in tagger.topics] for s in result["sentences"]])
    assert result["article"]["topics"] == tagger.article_topics(scores)
    assert set(result["article"]["topics"]) <= {t for s in result["sentences"]
                                                for t in s["topics"]}
