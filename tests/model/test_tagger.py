"""The Tagger: any text is tagged, batches equal single calls, evidence comes from the text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from conftest import SEEDS
from model.errors import InputError
from model.features import normalize_text


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_unicode_text_predicts(tagger, text):
    (pred,) = tagger.predict([text])
    assert set(pred.scores) == set(tagger.topics)
    assert all(0.0 <= s <= 1.0 for s in pred.scores.values())
    assert set(pred.topics) <= set(tagger.topics)
    assert set(pred.evidence) == set(pred.topics)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(max_size=200), min_size=1, max_size=12))
def test_batch_equals_each_sentence_alone(tagger, texts):
    batch = tagger.predict(texts)
    assert [p.to_dict() for p in batch] == [tagger.predict([t])[0].to_dict() for t in texts]


def test_topics_follow_thresholds(tagger, labels):
    for pred in tagger.predict(labels.texts[:200]):
        for j, topic in enumerate(tagger.topics):
            assert (topic in pred.topics) == (pred.scores[topic] >= tagger.thresholds[j])


def test_evidence_words_occur_in_the_text(tagger, pipeline, labels):
    """Evidence is words of the text, or the name of a lexicon entry the text names."""
    lexicon = pipeline.named_steps["features"].named_transformers["lexicon"]
    rows = [r for r in labels.rows if r.topics][:100]
    for row, pred in zip(rows, tagger.predict([r.text for r in rows])):
        normalized = normalize_text(row.text)
        named = {lexicon.entries_[i][1] for i in lexicon.matches(row.text)}
        for topic, terms in pred.evidence.items():
            assert terms, f"no evidence for {topic} in {row.text!r}"
            assert all(term in normalized or term in named for term in terms)


def test_model_fits_its_own_training_data(tagger, labels):
    """A sanity floor: most labelled rows get their labels back (not a generalisation claim)."""
    preds = tagger.predict(labels.texts)
    exact = sum(set(p.topics) == set(r.topics) for p, r in zip(preds, labels.rows))
    assert exact / len(labels.rows) > 0.8


def test_non_string_is_an_input_error(tagger):
    with pytest.raises(InputError) as info:
        tagger.predict(["fine", 3])
    assert info.value.field == "texts[1]"


def test_empty_batch(tagger):
    assert tagger.predict([]) == []


def test_article_tagging_spans_and_aggregation(tagger, labels):
    seed_rows = [r for r in labels.rows if r.source != "authored"]
    source = seed_rows[0].source
    article = (SEEDS / source).read_text(encoding="utf-8")
    result = tagger.tag_article(article, title="A headline")
    assert result["model_version"] == tagger.version
    assert result["title"] is not None
    for s in result["sentences"]:
        assert article[s["start"]:s["end"]] == s["text"]
    units = [result["title"], *result["sentences"]]
    for topic in tagger.topics:
        assert result["article"]["scores"][topic] == max(u["scores"][topic] for u in units)
        assert result["article"]["sentence_counts"][topic] == sum(topic in u["topics"]
                                                                  for u in units)
    assert result["article"]["topics"] == [t for t in tagger.topics
                                           if result["article"]["sentence_counts"][t]]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=300), min_size=1, max_size=5))
def test_fast_scorer_equals_the_pipeline(each_tagger, pipeline, texts):
    import numpy as np

    _, fast = each_tagger.scores(texts)
    np.testing.assert_allclose(fast, pipeline.predict_proba(texts), rtol=0, atol=1e-9)


def test_topics_alone_are_the_full_call_without_actors(tagger, labels):
    texts = [r.text for r in labels.rows[:40]] + ["Egypt will train Libyan police cadres."]
    full = tagger.predict(texts)
    bare = tagger.predict(texts, actors=False)
    assert any(p.actors for p in full)
    assert all(not p.actors for p in bare)
    assert [(p.topics, p.scores, p.evidence) for p in bare] == \
        [(p.topics, p.scores, p.evidence) for p in full]
