"""Fit the `tfidf` scorer: shared vectorizers, one logistic regression per label on its known rows."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from divert.model.tfidf import TfidfScorer
from divert.training.config import TfidfConfig


def build_vectorizers(cfg: TfidfConfig) -> list[tuple[str, TfidfVectorizer]]:
    vectorizers = [
        ("word", TfidfVectorizer(lowercase=True, ngram_range=cfg.word_ngrams, min_df=cfg.min_df,
                                 max_features=cfg.max_features, sublinear_tf=True,
                                 token_pattern=r"(?u)\b[\w'/-]+\b")),
    ]
    if cfg.char_ngrams is not None:
        vectorizers.append(
            ("char", TfidfVectorizer(lowercase=True, analyzer="char_wb", ngram_range=cfg.char_ngrams,
                                     min_df=cfg.min_df, max_features=cfg.max_features, sublinear_tf=True))
        )
    return vectorizers


def fit_tfidf(texts: list[str], labels: np.ndarray, cfg: TfidfConfig, *, label_names: tuple[str, ...],
              seed: int) -> TfidfScorer:
    """`labels` is (n, L) float; NaN marks an unknown label, left out of that label's fit."""
    vectorizers = build_vectorizers(cfg)
    X = sp.hstack([vec.fit_transform(texts) for _, vec in vectorizers], format="csr")
    coef = np.zeros((len(label_names), X.shape[1]))
    intercept = np.zeros(len(label_names))
    for j in range(len(label_names)):
        known = ~np.isnan(labels[:, j])
        y = labels[known, j].astype(int)
        if len(np.unique(y)) < 2:
            # A label with one class only: a constant logit at its log-odds (smoothed).
            p = (y.sum() + 1) / (len(y) + 2)
            intercept[j] = float(np.log(p / (1 - p)))
            continue
        clf = LogisticRegression(C=cfg.C, class_weight=cfg.class_weight, max_iter=cfg.max_iter,
                                 solver="liblinear", random_state=seed)
        clf.fit(X[known], y)
        coef[j] = clf.coef_[0]
        intercept[j] = clf.intercept_[0]
    return TfidfScorer(label_names, vectorizers, coef, intercept)
