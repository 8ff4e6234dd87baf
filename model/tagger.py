"""The one tagging object: scores, thresholds, evidence and article tagging live here.

The service, the CLI and batch code all call a Tagger, so sentence splitting,
thresholds and evidence are computed in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Sequence

import numpy as np

from . import serving
from .actors import ActorMatcher, Mention
from .articles import carried
from .errors import InputError
from .evidence import EvidenceFinder, FeatureIndex
from .featurizer import Featurizer, FeatureRows, hash_table
from .gc_pause import collections_paused
from .partners import PartnerRule, rank_partners, unit_of
from .segment import split_sentences

EVIDENCE_TERMS = 5


@dataclass(slots=True)
class Prediction:
    """Topics found in one text, every topic's score, the words behind each topic found,
    and the actors (countries, organisations) the text names."""

    topics: list[str]
    scores: dict[str, float]
    evidence: dict[str, list[str]] = field(default_factory=dict)
    actors: list[dict] = field(default_factory=list)
    review: dict | None = None  # the remembered answer that set the topics, if one did

    def to_dict(self) -> dict:
        out = {"topics": self.topics, "scores": self.scores, "evidence": self.evidence,
               "actors": self.actors, "source": "review" if self.review else "model"}
        if self.review:
            out["review"] = self.review
        return out


class Tagger:
    """A loaded model version: call `predict` for sentences and `tag_article` for articles."""

    def __init__(self, pipeline, manifest: dict, *, evidence_terms: int = EVIDENCE_TERMS,
                 artifact_sha256: str | None = None, form: serving.ServingForm | None = None):
        """Over a fitted pipeline (the reference), or over a loaded serving `form` with
        pipeline=None: then scikit-learn is never needed."""
        self.pipeline = pipeline
        self.manifest = manifest
        self.version = manifest.get("version", "unversioned")
        # artifact_sha256 keys the featurizer's table cache: pass it only for that artifact
        form = form or serving.derive(pipeline, artifact_sha256=artifact_sha256)
        self.topics: list[str] = list(form.topics)
        self.thresholds = form.thresholds
        self.article_thresholds = form.article_thresholds
        self.article_support = form.article_support
        self.featurizer = Featurizer(form.featurizer_tables, form.coef_t, form.intercept,
                                     pipeline=pipeline)
        self.evidence_terms = evidence_terms
        index = FeatureIndex(pipeline.named_steps["features"]) if pipeline is not None else None
        self._evidence_finder = EvidenceFinder(form.evidence_tables, self.featurizer.coef_t,
                                               evidence_terms, classes=self.featurizer.classes,
                                               index=index)

    @cached_property
    def actors(self) -> ActorMatcher:
        """The actor matcher, built on first use from `labels/actors/` (pycountry + data);
        assign another to use other data. No model file is involved."""
        return ActorMatcher.from_dir()

    partner_rule = PartnerRule()

    @classmethod
    def from_registry(cls, registry, version: str | None = None) -> "Tagger":
        """A version's serving form when it has one of this format (no scikit-learn, no
        unpickling), else its pipeline; both sha256-checked against the manifest."""
        version = version or registry.require_current()
        manifest = registry.manifest(version)
        if manifest.get("serving_format") == serving.FORMAT:
            return cls(None, manifest, form=serving.from_bytes(registry.serving_bytes(version)))
        pipeline, manifest = registry.load(version)
        return cls(pipeline, manifest, artifact_sha256=manifest.get("artifact_sha256"))

    def scores(self, texts: Sequence[str]) -> tuple[FeatureRows, np.ndarray]:
        """(the batch's feature rows, rows x topics probabilities), one compiled pass."""
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InputError(f"text {i} is {type(text).__name__}, not a string",
                                 field=f"texts[{i}]")
        rows = self.featurizer.rows(texts)
        return rows, self.featurizer.scores(rows)

    def decide(self, texts: Sequence[str]) -> tuple[FeatureRows, list[list[int]],
                                                    list[list[float]]]:
        """(feature rows, per text the indices of the topics found, per text every topic's
        score rounded to 4 places): what predictions and batch output rows are made of."""
        rows, probs = self.scores(texts)
        return rows, *self._decisions(probs)

    def _decisions(self, probs: np.ndarray) -> tuple[list[list[int]], list[list[float]]]:
        found = [[j for j, hit in enumerate(row) if hit]
                 for row in (probs >= self.thresholds).tolist()]
        return found, probs.round(4).tolist()

    def predict(self, texts: Sequence[str], *, evidence: bool = True, actors: bool = True,
                memory=None) -> list[Prediction]:
        """One Prediction per text, in order; evidence only for the topics found.

        `memory` (a `model.review.CorrectionMemory`, or anything with its `recall_many`)
        gives a text that repeats a reviewed sentence the reviewer's topics. Without
        `actors`, topics alone (what a peer classifier is compared on).
        """
        return self._predict(texts, evidence, memory, actors)[0]

    def _predict(self, texts: Sequence[str], evidence: bool, memory=None, actors: bool = True
                 ) -> tuple[list[Prediction], np.ndarray, list[list[Mention]]]:
        """Predictions, the probabilities their topics were decided on (unrounded; a
        remembered answer's row reads 1 for its topics and 0 for the others) and each
        text's actor mentions (what an article's partners are read from)."""
        with collections_paused():
            rows, probs = self.scores(texts)
            found, scores = self._decisions(probs)
            topics = self.topics
            out = [Prediction([topics[j] for j in hits], dict(zip(topics, row_scores)))
                   for hits, row_scores in zip(found, scores)]
            if memory is not None:
                probs = self._recalled(memory.recall_many(texts, probs), found, out, probs)
            if evidence:
                wanted = [(i, hits) for i, hits in enumerate(found) if hits]
                for (i, hits), words in zip(wanted, self._evidence_finder.find_many(
                        rows, wanted, texts)):
                    out[i].evidence = {topics[j]: words[j] for j in hits}
            if not actors:
                return out, probs, [[] for _ in texts]
            matcher = self.actors
            mentions = matcher.find_many(texts)
            for pred, named in zip(out, mentions):
                if named:
                    pred.actors = matcher.summary(named)
        return out, probs, mentions

    def _recalled(self, recalls, found: list[list[int]], out: list[Prediction],
                  probs: np.ndarray) -> np.ndarray:
        """Set the remembered answers' topics in place; the probabilities the article rule
        reads, with each remembered row made certain."""
        hit = [(i, r) for i, r in enumerate(recalls) if r is not None]
        if not hit:
            return probs
        probs = probs.copy()
        for i, recall in hit:
            reviewed = set(recall.entry.topics)
            found[i] = [j for j, t in enumerate(self.topics) if t in reviewed]
            out[i].topics = [self.topics[j] for j in found[i]]
            out[i].review = recall.to_dict()
            probs[i] = [1.0 if t in reviewed else 0.0 for t in self.topics]
        return probs

    def explain(self, text: str, topics: list[str]) -> dict[str, list[str]]:
        """The words that pushed the given topics' scores up, found or not."""
        rows, _ = self.scores([text])
        wanted = [self.topics.index(t) for t in topics]
        by_index = self._evidence_finder.find_many(rows, [(0, wanted)], [text])[0]
        return {self.topics[j]: by_index[j] for j in wanted}

    def warm_up(self, *, every_kernel: bool = False) -> None:
        """Call every compiled kernel the service uses once (featurizing, scoring, evidence
        for every topic, actors). In a fresh process numba compiles and caches them; in a
        worker they get loaded and the actor tables built, which a request would otherwise
        wait for (0.4 s, measured on a first /v1/predict).

        every_kernel: also the batch pass's actor codes and the table builder, so that
        `kernels.build` finds each entry point compiled (workers need neither)."""
        text = "Egypt will train Libyan police cadres. Ministers met in Tripoli."
        self.tag_article(text, title="Égypte")
        self.explain(text, self.topics)
        if every_kernel:
            self.actors.codes_many([text])
            hash_table(np.arange(2), np.arange(2))

    def article_topics(self, scores: np.ndarray) -> list[str]:
        """An article's topics from its units' scores (rows: title and sentences)."""
        keep = carried(np.asarray(scores, dtype=float).reshape(-1, len(self.topics)),
                       self.thresholds, self.article_thresholds, self.article_support)
        return [t for t, k in zip(self.topics, keep) if k]

    def tag_article(self, text: str, title: str | None = None, *, memory=None) -> dict:
        """Sentences with spans and tags, and the article's topics under the article rule."""
        if not isinstance(text, str):
            raise InputError("text must be a string", field="text")
        if title is not None and not isinstance(title, str):
            raise InputError("title must be a string", field="title")
        sentences = split_sentences(text)
        has_title = bool(title and title.strip())
        units = ([title] if has_title else []) + [s.text for s in sentences]
        preds, probs, mentions = self._predict(units, True, memory)
        title_pred = preds.pop(0) if has_title else None
        article_scores = {t: 0.0 for t in self.topics}
        counts = {t: 0 for t in self.topics}
        predictions = ([title_pred] if title_pred else []) + preds
        for pred in predictions:
            for topic in self.topics:
                article_scores[topic] = max(article_scores[topic], pred.scores[topic])
            for topic in pred.topics:
                counts[topic] += 1
        # The rule reads the unrounded scores the sentences' own topics were decided on.
        found = self.article_topics(probs)
        return {
            "model_version": self.version,
            "title": title_pred.to_dict() if title_pred else None,
            "sentences": [{"text": s.text, "start": s.start, "end": s.end, **p.to_dict()}
                          for s, p in zip(sentences, preds)],
            "article": {"topics": found,
                        "scores": article_scores, "sentence_counts": counts,
                        **self.article_actors(predictions, units, mentions)},
        }

    def article_actors(self, predictions: list[Prediction], texts: Sequence[str],
                       mentions: list[list[Mention]]) -> dict:
        """The article's actors (sentences naming each, title counted) and its partners,
        from each unit's prediction, text and actor mentions (title first, if any)."""
        counts: dict[str, int] = {}
        for unit in predictions:
            for actor in unit.actors:
                counts[actor["code"]] = counts.get(actor["code"], 0) + 1
        matcher = self.actors
        units = [unit_of(text, named, matcher.is_country) if named else {}
                 for text, named in zip(texts, mentions)]
        partners = rank_partners(units, self.partner_rule)
        return {
            "actors": [{**matcher.fields(code), "sentences": n}
                       for code, n in counts.items()],
            "partners": [{"code": code, "name": matcher.actor(code).name} for code in partners],
        }
