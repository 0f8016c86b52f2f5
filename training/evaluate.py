"""Evaluation: per-label metrics, calibration error, bootstrap intervals and slices by metadata.

Unknown labels (NaN) are left out of every metric of that label.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

SLICE_KEYS = ("style", "caller_type", "channel", "language_mix", "length_bucket")


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def expected_calibration_error(scores: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            ece += sel.mean() * abs(scores[sel].mean() - y[sel].mean())
    return float(ece)


def label_metrics(scores: np.ndarray, y: np.ndarray, threshold: float) -> dict[str, float]:
    known = ~np.isnan(y)
    s, t = scores[known], y[known].astype(int)
    pred = s >= threshold
    tp, fp = int((pred & (t == 1)).sum()), int((pred & (t == 0)).sum())
    fn, tn = int((~pred & (t == 1)).sum()), int((~pred & (t == 0)).sum())
    both = 0 < t.sum() < len(t)
    return {
        "n": float(len(t)), "positives": float(t.sum()),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "f1": _f1(tp, fp, fn),
        "fpr": fp / (fp + tn) if fp + tn else 0.0,
        "pr_auc": float(average_precision_score(t, s)) if both else float("nan"),
        "roc_auc": float(roc_auc_score(t, s)) if both else float("nan"),
        "brier": float(np.mean((s - t) ** 2)) if len(t) else float("nan"),
        "ece": expected_calibration_error(s, t) if len(t) else float("nan"),
        "tp": float(tp), "fp": float(fp), "fn": float(fn), "tn": float(tn),
    }


def per_label_f1(decisions: np.ndarray, y: np.ndarray) -> np.ndarray:
    """F1 per label over known rows; NaN for a label with no positives in this set (F1 is undefined)."""
    out = np.full(y.shape[1], np.nan)
    for j in range(y.shape[1]):
        known = ~np.isnan(y[:, j])
        d, t = decisions[known, j], y[known, j].astype(bool)
        if t.sum():
            out[j] = _f1(int((d & t).sum()), int((d & ~t).sum()), int((~d & t).sum()))
    return out


def macro_f1(decisions: np.ndarray, y: np.ndarray) -> float:
    f1s = per_label_f1(decisions, y)
    return float(np.nanmean(f1s)) if not np.isnan(f1s).all() else float("nan")


def bootstrap_f1(decisions: np.ndarray, y: np.ndarray, samples: int, seed: int = 0
                 ) -> tuple[tuple[float, float], np.ndarray]:
    """95% percentile intervals over row resamples: of macro F1, and of each label's F1 (shape (L, 2))."""
    if samples <= 0 or len(y) == 0:
        return (float("nan"), float("nan")), np.full((y.shape[1], 2), np.nan)
    rng = np.random.default_rng(seed)
    per = np.array([per_label_f1(decisions[idx], y[idx])
                    for idx in (rng.integers(0, len(y), len(y)) for _ in range(samples))])
    with np.errstate(all="ignore"):
        macro = np.nanmean(np.where(np.isnan(per).all(axis=1, keepdims=True), 0.0, per), axis=1)
    lo, hi = np.nanpercentile(macro, [2.5, 97.5])
    labels_ci = np.array([np.nanpercentile(per[:, j], [2.5, 97.5]) if not np.isnan(per[:, j]).all()
                          else [np.nan, np.nan] for j in range(y.shape[1])])
    return (float(lo), float(hi)), labels_ci


def bootstrap_macro_f1(decisions: np.ndarray, y: np.ndarray, samples: int, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of macro F1 over row resamples."""
    return bootstrap_f1(decisions, y, samples, seed)[0]


def paired_bootstrap_macro_f1(a: np.ndarray, b: np.ndarray, y: np.ndarray, samples: int, seed: int = 0
                              ) -> tuple[float, tuple[float, float], float]:
    """Macro F1 of decisions `a` minus that of `b` on the same rows, its 95% percentile interval over row
    resamples (both models scored on the same resample each time), and the share of resamples where a <= b."""
    diff = macro_f1(a, y) - macro_f1(b, y)
    rng = np.random.default_rng(seed)
    deltas = np.array([macro_f1(a[idx], y[idx]) - macro_f1(b[idx], y[idx])
                       for idx in (rng.integers(0, len(y), len(y)) for _ in range(samples))])
    lo, hi = np.nanpercentile(deltas, [2.5, 97.5])
    return float(diff), (float(lo), float(hi)), float(np.mean(deltas <= 0))


def length_bucket(text: str) -> str:
    n = len(text.split())
    return "<=10 words" if n <= 10 else "11-30 words" if n <= 30 else "31-100 words" if n <= 100 else ">100 words"


def evaluate(scores: np.ndarray, y: np.ndarray, thresholds: np.ndarray, names: tuple[str, ...],
             metas: list[dict[str, Any]], texts: list[str], *, bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Full report of one evaluation set."""
    decisions = scores >= thresholds[None, :]
    (lo, hi), labels_ci = bootstrap_f1(decisions, y, bootstrap, seed)
    report: dict[str, Any] = {
        "n": len(y),
        "macro_f1": macro_f1(decisions, y),
        "macro_f1_ci": [lo, hi],
        "labels": {name: label_metrics(scores[:, j], y[:, j], float(thresholds[j]))
                   | {"f1_ci": [float(labels_ci[j, 0]), float(labels_ci[j, 1])]} for j, name in enumerate(names)},
    }
    report["macro_pr_auc"] = float(np.nanmean([m["pr_auc"] for m in report["labels"].values()]))
    report["slices"] = _slices(scores, decisions, y, names, metas, texts, bootstrap, seed)
    return report


def _slices(scores: np.ndarray, decisions: np.ndarray, y: np.ndarray, names: tuple[str, ...],
            metas: list[dict[str, Any]], texts: list[str], bootstrap: int, seed: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in SLICE_KEYS:
        groups: dict[str, list[int]] = defaultdict(list)
        for i, meta in enumerate(metas):
            value = length_bucket(texts[i]) if key == "length_bucket" else meta.get(key)
            groups[str(value) if value is not None else "unknown"].append(i)
        if len(groups) < 2 and key != "style":
            continue
        out[key] = {}
        for value, rows in sorted(groups.items()):
            idx = np.array(rows)
            lo, hi = bootstrap_macro_f1(decisions[idx], y[idx], bootstrap if key == "style" else 0, seed)
            out[key][value] = {
                "n": len(idx),
                "macro_f1": macro_f1(decisions[idx], y[idx]),
                "macro_f1_ci": [lo, hi],
                "labels": {
                    name: {k: v for k, v in label_metrics(scores[idx, j], y[idx, j], 0.5).items() if k in ("n", "positives")}
                    | _rates(decisions[idx, j], y[idx, j])
                    for j, name in enumerate(names)
                },
            }
    return out


def _rates(d: np.ndarray, y: np.ndarray) -> dict[str, float]:
    known = ~np.isnan(y)
    d, t = d[known], y[known].astype(bool)
    tp, fp, fn, tn = (d & t).sum(), (d & ~t).sum(), (~d & t).sum(), (~d & ~t).sum()
    return {
        "recall": float(tp / (tp + fn)) if tp + fn else float("nan"),
        "fpr": float(fp / (fp + tn)) if fp + tn else float("nan"),
        "f1": _f1(int(tp), int(fp), int(fn)) if tp + fn else float("nan"),
    }
