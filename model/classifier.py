"""A multi-label linear classifier that scores every topic in one matrix product.

One logistic regression is fitted per topic, then their weights are stacked so
prediction costs a single sparse-dense product instead of one call per topic.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0)))


class MultiLabelLinear(ClassifierMixin, BaseEstimator):
    """Per-topic logistic regressions (balanced classes) stacked into one weight matrix."""

    def __init__(self, C: float = 4.0, class_weight: str | None = "balanced",
                 solver: str = "liblinear", max_iter: int = 1000, random_state: int = 0):
        self.C = C
        self.class_weight = class_weight
        self.solver = solver
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, Y, sample_weight=None):
        """One regression per topic; `sample_weight` (one per row) weighs every one of them."""
        Y = np.asarray(Y)
        if Y.ndim != 2:
            raise ValueError("Y must be a 2-D indicator matrix (rows x topics)")
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=float)
            if sample_weight.shape != (Y.shape[0],):
                raise ValueError(f"sample_weight has shape {sample_weight.shape}; expected "
                                 f"one weight per row ({Y.shape[0]},)")
        n_topics = Y.shape[1]
        self.coef_ = np.zeros((n_topics, X.shape[1]))
        self.intercept_ = np.zeros(n_topics)
        for j in range(n_topics):
            y = Y[:, j]
            if y.min() == y.max():
                # A topic with only one class here: a constant score at its prior.
                self.intercept_[j] = 35.0 if y[0] else -35.0
                continue
            lr = LogisticRegression(C=self.C, class_weight=self.class_weight,
                                    solver=self.solver, max_iter=self.max_iter,
                                    random_state=self.random_state)
            lr.fit(X, y, sample_weight=sample_weight)
            self.coef_[j] = lr.coef_[0]
            self.intercept_[j] = lr.intercept_[0]
        self.n_topics_ = n_topics
        return self

    def decision_function(self, X) -> np.ndarray:
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def predict_proba(self, X) -> np.ndarray:
        """Rows x topics probabilities (independent per topic, not summing to one)."""
        return _sigmoid(self.decision_function(X))

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X) >= 0.5).astype(np.int8)
