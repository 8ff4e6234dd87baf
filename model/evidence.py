"""Evidence: the words of a text whose features raised a topic's score the most.

`EvidenceFinder` works from the feature rows the featurizer already made (each char
n-gram's owner chunk and each text's matched lexicon entries come with them), so a text is
never featurized twice. `reference_evidence` is the plain implementation it must equal
(tests compare them): for each of a topic's strongest positive features, find the words
of the text that produced it and share the feature's contribution among them.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

EVIDENCE_FEATURES = 20  # strongest features per topic that evidence is drawn from
_EDGE_PUNCT = re.compile(r"^\W+|\W+$")


def is_term(word: str) -> bool:
    """Words worth showing as evidence: not stop words, numbers or unknown pieces."""
    return word not in ENGLISH_STOP_WORDS and word != "?" and not word.strip("0").isdigit() \
        and word != "0"


def chunk_words(normalized: str) -> tuple[list[str], list[str]]:
    """(padded chunks, their words): str.split() chunks as char_wb pads them, and stripped."""
    chunks = normalized.split()
    return [f" {c} " for c in chunks], [_EDGE_PUNCT.sub("", c) for c in chunks]


class FeatureIndex:
    """Maps the pipeline's feature columns back to the words (or lexicon entries) of a text."""

    def __init__(self, features):
        self.offsets, self.blocks, self.lexicon = [], [], None
        offset = 0
        for name, transformer in features.transformer_list:
            names = transformer.get_feature_names_out()
            self.offsets.append(offset)
            self.blocks.append((getattr(transformer, "analyzer", "lexicon"), names))
            if name == "lexicon":
                self.lexicon = transformer
            offset += len(names)

    def block(self, column: int) -> tuple[str, str, int]:
        """(analyzer kind, feature name, column within its block)."""
        k = bisect.bisect_right(self.offsets, column) - 1
        kind, names = self.blocks[k]
        return kind, names[column - self.offsets[k]], column - self.offsets[k]

    def owners(self, column: int, padded: list[str], words: list[str], text: str) -> list[str]:
        """The text's words that produced this feature column (entry names for a lexicon)."""
        kind, name, within = self.block(column)
        if kind == "lexicon":
            entries = self.lexicon.entries_
            found = {entries[i][1] for i in self.lexicon.matches(text) if entries[i][0] == within}
        elif kind == "char_wb":  # char_wb pads each whitespace-separated word with spaces
            found = {w for p, w in zip(padded, words) if name in p}
        else:
            found = set(name.split(" "))
        return sorted(w for w in found if w)


def rank(per_word: dict[str, float], terms: int) -> list[str]:
    ranked = sorted(((w, v) for w, v in per_word.items() if is_term(w)),
                    key=lambda item: (-item[1], item[0]))
    return [w for w, _ in ranked[:terms]]


def reference_evidence(index: FeatureIndex, coef_t: np.ndarray, text: str, normalized: str,
                       columns: np.ndarray, values: np.ndarray, topic_indices: list[int],
                       terms: int) -> dict[int, list[str]]:
    """The slow reference: per topic index, its evidence words, straight from the definition."""
    padded, words = chunk_words(normalized)
    result = {}
    for j in topic_indices:
        contribution = values * coef_t[columns, j]
        per_word: dict[str, float] = defaultdict(float)
        for k in np.argsort(-contribution, kind="stable")[:EVIDENCE_FEATURES]:
            if contribution[k] <= 0:
                break
            owners = index.owners(int(columns[k]), padded, words, text)
            for word in owners:
                per_word[word] += float(contribution[k]) / len(owners)
        result[j] = rank(per_word, terms)
    return result


class EvidenceFinder:
    """Evidence from a batch's feature rows, equal to `reference_evidence`, without re-featurizing."""

    def __init__(self, pipeline, coef_t: np.ndarray, terms: int):
        self.index = FeatureIndex(pipeline.named_steps["features"])
        self.coef_t = coef_t
        self.terms = terms
        kinds = [kind for kind, _ in self.index.blocks]
        self.word_owners = [tuple(sorted({w for w in name.split(" ") if w}))
                            for name in self.index.blocks[kinds.index("word")][1]]
        lexicon = self.index.lexicon
        self.entries = list(lexicon.entries_) if lexicon is not None else []
        self.char_start = self.index.offsets[kinds.index("char_wb")]
        self.lex_start = (self.index.offsets[kinds.index("lexicon")] if "lexicon" in kinds
                          else self.coef_t.shape[0])

    def find(self, rows, i: int, topic_indices: list[int]) -> dict[int, list[str]]:
        """Per topic index, the evidence words of text i of `rows` (a FeatureRows)."""
        a, b = rows.indptr[i], rows.indptr[i + 1]
        columns, values, chunk_of = rows.indices[a:b], rows.data[a:b], rows.owners[a:b]
        contributions = values[:, None] * self.coef_t[columns][:, topic_indices]
        chunks = None
        result = {}
        for t, j in enumerate(topic_indices):
            contribution = contributions[:, t]
            positive = np.flatnonzero(contribution > 0)
            top = positive[np.argsort(-contribution[positive], kind="stable")][:EVIDENCE_FEATURES]
            per_word: dict[str, float] = {}
            for k, share in zip(top.tolist(), contribution[top].tolist()):
                column = int(columns[k])
                if column < self.char_start:
                    owners = self.word_owners[column]
                elif column < self.lex_start:
                    if chunks is None:
                        chunks = chunk_words(rows.normalized[i])
                    owners = self._char_owners(column, int(chunk_of[k]), *chunks)
                else:
                    owners = self._entry_names(rows, i, column - self.lex_start)
                for word in owners:
                    per_word[word] = per_word.get(word, 0.0) + share / len(owners)
            result[j] = rank(per_word, self.terms)
        return result

    def _char_owners(self, column, chunk, padded, words):
        if chunk >= 0:  # made by one chunk only
            return [words[chunk]] if words[chunk] else []
        name = self.index.block(column)[1]
        return sorted({w for p, w in zip(padded, words) if name in p and w})

    def _entry_names(self, rows, i, lexicon_column):
        matched = rows.matched[rows.matched_ptr[i]:rows.matched_ptr[i + 1]].tolist()
        return sorted({self.entries[e][1] for e in matched
                       if self.entries[e][0] == lexicon_column and self.entries[e][1]})
