"""Does reviewing the queue's picks teach the model more than reviewing random sentences?

A labelled file stands in for a user's unlabelled news. The starting model is trained on
labels/ once, with grouped CV and per-topic thresholds (`model.train.train`). For every
budget, the queue (`model.review.queue.select`, scored by that starting model, exactly as
`sectag review queue` does) and a seeded random draw each pick that many candidates; the
model is refitted on labels/ plus the picks with their true labels, the picks (like every
reviewed row) weighing `review_weight` rows each (the starting model's configuration, one
plain fit, no CV: the thresholds stay those the starting model's CV tuned), and scored by
macro-F1 on evaluation rows that never take part in picking or tuning. Two evaluations:

- `rest` (the default): the candidates are the whole pool and the evaluation rows are the
  pool minus the picks, what the user's remaining news gets. It favours a strategy that
  removes the rows the model finds hard, so each point also records the starting model's
  score on the same rows (the gain from retraining).
- `half`: per seed the pool is split into a candidate half and a fixed evaluation half (by
  article when it has an `article` column, else by row): generalisation only.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone

from ..crossval import fit_params, multilabel_metrics
from ..evaluation.baselines import KeywordBaseline
from ..labels import LabelSet, Row, Topic, indicator_matrix
from ..tagger import Tagger
from ..train import DEFAULT_REVIEW_WEIGHT, TrainedModel, review_weights, train
from .queue import select

STRATEGIES = ("queue", "random")
EVALUATIONS = ("rest", "half")
METHODS = {
    "rest": "candidates: the whole pool; macro-F1 on the pool minus the picks (what the "
            "user's remaining news gets; favours picking the rows the model finds hard)",
    "half": "candidates: a seeded half of the pool (whole articles); macro-F1 on the other "
            "half, the same rows for both strategies (generalisation only)",
}


def split_pool(rows: Sequence[Row], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(candidate indices, evaluation indices): half the rows each, whole articles kept."""
    keys = [row.get("article") or f"row:{i}" for i, row in enumerate(rows)]
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    order = np.random.default_rng(seed).permutation(len(groups))
    members = list(groups.values())
    candidates: list[int] = []
    for g in order:
        if len(candidates) >= len(rows) / 2:
            break
        candidates += members[g]
    chosen = set(candidates)
    evaluation = [i for i in range(len(rows)) if i not in chosen]
    return np.array(sorted(candidates), dtype=int), np.array(evaluation, dtype=int)


def queue_picks(tagger: Tagger, keywords: KeywordBaseline, texts: list[str],
                known: list[str], budgets: Sequence[int], *,
                probs: np.ndarray | None = None) -> dict[int, list[int]]:
    """Per budget, the indices of `texts` the review queue would ask first (as `review queue`).

    `probs` are the starting model's scores of `texts` when already computed.
    """
    if probs is None:
        _, probs = tagger.scores(texts)
    keyword_pred = keywords.predict(texts)
    return {b: [p.index for p in select(texts, probs, tagger.thresholds, tagger.topics,
                                        limit=b, keyword_pred=keyword_pred, known_texts=known)]
            for b in budgets}


def _macro_f1(Y: np.ndarray, pred: np.ndarray, topics: list[str]) -> float:
    return multilabel_metrics(Y, pred.astype(np.int8), topics)["macro_f1"]


def _fit_and_score(template, texts, Y, weights, thresholds, eval_texts, eval_Y,
                   topics) -> float:
    model = clone(template).fit(np.asarray(texts, dtype=object), Y, **fit_params(weights))
    pred = model.predict_proba(np.asarray(eval_texts, dtype=object)) >= thresholds
    return _macro_f1(eval_Y, pred, topics)


def _plans(pool_size: int, evaluation: str, seeds: list[int], pool: Sequence[Row]
           ) -> list[tuple[int, np.ndarray, np.ndarray | None]]:
    """Per seed: (seed, candidate indices, fixed evaluation indices or None for the rest)."""
    if evaluation == "rest":
        return [(seed, np.arange(pool_size), None) for seed in seeds]
    return [(seed, *split_pool(pool, seed)) for seed in seeds]


