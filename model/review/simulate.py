"""Does reviewing the queue's picks teach the model more than reviewing random sentences?

A labelled file stands in for a user's unlabelled news. For each seed the file is split
into a candidate half and an evaluation half (by article when it has an `article` column,
else by row). The starting model is trained on labels/ once, with grouped CV and per-topic
thresholds (`model.train.train`). For every budget, the queue (`model.review.queue.select`,
scored by that starting model, exactly as `sectag review queue` does) and a seeded random
draw each pick that many candidates; the model is refitted on labels/ plus the picks with
their true labels (the starting model's configuration, one plain fit, no CV: the
thresholds stay those the starting model's CV tuned) and scored by macro-F1 on the
evaluation half, which never takes part in picking or tuning.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone

from ..crossval import multilabel_metrics
from ..evaluation.baselines import KeywordBaseline
from ..labels import LabelSet, Row, Topic
from ..tagger import Tagger
from ..train import TrainedModel, train
from .queue import select

STRATEGIES = ("queue", "random")


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


def _indicator(rows: Sequence[Row], topics: list[str]) -> np.ndarray:
    Y = np.zeros((len(rows), len(topics)), dtype=np.int8)
    for i, row in enumerate(rows):
        for t in row.topics:
            Y[i, topics.index(t)] = 1
    return Y


def queue_picks(tagger: Tagger, keywords: KeywordBaseline, texts: list[str],
                known: list[str], budgets: Sequence[int]) -> dict[int, list[int]]:
    """Per budget, the indices of `texts` the review queue would ask first (as `review queue`)."""
    _, probs = tagger.scores(texts)
    keyword_pred = keywords.predict(texts)
    return {b: [p.index for p in select(texts, probs, tagger.thresholds, tagger.topics,
                                        limit=b, keyword_pred=keyword_pred, known_texts=known)]
            for b in budgets}


def _fit_and_score(template, texts, Y, thresholds, eval_texts, eval_Y, topics) -> float:
    model = clone(template).fit(np.asarray(texts, dtype=object), Y)
    pred = (model.predict_proba(np.asarray(eval_texts, dtype=object)) >= thresholds)
    return multilabel_metrics(eval_Y, pred.astype(np.int8), topics)["macro_f1"]


def simulate(labels: LabelSet, pool: Sequence[Row], budgets: Sequence[int],
             seeds: Sequence[int] | int, *, n_jobs: int = -1, model_seed: int = 0,
             start: TrainedModel | None = None,
             progress: Callable[[int, int], None] | None = None) -> dict:
    """Learning curves (macro-F1 per budget and seed) of queue picks and random picks.

    `start` is the starting model when already trained on `labels` (else it is trained).
    """
    started = time.perf_counter()
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    topics = labels.topic_names
    trained = start or train(labels, seed=model_seed, n_jobs=n_jobs)
    tagger = Tagger(trained.pipeline, {**trained.manifest, "version": "simulation-start"})
    thresholds = tagger.thresholds
    by_name = {t.name: t for t in labels.topics}
    keywords = KeywordBaseline([by_name.get(t, Topic(t, "")) for t in topics])
    pool_texts = [r.text for r in pool]
    pool_Y = _indicator(pool, topics)
    base_texts, base_Y = labels.texts, labels.indicator_matrix()

    jobs, start_f1, capped = [], [], {}
    # Picks the starting model got wrong (a reviewer's answer that corrects it).
    corrections = {s: {str(b): [] for b in budgets} for s in STRATEGIES}
    for seed in seeds:
        cand, held = split_pool(pool, seed)
        eval_texts, eval_Y = [pool_texts[i] for i in held], pool_Y[held]
        start_pred = (tagger.scores(eval_texts)[1] >= thresholds).astype(np.int8)
        start_f1.append(multilabel_metrics(eval_Y, start_pred, topics)["macro_f1"])
        cand_texts = [pool_texts[i] for i in cand]
        start_cand = (tagger.scores(cand_texts)[1] >= thresholds).astype(np.int8)
        wrong = set(cand[(start_cand != pool_Y[cand]).any(axis=1)].tolist())
        ranked = queue_picks(tagger, keywords, cand_texts, base_texts, budgets)
        shuffled = np.random.default_rng(seed).permutation(len(cand)).tolist()
        for budget in budgets:
            if budget > len(cand):
                capped[budget] = len(cand)
            for strategy, order in (("queue", ranked[budget]), ("random", shuffled)):
                chosen = [int(cand[i]) for i in order[:budget]]
                corrections[strategy][str(budget)].append(len(wrong.intersection(chosen)))
                jobs.append((strategy, budget, seed, len(chosen),
                             delayed(_fit_and_score)(
                                 trained.pipeline, base_texts + [pool_texts[i] for i in chosen],
                                 np.vstack([base_Y, pool_Y[chosen]]), thresholds, eval_texts,
                                 eval_Y, topics)))
    results = Parallel(n_jobs=n_jobs, return_as="generator")(job[-1] for job in jobs)
    curves = {s: {str(b): [] for b in budgets} for s in STRATEGIES}
    picked = {s: {str(b): [] for b in budgets} for s in STRATEGIES}
    for k, ((strategy, budget, _, n, _), f1) in enumerate(zip(jobs, results)):
        curves[strategy][str(budget)].append(float(f1))
        picked[strategy][str(budget)].append(n)
        if progress:
            progress(k + 1, len(jobs))
    return {
        "pool_rows": len(pool), "labelled_rows": len(base_texts), "budgets": list(budgets),
        "seeds": seeds, "topics": topics,
        "start_macro_f1": start_f1,
        "curves": curves, "picked": picked, "corrections": corrections,
        "capped": {str(b): n for b, n in capped.items()},
        "method": ("starting model: model.train.train on labels/ (grouped CV, per-topic "
                   "thresholds); each point: one fit of the same pipeline on labels/ + picks, "
                   "thresholds fixed from the starting model's CV; macro-F1 on the evaluation "
                   "half (zero for a topic absent from it and never predicted)"),
        "seconds": round(time.perf_counter() - started, 1),
    }


def summary(result: dict) -> list[dict]:
    """Per budget: mean, standard deviation, min and max macro-F1 of each strategy."""
    out = []
    for budget in result["budgets"]:
        row = {"budget": budget}
        for strategy in STRATEGIES:
            values = np.array(result["curves"][strategy][str(budget)])
            fixes = result["corrections"][strategy][str(budget)]
            row[strategy] = {"mean": float(values.mean()), "std": float(values.std()),
                             "min": float(values.min()), "max": float(values.max()),
                             "corrections": float(np.mean(fixes))}
        row["queue_wins"] = int(sum(q > r for q, r in zip(result["curves"]["queue"][str(budget)],
                                                          result["curves"]["random"][str(budget)])))
        out.append(row)
    return out


def render_table(result: dict) -> str:
    """The learning curves as a plain-text table (mean ± std over seeds, [min, max]).

    Corrections: picks the starting model got wrong, the mean over seeds.
    """
    start = np.array(result["start_macro_f1"])
    lines = [f"pool {result['pool_rows']} rows, {len(result['seeds'])} seeds, starting model "
             f"macro-F1 on the evaluation half {start.mean():.3f} ± {start.std():.3f}",
             f"{'budget':>7}  {'queue':>24}  {'random':>24}  {'queue - random':>14}  wins"
             "  corrections (queue / random)"]
    for row in summary(result):
        cells = [f"{row[s]['mean']:.3f} ± {row[s]['std']:.3f} [{row[s]['min']:.3f}, "
                 f"{row[s]['max']:.3f}]" for s in STRATEGIES]
        note = (f"  (capped at {result['capped'][str(row['budget'])]} candidates)"
                if str(row["budget"]) in result["capped"] else "")
        lines.append(f"{row['budget']:>7}  {cells[0]:>24}  {cells[1]:>24}  "
                     f"{row['queue']['mean'] - row['random']['mean']:>+14.3f}  "
                     f"{row['queue_wins']}/{len(result['seeds'])}  "
                     f"{row['queue']['corrections']:>13.1f} / {row['random']['corrections']:.1f}"
                     f"{note}")
    return "\n".join(lines)


def render_plot(result: dict) -> bytes:
    """Both learning curves as a PNG: mean over seeds, shaded from min to max."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    budgets = [0] + list(result["budgets"])
    start = np.array(result["start_macro_f1"])
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for strategy, color in zip(STRATEGIES, ("#1f5fbf", "#9a9a9a")):
        values = [start] + [np.array(result["curves"][strategy][str(b)])
                            for b in result["budgets"]]
        mean = [v.mean() for v in values]
        ax.plot(budgets, mean, marker="o", color=color, label=f"{strategy} (mean)")
        ax.fill_between(budgets, [v.min() for v in values], [v.max() for v in values],
                        color=color, alpha=0.2, label=f"{strategy} (min-max)")
    ax.set(xlabel="reviewed sentences added", ylabel="macro-F1 on the evaluation half",
           title=f"Review queue vs random picks ({len(result['seeds'])} seeds)")
    ax.grid(alpha=0.3)
    ax.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()
