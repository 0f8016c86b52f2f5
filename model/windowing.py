"""Token windows of a text, shared by the PyTorch scorer (`transformer.py`) and the ONNX scorer (`onnx_runtime.py`).

Nothing here imports torch or transformers: the ONNX runtime serves without either. The windowing strategy is
described in `divert.model.transformer`'s docstring; both scorers build their windows with `build_windows`, pad
with `pad_ids`, batch by length with `length_batches` and reduce with `max_over_windows`, so a text is cut,
padded and scored the same way whichever runtime serves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SPECIAL_TOKENS_PER_WINDOW = 2  # [CLS] ... [SEP]


@dataclass(frozen=True)
class TextWindow:
    """One scored window of a text: token ids with [CLS]/[SEP] and each token's character span in the text."""

    input_ids: list[int]
    offsets: list[tuple[int, int]]  # (0, 0) for the special tokens
    token_start: int  # index of the window's first content token in the text's token sequence


def window_starts(n_tokens: int, window: int, stride: int, max_windows: int) -> list[int]:
    """Start positions (in content tokens) of the windows covering `n_tokens`; see `divert.model.transformer`."""
    if window < 1 or stride < 1 or max_windows < 1:
        raise ValueError("window, stride and max_windows must be positive")
    if n_tokens <= window:
        return [0]
    stride = min(stride, window)
    last = n_tokens - window
    starts = list(range(0, last, stride))
    starts.append(last)
    if len(starts) > max_windows:
        starts = starts[:1] if max_windows == 1 else [*starts[: max_windows - 1], last]
    return starts


def build_windows(
    token_ids: Sequence[Sequence[int]],
    offsets: Sequence[Sequence[tuple[int, int]]],
    *,
    cls_id: int,
    sep_id: int,
    width: int,
    stride: int,
    max_windows: int,
) -> list[list[TextWindow]]:
    """The windows of each text from its content tokens (no special tokens) and their character offsets."""
    result: list[list[TextWindow]] = []
    for ids, spans in zip(token_ids, offsets, strict=True):
        windows = []
        for start in window_starts(len(ids), width, stride, max_windows):
            end = start + width
            windows.append(
                TextWindow(
                    input_ids=[cls_id, *ids[start:end], sep_id],
                    offsets=[(0, 0), *((int(a), int(b)) for a, b in spans[start:end]), (0, 0)],
                    token_start=start,
                )
            )
        result.append(windows)
    return result


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Logistic function without overflow warnings for large negative logits."""
    result: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * logits))
    return result


def pad_ids(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token id lists to the longest; (input_ids, attention_mask) as int64 arrays."""
    width = max(len(s) for s in sequences)
    ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return ids, mask


def length_batches(sequences: Sequence[Sequence[int]], batch_size: int) -> list[list[int]]:
    """Row indices in batches of similar length (sorted by length: little padding), every row once."""
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    return [order[lo : lo + batch_size] for lo in range(0, len(order), batch_size)]


def max_over_windows(per_text: Sequence[Sequence[TextWindow]], window_logits: np.ndarray, n_labels: int) -> np.ndarray:
    """The text's logit per label: the max over its windows (rows of `window_logits` in window order)."""
    out = np.full((len(per_text), n_labels), -np.inf, dtype=np.float64)
    owners = np.array([i for i, windows in enumerate(per_text) for _ in windows], dtype=np.int64)
    np.maximum.at(out, owners, window_logits)
    return out
