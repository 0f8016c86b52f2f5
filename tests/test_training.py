"""Training pipeline: thresholds, calibration, the registry gate, and the pyfunc in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from conftest import tiny_records, write_jsonl

from divert.model.labels import LABELS
from divert.training.calibrate import fit_calibration
from divert.training.config import ThresholdConfig, TrainConfig
from divert.training.registry import CHAMPION, check_floors, compare, promote
from divert.training.thresholds import best_f1_threshold, choose_thresholds, recall_first_threshold


def test_recall_first_threshold_keeps_recall_and_maximises_precision() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    scores = np.clip(y * 0.3 + rng.random(400) * 0.7, 0, 1)
    t = recall_first_threshold(scores, y, 0.95)
    assert t is not None
    pred = scores >= t
    recall = (pred & (y == 1)).sum() / y.sum()
    assert recall >= 0.95
    precision = (pred & (y == 1)).sum() / pred.sum()
    # no other threshold that keeps the recall target has a higher precision
    for c in np.unique(scores):
        p = scores >= c
        if (p & (y == 1)).sum() / y.sum() >= 0.95:
            assert (p & (y == 1)).sum() / p.sum() <= precision + 1e-12


def test_recall_target_reachable_only_by_flagging_everything_falls_back_to_f1() -> None:
    y = np.array([1, 0, 0, 1, 0, 1, 1, 0] * 10, dtype=float)
    s = np.where(y == 1, 0.6, 0.2)
    s[0] = 0.02  # one positive at the floor: recall 0.95 needs threshold 0.02, i.e. everything
    assert recall_first_threshold(s, y.astype(int), 0.99) is None
    labels = np.zeros((80, len(LABELS)))
    labels[:, LABELS.index("violence_risk")] = y
    scores = np.zeros((80, len(LABELS)))
    scores[:, LABELS.index("violence_risk")] = s
    th, rules = choose_thresholds(scores, labels, LABELS, ThresholdConfig(recall_target=0.99))
    assert th["violence_risk"] == pytest.approx(0.6) and "only by flagging every note" in rules["violence_risk"]


def test_best_f1_threshold_separable() -> None:
    y = np.array([0, 0, 0, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    assert best_f1_threshold(s, y) == pytest.approx(0.7)


def test_choose_thresholds_rules_and_unknown_labels() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, (200, len(LABELS))).astype(float)
    y[:50, 0] = np.nan  # unknown labels are ignored, not negatives
    s = np.clip(np.nan_to_num(y, nan=0.5) * 0.4 + rng.random(y.shape) * 0.6, 0, 1)
    th, rules = choose_thresholds(s, y, LABELS, ThresholdConfig(recall_target=0.9))
    for j, name in enumerate(LABELS):
        known = ~np.isnan(y[:, j])
        if name in ("violence_risk", "suicide_risk"):
            pred = s[known, j] >= th[name]
            assert (pred & (y[known, j] == 1)).sum() / (y[known, j] == 1).sum() >= 0.9
            assert "recall" in rules[name]
        else:
            assert rules[name] == "best validation F1"


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibration_is_monotone_and_improves_brier(method: str) -> None:
    rng = np.random.default_rng(2)
    true_p = rng.random(2000)
    y = (rng.random(2000) < true_p).astype(float)
    raw = true_p**3  # badly calibrated but same ranking
    cal = fit_calibration(raw[:, None].repeat(len(LABELS), 1), y[:, None].repeat(len(LABELS), 1), LABELS, method)
    out = cal.apply(raw[:, None].repeat(len(LABELS), 1), LABELS)[:, 0]
    order = np.argsort(raw)
    assert np.all(np.diff(out[order]) >= -1e-12)
    assert np.mean((out - y) ** 2) < np.mean((raw - y) ** 2)


def test_floors_and_compare() -> None:
    assert check_floors({"test_macro_f1": 0.7}, {"test_macro_f1": 0.6}).passed
    refused = check_floors({"test_macro_f1": 0.5}, {"test_macro_f1": 0.6, "challenge_macro_f1": 0.5})
    assert not refused.passed and len(refused.reasons) == 2
    wins, _ = compare({"a": 0.8, "b": 0.7}, {"a": 0.7, "b": 0.7}, ["a", "b"], 0.0)
    assert wins
    loses, _ = compare({"a": 0.9, "b": 0.6}, {"a": 0.7, "b": 0.7}, ["a", "b"], 0.0)
    assert not loses


@pytest.fixture()
def tiny_corpus(tmp_path: Path) -> dict[str, Path]:
    recs = tiny_records()
    return {name: write_jsonl(tmp_path / "corpus" / f"{name}.jsonl", recs)
            for name in ("train", "validation", "test", "challenge")}


def tiny_config(tmp_path: Path, corpus: dict[str, Path], model: str, **extra: object) -> TrainConfig:
    raw = {
        "name": f"tiny-{model}", "model": model, "bootstrap_samples": 50,
        "data": {"train": [str(corpus["train"])], "validation": str(corpus["validation"]),
                 "test": str(corpus["test"]), "challenge": str(corpus["challenge"]), "handwritten": []},
        "tfidf": {"min_df": 1, "char_ngrams": [3, 4]},
        "tracking": {"tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "experiment": "tiny",
                     "artifact_location": (tmp_path / "mlartifacts").as_uri()},
        "gate": {"floors": {"test_macro_f1": 0.0}, "compare_on": ["test_macro_f1"]},
        "output_dir": str(tmp_path / "artifacts"),
    }
    raw.update(extra)
    return TrainConfig.model_validate(raw)


@pytest.mark.slow
def test_pipeline_registers_gates_and_pyfunc_matches_in_fresh_process(tmp_path: Path, tiny_corpus: dict[str, Path]) -> None:
    from divert.model.bundle import DivertModel
    from divert.training.pipeline import train

    cfg = tiny_config(tmp_path, tiny_corpus, "tfidf")
    result = train(cfg, show_progress=False)
    assert result.model_version == "1" and result.alias == "challenger"
    for name in ("test", "challenge", "validation"):
        assert f"{name}_macro_f1" in result.metrics
    assert (result.output_dir / "model_card.md").read_text().startswith("# Model card")
    assert (result.output_dir / "pr_test.png").stat().st_size > 1000

    # promote: no champion yet, so it is promoted
    mlflow.set_tracking_uri(cfg.tracking.tracking_uri)
    assert promote("divert", compare_on=["test_macro_f1"]).promoted

    # thresholds honour the recall target on validation
    model = DivertModel.load(result.bundle_dir)
    val = [r["text"] for r in tiny_records()]
    y = np.array([[r["labels"][n] for n in LABELS] for r in tiny_records()])  # type: ignore[index]
    dec = model.predict(val).decisions  # type: ignore[arg-type]
    for name in ("violence_risk", "suicide_risk"):
        j = LABELS.index(name)
        assert (dec[:, j] & (y[:, j] == 1)).sum() / (y[:, j] == 1).sum() >= 0.95

    # the pyfunc in a fresh process scores exactly like the in-memory model
    texts = ["SUBJ W/ KNIFE THREATENING TO KILL HIMSELF", "LOUD PARTY NEXT DOOR", "OD NOT BREATHING"]
    expected = model.predict(texts).scores
    script = (
        "import json,sys,mlflow,pandas as pd;"
        f"mlflow.set_tracking_uri({cfg.tracking.tracking_uri!r});"
        "m=mlflow.pyfunc.load_model('models:/divert@champion');"
        f"out=m.predict(pd.DataFrame({{'text': {texts!r}}}));"
        "print(json.dumps(out[[c for c in out.columns if c.startswith('score_')]].values.tolist()))"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=True)
    fresh = np.array(json.loads(proc.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(fresh, expected, atol=1e-9)

    # a worse model passes its floors as challenger but the gate refuses to make it champion
    worse = train(tiny_config(tmp_path, tiny_corpus, "keywords"), show_progress=False)
    assert worse.metrics["test_macro_f1"] < result.metrics["test_macro_f1"]
    refused = promote("divert", compare_on=["test_macro_f1"])
    assert not refused.promoted
    assert str(mlflow.MlflowClient().get_model_version_by_alias("divert", CHAMPION).version) == "1"
    forced = promote("divert", compare_on=["test_macro_f1"], force=True, reason="test of the forced path")
    assert forced.promoted
    tags = mlflow.MlflowClient().get_model_version("divert", worse.model_version).tags  # type: ignore[arg-type]
    assert tags["promotion_forced"] == "true" and tags["promotion_reason"] == "test of the forced path"


@pytest.mark.slow
def test_gate_floor_refuses_registration(tmp_path: Path, tiny_corpus: dict[str, Path]) -> None:
    from divert.training.pipeline import train

    cfg = tiny_config(tmp_path, tiny_corpus, "keywords", gate={"floors": {"test_macro_f1": 0.999}})
    result = train(cfg, show_progress=False)
    assert not result.gate.passed and result.model_version is None
    mlflow.set_tracking_uri(cfg.tracking.tracking_uri)
    assert mlflow.MlflowClient().search_model_versions("name='divert'") == []


def test_interrupted_training_registers_nothing(tmp_path: Path, tiny_corpus: dict[str, Path],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from divert.training import pipeline

    def boom(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "evaluate_sets", boom)
    cfg = tiny_config(tmp_path, tiny_corpus, "tfidf")
    with pytest.raises(KeyboardInterrupt):
        pipeline.train(cfg, show_progress=False)
    mlflow.set_tracking_uri(cfg.tracking.tracking_uri)
    client = mlflow.MlflowClient()
    assert client.search_model_versions("name='divert'") == []
    runs = mlflow.search_runs(experiment_names=["tiny"], output_format="pandas")
    assert isinstance(runs, pd.DataFrame) and (runs["status"] == "KILLED").all()
