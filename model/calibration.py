"""Per-label calibration maps raw scores to probabilities. Fitted in training, applied here.

Two methods, stored as plain numbers (no pickles):
- `platt`: sigmoid(a * logit(raw) + b), i.e. temperature scaling with a bias; keeps the ranking.
- `isotonic`: a monotone step function, applied by linear interpolation between its knots.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel

EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class LabelCalibration(BaseModel):
    method: Literal["identity", "platt", "isotonic"] = "identity"
    a: float = 1.0
    b: float = 0.0
    knots_x: list[float] = []
    knots_y: list[float] = []

    def apply(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=np.float64)
        if self.method == "platt":
            return sigmoid(self.a * logit(raw) + self.b)
        if self.method == "isotonic":
            return np.interp(raw, self.knots_x, self.knots_y)
        return raw


class Calibration(BaseModel):
    """One `LabelCalibration` per label, in label order."""

    labels: dict[str, LabelCalibration]

    def apply(self, raw: np.ndarray, labels: tuple[str, ...]) -> np.ndarray:
        out = np.empty_like(raw, dtype=np.float64)
        for j, name in enumerate(labels):
            out[:, j] = self.labels[name].apply(raw[:, j])
        return out

    @classmethod
    def identity(cls, labels: tuple[str, ...]) -> Calibration:
        return cls(labels={name: LabelCalibration() for name in labels})
