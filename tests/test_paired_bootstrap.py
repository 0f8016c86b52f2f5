"""Paired bootstrap of a macro-F1 difference (`divert eval paired`)."""

from __future__ import annotations

import numpy as np

from divert.training.evaluate import macro_f1, paired_bootstrap_macro_f1


def test_a_better_model_is_ahead_on_every_resample_and_the_difference_is_exact() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (300, 3)).astype(float)
    good = y.astype(bool)
    good[:15, 0] = ~good[:15, 0]  # 15 mistakes
    bad = y.astype(bool)
    bad[:90, :] = ~bad[:90, :]  # 270 mistakes
    diff, (lo, hi), not_ahead = paired_bootstrap_macro_f1(good, bad, y, samples=200)
    assert diff == macro_f1(good, y) - macro_f1(bad, y)
    assert 0 < lo <= diff <= hi
    assert not_ahead == 0.0


def test_identical_models_differ_by_nothing() -> None:
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=float)
    d = y.astype(bool)
    diff, (lo, hi), not_ahead = paired_bootstrap_macro_f1(d, d, y, samples=50)
    assert (diff, lo, hi, not_ahead) == (0.0, 0.0, 0.0, 1.0)


def test_unknown_labels_are_left_out() -> None:
    y = np.array([[1, np.nan], [0, 1], [1, 0]], dtype=float)
    a = np.array([[True, True], [False, True], [True, False]])
    b = np.array([[True, False], [False, True], [True, False]])  # differs only where the label is unknown
    assert paired_bootstrap_macro_f1(a, b, y, samples=20)[0] == 0.0
