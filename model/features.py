"""Text normalisation and tokenisation shared by the vectorizers and the evidence code.

Module-level named functions: pickle stores them by reference, so a saved
pipeline never holds a lambda.
"""

from __future__ import annotations

import re
import unicodedata

_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                         "\u2013": "-", "\u2014": "-", "\u00a0": " ", "\u202f": " "})
TOKEN_PATTERN = r"(?u)\b\w[\w'-]*\w\b|\b\w\b"
_TOKEN = re.compile(TOKEN_PATTERN)


def normalize_text(text: str) -> str:
    """NFKC, lower case, plain quotes and every number as '0' (figures vary, topics don't).

    ASCII text is its own NFKC form and holds no curly quote: only lower case and figures
    apply (a third of a one-sentence call's normalising otherwise)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return _DIGITS.sub("0", text.lower())


def tokenize(normalized: str) -> list[str]:
    """Word tokens of an already normalized text, the same ones the word vectorizer sees."""
    return _TOKEN.findall(normalized)
