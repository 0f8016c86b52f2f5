"""`DivertModel`: a scorer plus its calibration, thresholds and label map, saved and loaded as one folder.

The folder is what MLflow logs as the model's artifact, what batch scoring and serving load, and what the
explainer reads. Nothing outside it is needed to reproduce a score.

    bundle/
      manifest.json   kind, label map, preprocessing version, calibration, thresholds, metrics, config
      scorer/         the scorer's own files (vectorizer, weights, tokenizer, ONNX graph ...)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from divert.model.calibration import Calibration
from divert.model.errors import ModelArtifactError
from divert.model.labels import LABELS, SCHEMA_VERSION, label_map
from divert.model.preprocess import PREPROCESSING_VERSION, preprocess
from divert.model.scorer import Scorer, scorer_class

BUNDLE_FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class Manifest(BaseModel):
    format_version: int = BUNDLE_FORMAT_VERSION
    name: str = "divert"
    kind: str
    label_map: dict[str, Any] = Field(default_factory=label_map)
    preprocessing_version: str = PREPROCESSING_VERSION
    calibration: Calibration
    thresholds: dict[str, float]
    threshold_rules: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    dataset_fingerprint: str | None = None
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.label_map["labels"])


@dataclass(frozen=True)
class Predictions:
    labels: tuple[str, ...]
    scores: np.ndarray  # calibrated, (n, L)
    thresholds: np.ndarray  # (L,)

    @property
    def decisions(self) -> np.ndarray:
        return self.scores >= self.thresholds[None, :]

    def row(self, i: int) -> dict[str, dict[str, Any]]:
        return {
            name: {
                "score": float(self.scores[i, j]),
                "threshold": float(self.thresholds[j]),
                "decision": bool(self.scores[i, j] >= self.thresholds[j]),
            }
            for j, name in enumerate(self.labels)
        }


class DivertModel:
    """Calibrated multi-label classifier for call text. Texts given to it are run through `preprocess`."""

    def __init__(self, scorer: Scorer, manifest: Manifest) -> None:
        if manifest.labels != tuple(scorer.labels):
            raise ModelArtifactError(f"scorer labels {scorer.labels} differ from the manifest's {manifest.labels}")
        self.scorer = scorer
        self.manifest = manifest

    @property
    def labels(self) -> tuple[str, ...]:
        return self.manifest.labels

    @property
    def kind(self) -> str:
        return self.manifest.kind

    @property
    def threshold_vector(self) -> np.ndarray:
        return np.array([self.manifest.thresholds[name] for name in self.labels], dtype=np.float64)

    def raw_scores(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.labels)))
        return self.scorer.raw_scores([preprocess(t) for t in texts])

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        return self.manifest.calibration.apply(raw, self.labels)

    def predict(self, texts: Sequence[str]) -> Predictions:
        scores = self.calibrate(self.raw_scores(texts))
        return Predictions(labels=self.labels, scores=scores, thresholds=self.threshold_vector)

    def save(self, folder: Path | str) -> Path:
        folder = Path(folder)
        (folder / "scorer").mkdir(parents=True, exist_ok=True)
        self.scorer.save(folder / "scorer")
        (folder / MANIFEST).write_text(self.manifest.model_dump_json(indent=2))
        return folder

    @classmethod
    def load(cls, folder: Path | str) -> DivertModel:
        folder = Path(folder)
        path = folder / MANIFEST
        if not path.is_file():
            raise ModelArtifactError(f"no {MANIFEST} in {folder}: not a divert model bundle")
        try:
            manifest = Manifest.model_validate(json.loads(path.read_text()))
        except ValueError as exc:
            raise ModelArtifactError(f"{path} is not a valid manifest: {exc}") from exc
        if manifest.format_version != BUNDLE_FORMAT_VERSION:
            raise ModelArtifactError(f"bundle format {manifest.format_version}; this code reads {BUNDLE_FORMAT_VERSION}")
        if manifest.preprocessing_version != PREPROCESSING_VERSION:
            raise ModelArtifactError(
                f"model was trained with preprocessing v{manifest.preprocessing_version}; this code has "
                f"v{PREPROCESSING_VERSION}: retrain or install the matching divert version"
            )
        if manifest.label_map.get("schema_version") != SCHEMA_VERSION or manifest.labels != LABELS:
            raise ModelArtifactError(f"model label schema {manifest.label_map.get('schema_version')} differs from {SCHEMA_VERSION}")
        scorer = scorer_class(manifest.kind).load(folder / "scorer")
        return cls(scorer, manifest)
