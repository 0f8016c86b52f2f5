"""End-to-end fine-tuning of the transformer scorer (encoder + multi-label head) on CPU.

Training-time truncation: a text whose tokens fit in one window (`max_length` with [CLS]/[SEP]) is trained on
whole. A longer text (a transcript) is not fully windowed during training, which would multiply its cost by its
number of windows: each epoch it contributes ONE window, drawn with the seeded generator from the same window
grid that scoring uses (`divert.model.transformer.window_starts`, including the first-and-last cap). Over
the epochs the model sees different parts of a long call, and every training example costs at most one window.
The known weakness: a drawn window may miss the sentence that made a label positive (label noise on long
positives); scoring takes the max over windows, which is forgiving of a model that learned from any of them.
Validation scores texts exactly as serving does (all windows, max logit per label).

Labels are float (n, L) arrays; `NaN` marks an UNKNOWN label (weak supervision). Unknown entries are masked out
of the loss (`masked_bce`), of the class weights and of the validation metrics.

Other choices: AdamW (no weight decay on biases and LayerNorm), linear warmup then linear decay, gradient
clipping at 1.0, per-batch padding with length-bucketed batches (shuffle, sort within buckets of 50 batches,
shuffle the batches, all seeded), `pos_weight = neg/pos` per label clipped to [1, max_pos_weight], early stopping
on `cfg.monitor` with `cfg.patience`, a wall-clock `time_budget_minutes` checked after every batch (the epoch it
cuts short is still validated and can be the best), optionally a frozen word-embedding matrix. The best
epoch's weights are returned. Nothing is written to disk; Ctrl-C (`KeyboardInterrupt`) propagates unchanged.

Serving runtime (`choose_runtime`, called by the pipeline once the model is calibrated): export to ONNX
(`transformer.runtime`), check parity with the PyTorch model on the test set, fall back as `transformer.onnx`
says. See `divert.model.onnx_runtime`.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from divert.model.bundle import DivertModel
from divert.model.onnx_runtime import ExportOptions, OnnxScorer, Parity, Precision, export_onnx, parity
from divert.model.preprocess import preprocess
from divert.model.transformer import TransformerScorer, pad_batch, sigmoid, window_starts
from divert.training.config import TransformerConfig

BUCKET_BATCHES = 50  # batches per length bucket
MAX_GRAD_NORM = 1.0
DECISION_THRESHOLD = 0.5


# ------------------------------------------------------------------------------------------------- loss & metrics


def masked_bce(logits: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean binary cross-entropy over the KNOWN entries of `targets` (NaN = unknown, ignored).

    Unknown entries contribute neither loss nor gradient; the sum is divided by the number of known entries
    (a batch with none gives 0).
    """
    known = ~torch.isnan(targets)
    filled = torch.where(known, targets, torch.zeros_like(targets))
    losses = nn.functional.binary_cross_entropy_with_logits(logits, filled, pos_weight=pos_weight, reduction="none")
    weights = known.to(losses.dtype)
    return (losses * weights).sum() / weights.sum().clamp(min=1.0)


def positive_weights(labels: np.ndarray, max_pos_weight: float) -> np.ndarray:
    """`neg/pos` per label over known entries, clipped to [1, max_pos_weight]; 1 for a label without positives."""
    known = ~np.isnan(labels)
    positives = np.where(known, labels > 0.5, False).sum(axis=0).astype(np.float64)
    negatives = known.sum(axis=0) - positives
    ratio = np.divide(negatives, positives, out=np.ones_like(positives), where=positives > 0)
    return np.clip(ratio, 1.0, max_pos_weight)


def masked_f1_per_label(probabilities: np.ndarray, labels: np.ndarray, threshold: float = DECISION_THRESHOLD) -> np.ndarray:
    """F1 per label at `threshold` over known entries; NaN for a label with no known entry.

    A label with no known positive and no predicted positive scores 1 (nothing to find, nothing raised).
    """
    known = ~np.isnan(labels)
    truth = np.where(known, labels > 0.5, False)
    predicted = (probabilities >= threshold) & known
    tp = (truth & predicted).sum(axis=0)
    errors = (predicted & ~truth).sum(axis=0) + (truth & ~predicted).sum(axis=0)
    f1 = np.where(tp + errors > 0, 2 * tp / np.maximum(2 * tp + errors, 1), 1.0).astype(np.float64)
    f1[known.sum(axis=0) == 0] = np.nan
    return f1


