"""numba kernel of the batch-cell actor pass: the codes of words that name an actor alone.

The regex scan of `ActorMatcher` costs a Python step per capitalised word; in a batch most
of those words name their actor whole ("Libya", "Tripoli", "NATO"). This kernel reads each
text's word-character runs once, takes from every run its candidate (from the run's first
capital to its end, as the scan does), and looks the candidate up among the table's keys:
a simple key gives its code; any other key (longer aliases, context rules) sends the whole
text back to the exact Python scan, so nothing the scan would decide differently is
decided here.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .featurizer_kernels import token_id
from .kernel_constants import ACTOR_EXACT as EXACT
from .kernel_constants import ACTOR_IGNORED as IGNORED
from .kernel_constants import WORD


@njit(cache=True, _nrt=False)
def _insert_sorted(out, start, n, code):
    """Insert `code` into the sorted distinct out[start:n]; returns the new n."""
    p = n
    while p > start and out[p - 1] > code:
        p -= 1
    if p > start and out[p - 1] == code:
        return n
    for q in range(n, p, -1):
        out[q] = out[q - 1]
    out[p] = code
    return n + 1


@njit(cache=True, _nrt=False)
def _is_ascii(cp, start, stop):
    for k in range(start, stop):
        if cp[k] > 127:
            return False
    return True


@njit(cache=True, _nrt=False)
def _tail_at(cp, at, end, classes, tail_cp, tail_off, tails_from, tails_to):
    """The first of tails[tails_from:tails_to] (longest first) that the text spells at `at`,
    case aside, before a character that is not a letter or digit; -1 for none."""
    for t in range(tails_from, tails_to):
        a, b = tail_off[t], tail_off[t + 1]
        stop = at + b - a
        if stop > end:
            continue
        same = True
        for k in range(b - a):
            c = cp[at + k]
            if 65 <= c <= 90:
                c += 32
            if c != tail_cp[a + k]:
                same = False
                break
        if same and (stop == end or (classes[cp[stop]] & WORD) == 0 or cp[stop] == 95):
            return t
    return -1


@njit(cache=True)
def simple_codes(cp, offsets, classes, capital, tok_slots, tok_hash, tok_cp, tok_off,
                 key_code, key_span, tail_ptr, tail_cp, tail_off, tail_code):
    """(indptr, code ids, exact): per text its sorted distinct code ids (CSR), or for a
    text flagged `exact` none, since it holds a key only the Python scan can read.

    `capital[c]` says whether code point c (below the table's length) may start an alias.
    Key k names `key_code[k]` alone (a code id or `IGNORED`) unless one of its tails
    (`tail_ptr[k]:tail_ptr[k + 1]`, lower case, longest first) follows it, which names
    `tail_code[t]` and covers the tail; `EXACT` keys go to the Python scan. The scan reads
    a key's next `key_span[k]` characters as `Spellings.longest` does when they are ASCII;
    when they are not, the text goes to the scan too.
    """
    n_texts = offsets.shape[0] - 1
    indptr = np.zeros(n_texts + 1, np.int64)
    out = np.empty((offsets[n_texts] - offsets[0]) // 2 + 1, np.int32)
    exact = np.zeros(n_texts, np.bool_)
    n_capital = capital.shape[0]
    n = 0
    for t in range(n_texts):
        begin = n
        i, end = offsets[t], offsets[t + 1]
        covered = i
        while i < end:
            if (classes[cp[i]] & WORD) == 0:
                i += 1
                continue
            first = -1
            j = i
            while j < end and classes[cp[j]] & WORD:
                if first < 0 and cp[j] < n_capital and capital[cp[j]]:
                    first = j
                j += 1
            i = j
            if first < covered:
                continue
            k = token_id(cp, first, j, tok_slots, tok_hash, tok_cp, tok_off)
            if k < 0:
                continue
            code = key_code[k]
            if code == EXACT:
                exact[t] = True
                break
            if tail_ptr[k] < tail_ptr[k + 1]:
                if not _is_ascii(cp, first, min(first + key_span[k], end)):
                    exact[t] = True
                    break
                tail = _tail_at(cp, j, end, classes, tail_cp, tail_off, tail_ptr[k],
                                tail_ptr[k + 1])
                if tail >= 0:
                    code = tail_code[tail]
                    covered = j + tail_off[tail + 1] - tail_off[tail]
            if code != IGNORED:
                n = _insert_sorted(out, begin, n, code)
        if exact[t]:
            n = begin
        indptr[t + 1] = n
    return indptr, out[:n], exact
