"""An article's partners: the governments it is about, ranked from its units' actors.

A unit (the headline or a sentence) counts 1 for each country it names, or `place_weight`
when it names that country only as a place: after "in", "from", "off", "across"... ("boats
set out from Sfax in Tunisia") or as an origin ("a Pakistan-made pistol"), unless a
government word is next to it ("troops from Kyrgyzstan", "Italy's coast guard"). The
headline's count is multiplied by 1 + `title_weight`, and each of the first `lead_sentences`
sentences' by 1 + `lead_weight` (the dateline and lead say whom the story is about). The
partners are the countries whose weight reaches `keep_fraction` of the top weight, at most
`max_partners`, ranked by weight, then by first mention; the top one is always kept.
Organisations are never partners. The parameters were chosen by exact match on the training
articles only (`labels/sentences/articles-wire-*.csv` and the seed articles): among the
settings tied at the best, the one that changes fewest of the earlier defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

# A unit as the rule reads it: each country it names, True when named only as a place.
Unit = Mapping[str, bool]

PLACE_WORDS = frozenset("in from to into across near off along through bordering via toward "
                        "towards inside within around outside".split())
ORIGIN_SUFFIXES = ("-made", "-based", "-born", "-flagged", "-registered", "-bound")
GOVERNMENT_WORDS = frozenset(
    "government governments army armed forces troops police navy coast guard guards minister "
    "ministers ministry ambassador ambassadors envoy envoys embassy consulate officials "
    "authorities president prime military soldiers delegation counterpart counterparts "
    "trainers instructors officers special security border defence defense foreign interior "
    "intelligence gendarmerie air leader leaders king parliament cabinet command marines "
    "commandos diplomats diplomat".split())
WORD = re.compile(r"[\w'’-]+")
POSSESSIVE = ("'s", "’s")
LIST_JOIN = re.compile(r",? (?:and|or) (?:the )?|, (?:the )?")
CONTEXT = 40  # characters read on each side of a mention


@dataclass(frozen=True)
class PartnerRule:
    """The ranking's few parameters (see the module docstring)."""

    title_weight: float = 0.0
    lead_weight: float = 1.0
    lead_sentences: int = 2
    keep_fraction: float = 0.67
    max_partners: int = 4
    place_weight: float = 0.25


def mention_role(text: str, start: int, end: int) -> str | None:
    """"government" when a government word is next to the mention text[start:end], "place"
    when it names a country as where something is or comes from, else None."""
    after = text[end:end + CONTEXT]
    if after.startswith(POSSESSIVE):
        after = after[2:]
    if any(w.lower() in GOVERNMENT_WORDS for w in WORD.findall(after)[:2]):
        return "government"
    before = [w.lower() for w in WORD.findall(text[max(0, start - CONTEXT):start])[-3:]]
    if len(before) >= 2 and before[-1] in ("of", "from", "the") and \
            any(w in GOVERNMENT_WORDS for w in before[:-1]):
        return "government"  # "the Armed Forces of the Philippines", "troops from Russia"
    if after.lower().startswith(ORIGIN_SUFFIXES):
        return "place"
    if before and before[-1] == "the":
        before = before[:-1]
    return "place" if before and before[-1] in PLACE_WORDS else None


def unit_of(text: str, mentions, is_country: Callable[[str], bool]) -> dict[str, bool]:
    """The unit of one text from its actor mentions (anything with code, start and end).

    A mention listed right after a place ("from Egypt and Syria") is a place too.
    """
    unit: dict[str, bool] = {}
    previous_end, previous_place = None, False
    for m in sorted(mentions, key=lambda m: m.start):
        role = mention_role(text, m.start, m.end)
        place = role == "place" or (role is None and previous_place and
                                    LIST_JOIN.fullmatch(text[previous_end:m.start]) is not None)
        previous_end, previous_place = m.end, place
        if is_country(m.code):
            unit[m.code] = unit.get(m.code, True) and place
    return unit


def partner_weights(units: Sequence[Unit], rule: PartnerRule) -> dict[str, float]:
    """Each country's weight; `units` are the headline's first, then the sentences'."""
    weights: dict[str, float] = {}
    for index, unit in enumerate(units):
        bonus = rule.title_weight if index == 0 else (
            rule.lead_weight if index <= rule.lead_sentences else 0.0)
        for code, only_place in unit.items():
            count = rule.place_weight if only_place else 1.0
            weights[code] = weights.get(code, 0.0) + count * (1 + bonus)
    return weights


def rank_partners(units: Sequence[Unit], rule: PartnerRule = PartnerRule()) -> list[str]:
    """The partners' codes, first to last (dicts keep first-mention order for ties)."""
    weights = partner_weights(units, rule)
    if not weights:
        return []
    top = max(weights.values())
    ranked = sorted(weights, key=lambda code: -weights[code])
    return [code for code in ranked if weights[code] >= rule.keep_fraction * top
            ][:max(rule.max_partners, 1)]
