"""Actor precision, recall and F1 per sentence, and article-partner exact match.

The truth is a label file's `actors` column (each row's codes, `;`-joined) and `partners`
column (the article's partners, the same on each of its rows). A file counts as labelled
when some row has a value in the column. Actors are found by rule, not learned, so the
figures are the same with or without cross-validation; the partner rule's parameters were
tuned on the training articles only, so the test file is the honest figure for partners.
"""

from __future__ import annotations

from dataclasses import asdict

from ..actors import ActorMatcher
from ..partners import PartnerRule, Unit, rank_partners, unit_of

SEPARATOR = ";"
ERRORS_SHOWN = 30


def _codes(value: str) -> set[str]:
    return {c.strip() for c in value.split(SEPARATOR) if c.strip()}


def labelled(rows, column: str) -> list:
    """The rows of the files where some row has a value in `column`."""
    files = {row.file for row in rows if row.get(column)}
    return [row for row in rows if row.file in files]


def sentence_actors(rows, predicted: list[list[str]]) -> dict:
    """Micro precision, recall, F1 over (sentence, code) pairs, and the sentences wrong."""
    tp = fp = fn = 0
    wrong = []
    for row, found in zip(rows, predicted):
        truth, pred = _codes(row.get("actors")), set(found)
        tp, fp, fn = tp + len(truth & pred), fp + len(pred - truth), fn + len(truth - pred)
        if truth != pred:
            wrong.append({"id": row.id, "text": row.text, "true": sorted(truth),
                          "found": sorted(pred)})
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"sentences": len(rows), "true_actors": tp + fn, "precision": round(precision, 4),
            "recall": round(recall, 4), "f1": round(f1, 4), "sentences_wrong": len(wrong),
            "wrong": wrong[:ERRORS_SHOWN]}


def article_units(rows, matcher: ActorMatcher) -> list[tuple[str, set[str], list[Unit]]]:
    """(article, true partners, each row's unit as the partner rule reads it) per article,
    in file order; an article's first row is its headline."""
    articles: dict[str, tuple[set[str], list[Unit]]] = {}
    for row, mentions in zip(rows, matcher.find_many([r.text for r in rows])):
        if not row.article:
            continue
        truth, units = articles.setdefault(row.article, (_codes(row.get("partners")), []))
        units.append(unit_of(row.text, mentions, matcher.is_country))
    return [(name, truth, units) for name, (truth, units) in articles.items()]


def partner_match(articles, rule: PartnerRule) -> dict:
    """Exact match of the found partner set with the labelled one, and the misses."""
    misses = []
    for name, truth, units in articles:
        found = rank_partners(units, rule)
        if set(found) != truth:
            misses.append({"article": name, "true": sorted(truth), "found": found})
    n = len(articles)
    return {"articles": n, "exact_match": round((n - len(misses)) / n, 4) if n else None,
            "wrong": misses}


def actor_results(rows, matcher: ActorMatcher, rule: PartnerRule) -> dict | None:
    """Sentence actors and article partners on the labelled rows, or None if none are."""
    with_actors = labelled(rows, "actors")
    with_partners = [r for r in labelled(rows, "partners") if r.article]
    if not with_actors and not with_partners:
        return None
    out = {"sentences": None, "partners": None, "rule": asdict(rule)}
    if with_actors:
        out["sentences"] = sentence_actors(
            with_actors, matcher.codes_many([r.text for r in with_actors]))
    if with_partners:
        out["partners"] = partner_match(article_units(with_partners, matcher), rule)
    return out
