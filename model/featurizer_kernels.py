"""numba kernels of the compiled featurizer: n-gram counting over code-point arrays.

Every kernel works on integer tables derived from a fitted pipeline (see `featurizer.py`),
never on Python objects, so a batch of texts is counted in one compiled call. Lookups are
exact: character n-grams are keyed by their digits in the vocabulary's own alphabet (a
collision-free integer), tokens are hashed and then compared code point by code point, and
token n-grams are walks in a trie of token ids. A hash collision can cost time, never a score.

Helpers called per n-gram are compiled with `_nrt=False`: they allocate nothing, and without
it every call counts references to each array argument with atomic instructions, which
took half of the featurizer's time.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .kernel_constants import APOSTROPHE, HYPHEN, LOGGED, SPACE, WEIGHTED, WORD

_MIX = np.uint64(0x9E3779B97F4A7C15)
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True, inline="always")
def slot_of(key, mask):
    """Home slot of an integer key in an open-addressing table of size mask + 1."""
    return np.int64((np.uint64(key) * _MIX) >> np.uint64(20)) & mask


@njit(cache=True, inline="always")
def next_chunk(cp, i, end, classes):
    """The next str.split() chunk at or after i, as (start, stop); start == end when none."""
    while i < end and classes[cp[i]] & SPACE:
        i += 1
    j = i
    while j < end and (classes[cp[j]] & SPACE) == 0:
        j += 1
    return i, j


@njit(cache=True, _nrt=False)
def lookup(keys, values, key):
    """The value stored for `key` (int64 keys, -1 marks an empty slot), or -1."""
    mask = keys.shape[0] - 1
    i = slot_of(key, mask)
    while keys[i] != -1:
        if keys[i] == key:
            return values[i]
        i = (i + 1) & mask
    return -1


@njit(cache=True, _nrt=False)
def token_hash(cp, start, end):
    """FNV-1a over a run of code points (a token's identity before verification)."""
    h = _FNV_OFFSET
    for k in range(start, end):
        h = (h ^ np.uint64(cp[k])) * _FNV_PRIME
    return np.int64(h >> np.uint64(1))


@njit(cache=True, _nrt=False)
def token_id(cp, start, end, tok_slots, tok_hash, tok_cp, tok_off):
    """Id of the known token spelled by cp[start:end], or -1; candidates are verified."""
    h = token_hash(cp, start, end)
    mask = tok_slots.shape[0] - 1
    i = slot_of(h, mask)
    n = end - start
    while tok_slots[i] != -1:
        t = tok_slots[i]
        if tok_hash[t] == h and tok_off[t + 1] - tok_off[t] == n:
            same = True
            base = tok_off[t]
            for k in range(n):
                if tok_cp[base + k] != cp[start + k]:
                    same = False
                    break
            if same:
                return t
        i = (i + 1) & mask
    return -1


@njit(cache=True, _nrt=False)
def tokenize_ids(cp, start, end, classes, tok_slots, tok_hash, tok_cp, tok_off, out, spans):
    """Token ids (-1 unknown) of `TOKEN_PATTERN` matches in cp[start:end]; returns the count.

    `spans[2k:2k+2]` receive token k's [start, end), for the lexicon's variant of the token.

    `(?u)\\b\\w[\\w'-]*\\w\\b|\\b\\w\\b` matches each maximal run of word characters,
    apostrophes and hyphens, with the run's leading and trailing apostrophes and hyphens
    removed (a run without a word character matches nothing).
    """
    n = 0
    i = start
    while i < end:
        c = cp[i]
        if (classes[c] & WORD) == 0 and c != APOSTROPHE and c != HYPHEN:
            i += 1
            continue
        j = i
        first, last = -1, -1
        while j < end:
            c = cp[j]
            if classes[c] & WORD:
                if first < 0:
                    first = j
                last = j
            elif c != APOSTROPHE and c != HYPHEN:
                break
            j += 1
        if first >= 0:
            out[n] = token_id(cp, first, last + 1, tok_slots, tok_hash, tok_cp, tok_off)
            spans[2 * n], spans[2 * n + 1] = first, last + 1
            n += 1
        i = j
    return n


@njit(cache=True, _nrt=False)
def lexicon_ids(cp, spans, n, tok_slots, tok_hash, tok_cp, tok_off, out):
    """Token ids as `lexicon.lexicon_tokens` reads them: a final possessive 's dropped."""
    for k in range(n):
        a, b = spans[2 * k], spans[2 * k + 1]
        if b - a > 2 and cp[b - 2] == APOSTROPHE and cp[b - 1] == 115:  # "'s"
            b -= 2
        out[k] = token_id(cp, a, b, tok_slots, tok_hash, tok_cp, tok_off)


@njit(cache=True, _nrt=False)
def trie_node(trie_keys, trie_values, n_tokens, ids, i, length):
    """The trie node reached by the token ids ids[i:i+length], or -1."""
    node = 0
    for k in range(length):
        t = ids[i + k]
        if t < 0:
            return -1
        node = lookup(trie_keys, trie_values, node * n_tokens + t)
        if node < 0:
            return -1
    return node


@njit(cache=True, _nrt=False)
def _emit(col, chunk, pos, indices, counts, owners, seen_stamp, seen_col, seen_at, stamp):
    """Count one occurrence of a column in the current text; returns the new length.

    `owners` keeps the chunk (str.split() word) that produced the column, -2 once two
    chunks have; word and lexicon columns pass chunk -1. The text's columns so far are an
    open-addressing table (`seen_*`, slots of other texts carry other stamps) small enough
    to stay in the fastest cache.
    """
    mask = seen_stamp.shape[0] - 1
    i = slot_of(col, mask)
    while seen_stamp[i] == stamp:
        if seen_col[i] == col:
            at = seen_at[i]
            counts[at] += 1.0
            if owners[at] != chunk:
                owners[at] = -2
            return pos
        i = (i + 1) & mask
    seen_stamp[i] = stamp
    seen_col[i] = col
    seen_at[i] = pos
    indices[pos] = col
    counts[pos] = 1.0
    owners[pos] = chunk
    return pos + 1


@njit(cache=True)
def _grow(indices, counts, owners, need):
    size = max(need, 2 * indices.shape[0])
    new_indices = np.empty(size, np.int32)
    new_counts = np.empty(size, np.float64)
    new_owners = np.empty(size, np.int64)
    new_indices[:indices.shape[0]] = indices
    new_counts[:counts.shape[0]] = counts
    new_owners[:owners.shape[0]] = owners
    return new_indices, new_counts, new_owners


@njit(cache=True)
def _part(array, layout, k):
    return array[layout[2 * k]:layout[2 * k + 1]]


@njit(cache=True)
def count_features(cp, offsets, classes, ints, int_layout, floats, float_layout):
    """CSR (indptr, indices, raw counts, float32 values) of every text's features, plus
    what evidence needs: each entry's owner chunk and each text's matched lexicon entries.

    Word and char columns appear in first-appearance order (words before chars, as
    scikit-learn's analyzers emit them) with occurrence counts; lexicon columns get scale x
    distinct entries. Values are TfidfTransformer's float32 arithmetic, with log(tf) + 1
    taken from a table numpy computed; a count beyond the table returns overflow=True (the
    caller then recomputes the values with numpy).
    """
    sc = _part(ints, int_layout, 0)
    tok_slots, tok_hash = _part(ints, int_layout, 1), _part(ints, int_layout, 2)
    tok_cp, tok_off = _part(ints, int_layout, 3), _part(ints, int_layout, 4)
    word_keys, word_values = _part(ints, int_layout, 5), _part(ints, int_layout, 6)
    word_cols, alphabet = _part(ints, int_layout, 7), _part(ints, int_layout, 8)
    char_keys, char_values = _part(ints, int_layout, 9), _part(ints, int_layout, 10)
    lex_keys, lex_values = _part(ints, int_layout, 11), _part(ints, int_layout, 12)
    lex_node_start = _part(ints, int_layout, 13)
    lex_node_entries, entry_cols = _part(ints, int_layout, 14), _part(ints, int_layout, 15)
    col_flags = _part(ints, int_layout, 16)
    idf, log_tf = _part(floats, float_layout, 0), _part(floats, float_layout, 1)
    lex_scale = _part(floats, float_layout, 2)[0]
    n_tokens, word_min, word_max, base = sc[0], sc[1], sc[2], sc[3]
    char_min, char_max, char_offset = sc[4], sc[5], sc[6]
    lex_max, lex_offset, n_lex_cols = sc[7], sc[8], sc[9]

    n_texts = offsets.shape[0] - 1
    indptr = np.zeros(n_texts + 1, np.int64)
    indices = np.empty(64 + 3 * (offsets[n_texts] - offsets[0]), np.int32)
    counts = np.empty(indices.shape[0], np.float64)
    owners = np.empty(indices.shape[0], np.int64)
    matched = np.empty(16, np.int64)
    matched_ptr = np.zeros(n_texts + 1, np.int64)
    n_matched = 0
    ids = np.empty(offsets[n_texts] - offsets[0] + 1, np.int64)
    lex_ids = np.empty(ids.shape[0], np.int64)
    spans = np.empty(2 * ids.shape[0], np.int64)
    digits = np.empty(64, np.int64)
    lex_count = np.zeros(max(n_lex_cols, 1), np.int64)
    entry_seen = np.full(max(entry_cols.shape[0], 1), -1, np.int64)
    seen_stamp = np.full(1024, -1, np.int64)
    seen_col = np.empty(1024, np.int64)
    seen_at = np.empty(1024, np.int64)
    word_flags = col_flags[0] if char_offset > 0 else 0
    char_flags = col_flags[char_offset] if lex_offset > char_offset else 0
    pos = 0
    for d in range(n_texts):
        stamp = d
        start, end = offsets[d], offsets[d + 1]
        length = end - start
        # worst case: every char position starts char n-grams of each length, plus words
        most = (length + 2) * 3 * (char_max - char_min + 2) + length * word_max + n_lex_cols + 8
        if pos + most > indices.shape[0]:
            indices, counts, owners = _grow(indices, counts, owners, pos + most)
        if 2 * most > seen_stamp.shape[0]:
            size = seen_stamp.shape[0]
            while size < 2 * most:
                size *= 2
            seen_stamp = np.full(size, -1, np.int64)
            seen_col = np.empty(size, np.int64)
            seen_at = np.empty(size, np.int64)
        n_ids = tokenize_ids(cp, start, end, classes, tok_slots, tok_hash, tok_cp, tok_off, ids,
                             spans)
        # words: n-grams of token ids, unigrams first (scikit-learn's _word_ngrams order)
        for n in range(word_min, word_max + 1):
            for i in range(n_ids - n + 1):
                node = trie_node(word_keys, word_values, n_tokens, ids, i, n)
                if node >= 0 and word_cols[node] >= 0:
                    pos = _emit(word_cols[node], -1, pos, indices, counts, owners,
                                seen_stamp, seen_col, seen_at, stamp)
        # chars: char_wb n-grams of each str.split() word padded with one space each side
        if char_keys.shape[0] > 0:
            i = start
            chunk = -1
            while True:
                i, j = next_chunk(cp, i, end, classes)
                if i >= end:
                    break
                w_len = j - i + 2
                chunk += 1
                if w_len > digits.shape[0]:
                    digits = np.empty(2 * w_len, np.int64)
                digits[0] = alphabet[32]
                digits[w_len - 1] = alphabet[32]
                for k in range(i, j):
                    c = cp[k]
                    digits[k - i + 1] = alphabet[c] if c < alphabet.shape[0] else 0
                for n in range(char_min, char_max + 1):
                    whole = n >= w_len  # a short word is counted once, whole
                    last = 1 if whole else w_len - n + 1
                    size = w_len if whole else n
                    for s in range(last):
                        key = 0
                        for k in range(s, s + size):
                            if digits[k] == 0:
                                key = -1
                                break
                            key = key * base + digits[k]
                        if key > 0:
                            col = lookup(char_keys, char_values, key)
                            if col >= 0:
                                pos = _emit(char_offset + col, chunk, pos, indices, counts,
                                            owners, seen_stamp, seen_col, seen_at, stamp)
                    if whole:
                        break
                i = j
        # lexicon: distinct entries whose token n-gram occurs, counted per lexicon column
        if n_lex_cols > 0:
            lexicon_ids(cp, spans, n_ids, tok_slots, tok_hash, tok_cp, tok_off, lex_ids)
            for i in range(n_ids):
                for n in range(1, min(lex_max, n_ids - i) + 1):
                    node = trie_node(lex_keys, lex_values, n_tokens, lex_ids, i, n)
                    if node < 0:
                        break
                    for e in range(lex_node_start[node], lex_node_start[node + 1]):
                        entry = lex_node_entries[e]
                        if entry_seen[entry] != stamp:
                            entry_seen[entry] = stamp
                            lex_count[entry_cols[entry]] += 1
                            if n_matched == matched.shape[0]:
                                grown = np.empty(2 * n_matched, np.int64)
                                grown[:n_matched] = matched
                                matched = grown
                            matched[n_matched] = entry
                            n_matched += 1
            for c in range(n_lex_cols):
                if lex_count[c] > 0:
                    indices[pos] = lex_offset + c
                    counts[pos] = lex_scale * lex_count[c]
                    owners[pos] = -1
                    pos += 1
                    lex_count[c] = 0
        indptr[d + 1] = pos
        matched_ptr[d + 1] = n_matched
    data = np.empty(pos, np.float32)
    overflow = False
    for e in range(pos):
        col = indices[e]
        flags = word_flags if col < char_offset else char_flags if col < lex_offset else 0
        value = np.float32(counts[e])
        if flags & LOGGED:
            c = np.int64(counts[e])
            if c < log_tf.shape[0]:
                value = np.float32(log_tf[c])
            else:
                overflow = True
        if flags & WEIGHTED:
            value = np.float32(np.float64(value) * idf[col])
        data[e] = value
    return (indptr, indices[:pos], counts[:pos], data, overflow, owners[:pos], matched_ptr,
            matched[:n_matched])


@njit(cache=True)
def sigmoid_exponents(indptr, indices, data, coef_t, intercept):
    """-clip(z, -35, 35) for the rows x topics decision values z of a CSR matrix (float32
    data) times dense weights: the exponent of `classifier._sigmoid`, whose exp numpy takes.

    Each row sums its entries in stored order in float64, as scipy's csr product does.
    """
    n_rows = indptr.shape[0] - 1
    n_topics = coef_t.shape[1]
    z = np.empty((n_rows, n_topics), np.float64)
    for r in range(n_rows):
        for k in range(n_topics):
            z[r, k] = 0.0
        for e in range(indptr[r], indptr[r + 1]):
            v = np.float64(data[e])
            col = indices[e]
            for k in range(n_topics):
                z[r, k] += v * coef_t[col, k]
        for k in range(n_topics):
            z[r, k] = -min(max(z[r, k] + intercept[k], -35.0), 35.0)
    return z


@njit(cache=True)
def fill_table(keys, values, size):
    """An open-addressing table (keys, values) of the non-negative int64 keys, for `lookup`."""
    table_keys = np.full(size, -1, np.int64)
    table_values = np.full(size, -1, np.int32)
    mask = size - 1
    for n in range(keys.shape[0]):
        i = slot_of(keys[n], mask)
        while table_keys[i] != -1 and table_keys[i] != keys[n]:
            i = (i + 1) & mask
        table_keys[i] = keys[n]
        table_values[i] = values[n]
    return table_keys, table_values


@njit(cache=True)
def token_hashes(tok_cp, tok_off):
    """Each spelled token's `token_hash` (token t is tok_cp[tok_off[t]:tok_off[t + 1]])."""
    out = np.empty(tok_off.shape[0] - 1, np.int64)
    for t in range(out.shape[0]):
        out[t] = token_hash(tok_cp, tok_off[t], tok_off[t + 1])
    return out


@njit(cache=True)
def token_slots(hashes, size):
    """Slots listing every token id under its hash (equal hashes get separate slots)."""
    slots = np.full(size, -1, np.int32)
    mask = size - 1
    for t in range(hashes.shape[0]):
        i = slot_of(hashes[t], mask)
        while slots[i] != -1:
            i = (i + 1) & mask
        slots[i] = t
    return slots
