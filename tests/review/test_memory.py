"""The correction memory: exact repeats, near-duplicates the model sees alike, and no more."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from model.review.memory import CorrectionMemory, shingles, words
from model.review.store import Answer

CLOSURE = ("Italy closed its embassy in Tripoli in 2015 after gunmen attacked the compound, "
           "the foreign ministry in Rome said on Tuesday.")


def answer(text: str, topics=(), *, id_=1, reviewer="alice", at="2026-01-01T00:00:00") -> Answer:
    return Answer(text=text, topics=tuple(topics), id=id_, reviewer=reviewer, answered_at=at)


def fixed_scores(table: dict[str, list[float]]):
    """A scorer that knows a few texts' scores (a stand-in for a model, for the guard)."""
    return lambda texts: np.array([table[t] for t in texts])


def test_words_ignore_case_punctuation_and_spacing():
    assert words("  The EMBASSY, reopened!\n") == words("the embassy reopened")
    assert shingles(words("one two")) == frozenset([("one", "two")])
    assert shingles(()) == frozenset()


def test_an_exact_repeat_is_recalled_whatever_the_spacing_and_case():
    memory = CorrectionMemory([answer(CLOSURE, [], id_=7)])
    recall = memory.recall("  " + CLOSURE.upper().replace(",", " ,") + " ")
    assert recall is not None and recall.similarity == 1.0
    assert recall.entry.answer_id == 7 and recall.entry.topics == ()
    assert recall.to_dict()["reviewer"] == "alice"


def test_a_near_duplicate_needs_the_model_to_score_it_alike():
    edited = CLOSURE.replace("on Tuesday", "on Wednesday")
    flipped = CLOSURE.replace("closed", "reopened")
    scores = {CLOSURE: [0.1, 0.9], edited: [0.1, 0.88], flipped: [0.1, 0.99]}
    memory = CorrectionMemory([answer(CLOSURE)], score=fixed_scores(scores),
                              threshold=0.5, max_shift=0.05)
    near = memory.recall(edited, np.array(scores[edited]))
    assert near is not None and 0.5 <= near.similarity < 1.0
    # the same shingles but for one word, which moves the model: not the same sentence
    assert memory.recall(flipped, np.array(scores[flipped])) is None
    # without the model's scores only exact repeats are recalled
    assert memory.recall(edited) is None


def test_an_unrelated_sentence_is_not_recalled():
    other = "Egypt will train Libyan police officers in Cairo next month."
    memory = CorrectionMemory([answer(CLOSURE)], score=fixed_scores({CLOSURE: [0.5, 0.5]}))
    assert memory.recall(other, np.array([0.5, 0.5])) is None


def test_the_latest_answer_stands_when_reviewers_disagree():
    memory = CorrectionMemory([answer(CLOSURE, ["embassy_reopening"], id_=2, reviewer="bob",
                                      at="2026-02-01T00:00:00"),
                               answer(CLOSURE, [], id_=1, reviewer="alice",
                                      at="2026-01-01T00:00:00")])
    assert len(memory) == 1
    assert memory.recall(CLOSURE).entry.reviewer == "bob"


def test_settings_are_checked():
    with pytest.raises(ValueError, match="threshold"):
        CorrectionMemory([], threshold=0)
    with pytest.raises(ValueError, match="max_shift"):
        CorrectionMemory([], max_shift=2)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=5), st.text(max_size=80))
def test_any_text_is_answered_and_a_stored_text_recalls_itself(stored, query):
    answers = [answer(t, id_=i + 1, at=f"2026-01-0{i + 1}") for i, t in enumerate(stored)]
    memory = CorrectionMemory(answers, score=lambda texts: np.zeros((len(texts), 2)))
    recall = memory.recall(query, np.zeros(2))
    assert recall is None or recall.similarity >= memory.threshold
    for t in stored:
        if words(t):
            assert memory.recall(t).similarity == 1.0


def test_the_tagger_gives_a_recalled_sentence_the_reviewed_topics(tagger):
    text = "Egypt will train Libyan police cadres at its academies."
    before = tagger.predict([text])[0]
    assert "training" in before.topics and before.to_dict()["source"] == "model"
    memory = CorrectionMemory([answer(text, ["counterterrorism"], id_=5)],
                              score=lambda texts: tagger.scores(texts)[1])
    after = tagger.predict([text, "A sentence about the weather."], memory=memory)
    assert after[0].topics == ["counterterrorism"]
    assert after[0].scores == before.scores  # the model's own scores stay visible
    body = after[0].to_dict()
    assert body["source"] == "review" and body["review"]["id"] == 5
    assert after[1].to_dict()["source"] == "model"


def test_the_article_rule_reads_the_recalled_topics(tagger):
    text = "Egypt will train Libyan police cadres at its academies."
    memory = CorrectionMemory([answer(text, [], id_=3)])
    plain = tagger.tag_article(text)
    corrected = tagger.tag_article(text, memory=memory)
    assert "training" in plain["article"]["topics"]
    assert corrected["article"]["topics"] == []
    assert corrected["sentences"][0]["source"] == "review"
    assert corrected["article"]["sentence_counts"]["training"] == 0