def simulate(labels: LabelSet, pool: Sequence[Row], budgets: Sequence[int],
             seeds: Sequence[int] | int, *, evaluations: Sequence[str] = ("rest",),
             review_weight: float = DEFAULT_REVIEW_WEIGHT, n_jobs: int = -1,
             model_seed: int = 0, start: TrainedModel | None = None,
             progress: Callable[[int, int], None] | None = None) -> dict:
    """Learning curves (macro-F1 per budget and seed) of queue and random picks, per evaluation.

    `start` is the starting model when already trained on `labels` (else it is trained).
    Identical fits (the queue's picks over the whole pool do not depend on the seed) run once.
    """
    started = time.perf_counter()
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    unknown = [e for e in evaluations if e not in EVALUATIONS]
    if unknown or not evaluations:
        raise ValueError(f"evaluations must be among {EVALUATIONS}, not {list(evaluations)}")
    topics = labels.topic_names
    trained = start or train(labels, seed=model_seed, n_jobs=n_jobs,
                             review_weight=review_weight)
    tagger = Tagger(trained.pipeline, {**trained.manifest, "version": "simulation-start"})
    thresholds = tagger.thresholds
    by_name = {t.name: t for t in labels.topics}
    keywords = KeywordBaseline([by_name.get(t, Topic(t, "")) for t in topics])
    pool_texts = [r.text for r in pool]
    pool_Y = indicator_matrix(pool, topics)
    pool_probs = tagger.scores(pool_texts)[1]
    start_pred = (pool_probs >= thresholds).astype(np.int8)
    # Picks the starting model got wrong (a reviewer's answer that corrects it).
    wrong = set(np.flatnonzero((start_pred != pool_Y).any(axis=1)).tolist())
    base_texts, base_Y = labels.texts, labels.indicator_matrix()
    base_w = review_weights(labels.rows, review_weight)
    base_w = np.ones(len(base_texts)) if base_w is None else base_w

    fits: dict[tuple, int] = {}  # (picked rows, evaluation rows) -> index in `calls`
    calls, points = [], []
    ranked_cache: dict[tuple, dict[int, list[int]]] = {}
    for evaluation in evaluations:
        for seed, cand, held in _plans(len(pool), evaluation, seeds, pool):
            key = tuple(cand.tolist())
            if key not in ranked_cache:
                ranked_cache[key] = queue_picks(tagger, keywords, [pool_texts[i] for i in cand],
                                                base_texts, budgets, probs=pool_probs[cand])
            shuffled = np.random.default_rng(seed).permutation(len(cand)).tolist()
            for budget in budgets:
                for strategy, order in (("queue", ranked_cache[key][budget]),
                                        ("random", shuffled)):
                    chosen = sorted(int(cand[i]) for i in order[:budget])
                    rest = (np.setdiff1d(np.arange(len(pool)), chosen) if held is None
                            else held)
                    fit_key = (tuple(chosen), tuple(rest.tolist()))
                    if fit_key not in fits:
                        fits[fit_key] = len(calls)
                        weights = np.concatenate([base_w, np.full(len(chosen), review_weight)])
                        calls.append(delayed(_fit_and_score)(
                            trained.pipeline, base_texts + [pool_texts[i] for i in chosen],
                            np.vstack([base_Y, pool_Y[chosen]]),
                            None if (weights == 1.0).all() else weights, thresholds,
                            [pool_texts[i] for i in rest], pool_Y[rest], topics))
                    points.append((evaluation, strategy, budget, len(cand), chosen, rest,
                                   fits[fit_key]))
    scores: list[float] = []
    for k, f1 in enumerate(Parallel(n_jobs=n_jobs, return_as="generator")(calls)):
        scores.append(float(f1))
        if progress:
            progress(k + 1, len(calls))

    out = {e: {"method": METHODS[e], "curves": {}, "start": {}, "picked": {},
               "corrections": {}, "eval_rows": {}, "capped": {}} for e in evaluations}
    for evaluation, strategy, budget, n_cand, chosen, rest, call in points:
        block = out[evaluation]
        for field, value in (("curves", scores[call]),
                             ("start", _macro_f1(pool_Y[rest], start_pred[rest], topics)),
                             ("picked", len(chosen)),
                             ("corrections", len(wrong.intersection(chosen))),
                             ("eval_rows", len(rest))):
            block[field].setdefault(strategy, {}).setdefault(str(budget), []).append(value)
        if budget > n_cand:
            block["capped"][str(budget)] = n_cand
    return {
        "pool_rows": len(pool), "labelled_rows": len(base_texts), "budgets": list(budgets),
        "seeds": seeds, "topics": topics, "review_weight": float(review_weight),
        "start_macro_f1_pool": _macro_f1(pool_Y, start_pred, topics),
        "evaluations": out, "fits": len(calls),
        "method": ("starting model: model.train.train on labels/ (grouped CV, per-topic "
                   "thresholds); each point: one fit of the same pipeline on labels/ + picks "
                   f"(each pick weighing {review_weight:g} rows, for both strategies), "
                   "thresholds fixed from the starting model's CV; macro-F1 (zero for a "
                   "topic absent from the evaluation rows and never predicted); `start`: the "
                   "starting model's macro-F1 on the same evaluation rows"),
        "seconds": round(time.perf_counter() - started, 1),
    }


