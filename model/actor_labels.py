"""Validate the actor labels of sentence rows: `actors` per sentence, `partners` per article.

They are the ground truth the actor extractor is measured against, so a typo in a code
would silently count as a miss; `sectag labels check` rejects it with file, line and column.
A code is an ISO 3166-1 alpha-3 country (pycountry, plus Kosovo's XKX) or an organisation
defined in labels/actors/countries.csv; partners are countries only.
"""

from __future__ import annotations

from .errors import Problem

CODE_SEPARATOR = ";"
ORGANISATION_SOURCE = "an organisation code of actors/countries.csv (kind organisation)"


def country_codes() -> frozenset[str]:
    """Every ISO 3166-1 alpha-3 code pycountry knows, plus the user-assigned ones (Kosovo)."""
    import pycountry

    from .actors import EXTRA_COUNTRIES

    return frozenset(c.alpha_3 for c in pycountry.countries) | frozenset(EXTRA_COUNTRIES)


def parse_codes(value: str) -> list[str]:
    return [c.strip() for c in value.split(CODE_SEPARATOR)] if value.strip() else []


def _check_cell(row, column: str, allowed: frozenset[str], kind: str,
                problems: list[Problem]) -> None:
    codes = parse_codes(row.get(column))
    for code in codes:
        if code not in allowed:
            problems.append(Problem(row.file, row.line, column, f"unknown code {code!r}: "
                                    f"expected {kind}"))
    if len(set(codes)) != len(codes):
        problems.append(Problem(row.file, row.line, column, "a code is listed twice"))
    elif codes != sorted(codes):
        problems.append(Problem(row.file, row.line, column, "codes are not sorted (write "
                                f"{CODE_SEPARATOR.join(sorted(codes))})"))


def check_actor_columns(rows: list, organisations: frozenset[str],
                        problems: list[Problem]) -> None:
    """Codes known, sorted and unique; partners countries only and the same across an article."""
    countries = country_codes()
    first_of_article: dict[str, object] = {}
    for row in rows:
        _check_cell(row, "actors", countries | organisations,
                    f"an ISO 3166-1 alpha-3 country or {ORGANISATION_SOURCE}", problems)
        _check_cell(row, "partners", countries,
                    "an ISO 3166-1 alpha-3 country (partners are governments only)", problems)
        if not row.article:
            if row.get("partners"):
                problems.append(Problem(row.file, row.line, "partners", "partners on a row "
                                        "that belongs to no article (leave it empty)"))
            continue
        first = first_of_article.setdefault(row.article, row)
        if row.get("partners") != first.get("partners"):
            problems.append(Problem(row.file, row.line, "partners", f"partners "
                                    f"{row.get('partners')!r} differ from "
                                    f"{first.get('partners')!r} at {first.file}:{first.line} "
                                    "(one article has one partners value)"))
