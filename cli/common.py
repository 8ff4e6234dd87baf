"""Options and helpers that every command group shares."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def path_option(parser, name: str, env: str, default: str, help_text: str) -> None:
    parser.add_argument(f"--{name}", type=Path, default=Path(os.environ.get(env, default)),
                        help=f"{help_text} (env {env}, default: %(default)s)")


def add_review_db(parser, default: str | None = "reviews/reviews.sqlite3") -> None:
    """--review-db: a SQLite path or a postgresql:// URL (a string: Path would fold the //)."""
    parser.add_argument("--review-db", default=os.environ.get("SECTAG_REVIEW_DB", default),
                        help="review store: a SQLite file, sqlite:///PATH or "
                             "postgresql://USER@HOST:PORT/DB (env SECTAG_REVIEW_DB, default: "
                             "reviews/reviews.sqlite3)")


def add_common(parser) -> None:
    """--labels, --seeds and --registry, with their environment variables."""
    path_option(parser, "labels", "SECTAG_LABELS", "labels", "label folder")
    path_option(parser, "seeds", "SECTAG_SEEDS", "seeds", "seed article folder")
    parser.add_argument("--registry", default=os.environ.get("SECTAG_REGISTRY", "registry"),
                        help="model registry: a folder or an fsspec URL such as "
                             "s3://bucket/sectag (env SECTAG_REGISTRY, default: %(default)s)")
    parser.add_argument("--registry-options", metavar="JSON",
                        default=os.environ.get("SECTAG_REGISTRY_OPTIONS", ""),
                        help='fsspec storage options for a registry URL, e.g. '
                             '\'{"endpoint_url": "http://127.0.0.1:9000"}\' (env '
                             "SECTAG_REGISTRY_OPTIONS; credentials come from AWS_* as usual)")


def open_registry(args):
    """The registry named by --registry, with --registry-options."""
    from model.registry import Registry
    from model.storage import parse_options

    return Registry(args.registry, parse_options(args.registry_options, "--registry-options "
                                                 "(or SECTAG_REGISTRY_OPTIONS)"))


def load_labels(args):
    from model.labels import load_labels as load

    return load(args.labels, seeds_dir=args.seeds)


def progress(label: str):
    """One line redrawn in place on a terminal; a line per step in a log file."""
    redraw = sys.stderr.isatty()

    def report(done: int, total: int) -> None:
        if redraw:
            print(f"\r{label} {done}/{total}", end="" if done < total else "\n",
                  file=sys.stderr, flush=True)
        else:
            print(f"{label} {done}/{total}", file=sys.stderr, flush=True)
    return report
