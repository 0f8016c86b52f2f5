"""The bundled model, as tests need it: the default transformer config trained on the bundled corpus.

Behaviour that only a fully trained model shows (negations, speaker turns, robustness to surface changes) is tested
on the model `bash scripts/up.sh` would train: `training/configs/transformer.yaml` on `data/corpus/`. Training it
takes about 12 minutes on 2 cores (the config's time budget), so the fitted, calibrated bundle is cached under
`.cache/test-models/`, keyed by everything that decides the result: the corpus files, the config, the
preprocessing version and the training code. A fresh clone (CI) trains it once per run; a warm checkout reuses it.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "corpus"
CONFIG = ROOT / "training" / "configs" / "transformer.yaml"
CACHE = ROOT / ".cache" / "test-models"
_KEY_FILES = [
    CORPUS / "train.jsonl",
    CORPUS / "validation.jsonl",
    CONFIG,
    ROOT / "training" / "train_transformer.py",
    ROOT / "training" / "calibrate.py",
    ROOT / "training" / "thresholds.py",
    ROOT / "model" / "transformer.py",
    ROOT / "model" / "preprocess.py",
]


def cache_key() -> str:
    digest = hashlib.sha256()
    for path in _KEY_FILES:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def bundled_transformer_dir() -> Path:
    """The bundle folder of the default transformer trained on the bundled corpus (trains it on a cache miss)."""
    from divert.training.config import load_config
    from divert.training.pipeline import calibrate_and_threshold, fit_scorer, load_splits, make_progress

    folder = CACHE / f"transformer-{cache_key()}" / "bundle"
    if (folder / "manifest.json").is_file():
        return folder
    cfg = load_config(CONFIG)
    splits = load_splits(cfg)
    with make_progress() as progress:
        scorer, _ = fit_scorer(cfg, splits, progress)
    model = calibrate_and_threshold(cfg, scorer, splits.validation, splits.train.fingerprint())
    tmp = folder.parent / "bundle.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save(tmp)
    tmp.rename(folder)  # atomic: an interrupted run never leaves a half-written bundle behind
    return folder
