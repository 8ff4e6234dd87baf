"""The one tagging object: scores, thresholds, evidence and article tagging live here.

The service, the CLI and batch code all call a Tagger, so sentence splitting,
thresholds and evidence are computed in exactly one place.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .errors import InputError
from .features import normalize_text
from .segment import split_sentences

EVIDENCE_TERMS = 5
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
        self.blocks = []  # (offset, vocabulary size, analyzer kind, names, ngram range)
        offset = 0
        for _, vectorizer in features.transformer_list:
            names = vectorizer.get_feature_names_out()
            self.blocks.append((offset, len(names), vectorizer.analyzer, names,
                                vectorizer.ngram_range))
            offset += len(names)

    def word_shares(self, text: str, columns: np.ndarray) -> list[dict[str, float]]:
        """For each column, the words it came from and each word's share (summing to 1)."""
        normalized = normalize_text(text)
        shares: list[dict[str, float]] = []
        char_owner = None
        for col in columns:
            for offset, size, kind, names, ngrams in self.blocks:
                if offset <= col < offset + size:
                    name = names[col - offset]
                    if kind == "char_wb":
                        if char_owner is None:
                            char_owner = _char_owners(normalized, ngrams)
                        words = char_owner.get(name, ())
                    else:
                        words = name.split(" ")
                    break
            else:
                words = ()
            words = [w for w in words if w] or ["?"]
            shares.append({w: 1.0 / len(words) for w in words})
        return shares


def _char_owners(normalized: str, ngram_range: tuple[int, int]) -> dict[str, tuple[str, ...]]:
    """Each padded character n-gram of the text and the words containing it (as char_wb cuts)."""
    owners: dict[str, set[str]] = defaultdict(set)
    low, high = ngram_range
    for chunk in normalized.split():
        word = _EDGE_PUNCT.sub("", chunk)
        padded = f" {chunk} "
        for n in range(low, high + 1):
            for i in range(len(padded) - n + 1):
                owners[padded[i:i + n]].add(word)
    return {k: tuple(sorted(v)) for k, v in owners.items()}


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
        self._features = pipeline.named_steps["features"]
        self._coef = np.asarray(clf.coef_)
        self._intercept = np.asarray(clf.intercept_)
        self._index = _FeatureIndex(self._features)
        self.evidence_terms = evidence_terms

    @classmethod
    def from_registry(cls, registry, version: str | None = None) -> "Tagger":
        pipeline, manifest = registry.load(version)
        return cls(pipeline, manifest)

    def scores(self, texts: Sequence[str]):
        """(feature matrix, rows x topics probabilities) for a list of strings."""
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InputError(f"text {i} is {type(text).__name__}, not a string",
                                 field=f"texts[{i}]")
        if not texts:
            return None, np.zeros((0, len(self.topics)))
        X = self._features.transform(list(texts))
        z = np.asarray(X @ self._coef.T) + self._intercept
        return X, 1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0)))

    def predict(self, texts: Sequence[str], *, evidence: bool = True) -> list[Prediction]:
        """One Prediction per text, in order."""
        X, probs = self.scores(texts)
        out = []
        for i, text in enumerate(texts):
            found = [j for j in range(len(self.topics)) if probs[i, j] >= self.thresholds[j]]
            pred = Prediction([self.topics[j] for j in found],
                              {t: round(float(probs[i, j]), 4)
                               for j, t in enumerate(self.topics)})
            if evidence and found:
                pred.evidence = self._evidence(text, X[i], found)
            out.append(pred)
        return out

    def explain(self, text: str, topics: list[str]) -> dict[str, list[str]]:
        """The words that pushed the given topics' scores up, found or not."""
        X, _ = self.scores([text])
        return self._evidence(text, X[0], [self.topics.index(t) for t in topics])

    def _evidence(self, text: str, row, topic_indices: list[int]) -> dict[str, list[str]]:
        """The words whose features pushed each found topic's score up the most."""
        columns, values = row.indices, row.data
        shares = self._index.word_shares(text, columns)
        result = {}
        for j in topic_indices:
            contribution = values * self._coef[j, columns]
            per_word: dict[str, float] = defaultdict(float)
            for c, share in zip(contribution, shares):
                for word, part in share.items():
                    per_word[word] += c * part
            ranked = sorted(((w, v) for w, v in per_word.items() if v > 0 and _is_term(w)),
                            key=lambda item: (-item[1], item[0]))
            result[self.topics[j]] = [w for w, _ in ranked[:self.evidence_terms]]
        return result

    def tag_article(self, text: str, title: str | None = None) -> dict:
        """Sentences with spans and tags, and article-level topics (max over sentences)."""
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
        for pred in ([title_pred] if title_pred else []) + preds:
            for topic in self.topics:
                article_scores[topic] = max(article_scores[topic], pred.scores[topic])
            for topic in pred.topics:
                counts[topic] += 1
        return {
            "model_version": self.version,
            "title": title_pred.to_dict() if title_pred else None,
            "sentences": [{"text": s.text, "start": s.start, "end": s.end, **p.to_dict()}
                          for s, p in zip(sentences, preds)],
            "article": {"topics": [t for t in self.topics if counts[t]],
                        "scores": article_scores, "sentence_counts": counts},
        }
