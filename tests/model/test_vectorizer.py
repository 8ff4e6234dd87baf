"""The cached character vectorizer is scikit-learn's TfidfVectorizer, only faster."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from model import vectorizer
from model.features import TOKEN_PATTERN, normalize_text
from model.vectorizer import CachedTfidfVectorizer, count_rows
from test_featurizer import _texts

_CONFIGS = [
    dict(analyzer="char_wb", ngram_range=(4, 6), min_df=2, norm=None, sublinear_tf=True),
    dict(analyzer="char_wb", ngram_range=(1, 3), min_df=1, max_df=0.9, norm="l2"),
    dict(analyzer="char_wb", ngram_range=(2, 2), max_features=50, lowercase=True,
         preprocessor=None, binary=True, use_idf=False),
    dict(analyzer="word", token_pattern=TOKEN_PATTERN, ngram_range=(1, 2)),  # not cached
]


def _same(a, b) -> bool:
    a, b = a.tocsr(), b.tocsr()
    return (a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices) and np.array_equal(a.data, b.data))


def _assert_identical(config: dict, fit_texts: list[str], other_texts: list[str]):
    config = {"preprocessor": normalize_text, "dtype": np.float32, **config}
    ours, theirs = CachedTfidfVectorizer(**config), TfidfVectorizer(**config)
    try:
        expected = theirs.fit_transform(fit_texts)
    except ValueError as error:  # an empty vocabulary: ours must refuse it the same way
        with pytest.raises(ValueError, match=re.escape(str(error).split(";")[0])):
            ours.fit_transform(fit_texts)
        return
    assert _same(ours.fit_transform(fit_texts), expected)
    assert ours.vocabulary_ == theirs.vocabulary_
    assert np.array_equal(ours.idf_, theirs.idf_) if config.get("use_idf", True) else True
    assert _same(ours.transform(other_texts), theirs.transform(other_texts))


@pytest.mark.parametrize("config", _CONFIGS, ids=lambda c: f"{c['analyzer']}{c['ngram_range']}")
def test_corpus_counts_equal_scikit_learn(config, labels):
    texts = list(labels.texts)
    _assert_identical(config, texts[::2], texts[1::2])


@settings(max_examples=200, deadline=None)
@given(st.lists(_texts, min_size=1, max_size=12), st.lists(_texts, min_size=1, max_size=6),
       st.sampled_from(_CONFIGS[:3]))
def test_any_unicode_counts_equal_scikit_learn(fit_texts, other_texts, config):
    _assert_identical(config, fit_texts, other_texts)


def test_chunks_and_a_full_word_cache_change_nothing(labels, monkeypatch):
    """Counting in chunks of 7 documents, with a cache that restarts every 5 words."""
    monkeypatch.setattr(vectorizer, "CHUNK_DOCUMENTS", 7)
    monkeypatch.setattr(vectorizer, "CACHE_SIZE", 5)
    texts = list(labels.texts[:400])
    _assert_identical(_CONFIGS[0], texts[:300], texts[300:])


def test_count_rows_counts_each_rows_repeats():
    columns = np.array([3, 1, 3, 3, 0, 1, 1], dtype=np.int32)
    distinct, counts, sizes = count_rows(columns, np.array([4, 0, 3]), 4)
    assert distinct.tolist() == [3, 1, 0, 1] and counts.tolist() == [3, 1, 1, 2]
    assert sizes.tolist() == [2, 0, 2]
