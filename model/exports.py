"""Reading an agency's CAD export: files in chunks (`read_export`) and one mapping to calls (`map_chunk`).

An agency's CAD history comes as CSV (optionally gzipped), Parquet, JSONL (a file, or a folder of part files) or
a folder of NENA EIDO JSON incidents. `ExportMapping` (YAML) names the columns that matter:

```yaml
id: IncidentNumber            # required
time: CallReceived            # optional: call time, parsed with `time_formats`
area: Beat                    # optional
nature_code: NatureCode       # optional (the importer needs it for weak labels)
notes: [CallTakerNotes, {column: DispatchNotes, time: DispatchTime}]   # note columns, joined in time order
timestamped_notes: Comments   # optional: one cell of lines like `06/04/12 16:40:46~TEXT`, split into entries
```

`map_chunk(df, mapping, first_row=...)` turns one chunk into `(calls, rejects)`:

- calls: columns `id, text, time, area, nature_code, row`; `time` is the call's local wall-clock time as written
  (naive; an ISO offset is dropped); `text` is every note entry of the call in time order
  (an entry without its own time takes the call's time; ties keep the mapping's column order) joined by
  `mapping.joiner`. The text is NOT redacted: batch scoring reads the raw text, the importer redacts.
- rejects: columns `row, id, reason`; `reason` is `"<code>: <message>"`, the message naming the column.

`row` is `first_row + position in the chunk`: pass `first_row=1` and then `1 + rows read so far` for 1-based
data-row numbers (what the importer does), or 0-based offsets if you prefer. Every input row is in exactly one
of the two frames, so `len(calls) + len(rejects) == len(df)`.

A mapping that does not fit the export (a named column missing) raises `ExportMappingError` naming the column and
listing the columns the export has; a bad value in one row only rejects that row.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from divert.model.errors import DivertError

ERROR_COLUMN = "__divert_read_error__"  # set by read_export on rows the reader could not parse
CALL_COLUMNS: tuple[str, ...] = ("id", "text", "time", "area", "nature_code", "row")
REJECT_COLUMNS: tuple[str, ...] = ("row", "id", "reason")
DEFAULT_TIME_FORMATS: tuple[str, ...] = (
    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%y %H:%M",
    "%m/%d/%Y %I:%M:%S %p", "%m/%d/%y %I:%M:%S %p", "%Y-%m-%d", "%m/%d/%Y",
)
DEFAULT_LINE_PATTERN = r"(?P<time>\d{1,2}/\d{1,2}/\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?)\s*~"
FORMATS = ("csv", "parquet", "jsonl", "eido")
ExportFormat = Literal["auto", "csv", "parquet", "jsonl", "eido"]

# Reject codes.
MISSING_ID = "missing_id"
EMPTY_TEXT = "empty_text"
BAD_TIME = "bad_time"
BAD_NOTE_TIME = "bad_note_time"
NOT_TEXT = "not_text"


class ExportMappingError(DivertError):
    """A mapping that cannot be used with an export; the message names the column, field or code at fault."""

    code = "export_mapping_invalid"


class ExportReadError(DivertError):
    """An export file or folder that cannot be read at all (missing, unknown format, unreadable)."""

    code = "export_unreadable"


# ------------------------------------------------------------------------------------------------ mapping


class NoteColumn(BaseModel):
    """A note column, and optionally the column holding the time it was written (for the time order)."""

    model_config = ConfigDict(extra="forbid")
    column: str = Field(min_length=1)
    time: str | None = Field(default=None, min_length=1, description="column with this note's time")


class ExportMapping(BaseModel):
    """Which export columns hold the call id, time, area, nature code and notes."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="column with the call / incident number")
    time: str | None = Field(default=None, description="column with the call's time")
    area: str | None = Field(default=None, description="column with the area (beat, district, zone)")
    nature_code: str | None = Field(default=None, description="column with the dispatcher's nature code")
    notes: list[NoteColumn] = Field(default_factory=list, description="note columns, joined in time order")
    timestamped_notes: str | None = Field(
        default=None, description="column of note lines like '06/04/12 16:40:46~TEXT', split into entries")
    line_pattern: str = Field(default=DEFAULT_LINE_PATTERN,
                              description="regex of one entry's header in `timestamped_notes`, with a `time` group")
    time_formats: list[str] = Field(default_factory=lambda: list(DEFAULT_TIME_FORMATS),
                                    description="strptime formats tried in order for every time value")
    joiner: str = Field(default="\n", description="between note entries in the joined text")
    format: ExportFormat = Field(default="auto", description="auto: from the file suffix")
    encoding: str = "utf-8-sig"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    code_case: Literal["upper", "keep"] = Field(default="upper", description="nature codes are upper-cased")

    @field_validator("notes", mode="before")
    @classmethod
    def _note_columns(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [{"column": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("line_pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"line_pattern is not a regular expression: {exc}") from exc
        if "time" not in compiled.groupindex:
            raise ValueError("line_pattern needs a named group 'time', e.g. (?P<time>...)~")
        return value

    @model_validator(mode="after")
    def _has_notes(self) -> ExportMapping:
        if not self.notes and not self.timestamped_notes:
            raise ValueError("name at least one note column: 'notes' and/or 'timestamped_notes'")
        if not self.time_formats:
            raise ValueError("time_formats must list at least one strptime format")
        return self

    def columns(self) -> dict[str, str]:
        """{mapping field: export column} for every column the mapping names."""
        out: dict[str, str] = {"id": self.id}
        for name in ("time", "area", "nature_code", "timestamped_notes"):
            value = getattr(self, name)
            if value:
                out[name] = value
        for i, note in enumerate(self.notes):
            out[f"notes[{i}].column"] = note.column
            if note.time:
                out[f"notes[{i}].time"] = note.time
        return out

    @classmethod
    def load(cls, path: Path | str) -> ExportMapping:
        """A mapping from YAML; every problem raises `ExportMappingError` naming the file and the field."""
        path = Path(path)
        if not path.is_file():
            raise ExportMappingError(f"mapping file not found: {path}")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ExportMappingError(f"{path}: not valid YAML: {exc}") from exc
        return cls.parse(raw, source=str(path))

    @classmethod
    def parse(cls, raw: Any, *, source: str = "mapping") -> ExportMapping:
        if not isinstance(raw, dict):
            raise ExportMappingError(f"{source}: the top level must be a mapping of field: column")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'mapping'}: {e['msg']}" for e in exc.errors())
            raise ExportMappingError(f"{source}: {problems}") from exc

    @classmethod
    def eido(cls) -> ExportMapping:
        """The mapping of the frames `read_export` makes from EIDO incidents."""
        return cls(id="id", time="time", area="area", nature_code="nature_code", notes=[NoteColumn(column="notes")],
                   format="eido")


def check_columns(columns: Iterable[str], mapping: ExportMapping, *, source: str = "the export") -> None:
    """Raise `ExportMappingError` naming every mapped column the export lacks."""
    have = [str(c) for c in columns if c != ERROR_COLUMN]
    present = set(have)
    missing = [(field, col) for field, col in mapping.columns().items() if col not in present]
    if missing:
        named = ", ".join(f"'{col}' (mapping field {field})" for field, col in missing)
        shown = ", ".join(have[:40]) + (" ..." if len(have) > 40 else "")
        raise ExportMappingError(f"{source} has no column {named}; its columns are: {shown}",
                                 field=missing[0][0])


# ------------------------------------------------------------------------------------------------ values


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        if value is pd.NaT or (not isinstance(value, str | bytes | list | dict) and bool(pd.isna(value))):
            return True
    except (TypeError, ValueError):
        return False
    return isinstance(value, str) and not value.strip()


def _as_text(value: Any) -> str | None:
    """A cell as text; None when blank. Numbers become their plain string (ids exported as numbers)."""
    if _blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_time(value: Any, formats: Sequence[str]) -> datetime | None:
    """A time cell as a datetime (naive, as written); None when blank. Raises ValueError when unparseable."""
    if _blank(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, datetime):
        return value
    text = str(value).strip()
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:  # ISO 8601 with an offset or a Z, which strptime formats do not cover well
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    raise ValueError(f"cannot parse time {text[:40]!r} with the mapping's time_formats")


def split_timestamped(cell: str, pattern: str | re.Pattern[str] = DEFAULT_LINE_PATTERN,
                      formats: Sequence[str] = DEFAULT_TIME_FORMATS) -> list[tuple[datetime | None, str]]:
    """Split a cell of time-stamped note lines into `(time, text)` entries, in the order written.

    `"06/04/12 16:40:46~RP ADV SUBJ YELLING\\n06/04/12 16:41:02~NO WPNS"` gives two entries. Text before the first
    stamp is an entry without a time; empty entries are dropped. A stamp that matches the pattern but no time
    format raises ValueError."""
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    entries: list[tuple[datetime | None, str]] = []
    matches = list(regex.finditer(cell))
    head = cell[: matches[0].start()] if matches else cell
    if head.strip():
        entries.append((None, head.strip()))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(cell)
        text = cell[m.end():end].strip()
        if text:
            entries.append((parse_time(m.group("time"), formats), text))
    return entries


def _order(entries: list[tuple[datetime | None, int, str]], call_time: datetime | None) -> list[str]:
    """Entries in time order; an entry without a time takes the call's time (or sorts first), ties keep the
    order they were read in (note columns in mapping order, then the time-stamped lines)."""
    def key(entry: tuple[datetime | None, int, str]) -> tuple[int, float, int]:
        t = entry[0] or call_time
        if t is None:
            return (0, 0.0, entry[1])
        stamp = t.timestamp() if t.tzinfo is not None else t.replace(tzinfo=None).timestamp()
        return (1, stamp, entry[1])

    try:
        ordered = sorted(entries, key=key)
    except (OverflowError, OSError, ValueError):  # out-of-range dates: keep the read order
        ordered = entries
    return [text for _, _, text in ordered]


# ------------------------------------------------------------------------------------------------ map_chunk


def map_chunk(df: pd.DataFrame, mapping: ExportMapping, *, first_row: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One export chunk as `(calls, rejects)`; see the module docstring. Raises `ExportMappingError` when a
    mapped column is missing from `df`."""
    errors = df[ERROR_COLUMN].tolist() if ERROR_COLUMN in df.columns else [None] * len(df)
    if len(df) and all(not _blank(e) for e in errors):
        df = df.copy()  # only unreadable rows (e.g. a chunk of broken JSONL lines): nothing to check columns on
        for col in mapping.columns().values():
            if col not in df.columns:
                df[col] = None
    check_columns(df.columns, mapping)
    line_regex = re.compile(mapping.line_pattern)
    formats = mapping.time_formats
    calls: dict[str, list[Any]] = {c: [] for c in CALL_COLUMNS}
    rejects: dict[str, list[Any]] = {c: [] for c in REJECT_COLUMNS}
    cols = {name: df[col].tolist() for name, col in mapping.columns().items()}

    def reject(row: int, row_id: str | None, code: str, message: str) -> None:
        rejects["row"].append(row)
        rejects["id"].append(row_id)
        rejects["reason"].append(f"{code}: {message}")

    for i in range(len(df)):
        row = first_row + i
        row_id = _as_text(cols["id"][i])
        if not _blank(errors[i]):
            code, _, message = str(errors[i]).partition(": ")
            reject(row, row_id, code, message or code)
            continue
        if row_id is None:
            reject(row, None, MISSING_ID, f"column '{mapping.id}' (id) is empty")
            continue
        try:
            call_time = parse_time(cols["time"][i], formats) if "time" in cols else None
        except ValueError as exc:
            reject(row, row_id, BAD_TIME, f"column '{mapping.time}' (time): {exc}")
            continue
        entries: list[tuple[datetime | None, int, str]] = []
        problem: tuple[str, str] | None = None
        for k, note in enumerate(mapping.notes):
            value = cols[f"notes[{k}].column"][i]
            if _blank(value):
                continue
            if not isinstance(value, str):
                problem = (NOT_TEXT, f"column '{note.column}' (note) holds {type(value).__name__}, not text")
                break
            try:
                note_time = parse_time(cols[f"notes[{k}].time"][i], formats) if note.time else None
            except ValueError as exc:
                problem = (BAD_NOTE_TIME, f"column '{note.time}' (time of note '{note.column}'): {exc}")
                break
            entries.append((note_time, len(entries), value.strip()))
        if problem is None and mapping.timestamped_notes:
            value = cols["timestamped_notes"][i]
            if not _blank(value):
                if not isinstance(value, str):
                    problem = (NOT_TEXT, f"column '{mapping.timestamped_notes}' (timestamped_notes) holds "
                                         f"{type(value).__name__}, not text")
                else:
                    try:
                        for t, text in split_timestamped(value, line_regex, formats):
                            entries.append((t, len(entries), text))
                    except ValueError as exc:
                        problem = (BAD_NOTE_TIME, f"column '{mapping.timestamped_notes}' (timestamped_notes): {exc}")
        if problem is not None:
            reject(row, row_id, *problem)
            continue
        if not entries:
            named = ", ".join(f"'{c}'" for c in [n.column for n in mapping.notes] +
                              ([mapping.timestamped_notes] if mapping.timestamped_notes else []))
            reject(row, row_id, EMPTY_TEXT, f"no note text in {named}")
            continue
        nature = _as_text(cols["nature_code"][i]) if "nature_code" in cols else None
        if nature is not None and mapping.code_case == "upper":
            nature = nature.upper()
        calls["id"].append(row_id)
        calls["text"].append(mapping.joiner.join(_order(entries, call_time)))
        # the local wall-clock time as written (an ISO offset is dropped): hours of the day are what reports need
        calls["time"].append(pd.Timestamp(call_time.replace(tzinfo=None)) if call_time is not None else pd.NaT)
        calls["area"].append(_as_text(cols["area"][i]) if "area" in cols else None)
        calls["nature_code"].append(nature)
        calls["row"].append(row)
    out = pd.DataFrame(calls, columns=list(CALL_COLUMNS))
    out["row"] = out["row"].astype("int64")
    if out["time"].dtype == object:
        out["time"] = pd.to_datetime(out["time"], utc=False, errors="coerce", format="mixed")
    rej = pd.DataFrame(rejects, columns=list(REJECT_COLUMNS))
    rej["row"] = rej["row"].astype("int64")
    return out, rej


# ------------------------------------------------------------------------------------------------ read_export


def detect_format(path: Path) -> str:
    """csv, parquet, jsonl or eido from a file's suffix, or from the files of a folder."""
    if path.is_dir():
        files = _part_files(path)
        if not files:
            raise ExportReadError(f"{path}: no .csv, .csv.gz, .parquet, .jsonl or .json files in the folder")
        kinds = {detect_format(f) for f in files}
        if len(kinds) > 1:
            raise ExportReadError(f"{path}: the folder mixes formats ({', '.join(sorted(kinds))})")
        return kinds.pop()
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".txt", ".tsv")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")):
        return "jsonl"
    if name.endswith(".json"):
        return "eido"
    raise ExportReadError(f"{path}: unknown export format (use .csv[.gz], .parquet, .jsonl or a folder of EIDO "
                          f".json files, or set 'format' in the mapping)")


_PART_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".parquet", ".pq", ".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".json")


def _part_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith((".", "_")) and p.name.lower().endswith(_PART_SUFFIXES))


def read_export(path: Path | str, *, chunk_rows: int = 50_000, mapping: ExportMapping | None = None,
                fmt: str | None = None) -> Iterator[pd.DataFrame]:
    """The export as DataFrames of at most `chunk_rows` rows, in file order (a folder: its part files sorted by
    name). CSV cells are strings. A row the reader cannot parse (a CSV row with the wrong number of fields, a
    JSONL line that is not a JSON object, an EIDO file without an incident) is still yielded, with the reason in
    the `ERROR_COLUMN` column, so `map_chunk` rejects it and the counts add up."""
    path = Path(path)
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    if not path.exists():
        raise ExportReadError(f"export not found: {path}")
    kind = fmt or (mapping.format if mapping is not None and mapping.format != "auto" else None) or detect_format(path)
    if kind not in FORMATS:
        raise ExportReadError(f"unknown export format '{kind}' (use {', '.join(FORMATS)})")
    files = _part_files(path) if path.is_dir() else [path]
    if kind == "eido":
        yield from _read_eido(files, chunk_rows)
        return
    encoding = mapping.encoding if mapping is not None else "utf-8-sig"
    delimiter = mapping.delimiter if mapping is not None else ","
    for file in files:
        try:
            if kind == "csv":
                yield from _read_csv(file, chunk_rows, encoding, delimiter)
            elif kind == "parquet":
                yield from _read_parquet(file, chunk_rows)
            else:
                yield from _read_jsonl(file, chunk_rows, encoding)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise ExportReadError(f"{file}: cannot read: {exc}") from exc


def _open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding=encoding, newline="")
    return path.open("r", encoding=encoding, newline="")


def _read_csv(path: Path, chunk_rows: int, encoding: str, delimiter: str) -> Iterator[pd.DataFrame]:
    with _open_text(path, encoding) as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise ExportReadError(f"{path}: empty CSV file (no header row)") from None
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise ExportReadError(f"{path}: duplicated CSV column(s): {', '.join(dupes)}")
        columns = [*header, ERROR_COLUMN]
        rows: list[list[Any]] = []
        for cells in reader:
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                bad: list[Any] = (list(cells) + [None] * len(header))[: len(header)]
                rows.append([*bad, f"malformed_row: {len(cells)} fields where the header has {len(header)} "
                                   f"(line {reader.line_num} of {path.name})"])
            else:
                rows.append([*cells, None])
            if len(rows) >= chunk_rows:
                yield pd.DataFrame(rows, columns=columns, dtype=object)
                rows = []
        if rows:
            yield pd.DataFrame(rows, columns=columns, dtype=object)


def _read_parquet(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid and friends
        raise ExportReadError(f"{path}: not a readable Parquet file: {exc}") from exc
    for batch in handle.iter_batches(batch_size=chunk_rows):
        yield batch.to_pandas()


def _read_jsonl(path: Path, chunk_rows: int, encoding: str) -> Iterator[pd.DataFrame]:
    with (gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")) as fh:
        records: list[dict[str, Any]] = []
        for line_no, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode(encoding))
                if not isinstance(record, dict):
                    raise ValueError(f"expected a JSON object, got {type(record).__name__}")
                record[ERROR_COLUMN] = None
            except (ValueError, UnicodeDecodeError) as exc:
                msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                record = {ERROR_COLUMN: f"invalid_json: line {line_no} of {path.name}: {msg}"}
            records.append(record)
            if len(records) >= chunk_rows:
                yield pd.DataFrame.from_records(records)
                records = []
        if records:
            yield pd.DataFrame.from_records(records)


# ------------------------------------------------------------------------------------------------ EIDO

EIDO_COLUMNS = ("id", "time", "area", "nature_code", "notes", ERROR_COLUMN)


def eido_row(incident: Any, *, name: str = "") -> dict[str, Any]:
    """One EIDO incident as a flat row (id, time, area, nature_code, notes) read by `ExportMapping.eido()`, through
    the API's own EIDO reader (`divert.model.eido.eido_note`: HTML notes to text, de-duplicated and ordered by
    time; the call id is `internalIncidentId`, the nature code `incidentTypeInternalCode` or the common registry
    type). A malformed EIDO becomes an error row whose reason has the reader's code and JSON pointer."""
    from divert.model.eido import EIDO_HARD_LIMIT_BYTES, EidoError, eido_note

    try:
        note = eido_note(incident, max_bytes=EIDO_HARD_LIMIT_BYTES)
    except EidoError as exc:
        where = f" at {exc.pointer}" if exc.pointer else ""
        return {"id": None, ERROR_COLUMN: f"{exc.code}: {name}: {exc.message}{where}"}
    location = incident.get("locationComponent") if isinstance(incident, dict) else None
    first = location[0] if isinstance(location, list) and location and isinstance(location[0], dict) else {}
    area = first.get("locationJurisdiction") or first.get("jurisdiction") if isinstance(first, dict) else None
    return {"id": note.call_id, "time": note.context.get("time"), "area": area,
            "nature_code": note.context.get("nature_code"), "notes": note.text, ERROR_COLUMN: None}


def _read_eido(files: list[Path], chunk_rows: int) -> Iterator[pd.DataFrame]:
    rows: list[dict[str, Any]] = []
    for file in files:
        try:
            payload = json.loads(file.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            rows.append({"id": None, ERROR_COLUMN: f"invalid_json: {file.name}: not readable JSON ({exc})"})
            payload = None
        incidents = payload if isinstance(payload, list) else [payload] if payload is not None else []
        for k, inc in enumerate(incidents):
            rows.append(eido_row(inc, name=file.name if len(incidents) == 1 else f"{file.name}[{k}]"))
            if len(rows) >= chunk_rows:
                yield pd.DataFrame.from_records(rows, columns=list(EIDO_COLUMNS))
                rows = []
    if rows:
        yield pd.DataFrame.from_records(rows, columns=list(EIDO_COLUMNS))
