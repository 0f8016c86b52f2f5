"""Reading calls for batch scoring: CSV, Parquet or JSONL, one file or a folder of part files, in chunks.

Chunks have exactly `chunk_rows` records (the last one fewer) in a fixed order, so part `k` of a run always
holds the same calls and an interrupted run can skip the parts it finished. Every value is read as text (ids
such as `00123` keep their zeros); a Parquet timestamp becomes ISO-8601 text.

Records that cannot be parsed at all (a CSV line with the wrong number of fields, a JSONL line that is not a JSON
object) are rejects of the chunk they fall in, never a failed run. Two ways to name the columns:

- default: `id` and `text`, optional `time`, `area`, `nature_code` (`--id-column`, `--text-column` rename);
- an agency export mapping (`divert.model.exports`: `ExportMapping`, `read_export`, `map_chunk`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from divert.serving.batch.core import CALL_COLUMNS, REJECT_SCHEMA, empty_rejects
from divert.serving.batch.errors import BatchError

FORMATS: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
                           ".ndjson": "jsonl", ".json": "jsonl"}


@dataclass
class Chunk:
    """Calls (CALL_COLUMNS) and the records of the same stretch of input rejected while reading."""

    index: int
    calls: pd.DataFrame
    rejects: pd.DataFrame = field(default_factory=empty_rejects)

    @property
    def read(self) -> int:
        return len(self.calls) + len(self.rejects)


def input_files(path: Path) -> list[Path]:
    """The files of an input: the file itself, or a folder's data files (Spark's `_SUCCESS`, `.crc` left out)."""
    if not path.exists():
        raise BatchError("input_not_found", f"input {path} does not exist")
    if path.is_file():
        if path.suffix.lower() not in FORMATS:
            raise BatchError("input_format", f"input {path} has an unknown format {path.suffix!r}; use "
                             f"{', '.join(sorted(set(FORMATS)))}")
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FORMATS
                   and not any(part.startswith(("_", ".")) for part in p.relative_to(path).parts))
    if not files:
        raise BatchError("input_empty", f"input folder {path} holds no .csv, .parquet or .jsonl files")
    kinds = {FORMATS[p.suffix.lower()] for p in files}
    if len(kinds) > 1:
        raise BatchError("input_format", f"input folder {path} mixes formats ({', '.join(sorted(kinds))}); "
                         "give one format per run")
    return files


def input_format(files: list[Path]) -> str:
    return FORMATS[files[0].suffix.lower()]


def fingerprint(path: Path) -> list[dict[str, Any]]:
    """Name, size and modification time of each input file: a resumed run must read the same input."""
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.is_file() and not any(
            part.startswith(("_", ".")) for part in p.relative_to(path).parts))
    out = []
    for p in files:
        st = p.stat()
        out.append({"file": p.name if p == path else str(p.relative_to(path)), "bytes": st.st_size,
                    "mtime_ns": st.st_mtime_ns})
    return out


def estimate_rows(files: list[Path]) -> int | None:
    """Records in the input: exact for Parquet (metadata), line count for CSV / JSONL (an estimate)."""
    fmt = input_format(files)
    total = 0
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return sum(pq.ParquetFile(p).metadata.num_rows for p in files)
        for p in files:
            lines = 0
            with p.open("rb") as fh:
                while block := fh.read(1 << 20):
                    lines += block.count(b"\n")
            total += max(lines - (1 if fmt == "csv" else 0), 0)
    except OSError:
        return None
    return total


# ------------------------------------------------------------------------------------------- raw records


def _as_text(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.map(lambda t: None if pd.isna(t) else t.isoformat())
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        return series.map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v))
    return series.map(lambda v: None if pd.isna(v) else (str(int(v)) if isinstance(v, float) and v.is_integer()
                                                          else str(v)))


def _csv_records(path: Path, batch_rows: int) -> Iterator[tuple[pd.DataFrame, list[dict[str, Any]]]]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    with path.open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh), None)
    if not header:
        raise BatchError("input_unreadable", f"input {path} is empty (no header line)")
    bad: list[dict[str, Any]] = []

    def on_invalid(row: Any) -> str:
        line = row.number if row.number is not None else -1
        bad.append({"row": line, "id": None, "code": "malformed_row",
                    "reason": f"{path.name} line {line}: expected {row.expected_columns} fields, found "
                              f"{row.actual_columns}"})
        return "skip"

    try:
        reader = pcsv.open_csv(
            path,
            read_options=pcsv.ReadOptions(block_size=1 << 22, use_threads=False),
            parse_options=pcsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()),
                                                strings_can_be_null=True),
        )
        for batch in reader:
            frame = batch.to_pandas()
            got, bad[:] = list(bad), []
            yield frame, got
            del frame
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise BatchError("input_unreadable", f"input {path} is not readable CSV: {exc}") from exc
    if bad:
        yield pd.DataFrame(columns=header), list(bad)


def _jsonl_records(path: Path, batch_rows: int) -> Iterator[tuple[pd.DataFrame, list[dict[str, Any]]]]:
    records: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                rec = None
                why = f"not valid JSON ({exc.msg})"
            else:
                why = "not a JSON object"
            if not isinstance(rec, dict):
                bad.append({"row": line_no, "id": None, "code": "malformed_row",
                            "reason": f"{path.name} line {line_no}: {why}"})
            else:
                records.append(rec)
            if len(records) >= batch_rows:
                yield pd.DataFrame.from_records(records), bad
                records, bad = [], []
    if records or bad:
        yield pd.DataFrame.from_records(records), bad


def _parquet_records(path: Path, batch_rows: int) -> Iterator[tuple[pd.DataFrame, list[dict[str, Any]]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=batch_rows):
            yield batch.to_pandas(), []
    except (pa.ArrowInvalid, OSError) as exc:
        raise BatchError("input_unreadable", f"input {path} is not readable Parquet: {exc}") from exc


_READERS = {"csv": _csv_records, "jsonl": _jsonl_records, "parquet": _parquet_records}


# ------------------------------------------------------------------------------------------- column maps


class Mapper(Protocol):
    """Reads an input as raw frames and maps each to calls (CALL_COLUMNS) and rejects (REJECT_SCHEMA)."""

    def frames(self, path: Path, chunk_rows: int) -> Iterator[tuple[pd.DataFrame, list[dict[str, Any]]]]: ...

    def map(self, frame: pd.DataFrame, first_row: int) -> tuple[pd.DataFrame, pd.DataFrame]: ...


@dataclass(frozen=True)
class DefaultColumns:
    """`id`, `text` and the optional passthrough columns, possibly under other names."""

    id_column: str = "id"
    text_column: str = "text"
    time_column: str = "time"
    area_column: str = "area"
    nature_code_column: str = "nature_code"

    def columns_ok(self, columns: list[str], source: Path) -> None:
        for option, name in (("--id-column", self.id_column), ("--text-column", self.text_column)):
            if name not in columns:
                raise BatchError("input_columns", f"input {source} has no column {name!r} (columns: "
                                 f"{', '.join(map(str, columns)) or 'none'}); name it with {option} or use "
                                 "--mapping")

    def frames(self, path: Path, chunk_rows: int) -> Iterator[tuple[pd.DataFrame, list[dict[str, Any]]]]:
        files = input_files(path)
        fmt = input_format(files)
        self.columns_ok(_first_columns(files, fmt), files[0])
        for file in files:
            yield from _READERS[fmt](file, chunk_rows)

    def map(self, frame: pd.DataFrame, first_row: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        n = len(frame)
        out: dict[str, Any] = {}
        names = {"id": self.id_column, "text": self.text_column, "time": self.time_column,
                 "area": self.area_column, "nature_code": self.nature_code_column}
        for target, source in names.items():
            out[target] = _as_text(frame[source]) if source in frame.columns else pd.Series([None] * n, dtype=object)
            out[target] = out[target].reset_index(drop=True)
        out["row"] = pd.Series(range(first_row, first_row + n), dtype="int64")
        return pd.DataFrame(out, columns=list(CALL_COLUMNS)), empty_rejects()


def _first_columns(files: list[Path], fmt: str) -> list[str]:
    path = files[0]
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.ParquetFile(path).schema_arrow.names)
        with path.open(encoding="utf-8", newline="") as fh:
            if fmt == "csv":
                return next(csv.reader(fh), [])
            for line in fh:
                if line.strip():
                    rec = json.loads(line)
                    return list(rec) if isinstance(rec, dict) else []
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise BatchError("input_unreadable", f"input {path} cannot be read: {exc}") from exc
    return []


@dataclass(frozen=True)
class ExportMapper:
    """An agency export read and mapped by `divert.model.exports` (`read_export`, `map_chunk`)."""

    mapping: Any  # divert.model.exports.ExportMapping

    @classmethod
    def load(cls, path: Path) -> ExportMapper:
        from divert.model.exports import ExportMapping

        return cls(ExportMapping.load(path))

    def frames(self, path: Path, chunk_rows: int) -> Iterator[tuple[pd.DataFrame, list[dict[str, Any]]]]:
        from divert.model.exports import read_export

        for frame in read_export(path, chunk_rows=chunk_rows, mapping=self.mapping):
            yield frame, []

    def map(self, frame: pd.DataFrame, first_row: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        from divert.model.exports import map_chunk

        calls, rejects = map_chunk(frame.reset_index(drop=True), self.mapping, first_row=first_row)
        calls = calls.copy()
        for name in ("id", "text", "time", "area", "nature_code"):
            calls[name] = _as_text(calls[name]) if len(calls) else calls[name].astype(object)
        codes = rejects["reason"].astype(str).str.partition(": ")
        rej = pd.DataFrame({"row": rejects["row"].astype("int64"), "id": rejects["id"],
                            "code": codes[0], "reason": codes[2].where(codes[2] != "", codes[0])},
                           columns=REJECT_SCHEMA.names)
        return calls[list(CALL_COLUMNS)].reset_index(drop=True), rej


def read_chunks(path: Path, chunk_rows: int, mapper: Mapper | None = None) -> Iterator[Chunk]:
    """Calls of the input in chunks of `chunk_rows` records (reading rejects go with the chunk they fall in)."""
    mapper = mapper or DefaultColumns()
    pending_calls: list[pd.DataFrame] = []
    pending_rejects: list[pd.DataFrame] = []
    pending = 0
    index = 0
    next_row = 1  # 1-based record number across the whole input

    def flush() -> Chunk:
        nonlocal pending_calls, pending_rejects, pending
        calls = pd.concat(pending_calls, ignore_index=True) if pending_calls else pd.DataFrame(columns=CALL_COLUMNS)
        rejects = pd.concat(pending_rejects, ignore_index=True) if pending_rejects else empty_rejects()
        pending_calls, pending_rejects, pending = [], [], 0
        return Chunk(index=index, calls=calls, rejects=rejects.astype({"row": "int64"}))

    for frame, bad in mapper.frames(path, chunk_rows):
        if bad:
            pending_rejects.append(pd.DataFrame(bad, columns=REJECT_SCHEMA.names))
            pending += len(bad)
        start = 0
        while start < len(frame):
            if pending >= chunk_rows:
                yield flush()
                index += 1
            take = min(chunk_rows - pending, len(frame) - start)
            piece = frame.iloc[start:start + take]
            calls, rejects = mapper.map(piece, next_row)
            next_row += len(piece)
            pending_calls.append(calls)
            if len(rejects):
                pending_rejects.append(rejects)
            pending += len(piece)
            start += take
        if pending >= chunk_rows:
            yield flush()
            index += 1
    if pending:
        yield flush()
