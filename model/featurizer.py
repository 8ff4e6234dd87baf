"""The compiled featurizer: a fitted pipeline's exact feature rows, a whole batch per call.

The fitted scikit-learn Pipeline stays the artifact and the reference. At load time its
vocabularies become integer tables (`build_tables`, cached on disk by the artifact's
sha256); `Featurizer.rows` then normalises each text once in Python and counts every
word, char_wb and lexicon feature of the batch in one compiled call (`featurizer_kernels`,
through `kernels`), applies scikit-learn's own sublinear-tf and idf arithmetic with numpy,
and `Featurizer.scores` makes one sparse-dense product. Tests assert the scores equal
`pipeline.predict_proba`. A pipeline this module cannot reproduce exactly (another
analyzer, stop words, l2 norm) is scored by the pipeline itself: slower, never different.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from . import kernel_constants as C
from .disk_cache import cached_arrays
from .kernels import kernels
from .features import TOKEN_PATTERN, normalize_text

TABLES_FORMAT = 2  # bump when build_tables changes what it stores
_MAX_CODE_POINT = 0x110000
_log = logging.getLogger(__name__)


class Unsupported(ValueError):
    """The pipeline uses a setting the compiled path does not reproduce (so it is not used)."""


@dataclass
class FeatureRows:
    """A batch's feature matrix as CSR arrays, plus each text's normalised form (for evidence)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray  # float32, exactly the values of the pipeline's feature matrix
    normalized: list[str]
    n_features: int
    owners: np.ndarray | None = None  # per entry: the chunk that made a char n-gram, -2 several
    matched_ptr: np.ndarray | None = None  # CSR of each text's matched lexicon entries
    matched: np.ndarray | None = None
    cp: np.ndarray | None = None  # the normalised texts' code points, text i from offsets[i]
    offsets: np.ndarray | None = None

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of text i, in the analyzers' first-appearance order."""
        a, b = self.indptr[i], self.indptr[i + 1]
        return self.indices[a:b], self.data[a:b]

    def to_csr(self):
        """The rows as a scipy CSR matrix (scipy is imported here: workers never need it)."""
        import scipy.sparse as sp

        return sp.csr_matrix((self.data, self.indices, self.indptr),
                             shape=(len(self.indptr) - 1, self.n_features))


def character_classes() -> np.ndarray:
    """Per code point: bit WORD when `\\w` matches it, SPACE when str.split() splits on it,
    DIGIT when str.isdigit()."""
    chars = [chr(c) for c in range(_MAX_CODE_POINT)]
    word = np.fromiter((c.isalnum() for c in chars), dtype=bool, count=_MAX_CODE_POINT)
    space = np.fromiter((c.isspace() for c in chars), dtype=bool, count=_MAX_CODE_POINT)
    digit = np.fromiter((c.isdigit() for c in chars), dtype=bool, count=_MAX_CODE_POINT)
    word[ord("_")] = True
    return (word * C.WORD + space * C.SPACE + digit * C.DIGIT).astype(np.uint8)


def code_points(text: str) -> np.ndarray:
    """A string's code points (lone surrogates included, as Python counts them)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def hash_table(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An open-addressing table (load <= 1/2) of non-negative int64 keys, for `lookup` in
    `featurizer_kernels`."""
    return kernels().fill_table(np.asarray(keys, np.int64), np.asarray(values, np.int32),
                               _table_size(len(keys)))


def _table_size(n: int) -> int:
    """A power of two at least twice n (open addressing stays short at load <= 1/2)."""
    size = 16
    while size < 2 * n:
        size *= 2
    return size


def _check_vectorizer(name: str, vec, analyzer: str) -> None:
    problems = []
    if vec.analyzer != analyzer:
        problems.append(f"analyzer={vec.analyzer!r}")
    if vec.preprocessor is not normalize_text:
        problems.append("a preprocessor other than normalize_text")
    if analyzer == "word" and (vec.token_pattern != TOKEN_PATTERN or vec.tokenizer is not None):
        problems.append("another tokenizer")
    if vec.stop_words is not None or vec.binary or vec.norm is not None:
        problems.append("stop words, binary counts or a row norm")
    if vec.input != "content" or vec.decode_error != "strict":
        problems.append("non-text input")
    if problems:
        raise Unsupported(f"block {name!r}: {', '.join(problems)}")


