"""The serving form: what a Tagger needs from a fitted pipeline, as numbers and strings only.

Training derives it from the Pipeline beside the joblib artifact, which stays the reference
that `evaluate` and cross-validation use. It holds the featurizer's tables
(`featurizer.build_tables`: vocabularies, idf, lexicon), the evidence tables
(`evidence.evidence_tables`), the stacked weights and intercepts, the sentence and article
thresholds and the topics, in one `.npz` read with `allow_pickle=False`: loading it runs no
code and imports neither scikit-learn nor the pickle's classes, so a worker stays small.
Strings are stored as code points with offsets, or as numpy unicode arrays.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from .evidence import evidence_tables
from .featurizer import TABLES_FORMAT, stacked_weights, tables_of

# Bump SERVING_VERSION when what this module stores changes; the tables bump their own.
SERVING_VERSION = 1
FORMAT = f"serving-{SERVING_VERSION}.tables-{TABLES_FORMAT}"
_FEATURIZER, _EVIDENCE = "featurizer.", "evidence."


@dataclass(frozen=True)
class ServingForm:
    """Everything a Tagger scores, decides and explains with; see the module docstring.

    `featurizer_tables` and `evidence_tables` are None when the featurizer cannot compile the
    pipeline (such a form is never written: the pipeline itself must score).
    """

    topics: list[str]
    thresholds: np.ndarray
    article_thresholds: np.ndarray
    article_support: int
    coef_t: np.ndarray
    intercept: np.ndarray
    featurizer_tables: dict[str, np.ndarray] | None
    evidence_tables: dict[str, np.ndarray] | None

    @property
    def compiled(self) -> bool:
        return self.featurizer_tables is not None and self.evidence_tables is not None


def decision_settings(clf) -> tuple[list[str], np.ndarray, np.ndarray, int]:
    """(topics, thresholds, article thresholds, article support) of a fitted classifier.

    Models made before the article rule carry no article thresholds: "any sentence".
    """
    thresholds = np.asarray(clf.thresholds_, dtype=float)
    return (list(clf.topics_), thresholds,
            np.asarray(getattr(clf, "article_thresholds_", thresholds), dtype=float),
            int(getattr(clf, "article_support_", 1)))


def derive(pipeline, *, artifact_sha256: str | None = None) -> ServingForm:
    """The serving form of a fitted pipeline; its tables are None when the featurizer
    cannot compile it (see `featurizer.tables_of`, which caches by the artifact's sha256)."""
    tables = tables_of(pipeline, artifact_sha256=artifact_sha256)
    return ServingForm(*decision_settings(pipeline.named_steps["clf"]),
                       *stacked_weights(pipeline), tables,
                       evidence_tables(pipeline.named_steps["features"]) if tables else None)


def to_bytes(form: ServingForm) -> bytes:
    """The form as an uncompressed `.npz` (its arrays load without decompressing)."""
    if not form.compiled:
        raise ValueError("a serving form without compiled tables cannot be stored")
    arrays = {"format": np.asarray(FORMAT), "topics": np.asarray(form.topics, dtype=str),
              "thresholds": form.thresholds, "article_thresholds": form.article_thresholds,
              "article_support": np.asarray(form.article_support, np.int64),
              "coef_t": form.coef_t, "intercept": form.intercept,
              **{_FEATURIZER + k: v for k, v in form.featurizer_tables.items()},
              **{_EVIDENCE + k: v for k, v in form.evidence_tables.items()}}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


class FormatMismatch(ValueError):
    """The bytes are a serving form of another format (made by another sectag)."""


def from_bytes(data: bytes) -> ServingForm:
    """A stored form, read back without unpickling; FormatMismatch for another format."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    found = str(arrays.pop("format", "none"))
    if found != FORMAT:
        raise FormatMismatch(f"serving form format {found}; this sectag reads {FORMAT}")

    def block(prefix: str) -> dict[str, np.ndarray]:
        return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}

    return ServingForm(arrays["topics"].tolist(), arrays["thresholds"],
                       arrays["article_thresholds"], int(arrays["article_support"]),
                       arrays["coef_t"], arrays["intercept"], block(_FEATURIZER),
                       block(_EVIDENCE))
