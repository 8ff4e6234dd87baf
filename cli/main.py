"""`sectag`: one entry point, a subcommand per task; each parses, calls, prints a summary."""

from __future__ import annotations

import argparse
import sys

from model.errors import SectagError

from . import batch, evaluate, labels, models, predict, review, serve, train, trends

COMMAND_GROUPS = (labels, train, models, predict, evaluate, batch, review, serve, trends)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sectag", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SectagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
