"""The one function that builds sectag's scikit-learn Pipeline."""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.feature_extraction.text import TfidfVectorizer

from .classifier import MultiLabelLinear
from .features import TOKEN_PATTERN, normalize_text
from .lexicon import LexiconFeatures
from .vectorizer import CachedTfidfVectorizer

DEFAULT_PARAMS: dict = {
    "features__words__ngram_range": (1, 2),
    "features__words__min_df": 1,
    # 4-6: 3-grams let pieces of topic words inside other words ("expl-aining") vote.
    "features__chars__ngram_range": (4, 6),
    "features__chars__min_df": 2,
    # Raw TF-IDF, not unit length: one strong word in a long sentence keeps its weight.
    "features__words__norm": None,
    "features__chars__norm": None,
    # A lexicon hit counts like a strong word: the classifier decides how much it weighs.
    "features__lexicon__scale": 3.0,
    "clf__C": 0.1,
    "clf__solver": "lbfgs",
}


def build_pipeline(params: dict | None = None, *, seed: int = 0, lexicons: tuple = ()) -> Pipeline:
    """TF-IDF word and character n-grams and lexicon hits feeding a multi-label linear classifier.

    `lexicons` comes from the label data (`LabelSet.lexicon_params`); empty means no lexicon.
    """
    pipe = Pipeline([
        ("features", FeatureUnion([
            ("words", TfidfVectorizer(preprocessor=normalize_text, token_pattern=TOKEN_PATTERN,
                                      sublinear_tf=True, dtype=np.float32)),
            ("chars", CachedTfidfVectorizer(preprocessor=normalize_text, analyzer="char_wb",
                                            sublinear_tf=True, dtype=np.float32)),
            ("lexicon", LexiconFeatures(lexicons)),
        ])),
        ("clf", MultiLabelLinear(random_state=seed)),
    ])
    pipe.set_params(**{**DEFAULT_PARAMS, **(params or {})})
    return pipe
