"""Choose the correction memory's near-duplicate settings on the labelled corpus.

For every labelled sentence (training files and holdout/), two kinds of altered copy:
- edits, which a recall should catch: a figure changed, the dateline dropped, a phrase
  reworded, one word replaced by a filler word;
- flips, which it should not: one of a topic's keywords (labels/topics.csv) replaced by
  "closed", so the topics may well have changed.
A copy is recalled when its word 3-shingle Jaccard with the original reaches the threshold
and no topic's score (a model trained on labels/) moves by more than the allowed shift.
Prints the share of edits and of flips recalled for each pair of settings.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

import numpy as np

from model.labels import load_labels, read_labelled_file
from model.review.memory import shingles, words
from model.tagger import Tagger
from model.train import train

THRESHOLDS = (0.4, 0.5, 0.6, 0.7, 0.8)
SHIFTS = (0.05, 0.1, 0.2, 1.0)


def edits(text: str, rng: random.Random) -> list[str]:
    """Copies of a sentence as another outlet or a later edition might print it."""
    out = [re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(1, 9)), text),
           re.sub(r"^[A-Z][A-Z ,.'-]{2,40} [-–—] ", "", text),
           text.replace(" said", " told reporters", 1).replace(" on ", " last ", 1)]
    tokens = text.split()
    if len(tokens) > 8:
        i = rng.randrange(len(tokens))
        out.append(" ".join(tokens[:i] + ["also"] + tokens[i + 1:]))
    return [t for t in out if t != text]


def flip(text: str, keywords: set[str]) -> str | None:
    tokens = text.split()
    at = next((i for i, w in enumerate(tokens) if w.lower().strip(".,;:") in keywords), None)
    return None if at is None else " ".join(tokens[:at] + ["closed"] + tokens[at + 1:])


def recalled(tagger: Tagger, originals: list[str], copies: list[str]) -> np.ndarray:
    """copies x thresholds x shifts: would the memory recall the original for the copy?"""
    similarity = np.array([len(a & b) / len(a | b) if a | b else 0.0 for a, b in
                           ((shingles(words(o)), shingles(words(c)))
                            for o, c in zip(originals, copies))])
    shift = np.abs(tagger.scores(originals)[1] - tagger.scores(copies)[1]).max(axis=1)
    return ((similarity[:, None, None] >= np.array(THRESHOLDS)[None, :, None])
            & (shift[:, None, None] <= np.array(SHIFTS)[None, None, :]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", default="labels")
    args = parser.parse_args()
    labels = load_labels(args.labels, check_runs=False)
    texts = labels.texts + [r.text for path in sorted(Path(args.labels, "holdout").glob("*.csv"))
                            for r in read_labelled_file(path, labels.topic_names)]
    keywords = {k for t in labels.topics for k in t.keywords if " " not in k}
    trained = train(labels)
    tagger = Tagger(trained.pipeline, trained.manifest)
    rng = random.Random(0)
    pairs = [(t, c) for t in texts for c in edits(t, rng)]
    flips = [(t, f) for t in texts if (f := flip(t, keywords))]
    e = recalled(tagger, *map(list, zip(*pairs))).mean(axis=0)
    f = recalled(tagger, *map(list, zip(*flips))).mean(axis=0)
    print(f"{len(texts)} labelled sentences; {len(pairs)} edited copies; {len(flips)} flips")
    print("share recalled: edits / flips (want edits high, flips low)")
    print(f"{'jaccard':>8}  " + "  ".join(f"{'shift <= ' + format(s, 'g'):>15}" for s in SHIFTS))
    for i, t in enumerate(THRESHOLDS):
        print(f"{t:>8.1f}  " + "  ".join(f"{e[i, j]:>7.3f} / {f[i, j]:.3f}"
                                         for j in range(len(SHIFTS))))


if __name__ == "__main__":
    main()