def summary(result: dict, evaluation: str) -> list[dict]:
    """Per budget: mean, std, min and max macro-F1 of each strategy on one evaluation."""
    block = result["evaluations"][evaluation]
    out = []
    for budget in result["budgets"]:
        b = str(budget)
        row = {"budget": budget}
        for strategy in STRATEGIES:
            values = np.array(block["curves"][strategy][b])
            row[strategy] = {"mean": float(values.mean()), "std": float(values.std()),
                             "min": float(values.min()), "max": float(values.max()),
                             "start": float(np.mean(block["start"][strategy][b])),
                             "corrections": float(np.mean(block["corrections"][strategy][b])),
                             "eval_rows": float(np.mean(block["eval_rows"][strategy][b]))}
        row["queue_wins"] = int(sum(q > r for q, r in zip(block["curves"]["queue"][b],
                                                          block["curves"]["random"][b])))
        out.append(row)
    return out


def render_table(result: dict) -> str:
    """The learning curves as plain-text tables, one per evaluation.

    Each cell: mean ± std over seeds [min, max]; gain: minus the starting model's score on
    the same rows; corrections: picks the starting model got wrong (mean over seeds).
    """
    lines = [(f"pool {result['pool_rows']} rows, {len(result['seeds'])} seeds, picks weigh "
              f"{result['review_weight']:g} rows; starting model macro-F1 on the whole pool "
              f"{result['start_macro_f1_pool']:.3f}")]
    for evaluation, block in result["evaluations"].items():
        lines += ["", f"{evaluation}: {block['method']}",
                  (f"{'budget':>7}  {'start':>5}  {'queue':>24}  {'random':>24}  "
                   f"{'queue - random':>14}  wins  gain (queue / random)  eval rows  "
                   "corrections (queue / random)")]
        for row in summary(result, evaluation):
            q, r = row["queue"], row["random"]
            cells = [f"{c['mean']:.3f} ± {c['std']:.3f} [{c['min']:.3f}, {c['max']:.3f}]"
                     for c in (q, r)]
            note = (f"  (capped at {block['capped'][str(row['budget'])]} candidates)"
                    if str(row["budget"]) in block["capped"] else "")
            lines.append(f"{row['budget']:>7}  {q['start']:>5.3f}  {cells[0]:>24}  "
                         f"{cells[1]:>24}  "
                         f"{q['mean'] - r['mean']:>+14.3f}  "
                         f"{row['queue_wins']}/{len(result['seeds'])}  "
                         f"{q['mean'] - q['start']:>+10.3f} / {r['mean'] - r['start']:+.3f}  "
                         f"{q['eval_rows']:>9.0f}  "
                         f"{q['corrections']:>13.1f} / {r['corrections']:.1f}{note}")
    return "\n".join(lines)


def render_plot(result: dict) -> bytes:
    """Both learning curves as a PNG, one panel per evaluation: mean, shaded min to max."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    blocks = result["evaluations"]
    fig, axes = plt.subplots(1, len(blocks), figsize=(6.4 * len(blocks), 4.4), squeeze=False)
    for ax, (evaluation, block) in zip(axes[0], blocks.items()):
        for strategy, color in zip(STRATEGIES, ("#1f5fbf", "#9a9a9a")):
            values = [np.array(block["curves"][strategy][str(b)]) for b in result["budgets"]]
            ax.plot(result["budgets"], [v.mean() for v in values], marker="o", color=color,
                    label=f"{strategy} (mean)")
            ax.fill_between(result["budgets"], [v.min() for v in values],
                            [v.max() for v in values], color=color, alpha=0.2,
                            label=f"{strategy} (min-max)")
        start = [np.mean(block["start"]["queue"][str(b)]) for b in result["budgets"]]
        ax.plot(result["budgets"], start, linestyle="--", color="#b04a2f",
                label="starting model (same rows)")
        ax.set(xlabel="reviewed sentences added",
               ylabel=("macro-F1 on the rest of the pool" if evaluation == "rest"
                       else "macro-F1 on the evaluation half"),
               title=f"{evaluation}: queue vs random ({len(result['seeds'])} seeds)")
        ax.grid(alpha=0.3)
        ax.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()