# ------------------------------------------------------------------------------------------------- batching


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# Evidence of a label in one text, in content-token positions: label index -> [(first token, end token), ...].
TokenEvidence = dict[int, list[tuple[int, int]]]


def evidence_token_spans(offsets: Sequence[Sequence[int]], evidence: Mapping[str, Any] | None,
                         labels: Sequence[str]) -> TokenEvidence | None:
    """Map a record's evidence (label -> character spans `[start, end)` in its text) to content-token spans.

    The generator records which turns of a call carry each label's evidence (`meta.evidence`). Data without it
    (an agency's CAD history) gives None, and long texts are then windowed at random with the text's labels.
    """
    if not evidence:
        return None
    out: TokenEvidence = {}
    for j, name in enumerate(labels):
        spans = []
        for start, end in evidence.get(name, ()):
            tokens = [t for t, (a, b) in enumerate(offsets) if a < end and b > start]
            if tokens:
                spans.append((tokens[0], tokens[-1] + 1))
        if spans:
            out[j] = spans
    return out


def _covered(spans: Sequence[tuple[int, int]], start: int, width: int) -> bool:
    """Whether the window holds one of the spans whole, or lies inside one (a span longer than the window)."""
    end = start + width
    return any((a >= start and b <= end) or (a <= start and b >= end) for a, b in spans)


def sample_training_windows(
    token_ids: Sequence[Sequence[int]], scorer: TransformerScorer, rng: np.random.Generator,
    targets: np.ndarray | None = None, evidence: Sequence[TokenEvidence | None] | None = None,
    window_tokens: int | None = None,
) -> tuple[list[list[int]], np.ndarray | None]:
    """One window per text for this epoch, with [CLS]/[SEP], and the targets of each window.

    A text that fits is its own window. A long text with recorded evidence is cut around the evidence of one of
    its positive labels (chosen at random), and a positive label whose evidence the window does not hold becomes
    unknown (NaN) for this window: a window without the decisive sentence is not evidence of the label, and
    teaching it as such would teach the model that a long call is itself a sign. Negative labels stay 0: no
    window of a negative call holds evidence. A long text without evidence gets a random window and its labels.
    `window_tokens` (with [CLS]/[SEP]) narrows the windows of long texts; short texts are kept whole.
    """
    full = scorer.content_tokens_per_window
    narrow = min(full, window_tokens - 2) if window_tokens is not None else full
    cls_id, sep_id = scorer.tokenizer.cls_token_id, scorer.tokenizer.sep_token_id
    assert isinstance(cls_id, int) and isinstance(sep_id, int)
    out_targets = None if targets is None else targets.copy()
    windows: list[list[int]] = []
    for i, ids in enumerate(token_ids):
        width = full if len(ids) <= full else narrow
        starts = window_starts(len(ids), width, min(scorer.window_stride, width), scorer.max_windows)
        start = starts[int(rng.integers(len(starts)))] if len(starts) > 1 else 0
        found = evidence[i] if evidence is not None and len(ids) > width else None
        if found is not None and out_targets is not None:
            positive = [j for j in sorted(found) if out_targets[i, j] == 1]
            if positive:
                spans = found[positive[int(rng.integers(len(positive)))]]
                first, end = spans[int(rng.integers(len(spans)))]
                lo, hi = max(0, end - width), min(first, len(ids) - width)
                start = int(rng.integers(lo, hi + 1)) if lo <= hi else min(first, len(ids) - width)
            for j in np.flatnonzero(out_targets[i] == 1):
                if not _covered(found.get(int(j), []), start, width):
                    out_targets[i, j] = np.nan
        windows.append([cls_id, *ids[start : start + width], sep_id])
    return windows, out_targets


