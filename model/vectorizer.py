"""A character n-gram TfidfVectorizer that looks up each distinct word's n-grams once.

Building the `char_wb` count matrix was most of a fold's fit at 100x the corpus (issue 19),
nearly all of it in Python: making every n-gram's string, looking it up, counting it in a
dict. A `char_wb` n-gram never crosses a word and news repeats its words, so each distinct
word's columns are looked up once and cached, and a compiled kernel counts a chunk of
documents' columns. Vocabulary, idf and matrices are TfidfVectorizer's exactly; any other
analyzer is left to scikit-learn's own counting. (Token n-grams gained nothing this way:
their time is the tokenizing regex, which a cache cannot skip.)
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from typing import Callable, Iterable

import numpy as np
import scipy.sparse as sp
from numba import njit
from sklearn.feature_extraction.text import TfidfVectorizer

# Documents counted per kernel call, and distinct words cached before the cache restarts.
CHUNK_DOCUMENTS = 8192
CACHE_SIZE = 1 << 20


@njit(cache=True)
def count_rows(columns, lengths, n_columns):
    """Each row's distinct columns (first-seen order) and counts, and the rows' sizes.

    Row r is columns[sum(lengths[:r]):][:lengths[r]]; `n_columns` bounds every column.
    """
    seen_in = np.full(n_columns, -1, np.int64)
    position = np.empty(n_columns, np.int64)
    distinct = np.empty(len(columns), np.int32)
    counts = np.empty(len(columns), np.int32)
    sizes = np.empty(len(lengths), np.int64)
    nnz, k = 0, 0
    for r in range(len(lengths)):
        first = nnz
        for _ in range(lengths[r]):
            c = columns[k]
            k += 1
            if seen_in[c] != r:
                seen_in[c], position[c] = r, nnz
                distinct[nnz], counts[nnz] = c, 1
                nnz += 1
            else:
                counts[position[c]] += 1
        sizes[r] = nnz - first
    return distinct[:nnz].copy(), counts[:nnz].copy(), sizes


def count_matrix(documents: Iterable[list[int]], n_columns: Callable[[], int],
                 dtype) -> sp.csr_matrix:
    """CSR counts of documents given as lists of column indices (repeats counted)."""
    indices, values, indptr = array("i"), array("i"), [np.zeros(1, np.int64)]
    chunk: list[int] = []
    lengths: list[int] = []

    def flush() -> None:
        distinct, counts, sizes = count_rows(np.array(chunk, dtype=np.int32),
                                             np.array(lengths, dtype=np.int64),
                                             max(n_columns(), 1))
        indices.frombytes(distinct.tobytes())
        values.frombytes(counts.tobytes())
        indptr.append(indptr[-1][-1] + np.cumsum(sizes))

    for columns in documents:
        chunk += columns
        lengths.append(len(columns))
        if len(lengths) == CHUNK_DOCUMENTS:
            flush()
            chunk, lengths = [], []
    if lengths:
        flush()
    indptr = np.concatenate(indptr)
    index_dtype = np.int64 if indptr[-1] > np.iinfo(np.int32).max else np.int32
    X = sp.csr_matrix((np.frombuffer(values, dtype=np.int32).astype(dtype),
                       np.frombuffer(indices, dtype=np.int32).astype(index_dtype),
                       indptr.astype(index_dtype)),
                      shape=(len(indptr) - 1, n_columns()))
    X.sort_indices()
    return X


class CachedTfidfVectorizer(TfidfVectorizer):
    """TfidfVectorizer whose `char_wb` counting caches each word's n-gram columns."""

    def _count_vocab(self, raw_documents, fixed_vocab):
        if self.analyzer != "char_wb":
            return super()._count_vocab(raw_documents, fixed_vocab)
        if fixed_vocab:
            vocabulary = self.vocabulary_
            column = vocabulary.get
        else:
            vocabulary = defaultdict()
            vocabulary.default_factory = vocabulary.__len__
            column = vocabulary.__getitem__
        preprocess, decode, spaces = self.build_preprocessor(), self.decode, self._white_spaces
        words = (spaces.sub(" ", preprocess(decode(doc))).split() for doc in raw_documents)
        X = count_matrix(self._columns(words, column), vocabulary.__len__, self.dtype)
        if not fixed_vocab:
            vocabulary = dict(vocabulary)
            if not vocabulary:
                raise ValueError("empty vocabulary; perhaps the documents only contain "
                                 "stop words")
        return vocabulary, X

    def _columns(self, documents, column):
        """Each document's n-gram columns: a word's are looked up once, then cached."""
        word_ngrams = self._char_wb_ngrams
        cache: dict[str, list[int]] = {}
        for words in documents:
            columns: list[int] = []
            for word in words:
                found = cache.get(word)
                if found is None:
                    if len(cache) >= CACHE_SIZE:
                        cache.clear()
                    found = [c for c in map(column, word_ngrams(word)) if c is not None]
                    cache[word] = found
                columns += found
            yield columns
