"""An article's partners: the governments it is about, scored from its units' actors.

A unit (the headline or a sentence) names each country either as a government or only as a
place: after "in", "from", "off", "across"... ("boats set out from Sfax in Tunisia") or as an
origin ("a Pakistan-made pistol"), unless a government word is next to it ("troops from
Kyrgyzstan", "Italy's coast guard"). Each country the article names gets a few features
(`FEATURES`: how many units name it, relative to the most named; whether the headline and
the lead name it; how often as a place and as a government; how late it first appears; how
often it shares a unit with the most named country) and a logistic score. The partners are
the countries scoring at least `threshold`, best first (at most `max_partners`); when none
does, the best one alone. Organisations are never partners.

The weights were fitted by logistic regression on the training articles only
(`labels/sentences/articles-wire-*.csv` and the seed articles), the regularisation and the
threshold chosen by leave-one-article-out exact match: `model.evaluation.partner_fit`
refits them, and a test checks that the defaults here are what it gives. A weighted count
with hand-set headline and lead bonuses did worse on the held-out articles (0.750 vs 0.833
exact match) and its grid-searched settings worse still: too few articles for a grid.
"""

from __future__ import annotations

import math
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


FEATURES = ("log units", "units / most units", "in headline", "in lead", "log place units",
            "log government units", "first unit / units", "log units with the most named")


@dataclass(frozen=True)
class PartnerRule:
    """The scorer's weights (one per `FEATURES` entry), bias and cut (see the module
    docstring); the defaults are the fit on the training articles."""

    weights: tuple[float, ...] = (0.975, 0.844, 0.51, 0.893, 0.074, 1.077, -0.476, -0.227)
    bias: float = -3.851
    threshold: float = 0.5
    lead_sentences: int = 2
    max_partners: int = 4


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


def partner_features(units: Sequence[Unit], lead_sentences: int = 2
                     ) -> tuple[list[str], list[list[float]]]:
    """(the countries in first-mention order, each one's `FEATURES` row); `units` are the
    headline's first, then the sentences'."""
    seen: dict[str, list[int]] = {}
    for index, unit in enumerate(units):
        for code in unit:
            seen.setdefault(code, []).append(index)
    if not seen:
        return [], []
    most = max(seen, key=lambda code: len(seen[code]))  # first named wins a tie
    most_units, n = len(seen[most]), len(units)
    rows = []
    for code, where in seen.items():
        place = sum(units[i][code] for i in where)
        shared = 0 if code == most else sum(most in units[i] for i in where)
        rows.append([math.log1p(len(where)), len(where) / most_units, float(where[0] == 0),
                     float(any(1 <= i <= lead_sentences for i in where)), math.log1p(place),
                     math.log1p(len(where) - place), where[0] / n, math.log1p(shared)])
    return list(seen), rows


def partner_scores(units: Sequence[Unit], rule: PartnerRule = PartnerRule()
                   ) -> dict[str, float]:
    """Each named country's score in [0, 1], in first-mention order."""
    codes, rows = partner_features(units, rule.lead_sentences)
    return {code: 1 / (1 + math.exp(-(rule.bias + sum(w * x for w, x in zip(rule.weights, row)))))
            for code, row in zip(codes, rows)}


def rank_partners(units: Sequence[Unit], rule: PartnerRule = PartnerRule()) -> list[str]:
    """The partners' codes, best first (ties in first-mention order)."""
    scores = partner_scores(units, rule)
    ranked = sorted(scores, key=lambda code: -scores[code])
    kept = [code for code in ranked if scores[code] >= rule.threshold] or ranked[:1]
    return kept[:max(rule.max_partners, 1)]
