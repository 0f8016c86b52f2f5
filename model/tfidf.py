"""`tfidf`: TF-IDF word and character n-grams with one logistic regression per label (one-vs-rest).

The weights are stored as plain arrays, so a label's logit is exactly sum_k x_k * w_k + b: the explainer
reports each term's contribution x_k * w_k, and they add up to the logit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from divert.model.calibration import sigmoid
from divert.model.vectorize import FastTfidf

LOGIT_BLOCK = 4096  # notes featurised at once


class TfidfScorer:
    kind: ClassVar[str] = "tfidf"

    def __init__(self, labels: tuple[str, ...], vectorizers: list[tuple[str, TfidfVectorizer]],
                 coef: np.ndarray, intercept: np.ndarray) -> None:
        if coef.shape[0] != len(labels) or intercept.shape != (len(labels),):
            raise ValueError("coef must be (labels, features) and intercept (labels,)")
        self.labels = labels
        self.vectorizers = vectorizers
        self.coef = coef
        self.intercept = intercept
        # `vec.transform` computed per distinct word (bit-identical features; see divert.model.vectorize)
        self._fast = [FastTfidf(vec) for _, vec in vectorizers]

    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        return sp.hstack([fast.transform(texts) for fast in self._fast], format="csr")

    def feature_names(self) -> list[tuple[str, str]]:
        """(vectorizer name, term) for every feature column, in order."""
        return [(name, term) for name, vec in self.vectorizers for term in vec.get_feature_names_out()]

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        # A note's features and logits do not depend on the other notes: blocks of notes keep the sparse
        # intermediates small (a 20,000-note batch holds over 10 million character n-gram entries) and are faster.
        blocks = [np.asarray(self.features(texts[i:i + LOGIT_BLOCK]) @ self.coef.T)
                  for i in range(0, len(texts), LOGIT_BLOCK)]
        return (np.vstack(blocks) if blocks else np.zeros((0, len(self.labels)))) + self.intercept[None, :]

    def raw_scores(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.labels)))
        return sigmoid(self.logits(texts))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.vectorizers, folder / "vectorizers.joblib")
        np.save(folder / "coef.npy", self.coef)
        np.save(folder / "intercept.npy", self.intercept)
        (folder / "tfidf.json").write_text(json.dumps({"labels": list(self.labels)}))

    @classmethod
    def load(cls, folder: Path) -> TfidfScorer:
        labels = tuple(json.loads((folder / "tfidf.json").read_text())["labels"])
        vectorizers = joblib.load(folder / "vectorizers.joblib")
        return cls(labels, vectorizers, np.load(folder / "coef.npy"), np.load(folder / "intercept.npy"))
