"""The one tagging object: scores, thresholds, evidence and article tagging live here.

The service, the CLI and batch code all call a Tagger, so sentence splitting,
thresholds and evidence are computed in exactly one place.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .articles import carried
from .errors import InputError
from .features import normalize_text
from .scoring import CompiledScorer
from .segment import split_sentences

EVIDENCE_TERMS = 5
EVIDENCE_FEATURES = 20  # strongest features per topic that evidence is drawn from
_EDGE_PUNCT = re.compile(r"^\W+|\W+$")


@dataclass
class Prediction:
    """Topics found in one text, every topic's score, and the words behind each topic found."""

    topics: list[str]
    scores: dict[str, float]
    evidence: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"topics": self.topics, "scores": self.scores, "evidence": self.evidence}


class _FeatureIndex:
    """Maps the pipeline's feature columns back to the words of a sentence."""

    def __init__(self, features):
        self.offsets, self.blocks = [], []  # block: (analyzer kind, feature names)
        offset = 0
        for _, vectorizer in features.transformer_list:
            names = vectorizer.get_feature_names_out()
            self.offsets.append(offset)
            self.blocks.append((getattr(vectorizer, "analyzer", "lexicon"), names))
            offset += len(names)

    def owners(self, column: int, padded: list[str], words: list[str]) -> list[str]:
        """The sentence's words that produced this feature column."""
        k = bisect.bisect_right(self.offsets, column) - 1
        kind, names = self.blocks[k]
        name = names[column - self.offsets[k]]
        if kind == "lexicon":  # named by the entries it matched, see Tagger._evidence
            return []
        if kind == "char_wb":  # char_wb pads each whitespace-separated word with spaces
            found = {w for p, w in zip(padded, words) if name in p}
        else:
            found = set(name.split(" "))
        return sorted(w for w in found if w)


def _is_term(word: str) -> bool:
    """Words worth showing as evidence: not stop words, numbers or unknown pieces."""
    return word not in ENGLISH_STOP_WORDS and word != "?" and not word.strip("0").isdigit() \
        and word != "0"


class Tagger:
    """A loaded model version: call `predict` for sentences and `tag_article` for articles."""

    def __init__(self, pipeline, manifest: dict, *, evidence_terms: int = EVIDENCE_TERMS):
        self.pipeline = pipeline
        self.manifest = manifest
        self.version = manifest.get("version", "unversioned")
        clf = pipeline.named_steps["clf"]
        self.topics: list[str] = list(clf.topics_)
        self.thresholds = np.asarray(clf.thresholds_, dtype=float)
        # Models made before the article rule carry no article thresholds: "any sentence".
        self.article_thresholds = np.asarray(getattr(clf, "article_thresholds_",
                                                     self.thresholds), dtype=float)
        self.article_support = int(getattr(clf, "article_support_", 1))
        self._scorer = CompiledScorer(pipeline)
        self._index = _FeatureIndex(pipeline.named_steps["features"])
        self.evidence_terms = evidence_terms

    @classmethod
    def from_registry(cls, registry, version: str | None = None) -> "Tagger":
        pipeline, manifest = registry.load(version)
        return cls(pipeline, manifest)

    def scores(self, texts: Sequence[str]):
        """(per-text (columns, values) features, rows x topics probabilities)."""
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InputError(f"text {i} is {type(text).__name__}, not a string",
                                 field=f"texts[{i}]")
        rows = [self._scorer.features(text) for text in texts]
        probs = np.zeros((len(rows), len(self.topics)))
        for i, (columns, values) in enumerate(rows):
            probs[i] = self._scorer.probabilities(columns, values)
        return rows, probs

    def predict(self, texts: Sequence[str], *, evidence: bool = True) -> list[Prediction]:
        """One Prediction per text, in order."""
        rows, probs = self.scores(texts)
        out = []
        for i, text in enumerate(texts):
            found = np.flatnonzero(probs[i] >= self.thresholds).tolist()
            pred = Prediction([self.topics[j] for j in found],
                              dict(zip(self.topics, np.round(probs[i], 4).tolist())))
            if evidence and found:
                pred.evidence = self._evidence(text, rows[i], found)
            out.append(pred)
        return out

    def explain(self, text: str, topics: list[str]) -> dict[str, list[str]]:
        """The words that pushed the given topics' scores up, found or not."""
        rows, _ = self.scores([text])
        return self._evidence(text, rows[0], [self.topics.index(t) for t in topics])

    def _evidence(self, text: str, row, topic_indices: list[int]) -> dict[str, list[str]]:
        """Per topic, the words owning the features that raised its score the most."""
        columns, values = row
        chunks = normalize_text(text).split()
        padded = [f" {c} " for c in chunks]
        words = [_EDGE_PUNCT.sub("", c) for c in chunks]
        result = {}
        for j in topic_indices:
            contribution = values * self._scorer.coef_t[columns, j]
            per_word: dict[str, float] = defaultdict(float)
            for k in np.argsort(-contribution, kind="stable")[:EVIDENCE_FEATURES]:
                if contribution[k] <= 0:
                    break
                owners = self._index.owners(int(columns[k]), padded, words)
                for word in owners:
                    per_word[word] += float(contribution[k]) / len(owners)
            ranked = sorted(((w, v) for w, v in per_word.items() if _is_term(w)),
                            key=lambda item: (-item[1], item[0]))
            result[self.topics[j]] = [w for w, _ in ranked[:self.evidence_terms]]
        return result

    def article_topics(self, scores: np.ndarray) -> list[str]:
        """An article's topics from its units' scores (rows: title and sentences)."""
        keep = carried(np.asarray(scores, dtype=float).reshape(-1, len(self.topics)),
                       self.thresholds, self.article_thresholds, self.article_support)
        return [t for t, k in zip(self.topics, keep) if k]

    def tag_article(self, text: str, title: str | None = None) -> dict:
        """Sentences with spans and tags, and the article's topics under the article rule."""
        if not isinstance(text, str):
            raise InputError("text must be a string", field="text")
        if title is not None and not isinstance(title, str):
            raise InputError("title must be a string", field="title")
        sentences = split_sentences(text)
        units = ([title] if title and title.strip() else []) + [s.text for s in sentences]
        preds = self.predict(units)
        title_pred = preds.pop(0) if title and title.strip() else None
        article_scores = {t: 0.0 for t in self.topics}
        counts = {t: 0 for t in self.topics}
        units = ([title_pred] if title_pred else []) + preds
        for pred in units:
            for topic in self.topics:
                article_scores[topic] = max(article_scores[topic], pred.scores[topic])
            for topic in pred.topics:
                counts[topic] += 1
        found = self.article_topics(np.array([[p.scores[t] for t in self.topics]
                                              for p in units]))
        return {
            "model_version": self.version,
            "title": title_pred.to_dict() if title_pred else None,
            "sentences": [{"text": s.text, "start": s.start, "end": s.end, **p.to_dict()}
                          for s, p in zip(sentences, preds)],
            "article": {"topics": found,
                        "scores": article_scores, "sentence_counts": counts},
        }
