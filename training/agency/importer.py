"""`import_export`: an agency's CAD export -> redacted, de-duplicated training data with nature-code labels.

Reads the export in chunks (`divert.model.exports.read_export`), maps each chunk (`map_chunk`), and for every call
that maps: skips it as a duplicate when its id was already imported; redacts the text (`divert.model.redact`);
skips it as a duplicate when its redacted text (normalised like `divert data validate` does) was already imported;
otherwise writes it with the labels its nature code gives (1, 0, or null = unknown). Writes into OUT:

- `calls.jsonl`: the training format (`id`, `text`, `labels`, `group`, `meta` with `nature_code`, `area`, `time`,
  `row`, `redactions`), accepted by `divert data validate OUT/calls.jsonl --allow-unknown`;
- `rejects.csv`: `row, id, reason` for every row that could not be imported;
- `duplicates.csv`: `row, id, duplicate_of_row, kind` (`same_id` or `same_text`);
- `summary.json`: the counts (`read == imported + rejected + duplicates`), calls per nature code, the codes the map
  does not know, label coverage and the redactions made.

Nothing raw is written: texts are redacted, and reject reasons and ids are redacted too (a shifted CSV row can put
note text in any column).
"""

from __future__ import annotations

import csv
import json
import math
import multiprocessing as mp
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from divert.model.exports import ExportMapping, map_chunk, read_export
from divert.model.labels import LABELS
from divert.model.redact import RedactionResult, Redactor
from divert.training.agency.codes import CodeMap
from divert.training.dataset import normalize_text

CALLS_FILE = "calls.jsonl"
REJECTS_FILE = "rejects.csv"
DUPLICATES_FILE = "duplicates.csv"
SUMMARY_FILE = "summary.json"


@dataclass
class ImportSummary:
    export: str
    read: int = 0
    imported: int = 0
    rejected: int = 0
    duplicates: int = 0
    duplicates_by_kind: dict[str, int] = field(default_factory=dict)
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    calls_per_code: dict[str, int] = field(default_factory=dict)
    unmapped_codes: dict[str, int] = field(default_factory=dict)
    known_labels: dict[str, int] = field(default_factory=dict)
    positive_labels: dict[str, int] = field(default_factory=dict)
    redactions: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    @property
    def adds_up(self) -> bool:
        return self.read == self.imported + self.rejected + self.duplicates

    def to_dict(self) -> dict[str, Any]:
        return {"export": self.export, "read": self.read, "imported": self.imported, "rejected": self.rejected,
                "duplicates": self.duplicates, "adds_up": self.adds_up,
                "duplicates_by_kind": self.duplicates_by_kind, "rejects_by_reason": self.rejects_by_reason,
                "calls_per_code": dict(sorted(self.calls_per_code.items(), key=lambda kv: -kv[1])),
                "unmapped_codes": dict(sorted(self.unmapped_codes.items(), key=lambda kv: -kv[1])),
                "known_labels": self.known_labels, "positive_labels": self.positive_labels,
                "redactions": self.redactions, "files": self.files}


_WORKER_REDACTOR: Redactor | None = None


def _init_worker(model: str, use_ner: bool) -> None:
    global _WORKER_REDACTOR
    _WORKER_REDACTOR = Redactor(model, use_ner=use_ner).load()


def _redact(text: str) -> RedactionResult:
    assert _WORKER_REDACTOR is not None
    return _WORKER_REDACTOR.redact(text)


def _pool(workers: int, redactor: Redactor) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                               initargs=(redactor.model, redactor.use_ner))


@contextmanager
def _closing(pool: ProcessPoolExecutor | None) -> Iterator[None]:
    try:
        yield
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _time_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    return pd.Timestamp(value).isoformat()


