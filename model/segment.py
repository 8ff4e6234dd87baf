"""Split an article into sentences with character spans.

Every line is its own unit first (headlines, bylines and captions have no final
full stop), then lines are cut after . ! ? when the next word starts a new
sentence and the word before is not a known abbreviation or an initial.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ABBREVIATIONS = frozenset("""
mr mrs ms dr prof gen brig col lt maj capt sgt cdr adm gov sen rep st jr sr messrs
no nos vol fig approx est dept govt inc ltd co corp jan feb mar apr jun jul aug sep
sept oct nov dec vs etc al e.g i.e u.s u.k u.n a.m p.m
""".split())

# A candidate boundary: terminal punctuation, optional closing quotes/brackets, spaces.
_BOUNDARY = re.compile(r"""[.!?]+['"\u2019\u201d)\]]*\s+""")
_NEXT_STARTS_SENTENCE = re.compile(r"""['"\u2018\u201c(\[]?[A-Z0-9\u00C0-\u024F]""")
_WORD_BEFORE = re.compile(r"([\w.]+)[.!?]*['\"\u2019\u201d)\]]*\s*$")


@dataclass(frozen=True)
class Sentence:
    """A sentence and its [start, end) character span in the source text."""

    text: str
    start: int
    end: int


def _is_abbreviation(before: str) -> bool:
    match = _WORD_BEFORE.search(before)
    if not match:
        return False
    word = match.group(1).lower().rstrip(".")
    if len(word) == 1 and word.isalpha():
        return True  # an initial: "J. Smith"
    return word in ABBREVIATIONS


def _split_line(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, cut = [], start
    for match in _BOUNDARY.finditer(text, start, end):
        after = match.end()
        if after >= end or not _NEXT_STARTS_SENTENCE.match(text, after):
            continue
        punct_end = match.end() - len(match.group(0)) + len(match.group(0).rstrip())
        if match.group(0)[0] == "." and _is_abbreviation(text[cut:match.start() + 1]):
            continue
        spans.append((cut, punct_end))
        cut = after
    spans.append((cut, end))
    return spans


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of `text` in order, whitespace-trimmed, each with its span in `text`."""
    out = []
    for line in re.finditer(r"[^\n\r]+", text):
        for s, e in _split_line(text, line.start(), line.end()):
            piece = text[s:e]
            lead = len(piece) - len(piece.lstrip())
            trail = len(piece) - len(piece.rstrip())
            if piece.strip():
                out.append(Sentence(piece.strip(), s + lead, e - trail))
    return out
