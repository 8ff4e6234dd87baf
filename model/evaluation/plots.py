"""The report's figures as PNG bytes, drawn with matplotlib (no display needed)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

SYSTEMS = (("model", "#1f5fbf"), ("keywords", "#e8a100"), ("majority", "#9a9a9a"))


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight",
                metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def pr_curves(curves: dict, title: str) -> bytes:
    """One precision-recall curve per topic, average precision in the legend."""
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for topic, curve in curves.items():
        ax.step(curve["recall"], curve["precision"], where="post", label=topic)
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.01), ylim=(0, 1.03), title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return _png(fig)


def f1_bars(block: dict, topics: list[str], title: str) -> bytes:
    """F1 per topic (and macro) for the model beside the baselines."""
    labels = [*topics, "macro"]
    x = np.arange(len(labels))
    width = 0.27
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for k, (system, colour) in enumerate(SYSTEMS):
        values = [block[system]["per_topic"][t]["f1"] for t in topics]
        values.append(block[system]["macro_f1"])
        ax.bar(x + (k - 1) * width, values, width, label=system, color=colour)
    ax.set_xticks(x, labels, rotation=20, ha="right", fontsize=8)
    ax.set(ylabel="F1", ylim=(0, 1.05), title=title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _png(fig)


def cooccurrence(matrix: list[list[int]], topics: list[str], title: str) -> bytes:
    """Rows: true topic; columns: predicted topic; cells: sentence counts."""
    data = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(5.8, 4.8))
    image = ax.imshow(data, cmap="Blues")
    ax.set_xticks(range(len(topics)), topics, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(topics)), topics, fontsize=8)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            ax.text(j, i, str(data[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if data[i, j] > data.max() / 2 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    return _png(fig)
