"""Lexicon features: named groups, bodies, missions and agencies as evidence beside TF-IDF.

A lexicon (`labels/lexicons/<topic>.csv`) lists entries with their aliases. Text and terms
are tokenized as the word vectorizer does (less a final possessive 's), and every token
n-gram that equals a term marks its entry. Each topic's lexicon is one feature column: `scale` x the number of
distinct entries of that lexicon the text names. The classifier learns how much a hit
weighs for every topic, so a lexicon is evidence, never a rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from .features import normalize_text, tokenize


@dataclass(frozen=True)
class LexiconEntry:
    """One named thing: the lexicon (topic) it belongs to, its name, every term that names it."""

    topic: str
    name: str
    terms: tuple[str, ...]
    source: str = ""


def lexicon_tokens(text: str) -> list[str]:
    """Word tokens as the word vectorizer sees them, a final possessive 's dropped ("ISWAP's")."""
    return [t[:-2] if t.endswith("'s") and len(t) > 2 else t
            for t in tokenize(normalize_text(text))]


def term_keys(term: str) -> set[tuple[str, ...]]:
    """The token sequences a term matches: as written, and with its hyphens read as spaces."""
    keys = {tuple(lexicon_tokens(term)), tuple(lexicon_tokens(term.replace("-", " ")))}
    return {k for k in keys if k}


def entries_as_params(entries: list[LexiconEntry]) -> tuple:
    """Entries as nested tuples: a plain, picklable, comparable pipeline parameter."""
    return tuple((e.topic, e.name, tuple(e.terms)) for e in entries)


class LexiconFeatures(TransformerMixin, BaseEstimator):
    """One column per lexicon: `scale` x the distinct entries of that lexicon a text names.

    `lexicons` is a tuple of (topic, entry name, terms) as made by `entries_as_params`.
    Fitted attributes: `columns_` (lexicon topics, column order), `entries_` (topic column
    and name of each entry), `table_` (token tuple -> entry indices), `max_len_`,
    `first_tokens_` (tokens that start some term).
    """

    def __init__(self, lexicons: tuple = (), scale: float = 1.0):
        self.lexicons = lexicons
        self.scale = scale

    def fit(self, X=None, y=None):
        self.columns_ = sorted({topic for topic, _, _ in self.lexicons})
        column = {topic: k for k, topic in enumerate(self.columns_)}
        self.entries_ = [(column[topic], name) for topic, name, _ in self.lexicons]
        table: dict[tuple[str, ...], list[int]] = {}
        for index, (_, _, terms) in enumerate(self.lexicons):
            for term in terms:
                for key in term_keys(term):
                    if index not in table.setdefault(key, []):
                        table[key].append(index)
        self.table_ = {k: tuple(v) for k, v in table.items()}
        self.max_len_ = max((len(k) for k in self.table_), default=0)
        self.first_tokens_ = frozenset(k[0] for k in self.table_)
        return self

    def matches(self, text: str) -> list[int]:
        """Indices of the distinct entries a text names, in order of first appearance."""
        tokens = lexicon_tokens(text)
        found: dict[int, None] = {}
        for i, token in enumerate(tokens):
            if token not in self.first_tokens_:  # most tokens start no term: skip them fast
                continue
            for length in range(1, min(self.max_len_, len(tokens) - i) + 1):
                for index in self.table_.get(tuple(tokens[i:i + length]), ()):
                    found.setdefault(index, None)
        return list(found)

    def transform(self, X):
        rows, cols, vals = [], [], []
        for i, text in enumerate(X):
            counts: dict[int, int] = {}
            for index in self.matches(text):
                col = self.entries_[index][0]
                counts[col] = counts.get(col, 0) + 1
            for col, n in counts.items():
                rows.append(i)
                cols.append(col)
                vals.append(self.scale * n)
        return sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)),
                             shape=(len(X), len(self.columns_)), dtype=np.float32)

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"lexicon:{topic}" for topic in self.columns_], dtype=object)
