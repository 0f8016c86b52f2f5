"""Weak labels: combine nature-code labels with the keyword rules and a registered model's confident predictions.

`combine` is the whole rule (see `WeakSupervisionConfig` in training/config.py for the weights): every source
votes per row and label, a label is set when the net weight for one value reaches `min_net_weight`, otherwise it is
unknown (NaN), and unknown labels are masked out of the loss (both trainers) and of every metric.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from divert.model.keywords import KeywordScorer
from divert.model.labels import LABELS
from divert.training.config import WeakSupervisionConfig
from divert.training.dataset import Dataset, load_many


def rule_scores(texts: Sequence[str]) -> np.ndarray:
    """(n, L) keyword-rule scores (noisy-or of the rules that fired, not negated)."""
    return KeywordScorer(LABELS).raw_scores(list(texts))


def combine(code_labels: np.ndarray, cfg: WeakSupervisionConfig, *, rules: np.ndarray | None = None,
            champion: np.ndarray | None = None) -> np.ndarray:
    """(n, L) labels: 1, 0 or NaN, from the weighted votes of the sources given."""
    code_labels = np.asarray(code_labels, dtype=float)
    w1 = cfg.code_weight * (code_labels == 1)
    w0 = cfg.code_weight * (code_labels == 0)
    if rules is not None and cfg.rules_weight > 0:
        w1 = w1 + cfg.rules_weight * (rules >= cfg.rules_min_score)
    if champion is not None and cfg.champion_weight > 0:
        w1 = w1 + cfg.champion_weight * (champion >= cfg.champion_high)
        w0 = w0 + cfg.champion_weight * (champion <= cfg.champion_low)
    net = w1 - w0
    out = np.full(code_labels.shape, np.nan)
    out[net >= cfg.min_net_weight] = 1.0
    out[net <= -cfg.min_net_weight] = 0.0
    return out


def champion_scores(texts: Sequence[str], ref: str, *, registered_model: str = "divert") -> np.ndarray:
    """Calibrated scores of a registered model (alias, version or path) for `texts`."""
    from divert.model.pyfunc import load_model

    return np.asarray(load_model(ref, registered_model=registered_model).model.predict(list(texts)).scores)


def weak_labels(dataset: Dataset, cfg: WeakSupervisionConfig, *, registered_model: str = "divert") -> np.ndarray:
    rules = rule_scores(dataset.texts) if cfg.rules_weight > 0 else None
    champ = (champion_scores(dataset.texts, cfg.champion_ref, registered_model=registered_model)
             if cfg.champion_ref and cfg.champion_weight > 0 else None)
    return combine(dataset.labels, cfg, rules=rules, champion=champ)


def load_weak(cfg: WeakSupervisionConfig, *, registered_model: str = "divert") -> Dataset:
    """The imported files with their labels replaced by the combined weak labels; rows whose every label is
    unknown are dropped (they teach nothing)."""
    data = load_many(cfg.files, allow_unknown=True)
    labels = weak_labels(data, cfg, registered_model=registered_model)
    data = Dataset(data.ids, data.texts, labels, data.groups, data.meta, data.source)
    keep = ~np.isnan(labels).all(axis=1)
    return data.subset(keep)
