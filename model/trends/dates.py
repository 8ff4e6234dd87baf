"""A row's date, from what batch output carries (ISO strings mostly), and its period.

Accepted: ISO 8601 dates and datetimes (`2021-03-04`, `20210304`, `2021-03-04T10:00Z`,
with or without an offset: the date is the one written, not converted), dates with the
month spelled out (`4 March 2021`, `March 4, 2021`, `Mar 4 2021`), RFC 2822
(`Thu, 04 Mar 2021 10:00:00 +0000`), and date/datetime values (Parquet). All-numeric forms
such as `03/04/2021` are refused: day and month cannot be told apart.
"""

from __future__ import annotations

import datetime as dt
import email.utils

PERIODS = ("month", "week")
_NAMED_MONTH = ("%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y",
                "%d %B, %Y", "%d %b, %Y", "%A, %d %B %Y", "%A %d %B %Y")


def parse_date(value: object) -> dt.date:
    """The calendar date of a cell; ValueError with the reason when there is none."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("missing date")
    if not isinstance(value, str):
        raise ValueError(f"date is {type(value).__name__} {value!r}, not a string")
    text = value.strip()
    for parse in (dt.date.fromisoformat, _iso_datetime, _named_month, _rfc2822):
        try:
            return parse(text)
        except (ValueError, TypeError, IndexError):
            continue
    raise ValueError(f"unparseable date {text[:40]!r} (use ISO 8601, e.g. 2021-03-04; "
                     f"all-numeric forms like 03/04/2021 are ambiguous)")


def _iso_datetime(text: str) -> dt.date:
    return dt.datetime.fromisoformat(text).date()


def _named_month(text: str) -> dt.date:
    for pattern in _NAMED_MONTH:
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


def _rfc2822(text: str) -> dt.date:
    parsed = email.utils.parsedate_to_datetime(text)
    if parsed is None:
        raise ValueError(text)
    return parsed.date()


def period_of(day: dt.date, by: str) -> str:
    """`YYYY-MM` for months; the ISO week `YYYY-Www` for weeks (2021-01-01 is 2020-W53)."""
    if by == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if by == "week":
        year, week, _ = day.isocalendar()
        return f"{year:04d}-W{week:02d}"
    raise ValueError(f"unknown period {by!r}; use one of {', '.join(PERIODS)}")


def period_range(first: str, last: str, by: str) -> list[str]:
    """Every period from `first` to `last` inclusive, so a plot shows quiet periods as 0."""
    if by == "month":
        year, month = map(int, first.split("-"))
        end = tuple(map(int, last.split("-")))
        out = []
        while (year, month) <= end:
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out
    day = dt.date.fromisocalendar(int(first[:4]), int(first[6:]), 1)
    stop = dt.date.fromisocalendar(int(last[:4]), int(last[6:]), 1)
    out = []
    while day <= stop:
        out.append(period_of(day, "week"))
        day += dt.timedelta(days=7)
    return out
