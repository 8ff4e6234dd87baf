"""Counts that describe a labelled corpus (for manifests, the CLI and closing notes)."""

from __future__ import annotations

from collections import Counter

from .labels import REVIEW, LabelSet


def corpus_counts(labels: LabelSet) -> dict:
    Y = labels.indicator_matrix()
    per_row = Y.sum(axis=1)
    review_rows = sum(r.source == REVIEW for r in labels.rows)
    seed_rows = sum(r.is_seed for r in labels.rows)
    return {
        "rows": len(labels.rows),
        "seed_rows": seed_rows,
        "authored_rows": len(labels.rows) - seed_rows - review_rows,
        "review_rows": review_rows,
        "no_topic_rows": int((per_row == 0).sum()),
        "multi_topic_rows": int((per_row >= 2).sum()),
        "positives": {t: int(Y[:, j].sum()) for j, t in enumerate(labels.topic_names)},
        "rows_per_file": dict(Counter(r.file.rsplit("/", 1)[-1] for r in labels.rows)),
    }
