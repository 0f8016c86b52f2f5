"""Per-label decision thresholds, chosen on calibrated validation scores by a stated rule.

- Recall-first labels (default `violence_risk`, `suicide_risk`): the threshold with the highest precision among
  those that keep recall at or above the target (default 0.95); ties go to the higher threshold. If only
  flagging every note reaches the target, that threshold is useless, and best F1 is used instead (the rule
  recorded with the model says so).
- Other labels: the threshold with the best F1.
"""

from __future__ import annotations

import numpy as np

from divert.training.config import ThresholdConfig


def _curve(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall for a decision `score >= t` at every distinct score t (descending)."""
    order = np.argsort(-scores, kind="mergesort")
    s, t = scores[order], y[order]
    tp = np.cumsum(t)
    fp = np.cumsum(1 - t)
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # last index of each distinct score
    thresholds = s[last]
    precision = tp[last] / (tp[last] + fp[last])
    recall = tp[last] / max(t.sum(), 1)
    return thresholds, precision, recall


def recall_first_threshold(scores: np.ndarray, y: np.ndarray, target: float) -> float | None:
    """None when only flagging every note reaches the target (the scorer cannot separate at that recall)."""
    thresholds, precision, recall = _curve(scores, y)
    ok = (recall >= target) & (thresholds > thresholds.min())
    if not ok.any():
        return None
    best = np.max(precision[ok])
    candidates = thresholds[ok & (precision >= best - 1e-12)]
    return float(candidates.max())


def best_f1_threshold(scores: np.ndarray, y: np.ndarray) -> float:
    thresholds, precision, recall = _curve(scores, y)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    return float(thresholds[int(np.argmax(f1))])


def choose_thresholds(scores: np.ndarray, labels: np.ndarray, names: tuple[str, ...],
                      cfg: ThresholdConfig) -> tuple[dict[str, float], dict[str, str]]:
    """Returns thresholds and the rule used for each label."""
    thresholds: dict[str, float] = {}
    rules: dict[str, str] = {}
    for j, name in enumerate(names):
        known = ~np.isnan(labels[:, j])
        s, y = scores[known, j], labels[known, j].astype(int)
        if y.sum() == 0 or y.sum() == len(y):
            thresholds[name], rules[name] = 0.5, "default 0.5 (validation has one class only)"
        elif name in cfg.recall_first_labels:
            t = recall_first_threshold(s, y, cfg.recall_target)
            if t is None:
                thresholds[name] = best_f1_threshold(s, y)
                rules[name] = (f"best validation F1: recall >= {cfg.recall_target} is reached only by flagging "
                               "every note")
            else:
                thresholds[name] = t
                rules[name] = f"highest precision with validation recall >= {cfg.recall_target}"
        else:
            thresholds[name] = best_f1_threshold(s, y)
            rules[name] = "best validation F1"
    return thresholds, rules
