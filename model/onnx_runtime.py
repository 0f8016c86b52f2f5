"""`OnnxScorer`: the fine-tuned transformer exported to ONNX (fp32, or dynamically quantized to int8), served by
ONNX Runtime on the CPU without torch.

The scorer reads text exactly as `TransformerScorer` does: the same tokenizer (its `tokenizer.json`, read by the
`tokenizers` library that backs the transformers fast tokenizer), the same windows (`divert.model.windowing`,
which `transformer.py` uses too), the same padding and the same max-over-windows logit per label. Importing this
module imports neither torch nor transformers: a served ONNX model loads in a fraction of the time and memory.

Export (`export_onnx`, needs torch; run by the training pipeline when `transformer.runtime` is an ONNX runtime):
    1. `torch.onnx.export(..., dynamo=False)` of encoder + mean pooling + head, inputs `input_ids` and
       `attention_mask` (int64, dynamic batch and sequence axes), output `logits`; the encoder is traced with
       eager attention so that step 2 can fuse it (the scorer itself keeps its attention implementation).
    2. optionally (`optimize`) ONNX Runtime's transformer fusions (`onnxruntime.transformers.optimizer`,
       model type bert): embedding + layer norm, attention, skip layer norm and bias GELU become single kernels.
    3. int8 only, by `quantization`:
       - `blockwise` (the default): every MatMul's weights to 8 bits with one scale per block of `block_size`
         input rows (`MatMulNBitsQuantizer`, bits 8, symmetric), computed by `MatMulNBits` with accuracy level 4,
         which quantizes the activations to int8 at run time per row and block. Measured on a fine-tuned MiniLM:
         decisions agree with PyTorch on 99.96% of (note, label) pairs, scores differ by 0.001 on average (0.03
         at most) and a window's score does not depend on the other windows of the call, so windows batch as in
         fp32. The fused attention (QKV) weights stay fp32.
       - `dynamic`: `onnxruntime.quantization.quantize_dynamic` (int8 weights, activations quantized with one
         range per whole input tensor). About twice as fast as fp32, but the ranges of MiniLM's activations are
         dominated by a few outlier dimensions: scores move by up to 0.3 and a score depends on which other
         notes (and how much padding) share the call, so this scorer runs every window as its own call
         (`batch_size` 1).

Threads: `intra_op_threads` (0: ONNX Runtime's default, one per physical core) is saved with the scorer and can
be overridden per process with `DIVERT_ONNX_THREADS` (e.g. 1 per worker for parallel batch scoring) or the `load`
argument. Inter-op parallelism is off (the graph is a chain); idle worker threads do not spin unless
`DIVERT_ONNX_SPIN=1`, so a server sharing its cores with other work does not burn them between requests.

Parity (`parity`) compares two `DivertModel`s on the same texts: calibrated score differences and decision
agreement; the pipeline requires it of the exported model on the test set before serving it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from divert.model.errors import ModelArtifactError
from divert.model.windowing import (
    SPECIAL_TOKENS_PER_WINDOW,
    TextWindow,
    build_windows,
    length_batches,
    max_over_windows,
    pad_ids,
    sigmoid,
)

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

    from divert.model.bundle import DivertModel
    from divert.model.transformer import TransformerScorer

FORMAT_VERSION = 1
CONFIG_FILE = "onnx.json"
MODEL_FILE = "model.onnx"
TOKENIZER_DIR = "tokenizer"
TOKENIZER_FILE = "tokenizer.json"
OPSET = 17
THREADS_ENV = "DIVERT_ONNX_THREADS"
SPIN_ENV = "DIVERT_ONNX_SPIN"
INPUT_NAMES = ("input_ids", "attention_mask")
# Windows per ONNX call (fp32, blockwise int8). Measured on 2 cores with the test set's notes: 8 windows per call
# scored 71 notes/s (fp32) with the server at 278 MB, 64 scored 49 notes/s at 502 MB (ONNX Runtime's memory arena
# keeps the largest activations it has seen, and a long batch pads more).
WINDOWS_PER_CALL = 8
Precision = Literal["int8", "fp32"]


class OnnxSettings(BaseModel):
    """`onnx.json`: everything besides the graph and the tokenizer that scoring needs."""

    model_config = ConfigDict(extra="forbid")

    format_version: int = FORMAT_VERSION
    kind: Literal["onnx"] = "onnx"
    labels: list[str]
    precision: Precision
    max_length: int
    window_stride: int
    max_windows: int
    batch_size: int = Field(ge=1, description="windows per ONNX call (1: each window alone)")
    cls_token_id: int
    sep_token_id: int
    pad_token_id: int
    intra_op_threads: int = Field(default=0, ge=0, description="0: ONNX Runtime's default")
    opset: int = OPSET
    optimized: bool = False
    per_channel: bool = False
    quantization: Literal["blockwise", "dynamic"] | None = Field(default=None, description="int8 method")
    source: dict[str, Any] = Field(default_factory=dict, description="settings of the exported torch scorer")


def _threads(saved: int, override: int | None) -> int:
    if override is not None:
        return override
    env = os.environ.get(THREADS_ENV, "").strip()
    if env:
        try:
            value = int(env)
        except ValueError as exc:
            raise ModelArtifactError(f"{THREADS_ENV}={env!r} is not a whole number") from exc
        if value < 0:
            raise ModelArtifactError(f"{THREADS_ENV} must be 0 (default) or more, not {value}")
        return value
    return saved


def make_session(path: Path, intra_op_threads: int = 0) -> onnxruntime.InferenceSession:
    """A CPU inference session: all graph optimizations, sequential execution, `intra_op_threads` threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if os.environ.get(SPIN_ENV, "0").strip() not in ("1", "true", "yes"):
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types (Fail, InvalidGraph, NoSuchFile ...)
        raise ModelArtifactError(f"cannot load the ONNX graph {path}: {exc}") from exc


