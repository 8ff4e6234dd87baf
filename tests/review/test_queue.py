"""The review queue's selection: uncertain and keyword-disagreeing first, no near-duplicates."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cli.main import main as sectag
from model.review import ReviewStore
from model.review.queue import NearDuplicates, margins, select, shingles

TOPICS = ["alpha", "beta"]
THRESHOLDS = np.array([0.4, 0.6])
TEXTS = [
    "The navy held a long exercise with coast guard crews near the northern port.",
    "Voters queued for hours outside polling stations in the capital on Sunday.",
    "A trade fair for farm machinery opened in the river town this week.",
    "Officials reopened the consulate after a two year closure for repairs.",
]


def test_margin_is_zero_on_the_threshold_and_grows_away_from_it():
    m = margins(np.array([[0.4, 0.6], [0.5, 0.9], [0.01, 0.99]]), THRESHOLDS)
    assert m[0].tolist() == pytest.approx([0.0, 0.0])
    assert 0 < m[1, 0] < m[2, 0] and 0 < m[1, 1] < m[2, 1]


def test_near_threshold_sentences_come_first():
    probs = np.array([[0.01, 0.02], [0.41, 0.02], [0.2, 0.02], [0.01, 0.98]])
    picks = select(TEXTS, probs, THRESHOLDS, TOPICS, limit=4)
    assert [p.index for p in picks] == [1, 2, 3, 0]
    assert picks[0].reason.startswith("near threshold: alpha 0.41 (threshold 0.40)")
    assert [p.priority for p in picks] == sorted((p.priority for p in picks), reverse=True)


def test_keyword_disagreement_raises_a_sentence_above_an_equally_uncertain_one():
    probs = np.array([[0.2, 0.02], [0.2, 0.02]])
    keywords = np.array([[0, 0], [1, 0]])  # row 1: keywords say alpha, the model says no
    picks = select(TEXTS[:2], probs, THRESHOLDS, TOPICS, limit=2, keyword_pred=keywords)
    assert [p.index for p in picks] == [1, 0]
    assert "keywords say yes on alpha, the model no" in picks[0].reason
    assert "keywords" not in picks[1].reason


def test_confident_disagreement_is_ignored():
    """Far from the threshold the model knows better than the keywords: no bonus."""
    probs = np.array([[0.001, 0.02], [0.2, 0.02]])
    keywords = np.array([[1, 0], [0, 0]])
    picks = select(TEXTS[:2], probs, THRESHOLDS, TOPICS, limit=1, keyword_pred=keywords)
    assert [p.index for p in picks] == [1]


def test_near_duplicates_of_each_other_are_dropped():
    texts = [TEXTS[0], TEXTS[0].replace("northern", "southern"), TEXTS[1]]
    probs = np.array([[0.4, 0.02], [0.4, 0.02], [0.3, 0.02]])
    picks = select(texts, probs, THRESHOLDS, TOPICS, limit=3)
    assert [p.index for p in picks] == [0, 2]


def test_near_duplicates_of_labelled_rows_are_dropped():
    probs = np.array([[0.4, 0.02], [0.3, 0.02]])
    known = [TEXTS[0].upper() + " Officials said."]
    picks = select(TEXTS[:2], probs, THRESHOLDS, TOPICS, limit=2, known_texts=known)
    assert [p.index for p in picks] == [1]


def test_balance_takes_picks_from_each_topic_in_turn():
    # Rows 0-2 are near alpha's threshold, row 3 (less uncertain) near beta's.
    probs = np.array([[0.40, 0.01], [0.41, 0.01], [0.42, 0.01], [0.01, 0.75]])
    texts = [TEXTS[i] for i in range(4)]
    balanced = select(texts, probs, THRESHOLDS, TOPICS, limit=2, balance=True)
    plain = select(texts, probs, THRESHOLDS, TOPICS, limit=2)
    assert {p.topic for p in balanced} == {"alpha", "beta"}
    assert [p.index for p in plain] == [0, 1]


def test_shingles_follow_the_model_tokeniser():
    assert shingles("Two  words") == frozenset([("two", "words")])
    assert ("held", "0", "talks") in shingles("They held 12 talks on Monday.")
    index = NearDuplicates(0.5)
    index.add(shingles(TEXTS[0]))
    assert index.similarity(shingles(TEXTS[0])) == 1.0
    assert index.similarity(shingles(TEXTS[1])) == 0.0


def _word(i: int, j: int) -> str:
    """A word unique to row i (digits would all normalise to 0)."""
    return "w" + "".join(chr(ord("a") + int(d)) for d in f"{i}x{j}".replace("x", "9"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.booleans()), min_size=1,
                max_size=30), st.integers(0, 40))
def test_any_scores_give_distinct_ranked_picks_within_the_limit(rows, limit):
    probs = np.array([[a, b] for a, b, _ in rows])
    keywords = np.array([[k, 0] for _, _, k in rows])
    texts = [" ".join(_word(i, j) for j in range(5)) for i in range(len(rows))]
    picks = select(texts, probs, THRESHOLDS, TOPICS, limit=limit, keyword_pred=keywords)
    assert len(picks) == min(limit, len(rows))
    assert len({p.index for p in picks}) == len(picks)
    assert [p.priority for p in picks] == sorted((p.priority for p in picks), reverse=True)


@pytest.fixture
def tiny_registry(registry, tiny_trained):
    registry.add(tiny_trained.pipeline, tiny_trained.manifest, promote=True)
    return registry


def test_queue_command_reads_articles_and_fills_the_store(tmp_path, tiny_registry,
                                                          tiny_label_dir, tiny_labels):
    articles = tmp_path / "news.jsonl"
    bodies = [("a1", "Talks", "The army trained police officers in Niamey. Voters went to the "
                              "polls on Sunday. Rain fell in the afternoon."),
              ("a2", "Border", "Migrants crossed the sea from Libya. The embassy reopened in "
                               "Tripoli after ten years.")]
    articles.write_text("".join(json.dumps({"id": i, "title": t, "text": b}) + "\n"
                                for i, t, b in bodies) + "{broken\n", encoding="utf-8")
    db = tmp_path / "reviews.sqlite3"
    argv = ["review", "queue", str(articles), "--unit", "article", "--source-column", "title",
            "--review-db", str(db), "--registry", str(tiny_registry.root),
            "--labels", str(tiny_label_dir), "--limit", "3"]
    assert sectag(argv) == 0
    items = ReviewStore(db).next_items("ana", 10)
    assert len(items) == 3
    sentences = {"The army trained police officers in Niamey.": ("a1", "Talks"),
                 "Voters went to the polls on Sunday.": ("a1", "Talks"),
                 "Rain fell in the afternoon.": ("a1", "Talks"),
                 "Migrants crossed the sea from Libya.": ("a2", "Border"),
                 "The embassy reopened in Tripoli after ten years.": ("a2", "Border")}
    for item in items:
        assert sentences[item.text] == (item.article_id, item.source)
        assert "near threshold" in item.reason and "model v1" in item.reason
    assert [i.priority for i in items] == sorted((i.priority for i in items), reverse=True)
    assert sectag(argv) == 0  # the same picks again: the store keeps one of each
    assert ReviewStore(db).remaining("ana") == 3


def test_queue_skips_labelled_and_answered_sentences(tmp_path, tiny_registry, tiny_label_dir,
                                                     tiny_labels):
    from model.review import Correction

    known = tiny_labels.rows[0].text
    answered = "The coast guard rescued forty migrants off Lampedusa on Friday night."
    path = tmp_path / "sentences.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows([["1", known], ["2", answered]])
    db = tmp_path / "r.sqlite3"
    ReviewStore(db).save("ana", [Correction(answered, ("migration",))])
    assert sectag(["review", "queue", str(path), "--review-db", str(db), "--registry",
                   str(tiny_registry.root), "--labels", str(tiny_label_dir)]) == 0
    assert ReviewStore(db).next_items("bob", 10) == []


def test_queue_refuses_rows_with_a_nul_and_queues_the_rest(tmp_path, tiny_registry,
                                                          tiny_label_dir, tiny_labels, capsys):
    articles = tmp_path / "news.jsonl"
    rows = [{"id": "a1", "text": "The army trained police officers in Niamey."},
            {"id": "a2", "text": "Voters went to the\x00 polls on Sunday."},
            {"id": "a\x003", "text": "Migrants crossed the sea from Libya."}]
    articles.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    db = tmp_path / "reviews.sqlite3"
    assert sectag(["review", "queue", str(articles), "--unit", "article", "--review-db",
                   str(db), "--registry", str(tiny_registry.root), "--labels",
                   str(tiny_label_dir), "--limit", "5"]) == 0
    assert "3 rows read (2 refused)" in capsys.readouterr().out
    assert [i.text for i in ReviewStore(db).next_items("ana", 10)] == [
        "The army trained police officers in Niamey."]
