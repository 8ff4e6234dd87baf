"""The actor scan against a straightforward reference: every capitalised word looked up.

The reference is the matcher's earlier algorithm (one regex step per capitalised word, each
alias compared with its own lower-cased slice); the trie scan must give exactly its mentions.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from model.actors import CONTEXT_WORDS, ActorMatcher, Mention, _resolve

CANDIDATE = re.compile(r"[A-ZÀ-ÖØ-ÞĀ-Ž]\w*")


def reference_find(matcher: ActorMatcher, text: str) -> list[Mention]:
    """Each capitalised run looked up whole in the table; the longest alias at a boundary."""
    found, covered, context = [], 0, False
    for match in CANDIDATE.finditer(text):
        start, word = match.start(), match.group(0)
        if start < covered or word not in matcher.table:
            continue
        context = context or word in CONTEXT_WORDS
        hit = None
        for alias in matcher.table[word]:
            end = start + len(alias.text)
            if text[start:end].lower() == alias.text.lower() and not (
                    end < len(text) and text[end].isalnum()):
                hit = alias
                break
        if hit is None:
            continue
        if len(matcher.table[word]) > 1 or hit.text != word or word in CONTEXT_WORDS:
            covered = start + len(hit.text)
        if hit.code is not None:
            found.append(Mention(hit.code, start, start + len(hit.text),
                                 text[start:start + len(hit.text)], hit.kind))
    return _resolve(text, found, matcher.cog_aliases) if context else found


@pytest.fixture(scope="module")
def matcher() -> ActorMatcher:
    return ActorMatcher.from_dir()


MATCHER = ActorMatcher.from_dir()
ALIAS_WORDS = sorted({a.text for aliases in MATCHER.table.values() for a in aliases})
def respelled(alias: str, random) -> str:
    """An alias with some letters' case swapped, some k as the Kelvin sign (lower case k)."""
    return "".join(random.choice([ch, ch.swapcase(), "\u212a" if ch in "kK" else ch])
                   for ch in alias)


PIECES = st.one_of(
    st.sampled_from(ALIAS_WORDS),
    st.sampled_from(ALIAS_WORDS).map(str.upper),
    st.sampled_from(ALIAS_WORDS).map(str.lower),
    st.tuples(st.sampled_from(ALIAS_WORDS), st.randoms()).map(lambda pair: respelled(*pair)),
    st.sampled_from(["eLibya", "3Libya", "McDonald", "TRIPOLI", "_Libya", "Libya_", "Libyan-",
                     "Éire", "ÉGYPTE", "Āland", "İstanbul", "Kelvin\u212a", "ſudan", "The",
                     "Georgia", "Atlanta", "Jordan", "Smith", "US", "THE US", "Congo",
                     "Brazzaville"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=4),
    st.sampled_from([" ", " ", "-", "'s ", ", ", "\n", "\x00", "’", "."]),
)
TEXTS = st.lists(PIECES, max_size=14).map("".join)


@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_scan_gives_the_reference_mentions(text):
    assert MATCHER.find(text) == reference_find(MATCHER, text)


@settings(max_examples=150, deadline=None)
@given(st.lists(TEXTS, max_size=6))
def test_batch_gives_each_text_its_own_mentions(texts):
    assert MATCHER.find_many(texts) == [MATCHER.find(t) for t in texts]


@settings(max_examples=150, deadline=None)
@given(st.lists(TEXTS, max_size=6))
def test_codes_scan_gives_the_reference_codes(texts):
    """The batch-cell scan (codes only, no Mention made) against the reference's mentions."""
    assert MATCHER.codes_many(texts) == [sorted({m.code for m in reference_find(MATCHER, t)})
                                         for t in texts]


@pytest.mark.parametrize("text, words", [
    ("eLibya and 3Libya", ["Libya", "Libya"]),  # no capital before it in the run
    ("McLibya and LibyaX", []),  # inside a run that starts with a capital; run goes on
    ("TRIPOLI and LIBYA", ["TRIPOLI", "LIBYA"]),
    ("Libya_ and _Libya", ["Libya"]),  # "_" is a word character before, not after
])
def test_word_boundaries(matcher, text, words):
    assert [m.text for m in matcher.find(text)] == words
    assert matcher.find(text) == reference_find(matcher, text)


def compiled(matcher: ActorMatcher, texts: list[str]):
    """The compiled pass alone: (each text's codes, whether it was sent to the scan)."""
    import itertools

    import numpy as np

    from model import actor_kernels
    from model.featurizer import code_points

    offsets = np.fromiter(itertools.accumulate(map(len, texts), initial=0), np.int64)
    indptr, ids, exact = actor_kernels.simple_codes(
        code_points("".join(texts)), offsets, *matcher.code_tables["arrays"])
    names = matcher.code_tables["names"]
    return [list(names[ids[a:b]]) for a, b in zip(indptr, indptr[1:])], exact.tolist()


@pytest.mark.parametrize("text", [
    "Saudi Arabia and Burkina Faso", "the Gambia, The Hague and THE GAMBIA",
    "Guinea-Bissau, Guinea and Papua New Guinea", "Saudi Arabia_x met Saudi arabians",
    "the United States of America and the United Nations", "Niger River or Niger",
    "Italian Republic and Italian", "McLibya, eLibya, 3Libya", "Security Council of Libya",
])
def test_compiled_pass_reads_longer_aliases_as_the_scan_does(matcher, text):
    """ASCII texts without context words stay in the compiled pass, and agree with it."""
    codes, exact = compiled(matcher, [text, "Libya"])
    assert exact == [False, False]
    assert codes == [sorted({m.code for m in reference_find(matcher, t)}) for t in [text, "Libya"]]


@pytest.mark.parametrize("text", ["The US and Jordan", "Saudi Arabİa", "Kinshasa, Congo"])
def test_context_words_and_non_ascii_spellings_go_to_the_scan(matcher, text):
    codes, exact = compiled(matcher, [text])
    assert exact == [True] and codes == [[]]
    assert matcher.codes_many([text]) == [sorted({m.code for m in reference_find(matcher, text)})]
