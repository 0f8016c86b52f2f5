"""What runs inside Spark's Python workers: the model is loaded once per worker process and kept here.

This module is imported by the workers (it is part of the installed package), so the cache below lives as long as
the worker does; a cache defined in the driver's script would be pickled and re-shipped with every task.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

KIND_COLUMN = "_divert_kind"
ROW_COLUMN = "_divert_row"
CORRUPT_COLUMN = "_corrupt_record"

_CACHE: dict[str, Any] = {}


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs besides the data (pickled once per task; small)."""

    bundle_name: str  # the folder shipped with SparkContext.addFile
    policy_json: str
    model_name: str
    model_version: str
    clock: str
    max_chars: int
    redact: bool
    mapper: Any  # a divert.serving.batch.io mapper (its `map` is used)
    columns: tuple[str, ...]  # the output columns, in order


def _scorer(spec: WorkerSpec) -> Any:
    key = f"{spec.bundle_name}|{spec.model_version}|{spec.redact}"
    scorer = _CACHE.get(key)
    if scorer is None:
        from pyspark import SparkFiles

        from divert.model.bundle import DivertModel
        from divert.model.policy import Policy
        from divert.serving.batch.core import BatchScorer
        from divert.serving.batch.local import one_thread

        one_thread()
        model = DivertModel.load(SparkFiles.get(spec.bundle_name))
        scorer = BatchScorer(model, Policy.model_validate_json(spec.policy_json), model_name=spec.model_name,
                             model_version=spec.model_version, now=datetime.fromisoformat(spec.clock),
                             max_chars=spec.max_chars, redact=spec.redact)
        _CACHE.clear()
        _CACHE[key] = scorer
    return scorer


def score_batches(batches: Iterator[pd.DataFrame], spec: WorkerSpec) -> Iterator[pd.DataFrame]:
    """mapInPandas body: raw input rows -> scored rows and reject rows, told apart by KIND_COLUMN."""
    scorer = _scorer(spec)
    for batch in batches:
        rows = batch[ROW_COLUMN].to_numpy(dtype=np.int64)
        raw = batch.drop(columns=[ROW_COLUMN]).reset_index(drop=True)
        reader_rejects: list[dict[str, Any]] = []
        if CORRUPT_COLUMN in raw.columns:
            corrupt = raw[CORRUPT_COLUMN].notna().to_numpy()
            for pos in np.flatnonzero(corrupt):
                reader_rejects.append({"row": int(rows[pos]), "id": None, "code": "malformed_row",
                                       "reason": "the record could not be parsed"})
            keep = np.flatnonzero(~corrupt)
            raw = raw.drop(columns=[CORRUPT_COLUMN]).iloc[keep].reset_index(drop=True)
            rows = rows[keep]
        calls, map_rejects = spec.mapper.map(raw, 0)
        calls = calls.copy()
        calls["row"] = rows[calls["row"].to_numpy(dtype=np.int64)] if len(calls) else calls["row"]
        result = scorer.score(calls)
        scored = result.scored.copy()
        scored[KIND_COLUMN] = "scored"
        parts = [scored]
        rejects = pd.concat([pd.DataFrame(reader_rejects, columns=["row", "id", "code", "reason"]),
                             _renumber(map_rejects, rows), result.rejects], ignore_index=True)
        if len(rejects):
            rejects = rejects.copy()
            rejects[KIND_COLUMN] = "reject"
            parts.append(rejects)
        out = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else None
        if out is None:
            continue
        for col in spec.columns:
            if col not in out.columns:
                out[col] = None
        out = out[list(spec.columns)]
        for col in out.columns:  # pandas' Arrow-backed strings reach Spark's serializer as chunked arrays
            if pd.api.types.is_string_dtype(out[col].dtype) and out[col].dtype != object:
                out[col] = out[col].astype(object)
        yield out


def _renumber(rejects: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    if not len(rejects):
        return rejects
    out = rejects.copy()
    out["row"] = rows[out["row"].to_numpy(dtype=np.int64)]
    return out
