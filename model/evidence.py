"""Evidence: the words of a text whose features raised a topic's score the most.

`EvidenceFinder` works from the feature rows the featurizer already made (each char
n-gram's owner chunk and each text's matched lexicon entries come with them), so a text is
never featurized twice, and finds a whole batch's evidence in one numba call
(`evidence_kernels`). `reference_evidence` is the plain implementation it must equal
(tests compare them): for each of a topic's strongest positive features, find the words
of the text that produced it and share the feature's contribution among them.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from typing import Sequence

import numpy as np
from .featurizer import _table_size, code_points
from .kernels import kernels

EVIDENCE_FEATURES = 20  # strongest features per topic that evidence is drawn from
_EDGE_PUNCT = re.compile(r"^\W+|\W+$")


def _stop_words() -> frozenset[str]:
    """scikit-learn's English stop words, imported only where a pipeline is at hand (a worker
    serving a serving form has them in its tables and never imports scikit-learn)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS


def is_term(word: str) -> bool:
    """Words worth showing as evidence: not stop words, numbers or unknown pieces."""
    return word not in _stop_words() and word != "?" and not word.strip("0").isdigit() \
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


# The evidence kernel's tables after the text arrays, in its argument order (`evidence_tables`).
EVIDENCE_TABLES = ("known_slots", "known_hash", "known_cp", "known_off", "known_term",
                   "word_owner_ptr", "word_owner_ids", "char_start", "lex_start",
                   "char_name_cp", "char_name_off", "entry_col", "entry_name")


def evidence_tables(features) -> dict[str, np.ndarray]:
    """The kernel's integer tables, derived from a fitted FeatureUnion (pure): the known
    strings (vocabulary tokens, lexicon entry names, stop words) with their hash slots and
    is_term, each word column's owner words, each lexicon entry's column and name, and
    the char n-grams' spellings."""
    index = FeatureIndex(features)
    kinds = [kind for kind, _ in index.blocks]
    word_names = index.blocks[kinds.index("word")][1]
    char_names = list(index.blocks[kinds.index("char_wb")][1])
    entries = list(index.lexicon.entries_) if index.lexicon is not None else []
    n_features = index.offsets[-1] + len(index.blocks[-1][1])
    known: dict[str, int] = {}
    word_ids = [[known.setdefault(w, len(known)) for w in sorted({w for w in name.split(" ")
                                                                   if w})]
                for name in word_names]
    entry_name = [known.setdefault(name, len(known)) if name else -1 for _, name in entries]
    for word in sorted(_stop_words()) + ["?", "0"]:
        known.setdefault(word, len(known))
    known_cp, known_off = _spelled(list(known))
    known_hash = kernels().token_hashes(known_cp, known_off)
    word_owner_ptr = np.zeros(len(word_ids) + 1, np.int64)
    word_owner_ptr[1:] = np.cumsum([len(ids) for ids in word_ids])
    char_name_cp, char_name_off = _spelled(char_names)
    return {
        "known_slots": kernels().token_slots(known_hash, _table_size(len(known))),
        "known_hash": known_hash, "known_cp": known_cp, "known_off": known_off,
        "known_term": np.asarray([is_term(w) for w in known], np.int8),
        "word_owner_ptr": word_owner_ptr,
        "word_owner_ids": np.asarray([i for ids in word_ids for i in ids] or [0], np.int64),
        "char_start": np.asarray(index.offsets[kinds.index("char_wb")], np.int64),
        "lex_start": np.asarray(index.offsets[kinds.index("lexicon")] if "lexicon" in kinds
                                else n_features, np.int64),
        "char_name_cp": char_name_cp, "char_name_off": char_name_off,
        "entry_col": np.asarray([col for col, _ in entries] or [-1], np.int64),
        "entry_name": np.asarray(entry_name or [-1], np.int64),
    }


