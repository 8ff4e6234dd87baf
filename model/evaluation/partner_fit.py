"""Fit the partner scorer's weights on labelled articles (see `model.partners`).

Logistic regression over every (article, named country) pair, the label being whether the
country is among the article's partners. The regularisation strength and the threshold are
chosen by leave-one-article-out exact match of the partner set, ties going to the stronger
regularisation and then the lower threshold. Run as a module to print the fitted rule:

    .venv/bin/python -m model.evaluation.partner_fit
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from ..partners import PartnerRule, Unit, partner_features, rank_partners

STRENGTHS = (0.1, 0.3, 1.0, 3.0, 10.0)  # scikit-learn's C: smaller is stronger
THRESHOLDS = (0.4, 0.5, 0.6)
DECIMALS = 3

Article = tuple[str, set[str], list[Unit]]


def _fit(articles: list[Article], strength: float, threshold: float,
         base: PartnerRule) -> PartnerRule:
    from sklearn.linear_model import LogisticRegression

    features, labels = [], []
    for _, truth, units in articles:
        codes, rows = partner_features(units, base.lead_sentences)
        features += rows
        labels += [code in truth for code in codes]
    model = LogisticRegression(C=strength, max_iter=1000).fit(features, labels)
    return replace(base, weights=tuple(round(float(w), DECIMALS) for w in model.coef_[0]),
                   bias=round(float(model.intercept_[0]), DECIMALS), threshold=threshold)


def exact_matches(articles: list[Article], rule: PartnerRule) -> int:
    return sum(set(rank_partners(units, rule)) == truth for _, truth, units in articles)


def fit_partner_rule(articles: list[Article], base: PartnerRule = PartnerRule()
                     ) -> tuple[PartnerRule, dict]:
    """(the rule fitted on all `articles`, the leave-one-out exact matches per setting)."""
    cv = {}
    for strength, threshold in itertools.product(STRENGTHS, THRESHOLDS):
        cv[(strength, threshold)] = sum(
            exact_matches([held], _fit(articles[:i] + articles[i + 1:], strength, threshold, base))
            for i, held in enumerate(articles))
    best = max(cv, key=lambda setting: (cv[setting], -setting[0], -setting[1]))
    return _fit(articles, *best, base), cv


def training_articles(labels_dir: str = "labels") -> list[Article]:
    """The labelled articles training may use: `sentences/` and the seed articles."""
    from ..actors import ActorMatcher
    from ..labels import load_labels
    from .actor_metrics import article_units, labelled

    rows = [r for r in labelled(load_labels(labels_dir, check_runs=False).rows, "partners")
            if r.article]
    return article_units(rows, ActorMatcher.from_dir())


def main() -> None:
    articles = training_articles()
    rule, cv = fit_partner_rule(articles)
    for (strength, threshold), hits in cv.items():
        print(f"C={strength:<5} threshold={threshold}: {hits}/{len(articles)} leave-one-out")
    print(f"fitted on {len(articles)} articles: {rule}")
    print(f"exact match on them: {exact_matches(articles, rule)}/{len(articles)}")


if __name__ == "__main__":
    main()
