"""Rows to units (an article's period, topics and partners) and units to count tables.

Both engines call these same functions on each chunk (local) or partition (Dask), and sum
the partial counts, so the tables are the same whichever engine made them. Each table counts
articles (for sentence units: rows), each article at most once per key:

- `topics`:   period, topic, articles
- `partners`: period, partner, topic, articles  (one row per partner of the article)
- `pairs`:    period, partner_a, partner_b, topic, articles (each unordered pair of the
  article's partners, partner_a < partner_b; an article with a single partner counts once
  with partner_b empty, its own affairs; an article with no partner is in `topics` only)
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import pandas as pd

from .dates import parse_date, period_of

TABLE_KEYS = {
    "topics": ["period", "topic"],
    "partners": ["period", "partner", "topic"],
    "pairs": ["period", "partner_a", "partner_b", "topic"],
}
UNIT_COLUMNS = ["line", "id", "period", "day", "topics", "partners", "kept", "reason"]


@dataclass(frozen=True)
class Options:
    """What to count: the period and the filters (a country among the partners, topics)."""

    by: str = "month"
    country: str | None = None
    topics: tuple[str, ...] | None = None


@functools.lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """ISO 3166 alpha-3 codes and Kosovo's XKX: the actors that are governments."""
    import pycountry

    return frozenset(c.alpha_3 for c in pycountry.countries) | {"XKX"}


def code_list(value: object, column: str) -> list[str]:
    """A cell of codes: a list (JSONL, Parquet) or `;`-joined (CSV); sorted, unique."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, str):
        items = value.split(";")
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise ValueError(f"column {column!r} is {type(value).__name__}, not a list of codes")
    if not all(isinstance(i, str) for i in items):
        raise ValueError(f"column {column!r} holds a value that is not a string")
    return sorted({i.strip() for i in items if i.strip()})


def to_units(rows, source, options: Options) -> pd.DataFrame:
    """One frame row per input row: its unit, or the reason it was refused (`reason`)."""
    out = []
    sentence_units = source.partner_column == "actors"
    for line, record, reason in rows:
        rid = None if record is None else record.get(source.id_column)
        rid = None if rid is None else str(rid)
        if reason is None:
            try:
                day = parse_date(record.get(source.date_column))
                topics = code_list(record.get("topics"), "topics")
                partners = code_list(record.get(source.partner_column), source.partner_column)
            except ValueError as exc:
                reason = str(exc).replace("missing date",
                                          f"missing date (column {source.date_column!r})")
        if reason is not None:
            out.append((line, rid, None, None, [], [], False, reason))
            continue
        if sentence_units:
            partners = [p for p in partners if p in country_codes()]
        if options.topics is not None:
            topics = [t for t in topics if t in options.topics]
        kept = (options.country is None or options.country in partners) and \
            (options.topics is None or bool(topics))
        out.append((line, rid, period_of(day, options.by), day.isoformat(), topics, partners,
                    kept, None))
    frame = pd.DataFrame(out, columns=UNIT_COLUMNS, dtype=object)  # None stays None
    return frame.astype({"line": "int64", "kept": "bool"})


def _pairs(partners: list[str]) -> list[tuple[str, str]]:
    if len(partners) == 1:
        return [(partners[0], "")]
    return list(itertools.combinations(partners, 2))  # partners are sorted: a < b


def table_rows(units: pd.DataFrame, table: str) -> pd.DataFrame:
    """One row per (article, key) of `table`, for the kept units."""
    kept = units[units["kept"]]
    records = []
    for period, topics, partners in zip(kept["period"], kept["topics"], kept["partners"]):
        if table == "topics":
            records.extend((period, t) for t in topics)
        elif table == "partners":
            records.extend((period, p, t) for p in partners for t in topics)
        else:
            records.extend((period, a, b, t) for a, b in _pairs(partners) for t in topics)
    return pd.DataFrame(records, columns=TABLE_KEYS[table], dtype=object)


def partial_counts(units: pd.DataFrame, table: str) -> pd.DataFrame:
    """Articles per key of `table` in one chunk: the keys and an int64 `articles` column."""
    rows = table_rows(units, table)
    counts = rows.groupby(TABLE_KEYS[table], sort=False).size()
    return counts.rename("articles").reset_index().astype({"articles": "int64"})


def merge_counts(frames: list[pd.DataFrame], table: str) -> pd.DataFrame:
    """Partial counts summed per key (the local engine's running total)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_table(table)
    merged = pd.concat(frames, ignore_index=True)
    return merged.groupby(TABLE_KEYS[table], sort=False)["articles"].sum().reset_index()


def empty_table(table: str) -> pd.DataFrame:
    return pd.DataFrame({**{k: pd.Series([], dtype=object) for k in TABLE_KEYS[table]},
                         "articles": pd.Series([], dtype="int64")})


def finish_table(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """The final table: sorted by its keys, plain strings and int64 counts, a fresh index."""
    keys = TABLE_KEYS[table]
    frame = frame.reset_index()[keys + ["articles"]] if set(keys) - set(frame.columns) \
        else frame[keys + ["articles"]]
    frame = frame.astype({**{k: str for k in keys}, "articles": "int64"})
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def partial_summary(units: pd.DataFrame) -> pd.DataFrame:
    """One row: rows read, counted, refused, and the first and last date counted."""
    dated = units.loc[units["kept"], "day"].dropna()
    return pd.DataFrame({"rows": [len(units)], "kept": [int(units["kept"].sum())],
                         "errors": [int(units["reason"].notna().sum())],
                         "first": [dated.min() if len(dated) else None],
                         "last": [dated.max() if len(dated) else None]})


def merge_summary(parts: pd.DataFrame) -> dict:
    firsts, lasts = parts["first"].dropna(), parts["last"].dropna()
    rows, errors, kept = (int(parts[c].sum()) for c in ("rows", "errors", "kept"))
    return {"rows_read": rows, "rows_counted": kept, "rows_filtered_out": rows - errors - kept,
            "rows_with_errors": errors, "first_date": firsts.min() if len(firsts) else None,
            "last_date": lasts.max() if len(lasts) else None}
