"""Per-slice recall and false-positive rate with bootstrap intervals, and the gaps beyond a stated tolerance
(notebook 04).

For one label and one slice key (caller type, channel, language mix, note length bucket, input style, or any
`meta` key), each slice value gets:
- recall (over the slice's positives) and false-positive rate (over its negatives), with 95% percentile
  bootstrap intervals. A rate is a mean of 0/1 outcomes; resampling those outcomes with replacement gives a
  mean distributed as Binomial(n, p)/n, which is how the resamples are drawn.
- the gap to the same rate over the whole set: `recall_gap = recall - overall recall` (a shortfall is
  negative), `fpr_gap = fpr - overall fpr` (an excess is positive).
- flags: `recall_beyond` when the shortfall exceeds the tolerance (recall_gap < -tolerance), `fpr_beyond` when
  the excess does; `recall_clear` / `fpr_clear` when, in addition, the whole interval lies beyond the tolerance
  line and the slice has at least `min_count` positives (negatives). A percentile interval of a slice with very
  few outcomes can be degenerate (3 misses out of 3: [0, 0]), so a small slice is never "clear": `few_positives`
  / `few_negatives` say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from divert.model.labels import LABELS
from divert.training.analysis import AnalysisError, ScoredSet, slice_values

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FAIRNESS_LABELS: tuple[str, ...] = ("behavioral_health", "violence_risk")
FAIRNESS_SLICES: tuple[str, ...] = ("caller_type", "channel", "language_mix", "length_bucket", "style")

COLUMNS = ["label", "slice_key", "slice", "n", "positives", "negatives",
           "recall", "recall_low", "recall_high", "recall_gap",
           "fpr", "fpr_low", "fpr_high", "fpr_gap",
           "few_positives", "few_negatives", "recall_beyond", "recall_clear", "fpr_beyond", "fpr_clear"]


def bootstrap_rate(outcomes: np.ndarray, samples: int, rng: np.random.Generator) -> tuple[float, float, float]:
    """(rate, low, high): the mean of 0/1 outcomes and its 95% percentile bootstrap interval (NaN when empty;
    low == high == rate when samples is 0)."""
    n = len(outcomes)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    rate = float(np.mean(outcomes))
    if samples <= 0:
        return rate, rate, rate
    draws = rng.binomial(n, rate, size=samples) / n
    low, high = np.percentile(draws, [2.5, 97.5])
    return rate, float(low), float(high)


def _rates(y: np.ndarray, d: np.ndarray, samples: int, rng: np.random.Generator
           ) -> tuple[tuple[float, float, float], tuple[float, float, float], int, int]:
    known = ~np.isnan(y)
    y, d = y[known].astype(bool), d[known]
    recall = bootstrap_rate(d[y].astype(float), samples, rng)
    fpr = bootstrap_rate(d[~y].astype(float), samples, rng)
    return recall, fpr, int(y.sum()), int((~y).sum())


def slice_rates(scored: ScoredSet, label: str, key: str, *, tolerance: float = 0.10, bootstrap: int = 1000,
                min_count: int = 20, seed: int = 0) -> pd.DataFrame:
    """Recall and FPR of `label` per value of slice `key`, with intervals, gaps to the whole set and flags
    (see the module docstring). The first row (`slice` = "(all)") is the whole set."""
    if label not in LABELS:
        raise AnalysisError(f"unknown label {label!r}; labels are {', '.join(LABELS)}")
    if not 0 <= tolerance <= 1:
        raise AnalysisError(f"tolerance must be between 0 and 1, got {tolerance}")
    j = LABELS.index(label)
    y, d = scored.data.labels[:, j], scored.decisions[:, j]
    rng = np.random.default_rng(seed)
    values = np.array(slice_values(scored.data, key), dtype=object)
    (overall_recall, *_), (overall_fpr, *_), _, _ = _rates(y, d, 0, rng)
    rows = []
    for value in ["(all)", *sorted(set(values.tolist()))]:
        idx = np.arange(len(y)) if value == "(all)" else np.flatnonzero(values == value)
        (recall, r_lo, r_hi), (fpr, f_lo, f_hi), pos, neg = _rates(y[idx], d[idx], bootstrap, rng)
        few_pos, few_neg = pos < min_count, neg < min_count
        recall_gap, fpr_gap = recall - overall_recall, fpr - overall_fpr
        recall_line, fpr_line = overall_recall - tolerance, overall_fpr + tolerance
        rows.append({
            "label": label, "slice_key": key, "slice": value, "n": len(idx), "positives": pos, "negatives": neg,
            "recall": recall, "recall_low": r_lo, "recall_high": r_hi, "recall_gap": recall_gap,
            "fpr": fpr, "fpr_low": f_lo, "fpr_high": f_hi, "fpr_gap": fpr_gap,
            "few_positives": few_pos, "few_negatives": few_neg,
            "recall_beyond": bool(recall_gap < -tolerance - 1e-12),
            "recall_clear": bool(not few_pos and r_hi < recall_line - 1e-12),
            "fpr_beyond": bool(fpr_gap > tolerance + 1e-12),
            "fpr_clear": bool(not few_neg and f_lo > fpr_line + 1e-12),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def fairness_report(scored: ScoredSet, labels: Sequence[str] = FAIRNESS_LABELS,
                    keys: Sequence[str] = FAIRNESS_SLICES, *, tolerance: float = 0.10, bootstrap: int = 1000,
                    min_count: int = 20, seed: int = 0) -> pd.DataFrame:
    """`slice_rates` for every label and slice key, one table (a key with a single value still gets its rows)."""
    frames = [slice_rates(scored, label, key, tolerance=tolerance, bootstrap=bootstrap, min_count=min_count,
                          seed=seed) for label in labels for key in keys]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def gaps(report: pd.DataFrame) -> pd.DataFrame:
    """The rows of a report with a gap beyond the tolerance (recall shortfall or FPR excess), worst first."""
    flagged = report[(report["slice"] != "(all)") & (report["recall_beyond"] | report["fpr_beyond"])]
    worst = np.maximum(-flagged["recall_gap"].fillna(0), flagged["fpr_gap"].fillna(0))
    return flagged.assign(worst_gap=worst).sort_values("worst_gap", ascending=False).drop(columns="worst_gap")


def gap_summary(report: pd.DataFrame) -> pd.DataFrame:
    """Per label and slice key: slices, how many are beyond the tolerance and how many of those clearly."""
    body = report[report["slice"] != "(all)"]
    grouped = body.groupby(["label", "slice_key"], sort=False)
    return pd.DataFrame({
        "slices": grouped.size(),
        "recall_beyond": grouped["recall_beyond"].sum(), "recall_clear": grouped["recall_clear"].sum(),
        "fpr_beyond": grouped["fpr_beyond"].sum(), "fpr_clear": grouped["fpr_clear"].sum(),
        "max_recall_shortfall": (-grouped["recall_gap"].min()).clip(lower=0) + 0.0,
        "max_fpr_excess": grouped["fpr_gap"].max().clip(lower=0) + 0.0,
    })


def plottable(report: pd.DataFrame) -> list[tuple[str, str]]:
    """The (label, slice key) pairs of a report with at least two slice values, in report order."""
    body = report[report["slice"] != "(all)"]
    counts = body.groupby(["label", "slice_key"], sort=False)["slice"].nunique()
    return [(str(label), str(key)) for (label, key), n in counts.items() if n >= 2]


def plot_slice_rates(report: pd.DataFrame, label: str, key: str, tolerance: float, set_name: str = "") -> Figure:
    """Recall and FPR per slice with 95% intervals, the whole-set rate (solid) and the tolerance line (dashed);
    slices beyond the tolerance are drawn in red (a square when clearly beyond), small slices hollow."""
    import matplotlib.pyplot as plt

    part = report[(report["label"] == label) & (report["slice_key"] == key)]
    overall = part[part["slice"] == "(all)"].iloc[0]
    body = part[part["slice"] != "(all)"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.9 + 0.42 * max(len(body), 1)), sharey=True)
    y = np.arange(len(body))
    names = [f"{s} ({p} pos / {n} neg)" for s, p, n in zip(body["slice"], body["positives"], body["negatives"],
                                                            strict=True)]
    for ax, rate, beyond, few, line in (
        (axes[0], "recall", "recall_beyond", "few_positives", overall["recall"] - tolerance),
        (axes[1], "fpr", "fpr_beyond", "few_negatives", overall["fpr"] + tolerance),
    ):
        clear = f"{rate}_clear"
        values = body[rate].to_numpy(dtype=float)
        err = np.vstack([values - body[f"{rate}_low"].to_numpy(dtype=float),
                         body[f"{rate}_high"].to_numpy(dtype=float) - values])
        for i in range(len(body)):
            color = "tab:red" if body[beyond].iloc[i] else "tab:blue"
            face = "white" if body[few].iloc[i] else color
            ax.errorbar(values[i], y[i], xerr=np.nan_to_num(err[:, i : i + 1]), fmt="s" if body[clear].iloc[i] else "o",
                        color=color, markerfacecolor=face, capsize=3)
        ax.axvline(overall[rate], color="k", lw=1, label=f"whole set {overall[rate]:.2f}")
        ax.axvline(line, color="k", lw=1, ls="--", label=f"tolerance line ({tolerance:.2f} from the whole set)")
        ax.set(xlim=(-0.02, 1.02), xlabel=rate, title=f"{set_name + ': ' if set_name else ''}{label}: {rate} by {key}")
        ax.legend(fontsize=7, loc="best")
    axes[0].set_yticks(y, names)
    fig.tight_layout()
    return fig
