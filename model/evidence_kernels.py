"""numba kernel of evidence: a batch's evidence words from its feature rows, in one call.

`evidence_words` does for every (text, topic) pair what `evidence.reference_evidence` does
in Python: rank the text's positive contributions (stable, strongest first), keep the
strongest EVIDENCE_FEATURES, share each among the words that own its feature, and rank the
words by (-total, word) among the terms. Words are integers: a "known" string (a word
vocabulary token, a stop word, a lexicon entry name: see `EvidenceFinder`) by its id, any
other word of the text by -1 - the first chunk that spells it, so equal strings are equal
integers and every comparison stays exact.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .featurizer_kernels import next_chunk, token_id
from .kernel_constants import DIGIT, WORD
from .kernel_constants import EMPTY_CHUNK as EMPTY


@njit(cache=True, _nrt=False)
def _compare(x, xa, xb, y, ya, yb):
    """Python's str comparison of x[xa:xb] and y[ya:yb] (code points): -1, 0 or 1."""
    n = min(xb - xa, yb - ya)
    for k in range(n):
        if x[xa + k] != y[ya + k]:
            return -1 if x[xa + k] < y[ya + k] else 1
    if xb - xa == yb - ya:
        return 0
    return -1 if xb - xa < yb - ya else 1


@njit(cache=True, _nrt=False)
def _text_chunks(cp, start, end, classes, known_slots, known_hash, known_cp, known_off,
                 chunk_start, chunk_end, word_start, word_end, ref):
    """The str.split() chunks of cp[start:end], their words (edge non-word characters
    stripped, as `^\\W+|\\W+$` does) and each word's integer; returns the chunk count."""
    n = 0
    i = start
    while True:
        i, j = next_chunk(cp, i, end, classes)
        if i >= end:
            break
        first, last = -1, -1
        for k in range(i, j):
            if classes[cp[k]] & WORD:
                if first < 0:
                    first = k
                last = k
        chunk_start[n], chunk_end[n] = i, j
        if first < 0:
            word_start[n], word_end[n], ref[n] = i, i, EMPTY
        else:
            word_start[n], word_end[n] = first, last + 1
            known = token_id(cp, first, last + 1, known_slots, known_hash, known_cp, known_off)
            if known >= 0:
                ref[n] = known
            else:
                ref[n] = -1 - n
                for m in range(n):  # an earlier chunk with the same word speaks for it
                    if ref[m] < 0 and ref[m] != EMPTY and _compare(
                            cp, word_start[m], word_end[m], cp, first, last + 1) == 0:
                        ref[n] = ref[m]
                        break
        n += 1
        i = j
    return n


@njit(cache=True, _nrt=False)
def _in_padded(name_cp, a, b, cp, start, end):
    """Whether name_cp[a:b] occurs in " " + cp[start:end] + " " (char_wb's padding)."""
    n, length = b - a, end - start + 2
    for s in range(length - n + 1):
        same = True
        for k in range(n):
            p = s + k
            c = 32 if p == 0 or p == length - 1 else cp[start + p - 1]
            if c != name_cp[a + k]:
                same = False
                break
        if same:
            return True
    return False


@njit(cache=True, _nrt=False)
def _is_extra_term(cp, a, b, classes):
    """is_term of a word outside the known strings: not digits once edge '0's are stripped."""
    while a < b and cp[a] == 48:
        a += 1
    while b > a and cp[b - 1] == 48:
        b -= 1
    if a == b:
        return True
    for k in range(a, b):
        if (classes[cp[k]] & DIGIT) == 0:
            return True
    return False


@njit(cache=True, _nrt=False)
def _add(word, share, acc_ref, acc_val, n_acc):
    for q in range(n_acc):
        if acc_ref[q] == word:
            acc_val[q] += share
            return n_acc
    acc_ref[n_acc] = word
    acc_val[n_acc] = share
    return n_acc + 1


@njit(cache=True, _nrt=False)
def _before(r1, v1, r2, v2, cp, word_start, word_end, known_cp, known_off):
    """Whether word r1 (total v1) ranks before r2 (total v2): larger total, then smaller word."""
    if v1 != v2:
        return v1 > v2
    if r1 >= 0 and r2 >= 0:
        c = _compare(known_cp, known_off[r1], known_off[r1 + 1],
                     known_cp, known_off[r2], known_off[r2 + 1])
    elif r1 >= 0:
        m = -1 - r2
        c = _compare(known_cp, known_off[r1], known_off[r1 + 1], cp, word_start[m], word_end[m])
    elif r2 >= 0:
        m = -1 - r1
        c = _compare(cp, word_start[m], word_end[m], known_cp, known_off[r2], known_off[r2 + 1])
    else:
        m1, m2 = -1 - r1, -1 - r2
        c = _compare(cp, word_start[m1], word_end[m1], cp, word_start[m2], word_end[m2])
    return c < 0


