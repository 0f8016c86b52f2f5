"""The classifier contract: a scorer maps texts to raw per-label scores in [0, 1].

Calibration and thresholds are applied on top by `DivertModel`, the same way for every scorer kind. Scorers
save themselves into a folder of the model bundle and load from it; `SCORER_KINDS` names each kind's class.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from divert.model.errors import ModelArtifactError


@runtime_checkable
class Scorer(Protocol):
    kind: ClassVar[str]
    labels: tuple[str, ...]

    def raw_scores(self, texts: Sequence[str]) -> np.ndarray:
        """Uncalibrated scores, shape (len(texts), len(labels)), each in [0, 1]. Texts are preprocessed."""
        ...

    def save(self, folder: Path) -> None: ...

    @classmethod
    def load(cls, folder: Path) -> Scorer: ...


# kind -> "module:Class"; imported lazily so that loading a TF-IDF model never imports torch.
SCORER_KINDS: dict[str, str] = {
    "keywords": "divert.model.keywords:KeywordScorer",
    "tfidf": "divert.model.tfidf:TfidfScorer",
    "transformer": "divert.model.transformer:TransformerScorer",
    "onnx": "divert.model.onnx_runtime:OnnxScorer",
}


def scorer_class(kind: str) -> type[Scorer]:
    try:
        target = SCORER_KINDS[kind]
    except KeyError as exc:
        raise ModelArtifactError(f"unknown scorer kind {kind!r}; known: {sorted(SCORER_KINDS)}") from exc
    module_name, _, class_name = target.partition(":")
    cls: type[Scorer] = getattr(importlib.import_module(module_name), class_name)
    return cls