def load_tokenizer(folder: Path) -> Tokenizer:
    """The fast tokenizer's backend from `tokenizer.json`, with truncation and padding off (as scoring calls it)."""
    from tokenizers import Tokenizer

    path = folder / TOKENIZER_FILE
    if not path.is_file():
        raise ModelArtifactError(f"no {TOKENIZER_FILE} in {folder}: the ONNX scorer needs a fast tokenizer")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception on a malformed file
        raise ModelArtifactError(f"cannot read {path}: {exc}") from exc
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


class OnnxScorer:
    """The transformer scorer on ONNX Runtime. Texts are preprocessed by the caller (`DivertModel` does it)."""

    kind: ClassVar[str] = "onnx"

    def __init__(self, folder: Path, settings: OnnxSettings, *, intra_op_threads: int | None = None) -> None:
        self.folder = Path(folder)
        self.settings = settings
        self.labels: tuple[str, ...] = tuple(settings.labels)
        self.max_length = settings.max_length
        self.window_stride = settings.window_stride
        self.max_windows = settings.max_windows
        self.batch_size = settings.batch_size
        self.precision: Precision = settings.precision
        self.intra_op_threads = _threads(settings.intra_op_threads, intra_op_threads)
        self.tokenizer = load_tokenizer(self.folder / TOKENIZER_DIR)
        self.session = make_session(self.folder / MODEL_FILE, self.intra_op_threads)
        names = tuple(i.name for i in self.session.get_inputs())
        if names != INPUT_NAMES or self.session.get_outputs()[0].shape[-1] != len(self.labels):
            raise ModelArtifactError(f"{self.folder / MODEL_FILE}: inputs {names} / outputs "
                                     f"{self.session.get_outputs()[0].shape} do not match {len(self.labels)} labels")

    @property
    def content_tokens_per_window(self) -> int:
        return self.max_length - SPECIAL_TOKENS_PER_WINDOW

    # ---------------------------------------------------------------------------------------------- windows

    def tokenize(self, texts: Sequence[str]) -> tuple[list[list[int]], list[list[tuple[int, int]]]]:
        """Content token ids and character offsets of each text (no special tokens, no truncation)."""
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [e.ids for e in encodings], [e.offsets for e in encodings]

    def windows(self, texts: Sequence[str], max_windows: int | None = None) -> list[list[TextWindow]]:
        ids, offsets = self.tokenize(texts)
        return build_windows(ids, offsets, cls_id=self.settings.cls_token_id, sep_id=self.settings.sep_token_id,
                             width=self.content_tokens_per_window, stride=self.window_stride,
                             max_windows=self.max_windows if max_windows is None else max_windows)

    def text_windows(self, text: str, *, max_windows: int | None = None) -> list[TextWindow]:
        """The windows `raw_scores` scores for one text, as `TransformerScorer.text_windows` cuts them."""
        return self.windows([text], max_windows)[0]

    # ---------------------------------------------------------------------------------------------- scoring

    def raw_scores(self, texts: Sequence[str], *, max_windows: int | None = None) -> np.ndarray:
        """Sigmoid scores (n, L) in [0, 1]; long texts are windowed and take the max logit per label."""
        return sigmoid(self.logits(texts, max_windows=max_windows))

    def logits(self, texts: Sequence[str], *, max_windows: int | None = None,
               batch_size: int | None = None) -> np.ndarray:
        """Max-over-windows logits (n, L) as float64 (what occlusion explanations compare). `batch_size`
        overrides the saved windows-per-call (a dynamic-int8 score then depends on the batch; see the module doc)."""
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float64)
        per_text = self.windows(texts, max_windows)
        window_logits = self.score_sequences([w.input_ids for windows in per_text for w in windows],
                                             batch_size=batch_size)
        return max_over_windows(per_text, window_logits, len(self.labels))

    def window_logits(self, text: str, *, max_windows: int | None = None) -> np.ndarray:
        """Logits of each window of one text, shape (n_windows, L)."""
        return self.score_sequences([w.input_ids for w in self.text_windows(text, max_windows=max_windows)])

    def score_sequences(self, sequences: Sequence[Sequence[int]], *, batch_size: int | None = None) -> np.ndarray:
        """Logits for token id lists (with [CLS]/[SEP]), `batch_size` rows per call by length, in input order.

        Identical windows are scored once: an occlusion explanation's variants share every window that lies
        before the deleted word, and the window aligned to the end of the text."""
        if not sequences:
            return np.zeros((0, len(self.labels)), dtype=np.float64)
        first: dict[tuple[int, ...], int] = {}
        where = np.array([first.setdefault(tuple(s), len(first)) for s in sequences], dtype=np.int64)
        unique = list(first)
        out = np.zeros((len(unique), len(self.labels)), dtype=np.float64)
        for rows in length_batches(unique, batch_size or self.batch_size):
            ids, mask = pad_ids([unique[i] for i in rows], self.settings.pad_token_id)
            result = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
            out[rows] = np.asarray(result[0], dtype=np.float64)
        return out[where]

    # ------------------------------------------------------------------------------------------ persistence

    def save(self, folder: Path) -> None:
        """Write `model.onnx`, `tokenizer/` and `onnx.json` (copies of the files this scorer was loaded from)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if folder.resolve() != self.folder.resolve():
            shutil.copy2(self.folder / MODEL_FILE, folder / MODEL_FILE)
            shutil.copytree(self.folder / TOKENIZER_DIR, folder / TOKENIZER_DIR, dirs_exist_ok=True)
        (folder / CONFIG_FILE).write_text(self.settings.model_dump_json(indent=2))

    @classmethod
    def load(cls, folder: Path, *, intra_op_threads: int | None = None) -> OnnxScorer:
        """Restore a saved scorer from its folder alone (no torch, no base package, no network)."""
        folder = Path(folder)
        path = folder / CONFIG_FILE
        if not path.is_file():
            raise ModelArtifactError(f"no {CONFIG_FILE} in {folder}: not a saved ONNX scorer")
        try:
            settings = OnnxSettings.model_validate(json.loads(path.read_text()))
        except ValueError as exc:
            raise ModelArtifactError(f"{path} is not a valid ONNX scorer config: {exc}") from exc
        if settings.format_version != FORMAT_VERSION:
            raise ModelArtifactError(f"{path}: format {settings.format_version}; this code reads {FORMAT_VERSION}")
        if not (folder / MODEL_FILE).is_file():
            raise ModelArtifactError(f"no {MODEL_FILE} in {folder}")
        return cls(folder, settings, intra_op_threads=intra_op_threads)


# --------------------------------------------------------------------------------------------------- export


class ExportOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    precision: Precision = "int8"
    optimize: bool = Field(default=True, description="ONNX Runtime transformer fusions before quantizing")
    quantization: Literal["blockwise", "dynamic"] = Field(
        default="blockwise", description="int8: blockwise weight quantization with int8 compute (batch-"
                                         "independent, closer to fp32) or ONNX Runtime dynamic quantization")
    block_size: int = Field(default=32, ge=16, description="blockwise: input rows per weight scale (power of 2)")
    per_channel: bool = Field(default=False, description="dynamic int8: one scale per output channel of each weight")
    batch_size: int | None = Field(default=None, ge=1, description="None: 1 for dynamic int8 (its scores depend on "
                                                                  "the batch), WINDOWS_PER_CALL otherwise")
    intra_op_threads: int = Field(default=0, ge=0)
    opset: int = OPSET


def export_onnx(scorer: TransformerScorer, folder: Path, options: ExportOptions | None = None) -> OnnxScorer:
    """Export a `TransformerScorer` into `folder` (graph, tokenizer, onnx.json) and load it as an `OnnxScorer`."""
    options = options or ExportOptions()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="divert-onnx-") as tmp:
        graph = _export_graph(scorer, Path(tmp) / "fp32.onnx", options.opset)
        if options.optimize:
            graph = _optimize(graph, Path(tmp) / "optimized.onnx", scorer)
        if options.precision == "int8":
            if options.quantization == "blockwise":
                graph = _quantize_blockwise(graph, Path(tmp) / "int8.onnx", options.block_size)
            else:
                graph = _quantize(graph, Path(tmp) / "int8.onnx", options.per_channel)
        shutil.copy2(graph, folder / MODEL_FILE)
    tokenizer_dir = folder / TOKENIZER_DIR
    scorer.tokenizer.save_pretrained(tokenizer_dir)
    if not (tokenizer_dir / TOKENIZER_FILE).is_file():
        raise ModelArtifactError("the tokenizer did not save a tokenizer.json; only fast tokenizers can be exported")
    cls_id, sep_id = scorer.tokenizer.cls_token_id, scorer.tokenizer.sep_token_id
    if not isinstance(cls_id, int) or not isinstance(sep_id, int):
        raise ModelArtifactError("the tokenizer needs [CLS] and [SEP] tokens")
    dynamic = options.precision == "int8" and options.quantization == "dynamic"
    batch_size = options.batch_size or (1 if dynamic else WINDOWS_PER_CALL)
    settings = OnnxSettings(
        labels=list(scorer.labels), precision=options.precision, max_length=scorer.max_length,
        window_stride=scorer.window_stride, max_windows=scorer.max_windows, batch_size=batch_size,
        cls_token_id=cls_id, sep_token_id=sep_id, pad_token_id=int(scorer.tokenizer.pad_token_id or 0),
        intra_op_threads=options.intra_op_threads, opset=options.opset, optimized=options.optimize,
        per_channel=options.per_channel and dynamic, source=scorer.settings(),
        quantization=options.quantization if options.precision == "int8" else None,
    )
    (folder / CONFIG_FILE).write_text(settings.model_dump_json(indent=2))
    return OnnxScorer(folder, settings)


def _export_graph(scorer: TransformerScorer, path: Path, opset: int) -> Path:
    """Trace encoder + pooling + head to ONNX (TorchScript exporter), with eager attention, on a padded batch."""
    import torch

    network = scorer.network
    encoder = network.encoder
    attention = encoder.config._attn_implementation
    was_training = network.training
    pad_id = int(scorer.tokenizer.pad_token_id or 0)
    cls_id, sep_id = int(scorer.tokenizer.cls_token_id or 0), int(scorer.tokenizer.sep_token_id or 0)
    # A padded example, so that the traced graph keeps the attention mask (a mask of ones could be elided).
    ids, mask = pad_ids([[cls_id, 1000, 1001, 1002, sep_id], [cls_id, 1003, sep_id]], pad_id)
    network.eval()
    try:
        encoder.set_attn_implementation("eager")
        with torch.no_grad(), warnings.catch_warnings():
            # The tracer warns about shape arithmetic it folds into constants and about negative gather
            # indices; neither applies here (parity with torch is checked on every export).
            warnings.simplefilter("ignore")
            torch.onnx.export(
                network, (torch.from_numpy(ids), torch.from_numpy(mask)), str(path),
                input_names=list(INPUT_NAMES), output_names=["logits"],
                dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                              "logits": {0: "batch"}},
                opset_version=opset, do_constant_folding=True, dynamo=False,
            )
    finally:
        encoder.set_attn_implementation(attention)
        network.train(was_training)
    return path


def _optimize(source: Path, path: Path, scorer: TransformerScorer) -> Path:
    from onnxruntime.transformers.optimizer import optimize_model

    config = scorer.network.encoder.config
    optimized = optimize_model(str(source), model_type="bert", num_heads=int(config.num_attention_heads),
                               hidden_size=int(config.hidden_size), opt_level=1)
    optimized.save_model_to_file(str(path))
    return path


def _quantize_blockwise(source: Path, path: Path, block_size: int) -> Path:
    """8-bit blockwise weights for every MatMul, int8 compute (accuracy level 4); see the module doc."""
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )

    logger = logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer")
    level = logger.level
    logger.setLevel(logging.WARNING)  # it logs every node it visits at INFO
    try:
        config = DefaultWeightOnlyQuantConfig(block_size=block_size, is_symmetric=True, accuracy_level=4, bits=8)
        quantizer = MatMulNBitsQuantizer(str(source), bits=8, block_size=block_size, is_symmetric=True,
                                         accuracy_level=4, algo_config=config)
        quantizer.process()
        quantizer.model.save_model_to_file(str(path), use_external_data_format=False)
    finally:
        logger.setLevel(level)
    return path


def _quantize(source: Path, path: Path, per_channel: bool) -> Path:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs a generic "consider pre-processing" warning on root
    try:
        quantize_dynamic(str(source), str(path), weight_type=QuantType.QInt8, per_channel=per_channel,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.setLevel(level)
    return path


# --------------------------------------------------------------------------------------------------- parity


class Parity(BaseModel):
    """How closely `candidate` reproduces `reference` on the same texts (calibrated scores and decisions)."""

    n_texts: int
    n_decisions: int
    max_abs_score_diff: float
    p99_abs_score_diff: float
    mean_abs_score_diff: float
    max_abs_raw_diff: float
    decision_agreement: float
    decisions_flipped: int
    max_score_diff_allowed: float
    min_decision_agreement: float
    passed: bool

    def metrics(self, prefix: str) -> dict[str, float]:
        keys = ("max_abs_score_diff", "p99_abs_score_diff", "mean_abs_score_diff", "max_abs_raw_diff",
                "decision_agreement", "decisions_flipped")
        return {f"{prefix}_{k}": float(getattr(self, k)) for k in keys} | {f"{prefix}_passed": float(self.passed)}


def parity(reference: DivertModel, candidate: DivertModel, texts: Sequence[str], *, max_score_diff: float = 0.01,
           min_decision_agreement: float = 0.995, reference_raw: np.ndarray | None = None) -> Parity:
    """Compare calibrated scores and decisions; passes if every score is within `max_score_diff` and at least
    `min_decision_agreement` of the (text, label) decisions agree. `reference_raw`: the reference's raw scores
    of `texts`, if already computed."""
    texts = list(texts)
    ref_raw = reference.raw_scores(texts) if reference_raw is None else reference_raw
    cand_raw = candidate.raw_scores(texts)
    ref, cand = reference.calibrate(ref_raw), candidate.calibrate(cand_raw)
    diff = np.abs(ref - cand)
    agree = (ref >= reference.threshold_vector) == (cand >= candidate.threshold_vector)
    n = int(agree.size)
    result = Parity(
        n_texts=len(texts), n_decisions=n,
        max_abs_score_diff=float(diff.max()) if n else 0.0,
        p99_abs_score_diff=float(np.percentile(diff, 99)) if n else 0.0,
        mean_abs_score_diff=float(diff.mean()) if n else 0.0,
        max_abs_raw_diff=float(np.abs(ref_raw - cand_raw).max()) if n else 0.0,
        decision_agreement=float(agree.mean()) if n else 1.0, decisions_flipped=int(n - agree.sum()),
        max_score_diff_allowed=max_score_diff, min_decision_agreement=min_decision_agreement, passed=False,
    )
    result.passed = result.max_abs_score_diff <= max_score_diff and result.decision_agreement >= min_decision_agreement
    return result
