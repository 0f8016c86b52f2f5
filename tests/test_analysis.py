"""The library behind the notebooks: divert.training.analysis and divert.training.fairness."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from conftest import tiny_records, write_jsonl

from divert.model.labels import LABELS
from divert.training import analysis, fairness
from divert.training.analysis import AnalysisError, NotebookSettings, ScoredSet
from divert.training.dataset import Dataset

BH, SR, SU, VR, ME = (LABELS.index(n) for n in
                      ("behavioral_health", "suicide_risk", "substance_use", "violence_risk", "medical_emergency"))


def make_dataset(labels: list[list[float]], metas: list[dict[str, object]] | None = None,
                 texts: list[str] | None = None) -> Dataset:
    n = len(labels)
    return Dataset(ids=[f"r{i}" for i in range(n)], texts=texts or [f"note number {i}" for i in range(n)],
                   labels=np.array(labels, dtype=float), groups=[""] * n, meta=metas or [{} for _ in range(n)])


def scored_from(y: np.ndarray, scores: np.ndarray, metas: list[dict[str, object]] | None = None,
                threshold: float = 0.5) -> ScoredSet:
    data = make_dataset(y.tolist(), metas)
    return ScoredSet("s", data, scores, np.full(len(LABELS), threshold))


# --------------------------------------------------------------------------------------------------- settings


def test_settings_from_env_resolve_against_project_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "divert"\n')
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    for key in ("TRACKING_URI", "DATA_DIR", "MODEL_REF", "TOLERANCE", "SETS", "HANDWRITTEN_DIR"):
        monkeypatch.delenv(f"DIVERT_NB_{key}", raising=False)
    defaults = analysis.load_settings()
    assert defaults.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert defaults.data_dir == tmp_path / "data" / "corpus"
    assert defaults.model_ref == "models:/divert@champion"
    assert defaults.set_names == ["test", "challenge", "handwritten"]

    monkeypatch.setenv("DIVERT_NB_TOLERANCE", "0.05")
    monkeypatch.setenv("DIVERT_NB_MODEL_REF", "artifacts/run/bundle")
    monkeypatch.setenv("DIVERT_NB_SETS", "test, challenge")
    monkeypatch.setenv("DIVERT_NB_HANDWRITTEN_DIR", "")
    monkeypatch.setenv("DIVERT_NB_TRACKING_URI", "http://mlflow:5000")
    custom = analysis.load_settings()
    assert custom.tolerance == 0.05 and custom.set_names == ["test", "challenge"]
    assert custom.model_ref == str(tmp_path / "artifacts" / "run" / "bundle")
    assert custom.handwritten_dir is None and custom.tracking_uri == "http://mlflow:5000"
    assert custom.table().loc["tolerance", "env"] == "DIVERT_NB_TOLERANCE"


def test_settings_refuse_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIVERT_NB_TOLERANCE", "2")
    with pytest.raises(ValueError, match="tolerance"):
        NotebookSettings()


# --------------------------------------------------------------------------------------------------- corpus


def test_slice_values_any_meta_and_length_bucket() -> None:
    data = make_dataset([[0] * 5] * 4, metas=[{"style": "transcript_asr", "n": 3}, {"style": None},
                                              {"style": {"a": [1]}}, {}],
                        texts=["one two", "word " * 40, "x", "y"])
    assert analysis.slice_values(data, "style") == ["transcript_asr", "unknown", '{"a": [1]}', "unknown"]
    assert analysis.slice_values(data, "n") == ["3", "unknown", "unknown", "unknown"]
    assert analysis.slice_values(data, "length_bucket")[:2] == ["<=10 words", "31-100 words"]


def test_load_corpus_lists_rejected_rows_and_prevalence(tmp_path: Path) -> None:
    records = tiny_records()
    write_jsonl(tmp_path / "train.jsonl", records)
    bad = [*records[:4], {"id": "bad", "text": "", "labels": records[0]["labels"]}]
    write_jsonl(tmp_path / "test.jsonl", bad)
    corpus = analysis.load_corpus(tmp_path)
    assert list(corpus.splits) == ["train", "test"] and len(corpus.splits["test"]) == 4
    assert corpus.problems[["split", "id", "code"]].values.tolist() == [["test", "bad", "empty_text"]]
    assert corpus.main() is corpus.splits["train"]

    prevalence = analysis.prevalence_table(corpus.splits)
    y = np.array([[r["labels"][n] for n in LABELS] for r in records])  # type: ignore[index]
    assert prevalence.loc["train", "rows"] == len(records)
    np.testing.assert_allclose(prevalence.loc["train", list(LABELS)].to_numpy(dtype=float), y.mean(axis=0))
    assert analysis.positives_table(corpus.splits).loc["test", "behavioral_health"] == y[:4, BH].sum()


def test_cooccurrence_counts_conditional_and_unknowns() -> None:
    rows = [[1, 1, 0, 0, 0], [1, 0, 0, 1, 0], [1, 1, 0, 1, 0], [0, 0, 0, 1, 0], [1, math.nan, 0, 0, 0]]
    data = make_dataset(rows)
    counts = analysis.cooccurrence(data, "count")
    assert counts.loc["behavioral_health", "behavioral_health"] == 4
    assert counts.loc["behavioral_health", "suicide_risk"] == 2  # the unknown row is left out
    assert counts.loc["violence_risk", "behavioral_health"] == 2
    conditional = analysis.cooccurrence(data, "conditional")
    assert conditional.loc["violence_risk", "behavioral_health"] == pytest.approx(2 / 3)
    assert conditional.loc["behavioral_health", "violence_risk"] == pytest.approx(2 / 4)
    assert math.isnan(conditional.loc["substance_use", "behavioral_health"])  # no substance_use positives
    assert analysis.cooccurrence(data, "jaccard").loc["behavioral_health", "violence_risk"] == pytest.approx(2 / 5)


def test_style_summary_any_style_lengths_and_vocabulary() -> None:
    data = make_dataset([[0] * 5] * 3, metas=[{"style": "cad"}, {"style": "transcript_asr"}, {"style": "cad"}],
                        texts=["MALE DOWN", "caller um he is down down", "male down now"])
    summary = analysis.style_summary(data)
    assert list(summary.index) == ["cad", "transcript_asr"]
    assert summary.loc["cad", "notes"] == 2 and summary.loc["cad", "words_mean"] == 2.5
    assert summary.loc["cad", "vocabulary"] == 3  # male, down, now (lower-cased)
    assert summary.loc["transcript_asr", "vocabulary"] == 5
    assert summary.loc["transcript_asr", "type_token_ratio"] == pytest.approx(5 / 6)
    lengths = analysis.length_frame(data)
    assert lengths["words"].tolist() == [2, 6, 3]


def test_distinctive_terms_and_style_prevalence() -> None:
    texts = ["rp adv subj wpns"] * 6 + ["caller says he is sad"] * 6
    metas: list[dict[str, object]] = [{"style": "cad"}] * 6 + [{"style": "prose"}] * 6
    labels = [[1, 0, 0, 0, 0]] * 6 + [[0, 0, 0, 0, 0]] * 6
    data = make_dataset(labels, metas, texts)
    terms = analysis.distinctive_terms(data, k=2, min_count=5)
    assert set(terms[terms["style"] == "cad"]["term"]) <= {"rp", "adv", "subj", "wpns"}
    assert set(terms[terms["style"] == "prose"]["term"]) <= {"caller", "says", "he", "is", "sad"}
    prevalence = analysis.style_prevalence(data)
    assert prevalence.loc["cad", "behavioral_health"] == 1 and prevalence.loc["prose", "behavioral_health"] == 0


def test_examples_per_label_are_positives() -> None:
    records = tiny_records()
    data = make_dataset([[r["labels"][n] for n in LABELS] for r in records],  # type: ignore[index]
                        [r["meta"] for r in records], [str(r["text"]) for r in records])  # type: ignore[misc]
    examples = analysis.examples_per_label(data, k=2, seed=1, max_chars=20)
    assert examples.groupby("label").size().to_dict() == dict.fromkeys(LABELS, 2)
    for row in examples.itertuples():
        assert str(row.label) in str(row.labels_on).split(", ")
        assert len(str(row.text)) <= 20
    assert examples.equals(analysis.examples_per_label(data, k=2, seed=1, max_chars=20))


# --------------------------------------------------------------------------------------------------- errors


def _error_fixture() -> ScoredSet:
    y = np.zeros((6, len(LABELS)))
    y[:3, VR] = 1
    y[5, VR] = np.nan  # unknown: never an error
    scores = np.zeros((6, len(LABELS)))
    scores[:, VR] = [0.9, 0.1, 0.3, 0.7, 0.95, 0.99]
    metas: list[dict[str, object]] = [{"style": "cad", "family": "f1"}, {"style": "prose"}, {"style": "cad"},
                                      {"style": "cad"}, {"style": "prose"}, {"style": "cad"}]
    return scored_from(y, scores, metas)


def test_worst_errors_order_and_unknown_labels() -> None:
    scored = _error_fixture()
    fn = analysis.worst_errors(scored, "fn", k=5, labels=["violence_risk"])
    assert fn["id"].tolist() == ["r1", "r2"]  # lowest score first
    assert fn["margin"].tolist() == pytest.approx([0.4, 0.2])
    assert fn["style"].tolist() == ["prose", "cad"] and fn["family"].tolist() == ["unknown", "unknown"]
    fp = analysis.worst_errors(scored, "fp", k=1)
    assert fp["id"].tolist() == ["r4"]  # r5 scores higher but its label is unknown
    with pytest.raises(AnalysisError):
        analysis.worst_errors(scored, "tp", k=1)  # type: ignore[arg-type]


def test_confusion_by_label_and_by_slice_add_up() -> None:
    scored = _error_fixture()
    by_label = analysis.confusion_by_label(scored)
    row = by_label.loc["violence_risk"]
    assert (row["tp"], row["fp"], row["fn"], row["tn"]) == (1, 2, 2, 0)
    assert row["recall"] == pytest.approx(1 / 3) and row["fpr"] == pytest.approx(1.0)
    assert math.isnan(by_label.loc["suicide_risk", "recall"])  # no positives: undefined, not 0
    by_style = analysis.confusion_by_slice(scored, "style", labels=["violence_risk"])
    assert by_style[["tp", "fp", "fn", "tn"]].sum().tolist() == [1, 2, 2, 0]
    pivot = analysis.slice_pivot(by_style, "recall")
    assert pivot.loc["prose", "violence_risk"] == 0.0 and pivot.loc["cad", "violence_risk"] == 0.5
    weakest = analysis.weakest_slices(by_style, "recall", k=1, min_positives=1)
    assert weakest["slice"].tolist() == ["prose"]
    table = analysis.confusion_table({"a": scored, "b": scored})
    assert table.loc[("b", "violence_risk"), "tp"] == 1


def test_score_set_and_explained_errors(tiny_tfidf_bundle: Path) -> None:
    from divert.model.bundle import DivertModel

    model = DivertModel.load(tiny_tfidf_bundle)
    records = tiny_records()
    data = make_dataset([[r["labels"][n] for n in LABELS] for r in records],  # type: ignore[index]
                        [r["meta"] for r in records], [str(r["text"]) for r in records])  # type: ignore[misc]
    scored = analysis.score_set(model, data, "tiny")
    np.testing.assert_allclose(scored.scores, model.predict(data.texts).scores)
    scored.thresholds = np.full(len(LABELS), 0.999)  # force misses so there is something to explain
    errors = analysis.worst_errors(scored, "fn", k=1, labels=["behavioral_health", "violence_risk"])
    explained = analysis.explain_errors(model, scored, errors, n_words=3)
    assert len(explained) == 2 and set(explained["method"]) == {"exact"}
    for row in explained.itertuples():
        words = [part.split(" (")[0] for part in str(row.pushes_up).split(", ") if part]
        assert words and all(w in data.texts[int(row.row)] for w in words)
    timing = analysis.measure_latency(model, data.texts[:4], warmup=1)
    assert timing["n"] == 4 and timing["p50_ms"] <= timing["p90_ms"]


# --------------------------------------------------------------------------------------------------- runs


def _fake_runs() -> pd.DataFrame:
    rows = []
    for run_id, kind, f1 in (("a" * 32, "tfidf", 0.9), ("b" * 32, "keywords", 0.7)):
        row: dict[str, object] = {
            "run_id": run_id, "status": "FINISHED", "start_time": pd.Timestamp("2026-01-01"),
            "tags.mlflow.runName": f"x-{kind}", "tags.model_kind": kind, "tags.gate": "passed",
            "params.gate.compare_on": "['test_macro_f1', 'challenge_macro_f1']",
            "params.gate.floors.test_macro_f1": "0.5",
            "metrics.test_macro_f1": f1, "metrics.test_macro_f1_ci_low": f1 - 0.05,
            "metrics.test_macro_f1_ci_high": f1 + 0.05, "metrics.challenge_macro_f1": f1 - 0.1,
        }
        for j, label in enumerate(LABELS):
            row[f"metrics.test_{label}_ece"] = 0.01 * (j + 1)
            row[f"metrics.test_{label}_brier"] = 0.1
            row[f"metrics.test_{label}_f1"] = f1
        rows.append(row)
    rows[0]["metrics.serving_latency_p50_ms"] = 4.0
    return pd.DataFrame(rows)


def test_runs_tables_from_search_runs_frame() -> None:
    runs = _fake_runs()
    metrics = analysis.gate_metrics(runs)
    assert metrics == ["test_macro_f1", "challenge_macro_f1"]
    assert analysis.gate_metrics(runs.drop(columns=["params.gate.compare_on", "params.gate.floors.test_macro_f1"])) \
        == list(analysis.DEFAULT_GATE_METRICS)
    summary = analysis.runs_summary(runs, metrics)
    assert list(summary.index) == ["aaaaaaaa", "bbbbbbbb"]
    assert summary.loc["aaaaaaaa", "test_macro_f1_ci_low"] == pytest.approx(0.85)
    assert "challenge_macro_f1_ci_low" not in summary.columns
    calibration = analysis.calibration_summary(runs)
    assert calibration["set"].tolist() == ["test", "test"]
    assert calibration["ece"].tolist() == pytest.approx([0.03, 0.03]) and calibration["brier"].iloc[0] == 0.1
    assert analysis.label_metric_table(runs, "test", "f1").loc["bbbbbbbb", "violence_risk"] == 0.7
    latency = analysis.latency_table(runs)
    assert latency.to_dict() == {"serving_latency_p50_ms": {"aaaaaaaa": 4.0}}
    for fig in (analysis.plot_metrics(summary, metrics), analysis.plot_calibration(calibration)):
        assert fig.axes
        plt.close(fig)


def test_search_runs_without_experiment_says_how_to_fix(tmp_path: Path) -> None:
    settings = NotebookSettings(tracking_uri=f"sqlite:///{tmp_path / 'm.db'}", experiment="nothing-here")
    with pytest.raises(AnalysisError, match="train a model first"):
        analysis.search_runs(settings)


def test_load_eval_sets_names_missing_sets(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "test.jsonl", tiny_records())
    settings = NotebookSettings(data_dir=tmp_path, handwritten_dir=None, sets="test", max_rows=5)
    sets = analysis.load_eval_sets(settings)
    assert len(sets["test"]) == 5
    with pytest.raises(AnalysisError, match="no split 'challenge'"):
        analysis.load_eval_sets(settings.model_copy(update={"sets": "challenge"}))
    with pytest.raises(AnalysisError, match="handwritten"):
        analysis.load_eval_sets(settings.model_copy(update={"sets": "handwritten"}))
    hw = tmp_path / "hw"
    write_jsonl(hw / "a.jsonl", [{**r, "transcript": {"segments": []}} for r in tiny_records()[:3]])
    found = analysis.load_eval_sets(settings.model_copy(update={"sets": "handwritten", "handwritten_dir": hw}))
    assert len(found["handwritten"]) == 3
    assert json.loads(analysis.slice_values(found["handwritten"], "transcript")[0]) == {"segments": []}


# --------------------------------------------------------------------------------------------------- fairness


def test_bootstrap_rate() -> None:
    rng = np.random.default_rng(0)
    assert all(math.isnan(v) for v in fairness.bootstrap_rate(np.array([]), 100, rng))
    assert fairness.bootstrap_rate(np.array([1.0, 0.0]), 0, rng) == (0.5, 0.5, 0.5)
    small = fairness.bootstrap_rate(np.array([1.0, 0.0] * 5), 2000, rng)
    large = fairness.bootstrap_rate(np.array([1.0, 0.0] * 500), 2000, rng)
    assert small[1] < 0.5 < small[2] and large[1] < 0.5 < large[2]
    assert large[2] - large[1] < small[2] - small[1]


def _fairness_fixture() -> ScoredSet:
    """violence_risk: slice A (200 pos, 200 neg) recall 0.9, fpr 0.05; slice B (200 pos, 200 neg) recall 0.5,
    fpr 0.5; slice C (4 pos, 4 neg) recall 0, fpr 1. Whole set: recall 280/404, fpr 114/404."""
    y, d, metas = [], [], []
    for name, pos, neg, hits, false_alarms in (("A", 200, 200, 180, 10), ("B", 200, 200, 100, 100),
                                               ("C", 4, 4, 0, 4)):
        y += [1] * pos + [0] * neg
        d += [1] * hits + [0] * (pos - hits) + [1] * false_alarms + [0] * (neg - false_alarms)
        metas += [{"caller_type": name}] * (pos + neg)
    labels = np.zeros((len(y), len(LABELS)))
    labels[:, VR] = y
    scores = np.zeros_like(labels)
    scores[:, VR] = d
    return scored_from(labels, scores, metas)


def test_slice_rates_gaps_flags_and_small_slices() -> None:
    scored = _fairness_fixture()
    table = fairness.slice_rates(scored, "violence_risk", "caller_type", tolerance=0.1, bootstrap=500,
                                 min_count=20, seed=0).set_index("slice")
    overall_recall, overall_fpr = 280 / 404, 114 / 404
    assert table.loc["(all)", "recall"] == pytest.approx(overall_recall)
    assert table.loc["B", "recall_gap"] == pytest.approx(0.5 - overall_recall)
    assert table.loc["B", "fpr_gap"] == pytest.approx(0.5 - overall_fpr)
    assert table.loc["B", "recall_beyond"] and table.loc["B", "recall_clear"]
    assert table.loc["B", "fpr_beyond"] and table.loc["B", "fpr_clear"]
    assert not table.loc["A", "recall_beyond"] and not table.loc["A", "fpr_beyond"]
    # C misses everything, but with 4 positives it is small: beyond the tolerance, never "clear"
    assert table.loc["C", "few_positives"] and table.loc["C", "recall_beyond"] and not table.loc["C", "recall_clear"]
    for slice_name in ("A", "B"):
        assert table.loc[slice_name, "recall_low"] <= table.loc[slice_name, "recall"] <= table.loc[slice_name, "recall_high"]
    with pytest.raises(AnalysisError):
        fairness.slice_rates(scored, "not_a_label", "caller_type")


def test_fairness_report_gaps_summary_and_plots() -> None:
    scored = _fairness_fixture()
    report = fairness.fairness_report(scored, keys=("caller_type", "channel"), tolerance=0.1, bootstrap=100,
                                      min_count=20)
    assert set(report["label"]) == set(fairness.FAIRNESS_LABELS)
    flagged = fairness.gaps(report)
    assert flagged["slice"].tolist() == ["C", "B"]  # C's 0.72 FPR excess before B's 0.22
    summary = fairness.gap_summary(report)
    assert summary.loc[("violence_risk", "caller_type"), "recall_beyond"] == 2
    assert summary.loc[("violence_risk", "caller_type"), "recall_clear"] == 1
    assert summary.loc[("behavioral_health", "channel"), "slices"] == 1  # every row "unknown"
    assert fairness.plottable(report) == [("behavioral_health", "caller_type"), ("violence_risk", "caller_type")]
    fig = fairness.plot_slice_rates(report, "violence_risk", "caller_type", 0.1, "test")
    assert len(fig.axes) == 2 and "test" in fig.axes[0].get_title()
    plt.close(fig)
