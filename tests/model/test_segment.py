"""Sentence splitting: spans point into the text, abbreviations and headlines survive."""

from __future__ import annotations

from hypothesis import given, strategies as st

from conftest import SEEDS
from model.segment import split_sentences


def texts(article: str) -> list[str]:
    return [s.text for s in split_sentences(article)]


def test_splits_on_full_stops_and_keeps_spans():
    article = "Ministers met in Tripoli. They agreed on patrols! Was it enough? Nobody said."
    sentences = split_sentences(article)
    assert [s.text for s in sentences] == ["Ministers met in Tripoli.", "They agreed on patrols!",
                                           "Was it enough?", "Nobody said."]
    assert all(article[s.start:s.end] == s.text for s in sentences)


def test_abbreviations_initials_and_numbers_do_not_split():
    assert texts("Brig. Gen. Khaled Mazen met Mr. J. Smith of the U.S. embassy. Talks ended.") == [
        "Brig. Gen. Khaled Mazen met Mr. J. Smith of the U.S. embassy.", "Talks ended."]
    assert texts("Growth reached 3.5 percent in 2021. It fell later.") == [
        "Growth reached 3.5 percent in 2021.", "It fell later."]


def test_lines_without_full_stops_are_units():
    assert texts("Headline Without Stop\n\nBody sentence one. Body two.\n-0- PANA") == [
        "Headline Without Stop", "Body sentence one.", "Body two.", "-0- PANA"]


def test_quotes_close_a_sentence():
    assert texts('He said "we will help." Then he left.') == ['He said "we will help."',
                                                            "Then he left."]


def test_lowercase_after_stop_does_not_split():
    assert len(split_sentences("It will follow agreements with Europe. and the Commission.")) == 1


def test_seed_articles_split_into_68_sentences():
    total = sum(len(split_sentences(p.read_text(encoding="utf-8"))) for p in SEEDS.iterdir())
    assert total == 68


@given(st.text())
def test_any_text_gives_ordered_exact_spans(text):
    previous_end = 0
    for s in split_sentences(text):
        assert text[s.start:s.end] == s.text
        assert s.text == s.text.strip() and s.text
        assert s.start >= previous_end
        previous_end = s.end