def import_export(export: Path | str, mapping: ExportMapping, out: Path | str, *,
                  code_map: CodeMap | None = None, redactor: Redactor | None = None, chunk_rows: int = 5000, workers: int = 1,
                  progress: Callable[[int], None] | None = None) -> ImportSummary:
    """Import `export` into the folder `out`; returns the summary (also written as `summary.json`).
    `progress(n)` is called with the number of rows read after each chunk. `workers > 1` redacts in that many
    processes (redaction is most of the time: spaCy NER on every note)."""
    export, out = Path(export), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    code_map = code_map or CodeMap.default()
    redactor = redactor or Redactor()
    summary = ImportSummary(export=str(export))
    seen_ids: dict[str, int] = {}
    seen_texts: dict[str, int] = {}
    reasons: Counter[str] = Counter()
    dup_kinds: Counter[str] = Counter()
    per_code: Counter[str] = Counter()
    unmapped: Counter[str] = Counter()
    redactions: Counter[str] = Counter()
    known = np.zeros(len(LABELS), dtype=int)
    positive = np.zeros(len(LABELS), dtype=int)
    paths = {"calls": out / CALLS_FILE, "rejects": out / REJECTS_FILE, "duplicates": out / DUPLICATES_FILE,
             "summary": out / SUMMARY_FILE}
    pool = _pool(workers, redactor) if workers > 1 else None
    with _closing(pool), paths["calls"].open("w", encoding="utf-8", newline="\n") as calls_fh, \
            paths["rejects"].open("w", encoding="utf-8", newline="") as rejects_fh, \
            paths["duplicates"].open("w", encoding="utf-8", newline="") as dups_fh:
        rejects_csv, dups_csv = csv.writer(rejects_fh), csv.writer(dups_fh)
        rejects_csv.writerow(["row", "id", "reason"])
        dups_csv.writerow(["row", "id", "duplicate_of_row", "kind"])

        def safe(value: Any) -> str:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return ""
            return redactor.redact(str(value)[:200]).text

        for chunk in read_export(export, chunk_rows=chunk_rows, mapping=mapping):
            calls, rejects = map_chunk(chunk, mapping, first_row=summary.read + 1)
            summary.read += len(chunk)
            for r in rejects.itertuples(index=False):
                rejects_csv.writerow([int(r.row), safe(r.id), safe(r.reason)])
                reasons[str(r.reason).split(":", 1)[0]] += 1
            summary.rejected += len(rejects)
            fresh = []
            for c in calls.itertuples(index=False):
                row_id, row = str(c.id), int(c.row)
                if row_id in seen_ids:
                    dups_csv.writerow([row, safe(row_id), seen_ids[row_id], "same_id"])
                    dup_kinds["same_id"] += 1
                    continue
                seen_ids[row_id] = row
                fresh.append(c)
            texts = [str(c.text) for c in fresh]
            redacted = list(pool.map(_redact, texts, chunksize=64)) if pool is not None else [
                redactor.redact(t) for t in texts]
            for c, red in zip(fresh, redacted, strict=True):
                row_id, row = str(c.id), int(c.row)
                key = normalize_text(red.text)
                if key in seen_texts:
                    dups_csv.writerow([row, safe(row_id), seen_texts[key], "same_text"])
                    dup_kinds["same_text"] += 1
                    continue
                seen_texts[key] = row
                code = None if c.nature_code is None or (isinstance(c.nature_code, float)) else str(c.nature_code)
                labels = code_map.labels_for(code)
                known += ~np.isnan(labels)
                positive += np.nan_to_num(labels, nan=0.0).astype(int)
                per_code[code or "(none)"] += 1
                if code is not None and not code_map.is_mapped(code):
                    unmapped[code] += 1
                redactions.update(red.counts())
                area = None if c.area is None or isinstance(c.area, float) else str(c.area)
                record = {"id": row_id, "text": red.text,
                          "labels": {name: (None if math.isnan(v) else int(v)) for name, v in zip(LABELS, labels,
                                                                                                   strict=True)},
                          "group": "", "meta": {"nature_code": code, "area": area, "time": _time_text(c.time),
                                                "row": row, "redactions": red.counts(), "source": "agency_import",
                                                "style": "cad"}}
                calls_fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                summary.imported += 1
            if progress is not None:
                progress(summary.read)
    summary.duplicates = sum(dup_kinds.values())
    summary.duplicates_by_kind = dict(dup_kinds)
    summary.rejects_by_reason = dict(reasons)
    summary.calls_per_code = dict(per_code)
    summary.unmapped_codes = dict(unmapped)
    summary.known_labels = {name: int(k) for name, k in zip(LABELS, known, strict=True)}
    summary.positive_labels = {name: int(p) for name, p in zip(LABELS, positive, strict=True)}
    summary.redactions = dict(redactions)
    summary.files = {k: str(v) for k, v in paths.items()}
    paths["summary"].write_text(json.dumps(summary.to_dict(), indent=1))
    return summary
