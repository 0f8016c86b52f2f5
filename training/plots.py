"""PR curves and reliability diagrams as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import precision_recall_curve


def pr_curves(scores: np.ndarray, y: np.ndarray, names: tuple[str, ...], title: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 5))
    for j, name in enumerate(names):
        known = ~np.isnan(y[:, j])
        if 0 < y[known, j].sum() < known.sum():
            p, r, _ = precision_recall_curve(y[known, j].astype(int), scores[known, j])
            ax.plot(r, p, label=name)
    ax.set(xlabel="recall", ylabel="precision", title=title, xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def reliability_diagram(scores: np.ndarray, y: np.ndarray, names: tuple[str, ...], title: str, path: Path,
                        bins: int = 10) -> Path:
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect")
    edges = np.linspace(0, 1, bins + 1)
    for j, name in enumerate(names):
        known = ~np.isnan(y[:, j])
        s, t = scores[known, j], y[known, j]
        idx = np.clip(np.digitize(s, edges[1:-1]), 0, bins - 1)
        xs = [s[idx == b].mean() for b in range(bins) if (idx == b).any()]
        ys = [t[idx == b].mean() for b in range(bins) if (idx == b).any()]
        ax.plot(xs, ys, marker="o", label=name)
    ax.set(xlabel="mean predicted probability", ylabel="observed frequency", title=title, xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