class EvidenceFinder:
    """Evidence from a batch's feature rows, equal to `reference_evidence`, without re-featurizing.

    With `tables` (from `evidence_tables`) and the featurizer's character classes, a whole
    batch's evidence is one compiled call (`find_many`); without them (a pipeline the
    featurizer cannot compile) the plain route needs the pipeline's `index`.
    """

    def __init__(self, tables: dict[str, np.ndarray] | None, coef_t: np.ndarray, terms: int,
                 *, classes: np.ndarray | None = None, index: FeatureIndex | None = None):
        self.coef_t = coef_t
        self.terms = terms
        self.index = index
        self.classes = classes
        self.known: list[str] = []
        self._tables = None
        if tables is not None and classes is not None:
            self.known = spelled_strings(tables["known_cp"], tables["known_off"])
            self.lex_start = int(tables["lex_start"])
            self.entry_col, self.entry_name = tables["entry_col"], tables["entry_name"]
            self._tables = tuple(int(tables[name]) if tables[name].ndim == 0 else tables[name]
                                 for name in EVIDENCE_TABLES)
        if self._tables is None and index is None:
            raise ValueError("evidence needs its tables with character classes, or an index")

    def find(self, rows, i: int, topic_indices: list[int]) -> dict[int, list[str]]:
        """Per topic index, the evidence words of text i of `rows` (a FeatureRows)."""
        return self.find_many(rows, [(i, topic_indices)])[0]

    def find_many(self, rows, wanted: list[tuple[int, list[int]]],
                  texts: Sequence[str] | None = None) -> list[dict[int, list[str]]]:
        """Per (text i, topic indices) of `rows`, its evidence like `find`, in one call.

        `texts` (the texts as given) serve only the plain route, when the pipeline itself
        made the rows.
        """
        if not wanted:
            return []
        if self._tables is None or rows.owners is None:  # the plain route
            texts = rows.normalized if texts is None else texts
            return [self._reference(rows, i, topics, texts[i]) for i, topics in wanted]
        pair_text = np.asarray([i for i, topics in wanted for _ in topics], np.int64)
        pair_topic = np.asarray([j for _, topics in wanted for j in topics], np.int64)
        ptr, start, end = kernels().evidence_words(
            rows.cp, rows.offsets, rows.indptr, rows.indices, rows.data, rows.owners,
            rows.matched_ptr, rows.matched, self.coef_t, pair_text, pair_topic, self.classes,
            *self._tables, EVIDENCE_FEATURES, self.terms)
        joined, known = "".join(rows.normalized), self.known
        ptr, start, end = ptr.tolist(), start.tolist(), end.tolist()
        words = [known[a] if b < 0 else joined[a:b] for a, b in zip(start, end)]
        out, p = [], 0
        for _, topics in wanted:
            found = {}
            for j in topics:
                found[j] = words[ptr[p]:ptr[p + 1]]
                p += 1
            out.append(found)
        return out

    def _reference(self, rows, i: int, topic_indices: list[int],
                   text: str) -> dict[int, list[str]]:
        columns, values = rows.row(i)
        return reference_evidence(self.index, self.coef_t, text, rows.normalized[i], columns,
                                  values, topic_indices, self.terms)

    def _entry_names(self, rows, i, lexicon_column):
        matched = rows.matched[rows.matched_ptr[i]:rows.matched_ptr[i + 1]].tolist()
        return sorted({self.known[self.entry_name[e]] for e in matched
                       if self.entry_col[e] == lexicon_column and self.entry_name[e] >= 0})


def _spelled(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(code points of the strings one after another, offsets), for the kernels."""
    cp = code_points("".join(strings)) if any(strings) else np.zeros(1, np.uint32)
    offsets = np.zeros(len(strings) + 1, np.int64)
    offsets[1:] = np.cumsum([len(s) for s in strings])
    return cp.astype(np.int32), offsets


def spelled_strings(cp: np.ndarray, offsets: np.ndarray) -> list[str]:
    """The strings `_spelled` made, read back from their code points and offsets."""
    joined = np.asarray(cp, "<u4").tobytes().decode("utf-32-le", "surrogatepass")
    bounds = offsets.tolist()
    return [joined[a:b] for a, b in zip(bounds, bounds[1:])]