@njit(cache=True)
def evidence_words(cp, offsets, indptr, indices, data, owners, matched_ptr, matched, coef_t,
                   pair_text, pair_topic, classes, known_slots, known_hash, known_cp,
                   known_off, known_term, word_owner_ptr, word_owner_ids, char_start,
                   lex_start, char_name_cp, char_name_off, entry_col, entry_name,
                   n_features, terms):
    """Per (text, topic) pair (pairs grouped by text), its evidence words, best first.

    Returns (out_ptr, out_a, out_b): pair p's words are out_ptr[p]:out_ptr[p + 1], each a
    known string id (out_b = -1) or the code-point span [out_a, out_b) of the text.
    """
    n_pairs = pair_text.shape[0]
    out_ptr = np.zeros(n_pairs + 1, np.int64)
    out_a = np.empty(n_pairs * terms, np.int64)
    out_b = np.empty(n_pairs * terms, np.int64)
    top_e = np.empty(n_features, np.int64)
    top_c = np.empty(n_features, np.float64)
    size = 64
    chunk_start = np.empty(size, np.int64)
    chunk_end = np.empty(size, np.int64)
    word_start = np.empty(size, np.int64)
    word_end = np.empty(size, np.int64)
    ref = np.empty(size, np.int64)
    acc_ref = np.empty(16, np.int64)
    acc_val = np.empty(16, np.float64)
    group = np.empty(16, np.int64)
    n_out = 0
    current = -1
    n_chunks = 0
    for p in range(n_pairs):
        t, j = pair_text[p], pair_topic[p]
        if t != current:
            current = t
            length = offsets[t + 1] - offsets[t]
            if length + 1 > size:
                size = 2 * (length + 1)
                chunk_start = np.empty(size, np.int64)
                chunk_end = np.empty(size, np.int64)
                word_start = np.empty(size, np.int64)
                word_end = np.empty(size, np.int64)
                ref = np.empty(size, np.int64)
            n_chunks = _text_chunks(cp, offsets[t], offsets[t + 1], classes, known_slots,
                                    known_hash, known_cp, known_off, chunk_start, chunk_end,
                                    word_start, word_end, ref)
            need = 2 * n_chunks + 64
            if group.shape[0] < need:
                group = np.empty(need, np.int64)
        # the strongest positive contributions, stable (earlier entries win ties)
        n_top = 0
        for e in range(indptr[t], indptr[t + 1]):
            c = np.float64(data[e]) * coef_t[indices[e], j]
            if c <= 0.0 or (n_top == n_features and c <= top_c[n_features - 1]):
                continue
            q = n_top if n_top < n_features else n_features - 1
            if n_top < n_features:
                n_top += 1
            while q > 0 and top_c[q - 1] < c:
                top_c[q], top_e[q] = top_c[q - 1], top_e[q - 1]
                q -= 1
            top_c[q], top_e[q] = c, e
        # share each among the words owning its feature
        n_acc = 0
        for r in range(n_top):
            e, c = top_e[r], top_c[r]
            col = indices[e]
            n_group = 0
            if col < char_start:
                for g in range(word_owner_ptr[col], word_owner_ptr[col + 1]):
                    group[n_group] = word_owner_ids[g]
                    n_group += 1
            elif col < lex_start:
                chunk = owners[e]
                if chunk >= 0:
                    if ref[chunk] != EMPTY:
                        group[0] = ref[chunk]
                        n_group = 1
                else:
                    a, b = char_name_off[col - char_start], char_name_off[col - char_start + 1]
                    for m in range(n_chunks):
                        if ref[m] == EMPTY or not _in_padded(char_name_cp, a, b, cp,
                                                              chunk_start[m], chunk_end[m]):
                            continue
                        n_group = _add_unique(group, n_group, ref[m])
            else:
                for g in range(matched_ptr[t], matched_ptr[t + 1]):
                    entry = matched[g]
                    if entry_col[entry] == col - lex_start and entry_name[entry] >= 0:
                        if n_group + 1 > group.shape[0]:
                            grown = np.empty(2 * group.shape[0], np.int64)
                            grown[:n_group] = group[:n_group]
                            group = grown
                        n_group = _add_unique(group, n_group, entry_name[entry])
            if n_acc + n_group > acc_ref.shape[0]:
                grown_ref = np.empty(2 * (n_acc + n_group), np.int64)
                grown_val = np.empty(2 * (n_acc + n_group), np.float64)
                grown_ref[:n_acc] = acc_ref[:n_acc]
                grown_val[:n_acc] = acc_val[:n_acc]
                acc_ref, acc_val = grown_ref, grown_val
            for g in range(n_group):
                n_acc = _add(group[g], c / n_group, acc_ref, acc_val, n_acc)
        # keep the terms, then pick the best `terms` of them in rank order
        n_terms = 0
        for q in range(n_acc):
            r = acc_ref[q]
            if r >= 0:
                keep = known_term[r] != 0
            else:
                m = -1 - r
                keep = _is_extra_term(cp, word_start[m], word_end[m], classes)
            if keep:
                acc_ref[n_terms], acc_val[n_terms] = r, acc_val[q]
                n_terms += 1
        for k in range(min(terms, n_terms)):
            best = k
            for q in range(k + 1, n_terms):
                if _before(acc_ref[q], acc_val[q], acc_ref[best], acc_val[best], cp,
                           word_start, word_end, known_cp, known_off):
                    best = q
            acc_ref[k], acc_ref[best] = acc_ref[best], acc_ref[k]
            acc_val[k], acc_val[best] = acc_val[best], acc_val[k]
            r = acc_ref[k]
            if r >= 0:
                out_a[n_out], out_b[n_out] = r, -1
            else:
                out_a[n_out], out_b[n_out] = word_start[-1 - r], word_end[-1 - r]
            n_out += 1
        out_ptr[p + 1] = n_out
    return out_ptr, out_a[:n_out], out_b[:n_out]


@njit(cache=True, _nrt=False)
def _add_unique(group, n_group, word):
    for g in range(n_group):
        if group[g] == word:
            return n_group
    group[n_group] = word
    return n_group + 1
