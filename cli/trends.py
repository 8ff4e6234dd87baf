"""`sectag trends`: articles per period x topic and x partner pair, from `sectag batch` output."""

from __future__ import annotations

import argparse
from pathlib import Path

from model.errors import SectagError


def cmd_trends(args) -> int:
    from model.trends import Options, run_trends

    if not args.input.is_file():
        raise UsageError(f"no such file: {args.input}")
    from model.trends.count import country_codes

    country = args.country.upper() if args.country else None
    if country is not None and country not in country_codes():
        raise UsageError(f"--country {args.country!r} is not an ISO 3166 alpha-3 code "
                         f"(e.g. LBY, GBR, KOR)")
    topics = tuple(t.strip() for t in args.topic.split(",") if t.strip()) if args.topic else None
    options = Options(by=args.by, country=country, topics=topics)
    try:
        s = run_trends(str(args.input), str(args.out), options, fmt=args.format,
                       date_column=args.date_column, id_column=args.id_column,
                       engine=args.engine, chunk_size=args.chunk_size,
                       scheduler=args.scheduler, workers=args.workers, quiet=args.quiet)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    except OSError as exc:
        raise SectagError(f"trends failed: {exc}") from exc
    print(f"{s['rows_read']} rows read: {s['rows_counted']} counted, {s['rows_filtered_out']} "
          f"filtered out, {s['rows_with_errors']} refused -> {s['out']}/errors.jsonl; dates "
          f"{s['first_date']} to {s['last_date']}; tables and trends.html in {s['out']}")
    return 0


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


class UsageError(SectagError):
    """The input cannot be used as asked (exit code 2, like an argparse error)."""

    exit_code = 2


def register(sub) -> None:
    p = sub.add_parser("trends", help="count articles per period, topic and partner pair")
    p.add_argument("input", type=Path, help="`sectag batch` output (.jsonl, .csv, .parquet)")
    p.add_argument("--out", type=Path, default=Path("trends"), help="output folder")
    p.add_argument("--by", choices=["month", "week"], default="month",
                   help="period: YYYY-MM, or ISO week YYYY-Www")
    p.add_argument("--country", help="only articles with this partner (alpha-3, e.g. LBY)")
    p.add_argument("--topic", help="only these topics (comma-separated)")
    p.add_argument("--date-column", default="date", help="column with each row's date")
    p.add_argument("--id-column", default="id")
    p.add_argument("--format", choices=["csv", "jsonl", "parquet"], help="input format")
    p.add_argument("--chunk-size", type=positive, default=5000, help="rows per chunk (memory bound)")
    p.add_argument("--engine", choices=["local", "dask"], default="local")
    p.add_argument("--scheduler", help="Dask scheduler address, or threads/synchronous")
    p.add_argument("--workers", type=positive, default=2, help="local Dask worker processes")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_trends)
