"""`train(cfg)`: data -> scorer -> calibration -> thresholds -> evaluation -> MLflow run -> registry gate.

Each step is a small function; `train` strings them together inside one MLflow run. Registration is the last
step and cleans up after itself, so Ctrl-C at any point leaves no half-registered model.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import yaml
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from divert.model.bundle import DivertModel, Manifest
from divert.model.calibration import Calibration
from divert.model.keywords import KeywordScorer
from divert.model.labels import LABELS
from divert.model.pyfunc import BUNDLE_ARTIFACT, DivertPyfunc, package_code, score_frame
from divert.model.scorer import Scorer
from divert.training import plots
from divert.training.calibrate import fit_calibration
from divert.training.config import TrainConfig
from divert.training.dataset import Dataset, load_dataset, load_many
from divert.training.evaluate import evaluate
from divert.training.model_card import render as render_model_card
from divert.training.registry import GateDecision, check_floors, register_challenger
from divert.training.thresholds import choose_thresholds

console = Console(stderr=True)

PIP_REQUIREMENTS = {
    "base": ["numpy", "pandas", "scikit-learn", "scipy", "joblib", "pydantic>=2", "mlflow>=3.17,<4"],
    "transformer": ["torch==2.13.0", "transformers>=5,<6"],
    "onnx": ["onnxruntime>=1.18", "tokenizers"],
}


@dataclass
class Splits:
    train: Dataset
    validation: Dataset
    evals: dict[str, Dataset] = field(default_factory=dict)


@dataclass
class TrainResult:
    run_id: str
    model_version: str | None
    alias: str | None
    metrics: dict[str, float]
    bundle_dir: Path
    output_dir: Path
    gate: GateDecision
    reports: dict[str, dict[str, Any]]


def make_progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=console, transient=False)


def load_splits(cfg: TrainConfig) -> Splits:
    train = load_many(cfg.data.train)
    if cfg.data.styles:
        keep = [i for i, m in enumerate(train.meta) if m.get("style") in cfg.data.styles]
        train = train.subset(keep)
    if cfg.data.max_train_rows and len(train) > cfg.data.max_train_rows:
        rng = np.random.default_rng(cfg.seed)
        train = train.subset(sorted(rng.choice(len(train), cfg.data.max_train_rows, replace=False).tolist()))
    if cfg.weak.files:  # agency imports: labels combined from nature codes, rules and a champion (config `weak`)
        from divert.training.agency.weak import load_weak

        train = train.concat([load_weak(cfg.weak, registered_model=cfg.tracking.registered_model)])
    evals: dict[str, Dataset] = {}
    for name, path in (("test", cfg.data.test), ("challenge", cfg.data.challenge)):
        if path is not None:
            evals[name] = load_dataset(path)
    handwritten = [p for p in cfg.data.handwritten if p.exists()]
    if handwritten:
        evals["handwritten"] = load_many(handwritten)
    return Splits(train=train, validation=load_dataset(cfg.data.validation), evals=evals)


def fit_scorer(cfg: TrainConfig, splits: Splits, progress: Progress) -> tuple[Scorer, dict[str, Any]]:
    tr, va = splits.train, splits.validation
    if cfg.model == "keywords":
        return KeywordScorer(LABELS, cfg.keywords.negation_window), {}
    if cfg.model == "tfidf":
        from divert.training.train_tfidf import fit_tfidf

        task = progress.add_task("fitting tf-idf + logistic regression", total=1)
        scorer = fit_tfidf(tr.texts, tr.labels, cfg.tfidf, label_names=LABELS, seed=cfg.seed)
        progress.update(task, completed=1)
        return scorer, {}
    from divert.training.train_transformer import fit_transformer

    return fit_transformer(tr.texts, tr.labels, va.texts, va.labels, cfg.transformer, labels=LABELS,
                           seed=cfg.seed, progress=progress, train_evidence=[m.get("evidence") for m in tr.meta])


def calibrate_and_threshold(cfg: TrainConfig, scorer: Scorer, validation: Dataset, fingerprint: str) -> DivertModel:
    uncalibrated = DivertModel(scorer, Manifest(kind=scorer.kind, calibration=Calibration.identity(LABELS),
                                                thresholds=dict.fromkeys(LABELS, 0.5)))
    raw = uncalibrated.raw_scores(validation.texts)
    calibration = fit_calibration(raw, validation.labels, LABELS, cfg.calibration.method)
    calibrated = calibration.apply(raw, LABELS)
    thresholds, rules = choose_thresholds(calibrated, validation.labels, LABELS, cfg.thresholds)
    manifest = Manifest(name=f"divert-{cfg.name}", kind=scorer.kind, calibration=calibration, thresholds=thresholds,
                        threshold_rules=rules, config=cfg.model_dump(mode="json"), dataset_fingerprint=fingerprint)
    return DivertModel(scorer, manifest)


def serving_runtime(cfg: TrainConfig, model: DivertModel, splits: Splits, out: Path, progress: Progress
                    ) -> tuple[DivertModel, dict[str, float]]:
    """The transformer's serving runtime (`transformer.runtime`): export to ONNX, check parity on the test set
    (`transformer.onnx.parity_set`), fall back if it fails; logs the parity report and metrics. The torch
    bundle of an ONNX-served run is kept in `out/bundle_torch` (IG explanations, the benchmark's torch column), and
    each exported ONNX model as `out/bundle_onnx_<precision>`, whether it passed parity or not.
    Other model kinds pass through unchanged."""
    if cfg.model != "transformer" or cfg.transformer.runtime == "torch":
        if cfg.model == "transformer":
            mlflow.set_tag("runtime", "torch")
        return model, {}
    from divert.training.train_transformer import choose_runtime

    parity_set = splits.evals.get("test") if cfg.transformer.onnx.parity_set == "test" else None
    texts = (parity_set or splits.validation).texts
    choice = choose_runtime(model, cfg.transformer, texts, out / "exports", progress)
    mlflow.log_dict(choice.report(), "onnx_parity.json")
    mlflow.set_tags({"runtime": choice.runtime, "runtime_requested": choice.requested,
                     "runtime_reason": choice.reason[:500]})
    if choice.runtime != "torch":
        model.save(out / "bundle_torch")
    from divert.model.onnx_runtime import OnnxScorer

    for precision in choice.parity:  # every exported runtime as a bundle, served or not (benchmarks, batch)
        exported = OnnxScorer.load(out / "exports" / f"onnx_{precision}")
        DivertModel(exported, model.manifest.model_copy(update={"kind": OnnxScorer.kind})).save(
            out / f"bundle_onnx_{precision}")
    console.print(f"serving runtime {choice.runtime} ({choice.reason}); parity: " + "; ".join(
        f"{p}: max |score diff| {r.max_abs_score_diff:.4f}, decisions agree {r.decision_agreement:.4%}"
        for p, r in choice.parity.items()))
    return choice.model, choice.metrics()


def evaluate_sets(model: DivertModel, sets: dict[str, Dataset], cfg: TrainConfig, progress: Progress
                  ) -> tuple[dict[str, dict[str, Any]], dict[str, np.ndarray]]:
    reports, all_scores = {}, {}
    task = progress.add_task("evaluating", total=len(sets))
    for name, ds in sets.items():
        scores = model.predict(ds.texts).scores
        all_scores[name] = scores
        reports[name] = evaluate(scores, ds.labels, model.threshold_vector, LABELS, ds.meta, ds.texts,
                                 bootstrap=cfg.bootstrap_samples if name != "validation" else 0, seed=cfg.seed)
        progress.advance(task)
    return reports, all_scores


def flat_metrics(reports: dict[str, dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for set_name, rep in reports.items():
        out[f"{set_name}_macro_f1"] = rep["macro_f1"]
        out[f"{set_name}_macro_f1_ci_low"], out[f"{set_name}_macro_f1_ci_high"] = rep["macro_f1_ci"]
        out[f"{set_name}_macro_pr_auc"] = rep["macro_pr_auc"]
        for label, m in rep["labels"].items():
            for key in ("precision", "recall", "f1", "pr_auc", "roc_auc", "brier", "ece"):
                out[f"{set_name}_{label}_{key}"] = m[key]
        for style, s in rep.get("slices", {}).get("style", {}).items():
            out[f"{set_name}_style_{style}_macro_f1"] = s["macro_f1"]
    return {k: float(v) for k, v in out.items() if v is not None and not np.isnan(v)}


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_outputs(out: Path, model: DivertModel, reports: dict[str, dict[str, Any]], scores: dict[str, np.ndarray],
                  sets: dict[str, Dataset], cfg: TrainConfig, data_card: dict[str, Any]) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {"report": out / "report.json", "config": out / "config.yaml", "model_card": out / "model_card.md"}
    files["report"].write_text(json.dumps(reports, indent=1, default=float))
    files["config"].write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    files["model_card"].write_text(render_model_card(
        name=model.manifest.name, kind=model.kind, config=cfg.flat(), data=data_card,
        thresholds=model.manifest.thresholds, threshold_rules=model.manifest.threshold_rules, reports=reports))
    for name, s in scores.items():
        files[f"pr_{name}"] = plots.pr_curves(s, sets[name].labels, LABELS, f"PR curves: {name}", out / f"pr_{name}.png")
        files[f"rel_{name}"] = plots.reliability_diagram(s, sets[name].labels, LABELS, f"Reliability: {name}",
                                                         out / f"reliability_{name}.png")
    return files


def log_model(model: DivertModel, bundle_dir: Path, example_texts: list[str]) -> str:
    reqs = PIP_REQUIREMENTS["base"] + PIP_REQUIREMENTS.get(model.kind, [])
    example = pd.DataFrame({"text": example_texts})
    signature = mlflow.models.infer_signature(example, score_frame(model, example_texts))
    with tempfile.TemporaryDirectory() as tmp:
        code = package_code(Path(tmp))
        info = mlflow.pyfunc.log_model(name="model", python_model=DivertPyfunc(),
                                       artifacts={BUNDLE_ARTIFACT: str(bundle_dir)}, code_paths=[str(code)],
                                       signature=signature, input_example=example, pip_requirements=reqs)
    return str(info.model_uri)


@contextmanager
def tracking(cfg: TrainConfig) -> Iterator[None]:
    if cfg.tracking.tracking_uri:
        mlflow.set_tracking_uri(cfg.tracking.tracking_uri)
    if mlflow.get_experiment_by_name(cfg.tracking.experiment) is None:
        mlflow.create_experiment(cfg.tracking.experiment, artifact_location=cfg.tracking.artifact_location)
    mlflow.set_experiment(cfg.tracking.experiment)
    yield


def train(cfg: TrainConfig, *, show_progress: bool = True) -> TrainResult:
    with tracking(cfg), make_progress() as progress:
        progress.disable = not show_progress
        task = progress.add_task("loading and validating data", total=1)
        splits = load_splits(cfg)
        progress.update(task, completed=1)
        fingerprint = splits.train.fingerprint()
        with mlflow.start_run(run_name=f"{cfg.name}-{cfg.model}") as run:
            try:
                result = _train_in_run(cfg, splits, fingerprint, run.info.run_id, progress)
            except KeyboardInterrupt:
                mlflow.set_tag("interrupted", "true")
                mlflow.end_run(status="KILLED")
                raise
    return result


def _train_in_run(cfg: TrainConfig, splits: Splits, fingerprint: str, run_id: str, progress: Progress) -> TrainResult:
    mlflow.log_params({k: str(v)[:500] for k, v in cfg.flat().items()})
    mlflow.log_dict(cfg.model_dump(mode="json"), "config.json")
    mlflow.set_tags({"git_commit": git_commit(), "dataset_fingerprint": fingerprint, "model_kind": cfg.model})
    scorer, history = fit_scorer(cfg, splits, progress)
    if history:
        mlflow.log_dict(history, "training_history.json")
    model = calibrate_and_threshold(cfg, scorer, splits.validation, fingerprint)
    out = cfg.output_dir / run_id
    model, runtime_metrics = serving_runtime(cfg, model, splits, out, progress)
    sets = {"validation": splits.validation, **splits.evals}
    reports, scores = evaluate_sets(model, sets, cfg, progress)
    metrics = flat_metrics(reports) | runtime_metrics
    model.manifest.metrics = {k: v for k, v in metrics.items() if k.endswith("_macro_f1") or k.endswith("_macro_pr_auc")}
    bundle_dir = model.save(out / "bundle")
    data_card = {"train rows": len(splits.train), "validation rows": len(splits.validation),
                 **{f"{k} rows": len(v) for k, v in splits.evals.items()}, "dataset fingerprint": fingerprint,
                 "train prevalence": {k: round(v, 3) for k, v in splits.train.prevalence().items()}}
    files = write_outputs(out, model, reports, scores, sets, cfg, data_card)
    mlflow.log_metrics(metrics)
    for path in files.values():
        mlflow.log_artifact(str(path), artifact_path="evaluation")
    model_uri = log_model(model, bundle_dir, splits.validation.texts[:3])
    gate = check_floors(metrics, cfg.gate.floors)
    mlflow.set_tag("gate", "passed" if gate.passed else "refused: " + "; ".join(gate.reasons))
    version = register_challenger(model_uri, cfg.tracking.registered_model) if gate.passed and cfg.tracking.register_model else None
    if version:
        mlflow.set_tag("registered_version", version)
    return TrainResult(run_id=run_id, model_version=version, alias="challenger" if version else None, metrics=metrics,
                       bundle_dir=bundle_dir, output_dir=out, gate=gate, reports=reports)