def length_bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Row indices per batch: shuffled, sorted by length within buckets of `BUCKET_BATCHES` batches, batches shuffled.

    Similar lengths share a batch (little padding) while batch order and composition change every epoch.
    """
    order = rng.permutation(len(lengths))
    bucket = batch_size * BUCKET_BATCHES
    batches: list[np.ndarray] = []
    for lo in range(0, len(order), bucket):
        part = order[lo : lo + bucket]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


# ------------------------------------------------------------------------------------------------- optimisation


def build_optimizer(network: nn.Module, cfg: TransformerConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on weight matrices only (not biases, not LayerNorm)."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, param in network.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or "LayerNorm" in name else decay).append(param)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.learning_rate)


def linear_warmup_decay(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int) -> LambdaLR:
    """Learning rate rising linearly to its peak over `warmup_steps`, then falling linearly to 0 at `total_steps`."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return LambdaLR(optimizer, factor)


# ------------------------------------------------------------------------------------------------- bookkeeping


@dataclass
class EarlyStopping:
    """Tracks the best epoch on a metric; `should_stop` after `patience` epochs without gain (at least one)."""

    monitor: str
    patience: int
    best_value: float = math.nan
    best_epoch: int = 0
    epochs_without_gain: int = 0
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)

    def update(self, epoch: int, value: float, network: nn.Module) -> bool:
        """Record an epoch's value; keeps a copy of the weights when it is the best so far. True if it is.

        An undefined value (NaN: no known validation label) counts as a gain, so the latest weights are kept.
        """
        higher_is_better = self.monitor != "val_loss"
        improved = math.isnan(self.best_value) or math.isnan(value) or (
            value > self.best_value if higher_is_better else value < self.best_value
        )
        if improved:
            self.best_value, self.best_epoch, self.epochs_without_gain = value, epoch, 0
            self.best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
        else:
            self.epochs_without_gain += 1
        return improved

    @property
    def should_stop(self) -> bool:
        return self.epochs_without_gain >= max(1, self.patience)


@dataclass
class TrainingData:
    """Token ids of the training texts, plus the float targets (NaN = unknown) as a tensor."""

    token_ids: list[list[int]]
    targets: torch.Tensor
    n_long: int
    evidence: list[TokenEvidence | None] = field(default_factory=list)


@contextmanager
def _progress_bar(progress: Progress | None) -> Iterator[Progress]:
    """The caller's progress display, or a new one for the duration of training."""
    if progress is not None:
        yield progress
        return
    own = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with own:
        yield own


# ------------------------------------------------------------------------------------------------- epochs


