"""Fit per-label calibration on the validation split (see `divert.model.calibration` for how it is applied)."""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from divert.model.calibration import Calibration, LabelCalibration, logit


def _fit_label(raw: np.ndarray, y: np.ndarray, method: str) -> LabelCalibration:
    known = ~np.isnan(y)
    raw, y = raw[known], y[known].astype(int)
    if method == "identity" or len(np.unique(y)) < 2:
        return LabelCalibration()
    if method == "platt":
        lr = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000)
        lr.fit(logit(raw).reshape(-1, 1), y)
        return LabelCalibration(method="platt", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
    iso.fit(raw, y)
    return LabelCalibration(method="isotonic", knots_x=[float(v) for v in iso.X_thresholds_],
                            knots_y=[float(v) for v in iso.y_thresholds_])


def fit_calibration(raw: np.ndarray, labels: np.ndarray, names: tuple[str, ...], method: str) -> Calibration:
    """`raw` and `labels` are (n, L); NaN labels are unknown and left out."""
    return Calibration(labels={name: _fit_label(raw[:, j], labels[:, j], method) for j, name in enumerate(names)})
