"""What the trends page shows, as data (pure), and its three figures as PNG bytes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from ..evaluation.plots import _png  # noqa: E402  (one PNG encoder for every figure)
from .dates import period_range  # noqa: E402


def topic_lines(topics: pd.DataFrame, by: str) -> dict:
    """Articles per period for each topic, every period of the range (0 when quiet)."""
    if topics.empty:
        return {"periods": [], "series": {}}
    periods = period_range(topics["period"].min(), topics["period"].max(), by)
    wide = topics.pivot_table(index="period", columns="topic", values="articles",
                              aggfunc="sum", fill_value=0).reindex(periods, fill_value=0)
    return {"periods": periods,
            "series": {t: [int(v) for v in wide[t]] for t in sorted(wide.columns)}}


def top_pairs(pairs: pd.DataFrame, n: int = 8) -> dict[str, list[tuple[str, int]]]:
    """Each topic's `n` most frequent partner pairs over all periods ("LBY alone": one partner)."""
    out = {}
    totals = pairs.groupby(["topic", "partner_a", "partner_b"])["articles"].sum().reset_index()
    for topic, group in totals.groupby("topic"):
        group = group.sort_values(["articles", "partner_a", "partner_b"],
                                  ascending=[False, True, True]).head(n)
        out[topic] = [(f"{a}–{b}" if b else f"{a} alone", int(c))
                      for a, b, c in zip(group["partner_a"], group["partner_b"],
                                         group["articles"])]
    return out


def heat_map(partners: pd.DataFrame, n: int = 20) -> dict:
    """Articles per topic x partner country, for the `n` countries in the most articles."""
    if partners.empty:
        return {"topics": [], "partners": [], "counts": []}
    wide = partners.pivot_table(index="topic", columns="partner", values="articles",
                                aggfunc="sum", fill_value=0)
    order = wide.sum().sort_values(ascending=False, kind="stable").index[:n]
    wide = wide[sorted(order, key=lambda c: (-wide[c].sum(), c))].sort_index()
    return {"topics": list(wide.index), "partners": list(wide.columns),
            "counts": wide.to_numpy(dtype=int).tolist()}


def lines_png(data: dict, by: str) -> bytes:
    fig, ax = plt.subplots(figsize=(9, 4.2))
    x = np.arange(len(data["periods"]))
    for topic, values in data["series"].items():
        ax.plot(x, values, label=topic, linewidth=1.4)
    step = max(1, len(x) // 12)
    ax.set_xticks(x[::step], data["periods"][::step], rotation=45, ha="right", fontsize=8)
    ax.set(ylabel="articles", title=f"Articles per {by} and topic")
    ax.grid(alpha=0.3)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if data["series"]:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return _png(fig)


def pairs_png(data: dict[str, list[tuple[str, int]]]) -> bytes:
    topics = sorted(data) or ["(no partners)"]
    cols = min(3, len(topics))
    rows = -(-len(topics) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), squeeze=False)
    for ax, topic in zip(axes.flat, topics):
        bars = data.get(topic, [])[::-1]
        ax.barh([b[0] for b in bars], [b[1] for b in bars], color="#1f5fbf")
        ax.set_title(topic, fontsize=10)
        ax.tick_params(labelsize=8)
        ax.set_xlabel("articles", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in list(axes.flat)[len(topics):]:
        ax.axis("off")
    fig.suptitle("Top partner pairs per topic")
    fig.tight_layout()
    return _png(fig)


def heat_png(data: dict) -> bytes:
    counts = np.array(data["counts"] or [[0]])
    fig, ax = plt.subplots(figsize=(max(5, 0.55 * len(data["partners"]) + 2.5),
                                    0.55 * max(len(data["topics"]), 1) + 1.8))
    image = ax.imshow(counts, cmap="Blues", aspect="auto", vmin=0)
    ax.set_xticks(range(len(data["partners"])), data["partners"], rotation=90, fontsize=8)
    ax.set_yticks(range(len(data["topics"])), data["topics"], fontsize=9)
    for (i, j), value in np.ndenumerate(counts if data["counts"] else np.zeros((0, 0))):
        ax.text(j, i, str(value), ha="center", va="center", fontsize=7,
                color="white" if value > counts.max() / 2 else "black")
    fig.colorbar(image, ax=ax, label="articles")
    ax.set_title("Articles per topic and partner country")
    return _png(fig)