def train_one_epoch(
    scorer: TransformerScorer,
    targets: torch.Tensor,
    batches: list[np.ndarray],
    windows: list[list[int]],
    optimizer: torch.optim.Optimizer,
    scheduler: LambdaLR,
    pos_weight: torch.Tensor | None,
    deadline: float | None,
    progress: Progress,
    task: TaskID,
    description: str,
) -> tuple[float, int, bool]:
    """One pass over `batches`; returns (mean training loss, examples seen, whether the deadline stopped it)."""
    network = scorer.network
    network.train()
    pad_id = int(scorer.tokenizer.pad_token_id or 0)
    total_loss, seen = 0.0, 0
    for rows in batches:
        ids, mask = pad_batch([windows[i] for i in rows], pad_id, scorer.device)
        loss = masked_bce(network(ids, mask), targets[rows].to(scorer.device), pos_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(network.parameters(), MAX_GRAD_NORM)
        optimizer.step()
        scheduler.step()
        total_loss += float(loss.detach()) * len(rows)
        seen += len(rows)
        progress.update(task, advance=len(rows), description=f"{description} loss {total_loss / seen:.4f}")
        if deadline is not None and time.monotonic() > deadline:
            return total_loss / seen, seen, True
    return total_loss / max(seen, 1), seen, False


def evaluate(scorer: TransformerScorer, texts: Sequence[str], labels: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Validation as serving scores: (unweighted masked BCE, macro F1 at 0.5, F1 per label) on known entries."""
    logits = scorer.logits(texts)
    targets = torch.from_numpy(labels.astype(np.float64))
    loss = float(masked_bce(torch.from_numpy(logits), targets))
    per_label = masked_f1_per_label(sigmoid(logits), labels)
    macro = float(np.nanmean(per_label)) if not np.all(np.isnan(per_label)) else math.nan
    return loss, macro, per_label


# ------------------------------------------------------------------------------------------------- entry point


def _check_inputs(texts: Sequence[str], labels: np.ndarray, n_labels: int, name: str) -> np.ndarray:
    array = np.asarray(labels, dtype=np.float64)
    if array.ndim != 2 or array.shape != (len(texts), n_labels):
        raise ValueError(f"{name} labels have shape {array.shape}; expected ({len(texts)}, {n_labels})")
    return array


def prepare_training_data(scorer: TransformerScorer, texts: Sequence[str], labels: np.ndarray,
                          evidence: Sequence[Mapping[str, Any] | None] | None = None) -> TrainingData:
    encoded = scorer.tokenize(texts, add_special_tokens=False)
    token_ids: list[list[int]] = encoded["input_ids"]
    n_long = sum(len(ids) > scorer.content_tokens_per_window for ids in token_ids)
    spans = [evidence_token_spans(offsets, ev, scorer.labels) if ev and len(ids) > scorer.content_tokens_per_window
             else None for ids, offsets, ev in zip(token_ids, encoded["offset_mapping"],
                                                   evidence or [None] * len(texts), strict=True)]
    return TrainingData(token_ids=token_ids, targets=torch.from_numpy(labels.astype(np.float32)), n_long=n_long,
                        evidence=spans)


def build_scorer(cfg: TransformerConfig, labels: tuple[str, ...]) -> TransformerScorer:
    """The base encoder with a fresh head (seed first), word embeddings frozen if the config asks."""
    scorer = TransformerScorer.from_base(
        cfg.base_model, labels, max_length=cfg.max_length, window_stride=cfg.window_stride,
        max_windows=cfg.max_windows, batch_size=cfg.eval_batch_size, dropout=cfg.dropout,
        torch_threads=cfg.torch_threads,
    )
    if cfg.freeze_word_embeddings:
        scorer.embedding_layer.requires_grad_(False)
    return scorer


def new_history(cfg: TransformerConfig, labels: tuple[str, ...], weights: np.ndarray, data: TrainingData,
                n_val: int) -> dict[str, Any]:
    return {
        "train_loss": [], "val_loss": [], "val_macro_f1": [], "val_f1": [], "epoch_seconds": [],
        "train_examples_per_second": [], "monitor": cfg.monitor, "stop_reason": None,
        "pos_weight": dict(zip(labels, map(float, weights), strict=True)),
        "n_train": len(data.token_ids), "n_val": n_val, "n_long_train_texts": data.n_long,
    }


def fit_transformer(
    train_texts: list[str],
    train_labels: np.ndarray,
    val_texts: list[str],
    val_labels: np.ndarray,
    cfg: TransformerConfig,
    *,
    labels: tuple[str, ...],
    seed: int,
    progress: Progress | None = None,
    train_evidence: Sequence[Mapping[str, Any] | None] | None = None,
) -> tuple[TransformerScorer, dict[str, Any]]:
    """Fine-tune the base encoder and a new head; returns the best epoch's scorer and the training history.

    Texts are run through `preprocess` (idempotent) so training sees what serving sees. Labels: float (n, L)
    with NaN for unknown. With no validation texts there is no early stopping and the last epoch is kept.
    History keys: per epoch `train_loss`, `val_loss`, `val_macro_f1`, `val_f1` (per label), `epoch_seconds`,
    `train_examples_per_second`; and `best_epoch`, `epochs_run`, `stopped_early`, `stop_reason`
    (None, "patience" or "time_budget"), `monitor`, `pos_weight`, `n_train`, `n_val`, `n_long_train_texts`,
    `train_seconds`. `train_evidence`: per training text, label -> character spans of its evidence, or None
    (see `sample_training_windows`); spans of a text that preprocessing changes are dropped.
    """
    started = time.monotonic()
    train_y = _check_inputs(train_texts, train_labels, len(labels), "training")
    val_y = _check_inputs(val_texts, val_labels, len(labels), "validation")
    if not train_texts:
        raise ValueError("no training texts")
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    scorer = build_scorer(cfg, labels)
    clean = [preprocess(t) for t in train_texts]
    evidence = [ev if ev and c == t else None
                for c, t, ev in zip(clean, train_texts, train_evidence or [None] * len(clean), strict=True)]
    data = prepare_training_data(scorer, clean, train_y, evidence)
    val_texts = [preprocess(t) for t in val_texts]
    weights = positive_weights(train_y, cfg.max_pos_weight) if cfg.class_weighting else np.ones(len(labels))
    pos_weight = torch.tensor(weights, dtype=torch.float32) if cfg.class_weighting else None

    total_steps = math.ceil(len(train_texts) / cfg.batch_size) * cfg.epochs
    optimizer = build_optimizer(scorer.network, cfg)
    scheduler = linear_warmup_decay(optimizer, round(total_steps * cfg.warmup_ratio), total_steps)
    deadline = started + cfg.time_budget_minutes * 60 if cfg.time_budget_minutes is not None else None
    stopper = EarlyStopping(cfg.monitor, cfg.patience)
    history = new_history(cfg, labels, weights, data, len(val_texts))

    with _progress_bar(progress) as bar:
        for epoch in range(1, cfg.epochs + 1):
            epoch_started = time.monotonic()
            windows, epoch_targets = sample_training_windows(
                data.token_ids, scorer, rng, data.targets.numpy(), data.evidence if any(data.evidence) else None,
                cfg.train_window_tokens)
            targets = torch.from_numpy(epoch_targets) if epoch_targets is not None else data.targets
            batches = length_bucketed_batches(np.array([len(w) for w in windows]), cfg.batch_size, rng)
            description = f"epoch {epoch}/{cfg.epochs}"
            task = bar.add_task(description, total=len(train_texts))
            train_loss, seen, out_of_time = train_one_epoch(
                scorer, targets, batches, windows, optimizer, scheduler, pos_weight, deadline, bar, task, description
            )
            history["train_loss"].append(train_loss)
            history["train_examples_per_second"].append(seen / max(time.monotonic() - epoch_started, 1e-9))
            if val_texts:
                bar.update(task, description=f"{description} loss {train_loss:.4f} validating")
                summary = validate_epoch(scorer, val_texts, val_y, labels, epoch, stopper, history)
                bar.update(task, description=f"{description} loss {train_loss:.4f} {summary}")
            history["epoch_seconds"].append(time.monotonic() - epoch_started)
            if out_of_time:
                history["stop_reason"] = "time_budget"
            elif val_texts and stopper.should_stop and epoch < cfg.epochs:
                history["stop_reason"] = "patience"
            if history["stop_reason"] is not None:
                break

    finish(scorer, stopper, history, started)
    return scorer, history


def validate_epoch(
    scorer: TransformerScorer,
    texts: Sequence[str],
    labels_array: np.ndarray,
    labels: tuple[str, ...],
    epoch: int,
    stopper: EarlyStopping,
    history: dict[str, Any],
) -> str:
    """Score the validation set, record it in `history` and in `stopper`; returns a one-line summary."""
    val_loss, val_f1, per_label = evaluate(scorer, texts, labels_array)
    history["val_loss"].append(val_loss)
    history["val_macro_f1"].append(val_f1)
    history["val_f1"].append(dict(zip(labels, map(float, per_label), strict=True)))
    stopper.update(epoch, val_loss if stopper.monitor == "val_loss" else val_f1, scorer.network)
    return f"val_loss {val_loss:.4f} val_macro_f1 {val_f1:.3f}"


def finish(scorer: TransformerScorer, stopper: EarlyStopping, history: dict[str, Any], started: float) -> None:
    """Restore the best epoch's weights, leave the scorer in eval mode, and close the history."""
    epochs_run = len(history["train_loss"])
    if stopper.best_state and stopper.best_epoch != epochs_run:
        scorer.network.load_state_dict(stopper.best_state)
    scorer.network.eval()
    scorer.embedding_layer.requires_grad_(True)  # frozen only for training; the explainer needs gradients
    history.update(
        epochs_run=epochs_run,
        best_epoch=stopper.best_epoch if stopper.best_state else epochs_run,
        stopped_early=history["stop_reason"] is not None,
        train_seconds=time.monotonic() - started,
    )


# ------------------------------------------------------------------------------------------------- serving runtime


@dataclass
class RuntimeChoice:
    """The model to serve after the ONNX export step, and what was measured on the way (logged to MLflow)."""

    model: DivertModel
    runtime: str
    requested: str
    parity: dict[str, Parity] = field(default_factory=dict)
    export_seconds: dict[str, float] = field(default_factory=dict)
    reason: str = ""

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for precision, result in self.parity.items():
            out |= result.metrics(f"onnx_{precision}_parity")
        for precision, seconds in self.export_seconds.items():
            out[f"onnx_{precision}_export_seconds"] = seconds
        return out

    def report(self) -> dict[str, Any]:
        return {"requested": self.requested, "runtime": self.runtime, "reason": self.reason,
                "parity": {k: v.model_dump() for k, v in self.parity.items()}, "export_seconds": self.export_seconds}


class RuntimeParityError(RuntimeError):
    """The ONNX model did not reproduce the PyTorch model closely enough and the config says to fail."""


def choose_runtime(model: DivertModel, cfg: TransformerConfig, parity_texts: Sequence[str], folder: Path,
                   progress: Progress | None = None) -> RuntimeChoice:
    """Export `model` (a calibrated torch-transformer `DivertModel`) to the configured ONNX runtime, measure
    parity on `parity_texts`, and return the model to serve: the ONNX one if it passes, else the fallback.

    Order: the requested runtime; if it is `onnx_int8` and fails, `onnx_fp32` (fallback `onnx_fp32`), then
    torch. With fallback `fail`, a failing ONNX model raises `RuntimeParityError`. Exports go to
    `folder/onnx_<precision>`; the returned model's manifest has kind `onnx` and the same calibration and
    thresholds as the torch model.
    """
    requested = cfg.runtime
    if requested == "torch":
        return RuntimeChoice(model=model, runtime="torch", requested=requested, reason="configured")
    opts = cfg.onnx
    order: list[Precision] = ["int8", "fp32"] if requested == "onnx_int8" else ["fp32"]
    if opts.fallback != "onnx_fp32":
        order = order[:1]
    choice = RuntimeChoice(model=model, runtime="torch", requested=requested)
    texts = [preprocess(t) for t in parity_texts]
    task = progress.add_task("onnx export and parity", total=len(order) + 1) if progress is not None else None
    reference_raw = model.raw_scores(texts)
    if progress is not None and task is not None:
        progress.advance(task)
    scorer = model.scorer
    assert isinstance(scorer, TransformerScorer), "the ONNX export needs a transformer model"
    for precision in order:
        started = time.monotonic()
        onnx_scorer = export_onnx(scorer, folder / f"onnx_{precision}", ExportOptions(
            precision=precision, optimize=opts.optimize, per_channel=opts.per_channel, batch_size=opts.batch_size,
            quantization=opts.quantization, block_size=opts.block_size,
            intra_op_threads=opts.intra_op_threads))
        choice.export_seconds[precision] = time.monotonic() - started
        candidate = DivertModel(onnx_scorer, model.manifest.model_copy(update={"kind": OnnxScorer.kind}))
        result = parity(model, candidate, texts, max_score_diff=opts.max_score_diff,
                        min_decision_agreement=opts.min_decision_agreement, reference_raw=reference_raw)
        choice.parity[precision] = result
        if progress is not None and task is not None:
            progress.advance(task)
        if result.passed:
            choice.model, choice.runtime = candidate, f"onnx_{precision}"
            choice.reason = "configured" if choice.runtime == requested else f"fallback: {requested} failed parity"
            return choice
    failed = "; ".join(f"{p}: max score diff {r.max_abs_score_diff:.4f} (allowed {r.max_score_diff_allowed}), "
                       f"decision agreement {r.decision_agreement:.4f} (needed {r.min_decision_agreement})"
                       for p, r in choice.parity.items())
    if opts.fallback == "fail":
        raise RuntimeParityError(f"the ONNX model failed parity with PyTorch on {len(texts)} texts: {failed}")
    choice.reason = f"fallback to torch: {failed}"
    return choice
