"""`sectag labels check|stats`: validate the label files and count the corpus."""

from __future__ import annotations

import json

from .common import add_common, load_labels


def cmd_check(args) -> int:
    labels = load_labels(args)
    print(f"ok: {len(labels.rows)} rows in {len(labels.files)} files, "
          f"{len(labels.topics)} topics, no problems")
    return 0


def cmd_stats(args) -> int:
    from model.corpus import corpus_counts

    print(json.dumps(corpus_counts(load_labels(args)), indent=2))
    return 0


def register(sub) -> None:
    labels = sub.add_parser("labels", help="check the label files")
    labels_sub = labels.add_subparsers(dest="action", required=True)
    for name, func, text in [("check", cmd_check, "validate every label file"),
                             ("stats", cmd_stats, "corpus counts as JSON")]:
        p = labels_sub.add_parser(name, help=text)
        add_common(p)
        p.set_defaults(func=func)
