"""An article's partners: the governments it is about, ranked from its units' actors.

A country's weight is the number of units (headline and sentences) that name it, plus
`title_weight` when the headline names it and `lead_weight` for each of the first
`lead_sentences` sentences after the headline that does (the dateline and the lead say
whom the story is about). The partners are the countries whose weight reaches `keep_fraction` of
the top weight, at most `max_partners`, ranked by weight, then by first mention; the top
one is always kept. Organisations are never partners. The parameters were tuned on the
training articles only (`labels/sentences/articles-wire-*.csv` and the seed articles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class PartnerRule:
    """The ranking's few parameters (see the module docstring)."""

    title_weight: float = 2.0
    lead_weight: float = 1.0
    lead_sentences: int = 2
    keep_fraction: float = 0.5
    max_partners: int = 4


def partner_weights(units: Sequence[Sequence[str]], rule: PartnerRule) -> dict[str, float]:
    """Each country's weight; `units` are the country codes of each unit, headline first."""
    weights: dict[str, float] = {}
    for index, unit in enumerate(units):
        for code in dict.fromkeys(unit):
            weight = weights.get(code, 0.0) + 1.0
            if index == 0:
                weight += rule.title_weight
            elif index <= rule.lead_sentences:
                weight += rule.lead_weight
            weights[code] = weight
    return weights


def rank_partners(units: Sequence[Sequence[str]], rule: PartnerRule = PartnerRule()
                  ) -> list[str]:
    """The partners' codes, first to last (dicts keep first-mention order for ties)."""
    weights = partner_weights(units, rule)
    if not weights:
        return []
    top = max(weights.values())
    ranked = sorted(weights, key=lambda code: -weights[code])
    return [code for code in ranked if weights[code] >= rule.keep_fraction * top
            ][:max(rule.max_partners, 1)]