class _Trie:
    """Token-id sequences as a trie whose edges are keys node * n_tokens + token id."""

    def __init__(self):
        self.edges: dict[tuple[int, int], int] = {}

    def insert(self, ids: list[int]) -> int:
        node = 0
        for t in ids:
            node = self.edges.setdefault((node, t), len(self.edges) + 1)
        return node

    @property
    def n_nodes(self) -> int:
        return len(self.edges) + 1

    def table(self, n_tokens: int) -> tuple[np.ndarray, np.ndarray]:
        keys = [parent * n_tokens + t for parent, t in self.edges]
        return hash_table(np.asarray(keys, np.int64), np.asarray(list(self.edges.values())))


def token_table(tokens: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(tok_slots, tok_hash, tok_cp, tok_off): strings as `featurizer_kernels.token_id`
    finds them, token t spelled by tok_cp[tok_off[t]:tok_off[t + 1]] and listed under its
    hash."""
    spelled = "".join(tokens)
    tok_cp = code_points(spelled).astype(np.int32) if spelled else np.zeros(1, np.int32)
    tok_off = np.zeros(len(tokens) + 1, np.int64)
    tok_off[1:] = np.cumsum([len(t) for t in tokens])
    tok_hash = kernels().token_hashes(tok_cp, tok_off)
    return kernels().token_slots(tok_hash, _table_size(len(tokens))), tok_hash, tok_cp, tok_off


def build_tables(pipeline) -> dict[str, np.ndarray]:
    """The integer tables the kernels need, derived from a fitted pipeline (pure)."""
    union = pipeline.named_steps["features"]
    blocks = dict(union.transformer_list)
    if list(blocks) != ["words", "chars", "lexicon"][:len(blocks)] or len(blocks) < 2:
        raise Unsupported(f"feature blocks {list(blocks)}, expected words, chars[, lexicon]")
    if union.transformer_weights or any(t in ("drop", "passthrough") for t in blocks.values()):
        raise Unsupported("transformer weights or dropped blocks")
    words, chars = blocks["words"], blocks["chars"]
    _check_vectorizer("words", words, "word")
    _check_vectorizer("chars", chars, "char_wb")
    lexicon = blocks.get("lexicon")

    tokens: dict[str, int] = {}
    word_trie, word_node_col = _Trie(), {}
    for term, col in words.vocabulary_.items():
        ids = [tokens.setdefault(t, len(tokens)) for t in term.split(" ")]
        word_node_col[word_trie.insert(ids)] = col
    lex_trie, lex_node_entries = _Trie(), {}
    lex_columns, entry_cols, lex_max = [], [], 0
    if lexicon is not None:
        lex_columns = list(lexicon.columns_)
        entry_cols = [col for col, _ in lexicon.entries_]
        lex_max = lexicon.max_len_
        for key, entries in lexicon.table_.items():
            node = lex_trie.insert([tokens.setdefault(t, len(tokens)) for t in key])
            lex_node_entries.setdefault(node, []).extend(entries)
    n_tokens = max(len(tokens), 1)

    tok_slots, tok_hash, tok_cp, tok_off = token_table(list(tokens))

    word_keys, word_values = word_trie.table(n_tokens)
    word_cols = np.full(word_trie.n_nodes, -1, np.int32)
    for node, col in word_node_col.items():
        word_cols[node] = col

    alphabet_chars = sorted({c for term in chars.vocabulary_ for c in term} | {" "})
    base = len(alphabet_chars) + 1
    longest = max((len(t) for t in chars.vocabulary_), default=1)
    if base ** max(longest, chars.ngram_range[1]) >= 2 ** 63:
        raise Unsupported(f"{base - 1} distinct characters: n-gram keys would overflow")
    alphabet = np.zeros(max(ord(alphabet_chars[-1]), 32) + 1, np.int64)
    for digit, c in enumerate(alphabet_chars, start=1):
        alphabet[ord(c)] = digit
    char_keys_list, char_cols = [], []
    for term, col in chars.vocabulary_.items():
        key = 0
        for c in term:
            key = key * base + int(alphabet[ord(c)])
        char_keys_list.append(key)
        char_cols.append(col)
    char_keys, char_values = hash_table(np.asarray(char_keys_list, np.int64),
                                         np.asarray(char_cols))

    lex_keys, lex_values = lex_trie.table(n_tokens)
    lex_node_start = np.zeros(lex_trie.n_nodes + 1, np.int64)
    flat = []
    for node in range(lex_trie.n_nodes):
        flat.extend(lex_node_entries.get(node, ()))
        lex_node_start[node + 1] = len(flat)

    n_words, n_chars = len(words.vocabulary_), len(chars.vocabulary_)
    col_flags = np.zeros(n_words + n_chars + len(lex_columns), np.int64)
    idf = np.ones(len(col_flags), np.float64)
    for vec, lo in ((words, 0), (chars, n_words)):
        block = slice(lo, lo + len(vec.vocabulary_))
        col_flags[block] |= C.LOGGED if vec.sublinear_tf else 0
        if vec.use_idf:
            col_flags[block] |= C.WEIGHTED
            idf[block] = vec.idf_
    scalars = {"n_tokens": n_tokens, "word_min": words.ngram_range[0],
               "word_max": words.ngram_range[1], "base": base,
               "char_min": chars.ngram_range[0], "char_max": chars.ngram_range[1],
               "char_offset": n_words, "lex_max": lex_max, "lex_offset": n_words + n_chars,
               "n_lex_cols": len(lex_columns)}
    return {
        "format": np.asarray([TABLES_FORMAT]),
        "scalars": np.asarray([scalars[k] for k in C.SCALARS], np.int64),
        "tok_slots": tok_slots, "tok_hash": tok_hash, "tok_cp": tok_cp, "tok_off": tok_off,
        "word_keys": word_keys, "word_values": word_values, "word_cols": word_cols,
        "alphabet": alphabet, "char_keys": char_keys, "char_values": char_values,
        "lex_keys": lex_keys, "lex_values": lex_values, "lex_node_start": lex_node_start,
        "lex_node_entries": np.asarray(flat, np.int64),
        "entry_cols": np.asarray(entry_cols, np.int64), "col_flags": col_flags,
        "idf": idf, "log_tf": log_tf_table(),
        "lex_scale": np.asarray([float(lexicon.scale) if lexicon is not None else 1.0]),
    }


def stacked_weights(pipeline) -> tuple[np.ndarray, np.ndarray]:
    """(features x topics weights, per-topic intercepts) of the fitted classifier, float64."""
    clf = pipeline.named_steps["clf"]
    return (np.ascontiguousarray(np.asarray(clf.coef_, dtype=np.float64).T),
            np.ascontiguousarray(clf.intercept_, dtype=np.float64))


def log_tf_table(size: int = 1 << 16) -> np.ndarray:
    """log(tf) + 1 for tf < size, computed as TfidfTransformer does (numpy, float32)."""
    table = np.arange(size, dtype=np.float32)
    table[0] = 1.0
    np.log(table, out=table)
    table += 1.0
    return table.astype(np.float64)


def pack_tables(tables: dict[str, np.ndarray]) -> tuple:
    """(ints, int layout, floats, float layout): the tables as two arrays plus [start, end)s."""
    packed = []
    for names, dtype in ((C.INT_TABLES, np.int64), (C.FLOAT_TABLES, np.float64)):
        parts = [np.asarray(tables[n], dtype).ravel() for n in names]
        ends = np.cumsum([len(p) for p in parts])
        layout = np.column_stack([ends - [len(p) for p in parts], ends]).ravel()
        packed += [np.concatenate(parts), layout.astype(np.int64)]
    return tuple(packed)


def class_table() -> np.ndarray:
    """`character_classes()`, from the disk cache (building it takes a second)."""
    version = hashlib.sha256(unicodedata.unidata_version.encode()).hexdigest()[:12]
    arrays = cached_arrays(f"char-classes-v2-{version}.npz",
                           lambda: {"classes": character_classes()})
    return np.ascontiguousarray(arrays["classes"], np.uint8)  # the kernels' own dtype


def tables_of(pipeline, *, artifact_sha256: str | None = None) -> dict[str, np.ndarray] | None:
    """A pipeline's tables, from the disk cache when the artifact's sha256 is known, else
    built; None (logged) when the compiled path cannot reproduce the pipeline."""
    try:
        if artifact_sha256:
            name = f"featurizer-{artifact_sha256}-v{TABLES_FORMAT}.npz"
            return cached_arrays(name, lambda: build_tables(pipeline), C.INT_TABLES + C.FLOAT_TABLES)
        return build_tables(pipeline)
    except Unsupported as exc:
        _log.warning("scoring with the pipeline itself: %s", exc)
        return None


class Featurizer:
    """A fitted pipeline's features and scores for many texts in one compiled call.

    Built from its tables and the stacked weights (a serving form holds them), or with
    `Featurizer.load(pipeline, artifact_sha256=...)`, which takes the tables from the cache.
    Without tables the pipeline itself featurizes: slower, never different.
    """

    def __init__(self, tables: dict[str, np.ndarray] | None, coef_t: np.ndarray,
                 intercept: np.ndarray, *, pipeline=None):
        if tables is None and pipeline is None:
            raise ValueError("a featurizer needs its tables or the pipeline")
        self.pipeline = pipeline
        self.coef_t = np.ascontiguousarray(coef_t, dtype=np.float64)
        self.intercept = np.ascontiguousarray(intercept, dtype=np.float64)
        self.n_features = self.coef_t.shape[0]
        self.tables = tables
        self.compiled = tables is not None
        self.classes = class_table() if self.compiled else None  # see character_classes
        self._packed = pack_tables(tables) if self.compiled else None
        self._kernels = kernels()

    @classmethod
    def load(cls, pipeline, *, artifact_sha256: str | None = None) -> "Featurizer":
        """The featurizer of a fitted pipeline; see `tables_of`."""
        return cls(tables_of(pipeline, artifact_sha256=artifact_sha256),
                   *stacked_weights(pipeline), pipeline=pipeline)

    def rows(self, texts: Sequence[str]) -> FeatureRows:
        """The feature rows of `texts`, equal to the pipeline's `features` step output."""
        normalized = [normalize_text(t) for t in texts]
        if not self.compiled:
            import scipy.sparse as sp

            X = sp.csr_matrix(self.pipeline.named_steps["features"].transform(list(texts)),
                              dtype=np.float32)
            return FeatureRows(X.indptr.astype(np.int64), X.indices.astype(np.int32), X.data,
                               normalized, self.n_features)
        cp = code_points("".join(normalized))
        offsets = np.fromiter(itertools.accumulate(map(len, normalized), initial=0), np.int64,
                              count=len(normalized) + 1)
        counted = self._kernels.count_features(cp, offsets, self.classes, *self._packed)
        indptr, indices, raw, data, overflow, owners, matched_ptr, matched = counted
        if overflow:  # a feature counted beyond the log table: numpy's own arithmetic
            data = tfidf(raw, indices, self.tables)
        return FeatureRows(indptr, indices, data, normalized, self.n_features, owners,
                           matched_ptr, matched, cp, offsets)

    def scores(self, rows: FeatureRows) -> np.ndarray:
        """Rows x topics probabilities: one sparse-dense product, then the sigmoid."""
        z = self._kernels.sigmoid_exponents(rows.indptr, rows.indices, rows.data, self.coef_t,
                                self.intercept)
        np.exp(z, out=z)  # the rest of _sigmoid's arithmetic, in place: 1 / (1 + exp(-z'))
        z += 1.0
        return np.divide(1.0, z, out=z)


def tfidf(raw: np.ndarray, indices: np.ndarray, tables: dict) -> np.ndarray:
    """TfidfTransformer's arithmetic on raw counts with numpy, in float32 as it does it."""
    data = raw.astype(np.float32)
    flags = tables["col_flags"][indices]
    logged = (flags & C.LOGGED) > 0
    part = data[logged]
    np.log(part, out=part)
    part += 1.0
    data[logged] = part
    weighted = (flags & C.WEIGHTED) > 0
    part = data[weighted]
    part *= tables["idf"][indices[weighted]]
    data[weighted] = part
    return data
