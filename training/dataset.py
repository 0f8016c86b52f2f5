"""Labeled datasets: read, validate and compare splits.

A dataset file is JSONL (`.jsonl`/`.ndjson`, one object per line:
`{"id", "text", "labels": {label: 0|1}, "group", "meta"}`) or CSV (`.csv`: a text column, one column per label
named exactly as the label, optional `id` and `group` columns; every other column goes to `meta`).

Reading never drops a row silently: `read_dataset` returns the valid rows and a `ValidationReport` that lists
every rejected row with its reason (`rows_read == rows_ok + rows_rejected`). `load_dataset` raises
`DatasetError` unless the file is clean. `validate_splits` adds the checks that need several files: exact and
near-duplicate texts across splits and groups shared by two splits.

Row numbers are 1-based line numbers in the file (in a CSV the header is line 1), so an editor jumps to them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process
from scipy import sparse
from scipy.spatial.distance import cdist

from divert.model.labels import LABELS

JSONL_SUFFIXES: tuple[str, ...] = (".jsonl", ".ndjson")
CSV_SUFFIXES: tuple[str, ...] = (".csv",)
DATA_SUFFIXES: tuple[str, ...] = JSONL_SUFFIXES + CSV_SUFFIXES
NEAR_DUPLICATE_THRESHOLD = 95.0
UNKNOWN_STYLE = "unknown"

# Problem codes. Row-level codes reject the row; cross-split codes flag a row of the later split.
INVALID_JSON = "invalid_json"
MALFORMED_ROW = "malformed_row"
MISSING_ID = "missing_id"
INVALID_ID = "invalid_id"
MISSING_TEXT = "missing_text"
EMPTY_TEXT = "empty_text"
TEXT_NOT_STRING = "text_not_string"
MISSING_LABELS = "missing_labels"
UNKNOWN_LABEL = "unknown_label"
MISSING_LABEL = "missing_label"
INVALID_LABEL_VALUE = "invalid_label_value"
INVALID_GROUP = "invalid_group"
INVALID_META = "invalid_meta"
DUPLICATE_ID = "duplicate_id"
DUPLICATE_TEXT = "duplicate_text"
CROSS_SPLIT_DUPLICATE = "cross_split_duplicate"
CROSS_SPLIT_NEAR_DUPLICATE = "cross_split_near_duplicate"
GROUP_OVERLAP = "group_overlap"

# Conventional split order: earlier splits are the reference a later split's row is compared with.
_SPLIT_ORDER = ("train", "validation", "val", "dev", "test", "challenge")


class DatasetError(ValueError):
    """A dataset that cannot be read or is not clean; the message names the file, rows and reasons."""

    def __init__(self, message: str, report: ValidationReport | None = None) -> None:
        super().__init__(message)
        self.report = report


# --------------------------------------------------------------------------------------------------- Dataset


@dataclass
class Dataset:
    """Rows of labeled text. `labels` is float (n, len(LABELS)): 0/1, `nan` where the label is unknown."""

    ids: list[str]
    texts: list[str]
    labels: np.ndarray
    groups: list[str]
    meta: list[dict[str, Any]]
    source: str = ""

    def __post_init__(self) -> None:
        n = len(self.ids)
        labels = np.asarray(self.labels, dtype=float)
        if labels.size == 0:
            labels = labels.reshape(0, len(LABELS))
        if labels.shape != (n, len(LABELS)):
            raise ValueError(f"labels must have shape ({n}, {len(LABELS)}), got {labels.shape}")
        if not len(self.texts) == len(self.groups) == len(self.meta) == n:
            raise ValueError("ids, texts, groups and meta must have the same length")
        self.labels = labels

    @classmethod
    def empty(cls, source: str = "") -> Dataset:
        return cls([], [], np.zeros((0, len(LABELS))), [], [], source)

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, indices: Sequence[int] | np.ndarray) -> Dataset:
        """The rows at `indices` (positions, or a boolean mask), in that order."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        rows = [int(i) for i in idx]
        return Dataset(
            ids=[self.ids[i] for i in rows],
            texts=[self.texts[i] for i in rows],
            labels=self.labels[rows] if rows else np.zeros((0, len(LABELS))),
            groups=[self.groups[i] for i in rows],
            meta=[self.meta[i] for i in rows],
            source=self.source,
        )

    def concat(self, others: Iterable[Dataset]) -> Dataset:
        """This dataset followed by `others`; the source names every part."""
        parts = [self, *others]
        sources = [p.source for p in parts if p.source]
        return Dataset(
            ids=[i for p in parts for i in p.ids],
            texts=[t for p in parts for t in p.texts],
            labels=np.vstack([p.labels for p in parts]),
            groups=[g for p in parts for g in p.groups],
            meta=[m for p in parts for m in p.meta],
            source="+".join(sources),
        )

    def label_matrix_known(self) -> np.ndarray:
        """Boolean (n, len(LABELS)): True where the label is known (0 or 1)."""
        return ~np.isnan(self.labels)

    def positives(self) -> dict[str, int]:
        return {label: int(np.nansum(self.labels[:, j])) for j, label in enumerate(LABELS)}

    def known_counts(self) -> dict[str, int]:
        known = self.label_matrix_known()
        return {label: int(known[:, j].sum()) for j, label in enumerate(LABELS)}

    def prevalence(self) -> dict[str, float]:
        """Share of positives per label over the rows where it is known (`nan` when none is known)."""
        known = self.known_counts()
        return {
            label: (count / known[label] if known[label] else math.nan)
            for label, count in self.positives().items()
        }

    def styles(self) -> list[str]:
        """`meta["style"]` per row, or "unknown"."""
        return [str(m.get("style") or UNKNOWN_STYLE) for m in self.meta]

    def style_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(self.styles()).items()))

    def fingerprint(self) -> str:
        """sha256 over ids, texts and labels in row order: equal for equal content, on any machine."""
        digest = hashlib.sha256()
        for row_id, text, row in zip(self.ids, self.texts, self.labels, strict=True):
            labels = [None if math.isnan(v) else int(v) for v in row]
            line = json.dumps([row_id, text, labels], ensure_ascii=False, separators=(",", ":"))
            digest.update(line.encode("utf-8") + b"\n")
        return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class RowProblem:
    """One problem with one row. `row` is the 1-based line in the file (0: the file as a whole)."""

    row: int
    id: str | None
    field: str
    code: str
    message: str
    split: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "row": self.row,
            "id": self.id,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }


def _problem_counts(problems: Iterable[RowProblem]) -> dict[str, int]:
    return dict(sorted(Counter(p.code for p in problems).items()))


def _format_problem(p: RowProblem) -> str:
    where = f"{p.split}: " if p.split else ""
    ident = f" (id {p.id})" if p.id else ""
    return f"  {where}line {p.row}{ident}: {p.field}: {p.code}: {p.message}"


@dataclass
class ValidationReport:
    """What reading one file found. `row_numbers[i]` is the line of the dataset's row i."""

    path: Path
    rows_read: int = 0
    rows_ok: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def rows_rejected(self) -> int:
        return self.rows_read - self.rows_ok

    def rejected_rows(self) -> list[int]:
        return sorted({p.row for p in self.problems})

    def problem_counts(self) -> dict[str, int]:
        return _problem_counts(self.problems)

    def summary(self, max_problems: int = 20) -> str:
        head = f"{self.path}: {self.rows_read} rows read, {self.rows_ok} ok, {self.rows_rejected} rejected"
        if self.ok:
            return head
        counts = ", ".join(f"{code}: {n}" for code, n in self.problem_counts().items())
        lines = [head, f"problems by code: {counts}"]
        lines += [_format_problem(p) for p in self.problems[:max_problems]]
        if len(self.problems) > max_problems:
            lines.append(f"  ... and {len(self.problems) - max_problems} more problems")
        return "\n".join(lines)

    def to_dict(self, split: str | None = None) -> dict[str, Any]:
        problems = [RowProblem(p.row, p.id, p.field, p.code, p.message, split or p.split) for p in self.problems]
        return {
            "path": str(self.path),
            "ok": self.ok,
            "rows_read": self.rows_read,
            "rows_ok": self.rows_ok,
            "rows_rejected": self.rows_rejected,
            "problem_counts": self.problem_counts(),
            "problems": [p.to_dict() for p in problems],
        }


# ----------------------------------------------------------------------------------------- row-level parsing


def normalize_text(text: str) -> str:
    """The key for duplicate checks: NFKC, case-folded, punctuation and whitespace runs to one space."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", folded).split())


@dataclass
class _Row:
    """One record as read, before checks. `values` is None when the record could not be parsed at all."""

    line: int
    values: dict[str, Any] | None
    labels: dict[str, Any] | None = None
    parse_error: tuple[str, str] | None = None  # (code, message)


@dataclass
class _Parsed:
    id: str | None
    text: str
    labels: np.ndarray
    group: str
    meta: dict[str, Any]
    problems: list[RowProblem]


class _RowChecker:
    """Turns a raw record into typed values and the list of its problems."""

    def __init__(self, *, text_column: str, allow_unknown: bool, csv_stem: str | None) -> None:
        self.text_column = text_column
        self.allow_unknown = allow_unknown
        self.csv_stem = csv_stem  # CSV: missing ids are generated, no meta object; JSONL: an id is required
        self.problems: list[RowProblem] = []
        self.line = 0
        self.row_id: str | None = None

    def add(self, field_name: str, code: str, message: str) -> None:
        self.problems.append(RowProblem(self.line, self.row_id, field_name, code, message))

    def check(self, row: _Row) -> _Parsed:
        self.problems, self.line, self.row_id = [], row.line, None
        values = row.values or {}
        self.row_id = self._id(values.get("id"))
        text = self._text(values)
        labels = self._labels(row.labels)
        group = self._group(values.get("group"))
        meta = self._meta(values)
        return _Parsed(self.row_id, text, labels, group, meta, self.problems)

    def _id(self, value: Any) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if self.csv_stem is not None:
                return f"{self.csv_stem}-{self.line}"
            self.add("id", MISSING_ID, "every row needs a non-empty 'id'")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.add("id", INVALID_ID, f"id must be a string, got {type(value).__name__}")
            return None
        return str(value).strip()

    def _text(self, values: Mapping[str, Any]) -> str:
        value = values.get(self.text_column)
        if value is None:
            self.add(self.text_column, MISSING_TEXT, f"no '{self.text_column}' value")
            return ""
        if not isinstance(value, str):
            self.add(self.text_column, TEXT_NOT_STRING, f"text must be a string, got {type(value).__name__}")
            return ""
        if not value.strip():
            self.add(self.text_column, EMPTY_TEXT, "text is empty")
        return value

    def _labels(self, labels: Mapping[str, Any] | None) -> np.ndarray:
        out = np.full(len(LABELS), np.nan)
        if labels is None:
            self.add("labels", MISSING_LABELS, "no 'labels' object mapping each label to 0 or 1")
            return out
        for key in labels:
            if key not in LABELS:
                self.add(f"labels.{key}", UNKNOWN_LABEL, f"'{key}' is not a label; labels are {', '.join(LABELS)}")
        for j, label in enumerate(LABELS):
            if label not in labels:
                self.add(f"labels.{label}", MISSING_LABEL, f"label '{label}' is missing")
                continue
            value, error = _label_value(labels[label], self.allow_unknown)
            if error:
                self.add(f"labels.{label}", INVALID_LABEL_VALUE, error)
            else:
                out[j] = value
        return out

    def _group(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.add("group", INVALID_GROUP, f"group must be a string, got {type(value).__name__}")
            return ""
        return str(value).strip()

    def _meta(self, values: Mapping[str, Any]) -> dict[str, Any]:
        meta = values.get("meta") if self.csv_stem is None else None
        if meta is None:
            meta = {}
        elif not isinstance(meta, dict):
            self.add("meta", INVALID_META, f"meta must be an object, got {type(meta).__name__}")
            meta = {}
        known = {"id", self.text_column, "labels", "group"} | ({"meta"} if self.csv_stem is None else set())
        extra = {k: v for k, v in values.items() if k not in known and k not in meta}
        return {**meta, **extra}


def _label_value(value: Any, allow_unknown: bool) -> tuple[float, str | None]:
    """(value, error). `None` (JSON null, empty CSV cell) is unknown, allowed only with allow_unknown."""
    if value is None:
        if allow_unknown:
            return math.nan, None
        return math.nan, "null (unknown) is only allowed with allow_unknown; use 0 or 1"
    if isinstance(value, bool) or not isinstance(value, int | float) or value not in (0, 1):
        return math.nan, f"must be 0 or 1, got {value!r}"
    return float(value), None


def _parse_label_cell(cell: str) -> Any:
    """A CSV label cell: "0"/"1" (or "0.0"/"1.0") as a number, empty/"null" as None, anything else unchanged."""
    cell = cell.strip()
    if cell == "" or cell.lower() in ("null", "none", "nan"):
        return None
    try:
        number = float(cell)
    except ValueError:
        return cell
    return number if number in (0.0, 1.0) else cell


# ------------------------------------------------------------------------------------------------- readers


def _iter_jsonl(path: Path) -> Iterator[_Row]:
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            yield _jsonl_row(line_no, raw)


def _jsonl_row(line_no: int, raw: bytes) -> _Row:
    try:
        record = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return _Row(line_no, None, parse_error=(INVALID_JSON, "line is not valid UTF-8"))
    except json.JSONDecodeError as exc:
        return _Row(line_no, None, parse_error=(INVALID_JSON, f"not valid JSON: {exc.msg} at column {exc.colno}"))
    if not isinstance(record, dict):
        return _Row(line_no, None, parse_error=(INVALID_JSON, f"expected a JSON object, got {type(record).__name__}"))
    labels = record.get("labels")
    return _Row(line_no, record, labels if isinstance(labels, dict) else None)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text (byte {exc.start})") from exc


def _iter_csv(path: Path, text_column: str) -> Iterator[_Row]:
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    header = _csv_header(path, reader, text_column)
    label_columns = [c for c in header if c in LABELS]
    last_line = reader.line_num
    for cells in reader:
        start, last_line = last_line + 1, reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue
        yield _csv_row(start, header, cells, label_columns)


def _csv_header(path: Path, reader: Iterator[list[str]], text_column: str) -> list[str]:
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise DatasetError(f"{path}: empty CSV file (no header row)") from None
    except csv.Error as exc:
        raise DatasetError(f"{path}: unreadable CSV header: {exc}") from exc
    duplicated = sorted(h for h, n in Counter(header).items() if n > 1)
    if duplicated:
        raise DatasetError(f"{path}: duplicated CSV columns: {', '.join(duplicated)}")
    if text_column not in header:
        raise DatasetError(f"{path}: no '{text_column}' column (columns: {', '.join(header)}); see --text-column")
    return header


def _csv_row(line_no: int, header: list[str], cells: list[str], label_columns: list[str]) -> _Row:
    if len(cells) != len(header):
        message = f"{len(cells)} fields where the header has {len(header)}"
        return _Row(line_no, None, parse_error=(MALFORMED_ROW, message))
    values: dict[str, Any] = dict(zip(header, cells, strict=True))
    labels = {c: _parse_label_cell(values.pop(c)) for c in label_columns}
    for key in ("id", "group"):
        if key in values and not values[key].strip():
            values[key] = None
    return _Row(line_no, values, labels)


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in CSV_SUFFIXES:
        return "csv"
    raise DatasetError(f"{path}: unsupported file type '{suffix}' (use {', '.join(DATA_SUFFIXES)})")


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise DatasetError(f"file not found: {path}")
    if not path.is_file():
        raise DatasetError(f"not a file: {path}")


class _Collector:
    """Accepts checked rows into the dataset, rejecting duplicates of rows already accepted."""

    def __init__(self, path: Path) -> None:
        self.report = ValidationReport(path)
        self.ids: list[str] = []
        self.texts: list[str] = []
        self.labels: list[np.ndarray] = []
        self.groups: list[str] = []
        self.meta: list[dict[str, Any]] = []
        self.id_lines: dict[str, int] = {}
        self.text_rows: dict[str, tuple[int, str]] = {}

    def reject(self, problems: list[RowProblem]) -> None:
        self.report.rows_read += 1
        self.report.problems.extend(problems)

    def offer(self, line: int, parsed: _Parsed) -> None:
        if parsed.problems:
            self.reject(parsed.problems)
            return
        row_id = parsed.id or ""
        duplicate = self._duplicate(line, row_id, parsed.text)
        if duplicate:
            self.reject([duplicate])
            return
        self._accept(line, row_id, parsed)

    def _duplicate(self, line: int, row_id: str, text: str) -> RowProblem | None:
        if row_id in self.id_lines:
            message = f"id '{row_id}' is already used on line {self.id_lines[row_id]}"
            return RowProblem(line, row_id, "id", DUPLICATE_ID, message)
        key = normalize_text(text)
        if key and key in self.text_rows:
            first_line, first_id = self.text_rows[key]
            message = f"same text as line {first_line} (id {first_id}) after normalising case, whitespace and punctuation"
            return RowProblem(line, row_id, "text", DUPLICATE_TEXT, message)
        return None

    def _accept(self, line: int, row_id: str, parsed: _Parsed) -> None:
        self.report.rows_read += 1
        self.report.rows_ok += 1
        self.report.row_numbers.append(line)
        self.id_lines[row_id] = line
        key = normalize_text(parsed.text)
        if key:
            self.text_rows[key] = (line, row_id)
        self.ids.append(row_id)
        self.texts.append(parsed.text)
        self.labels.append(parsed.labels)
        self.groups.append(parsed.group)
        self.meta.append(parsed.meta)

    def dataset(self) -> Dataset:
        labels = np.vstack(self.labels) if self.labels else np.zeros((0, len(LABELS)))
        return Dataset(self.ids, self.texts, labels, self.groups, self.meta, str(self.report.path))


def read_dataset(
    path: Path | str, *, text_column: str = "text", allow_unknown: bool = False
) -> tuple[Dataset, ValidationReport]:
    """Read a JSONL or CSV file: the valid rows and a report on every row.

    Raises `DatasetError` only when the file itself cannot be read (missing, wrong type, not UTF-8, a CSV
    without the text column); bad rows are listed in the report instead.
    """
    path = Path(path)
    _check_readable(path)
    fmt = _format_of(path)
    rows = _iter_jsonl(path) if fmt == "jsonl" else _iter_csv(path, text_column)
    checker = _RowChecker(
        text_column=text_column, allow_unknown=allow_unknown, csv_stem=path.stem if fmt == "csv" else None
    )
    collector = _Collector(path)
    try:
        for row in rows:
            if row.parse_error:
                code, message = row.parse_error
                collector.reject([RowProblem(row.line, None, "row", code, message)])
            else:
                collector.offer(row.line, checker.check(row))
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except csv.Error as exc:
        raise DatasetError(f"{path}: unreadable CSV: {exc}") from exc
    return collector.dataset(), collector.report


def load_dataset(path: Path | str, **kwargs: Any) -> Dataset:
    """The dataset in `path`; raises `DatasetError` naming the bad rows unless every row is valid."""
    dataset, report = read_dataset(path, **kwargs)
    if not report.ok:
        raise DatasetError(report.summary(), report)
    return dataset


def load_many(paths: Iterable[Path | str], **kwargs: Any) -> Dataset:
    """Several clean files, concatenated in order."""
    datasets = [load_dataset(p, **kwargs) for p in paths]
    if not datasets:
        return Dataset.empty()
    return datasets[0].concat(datasets[1:])


# --------------------------------------------------------------------------------- near-duplicate search
#
# `fuzz.token_set_ratio` on every pair of 10k x 2k texts takes minutes. `near_duplicate_matches` computes, for all
# pairs at once with sparse/dense array arithmetic, whether the score can reach the threshold: two of its three
# terms are computed exactly, the third is bounded (its Indel distance is at least the L1 distance of character
# histograms). Only those candidate pairs are scored by rapidfuzz, so the result equals the brute force one.

_HIST_BUCKETS = 64  # a-z, 0-9, 27 hashed buckets for other characters, 1 for the token count


_MARGIN = 0.05  # absolute slack in the float32 candidate tests: a looser test only adds candidates
_BUCKETS: dict[str, int] = {}


def _char_bucket(ch: str) -> int:
    bucket = _BUCKETS.get(ch)
    if bucket is None:
        if "a" <= ch <= "z":
            bucket = ord(ch) - ord("a")
        elif "0" <= ch <= "9":
            bucket = 26 + ord(ch) - ord("0")
        else:
            bucket = 36 + ord(ch) % 27
        _BUCKETS[ch] = bucket
    return bucket


class _TokenTable:
    """Unique tokens of each text as sparse rows over a shared vocabulary, with character histograms (the last
    column counts tokens, so a row of `hist` sums to `total`, the sum of len(token)+1 over its unique tokens)."""

    def __init__(self, texts: Sequence[str], vocab: dict[str, int]) -> None:
        rows, cols, weights = [], [], []
        hist_rows, hist_cols, hist_counts = [], [], []
        for i, text in enumerate(texts):
            tokens = set(text.split())
            for token in tokens:
                rows.append(i)
                cols.append(vocab.setdefault(token, len(vocab)))
                weights.append(len(token) + 1)
            for ch, count in Counter("".join(tokens)).items():
                hist_rows.append(i)
                hist_cols.append(_char_bucket(ch))
                hist_counts.append(count)
        self.n = len(texts)
        self._coords = (np.asarray(weights, dtype=np.float32), (np.asarray(rows), np.asarray(cols)))
        self.hist = np.zeros((self.n, _HIST_BUCKETS), dtype=np.float32)
        np.add.at(self.hist, (np.asarray(hist_rows, dtype=np.int64), np.asarray(hist_cols, dtype=np.int64)), hist_counts)
        self.hist[:, -1] = np.bincount(np.asarray(rows, dtype=np.int64), minlength=self.n)
        self.total = self.hist.sum(axis=1)
        self.empty = self.hist[:, -1] == 0

    def weighted(self, n_vocab: int) -> sparse.csr_matrix:
        return sparse.csr_matrix(self._coords, shape=(self.n, n_vocab))

    def binary(self, n_vocab: int) -> sparse.csr_matrix:
        data, coords = self._coords
        return sparse.csr_matrix((np.ones_like(data), coords), shape=(self.n, n_vocab))


def _candidate_mask(
    shared: np.ndarray, total_a: np.ndarray, total_b: np.ndarray, l1: np.ndarray, threshold: float
) -> np.ndarray:
    """Pairs whose token_set_ratio can reach `threshold`: a superset of the true matches.

    With S = sum of len(token)+1 over shared unique tokens and T_a, T_b the same sums over each text, rapidfuzz's
    three ratios are: sect vs sect+diff_a = 100 - 100 (T_a - S) / (T_a + S - 2) (exact), the same for b, and
    sect+diff_a vs sect+diff_b = 100 - 100 indel(diff_a, diff_b) / (T_a + T_b - 2), where the Indel distance is at
    least the L1 distance of the character histograms (the shared tokens cancel out). One set containing the
    other scores 100 and passes the first test.
    """
    slack = 100.0 - threshold
    sect = np.float32(2.0 * slack) * (shared - np.float32(1.0)) + np.float32(_MARGIN)
    mask = (total_a - shared) * np.float32(threshold) <= sect
    mask |= (total_b - shared) * np.float32(threshold) <= sect
    mask &= shared > 0
    mask |= l1 * np.float32(100.0) <= (total_a + total_b - np.float32(2.0)) * np.float32(slack) + np.float32(_MARGIN)
    return mask


def _histogram_l1(table_a: _TokenTable, rows: np.ndarray, table_b: _TokenTable, slack: float) -> np.ndarray:
    """L1 distances of character histograms, computed only for the queries whose length allows a match with
    some of `rows` (histograms sum to the token-length totals, so L1 >= |T_a - T_b|); inf elsewhere."""
    totals = table_a.total[rows]
    nearest = np.clip(table_b.total, totals.min(), totals.max())
    columns = np.flatnonzero(np.abs(nearest - table_b.total) * 100 <= (nearest + table_b.total - 2) * slack + _MARGIN)
    l1 = np.full((len(rows), table_b.n), np.inf, dtype=np.float32)
    if columns.size:
        l1[:, columns] = cdist(table_a.hist[rows], table_b.hist[columns], "cityblock")
    return l1


@dataclass
class _Best:
    """Best reference per query so far (score 0, reference -1: none)."""

    score: np.ndarray
    ref: np.ndarray

    def update(self, refs: np.ndarray, queries: np.ndarray, scores: np.ndarray) -> None:
        if not len(refs):
            return
        order = np.lexsort((refs, -scores, queries))  # by query, best score first, then first reference
        query, first = np.unique(queries[order], return_index=True)
        ref, score = refs[order[first]], scores[order[first]]
        better = (score > self.score[query]) | ((score == self.score[query]) & (ref < self.ref[query]))
        self.score[query[better]], self.ref[query[better]] = score[better], ref[better]


def near_duplicate_matches(
    references: Sequence[str],
    queries: Sequence[str],
    threshold: float = NEAR_DUPLICATE_THRESHOLD,
    *,
    block_pairs: int = 2_000_000,
) -> dict[int, tuple[int, float]]:
    """For each query with some reference scoring `fuzz.token_set_ratio >= threshold`: query index ->
    (best reference index, score), ties to the first reference. Texts should already be normalised
    (`normalize_text`); identical texts score 100 and are included. Equals scoring every pair with rapidfuzz."""
    vocab: dict[str, int] = {}
    table_a, table_b = _TokenTable(references, vocab), _TokenTable(queries, vocab)
    best = _Best(np.zeros(table_b.n), np.full(table_b.n, -1))
    if not table_a.n or not table_b.n:
        return {}
    weighted_a = table_a.weighted(len(vocab))
    binary_b_t = table_b.binary(len(vocab)).T.tocsc()
    order = np.argsort(table_a.total, kind="stable")  # similar lengths together: fewer histogram distances
    step = max(1, block_pairs // table_b.n)
    for start in range(0, table_a.n, step):
        rows = order[start : start + step]
        shared = (weighted_a[rows] @ binary_b_t).toarray()
        total_a = table_a.total[rows, None]
        l1 = _histogram_l1(table_a, rows, table_b, 100.0 - threshold)
        mask = _candidate_mask(shared, total_a, table_b.total[None, :], l1, threshold)
        mask[table_a.empty[rows], :] = False
        mask[:, table_b.empty] = False
        i, j = np.nonzero(mask)
        pair_shared = shared[i, j]
        contained = (pair_shared > 0) & ((pair_shared == total_a[i, 0]) | (pair_shared == table_b.total[j]))
        best.update(rows[i[contained]], j[contained], np.full(int(contained.sum()), 100.0))
        i, j = i[~contained], j[~contained]
        scores = process.cpdist(
            [references[a] for a in rows[i]], [queries[q] for q in j],
            scorer=fuzz.token_set_ratio, score_cutoff=threshold, workers=-1, dtype=np.float64,
        ) if len(i) else np.zeros(0)
        keep = scores >= threshold
        best.update(rows[i[keep]], j[keep], scores[keep])
    return {int(j): (int(best.ref[j]), float(best.score[j])) for j in np.flatnonzero(best.ref >= 0)}


# ------------------------------------------------------------------------------------------- split checks


@dataclass
class SplitStats:
    """Counts of one split: rows, per-label positives/known/prevalence, per-style rows and prevalence."""

    rows: int
    positives: dict[str, int]
    known: dict[str, int]
    prevalence: dict[str, float]
    styles: dict[str, int]
    style_prevalence: dict[str, dict[str, float]]

    @classmethod
    def of(cls, dataset: Dataset) -> SplitStats:
        styles = dataset.styles()
        style_prevalence = {
            style: dataset.subset([i for i, s in enumerate(styles) if s == style]).prevalence()
            for style in dataset.style_counts()
        }
        return cls(
            rows=len(dataset),
            positives=dataset.positives(),
            known=dataset.known_counts(),
            prevalence=dataset.prevalence(),
            styles=dataset.style_counts(),
            style_prevalence=style_prevalence,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "positives": self.positives,
            "known": self.known,
            "prevalence": _json_floats(self.prevalence),
            "styles": self.styles,
            "style_prevalence": {s: _json_floats(p) for s, p in self.style_prevalence.items()},
        }


def _json_floats(values: Mapping[str, float]) -> dict[str, float | None]:
    return {k: (None if math.isnan(v) else round(v, 6)) for k, v in values.items()}


@dataclass
class SplitsReport:
    """Per-file reports, per-split stats and the cross-split problems (attributed to the later split's row)."""

    reports: dict[str, ValidationReport]
    stats: dict[str, SplitStats]
    cross_problems: list[RowProblem] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.cross_problems and all(r.ok for r in self.reports.values())

    def problems(self) -> list[RowProblem]:
        """Every problem, each naming its split: split by split (in order), by row; row problems first."""
        order = {name: i for i, name in enumerate(self.reports)}
        rows = [
            RowProblem(p.row, p.id, p.field, p.code, p.message, split)
            for split, report in self.reports.items()
            for p in report.problems
        ]
        cross = sorted(self.cross_problems, key=lambda p: (order.get(p.split or "", 0), p.row))
        return sorted(rows, key=lambda p: (order[p.split or ""], p.row)) + cross

    def problem_counts(self) -> dict[str, int]:
        return _problem_counts(self.problems())

    def summary(self, max_problems: int = 20) -> str:
        lines = [report.summary(max_problems=0) for report in self.reports.values()]
        problems = self.problems()
        if problems:
            counts = ", ".join(f"{code}: {n}" for code, n in self.problem_counts().items())
            lines.append(f"{len(problems)} problems ({counts})")
            lines += [_format_problem(p) for p in problems[:max_problems]]
            if len(problems) > max_problems:
                lines.append(f"  ... and {len(problems) - max_problems} more problems")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "splits": {
                name: {**report.to_dict(name), "stats": self.stats[name].to_dict()}
                for name, report in self.reports.items()
            },
            "cross_split": {
                "problem_counts": _problem_counts(self.cross_problems),
                "problems": [p.to_dict() for p in self.cross_problems],
            },
            "problem_counts": self.problem_counts(),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


@dataclass
class _Split:
    name: str
    dataset: Dataset
    lines: list[int]
    keys: list[str]

    def where(self, i: int) -> str:
        return f"{self.name} line {self.lines[i]} (id {self.dataset.ids[i]})"


def _duplicates_between(a: _Split, b: _Split, threshold: float) -> list[RowProblem]:
    first_by_key: dict[str, int] = {}
    for i, key in enumerate(a.keys):
        if key:
            first_by_key.setdefault(key, i)
    problems: list[RowProblem] = []
    rest: list[int] = []
    for j, key in enumerate(b.keys):
        if key in first_by_key:
            message = f"same text as {a.where(first_by_key[key])} after normalising case, whitespace and punctuation"
            problems.append(RowProblem(b.lines[j], b.dataset.ids[j], "text", CROSS_SPLIT_DUPLICATE, message, b.name))
        else:
            rest.append(j)
    matches = near_duplicate_matches(a.keys, [b.keys[j] for j in rest], threshold)
    for k, (i, score) in sorted(matches.items()):
        j = rest[k]
        message = f"near-duplicate of {a.where(i)}: token_set_ratio {score:.1f} >= {threshold:g}"
        problems.append(RowProblem(b.lines[j], b.dataset.ids[j], "text", CROSS_SPLIT_NEAR_DUPLICATE, message, b.name))
    return problems


def _group_rows(split: _Split) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for i, group in enumerate(split.dataset.groups):
        if group:
            rows.setdefault(group, []).append(i)
    return rows


def _group_overlap(a: _Split, b: _Split) -> list[RowProblem]:
    rows_a, rows_b = _group_rows(a), _group_rows(b)
    problems = []
    for group in sorted(rows_a.keys() & rows_b.keys(), key=lambda g: rows_b[g][0]):
        ia, ib = rows_a[group], rows_b[group]
        message = (
            f"group '{group}' is in {a.name} ({len(ia)} rows, first {a.where(ia[0])}) "
            f"and {b.name} ({len(ib)} rows)"
        )
        problems.append(RowProblem(b.lines[ib[0]], b.dataset.ids[ib[0]], "group", GROUP_OVERLAP, message, b.name))
    return problems


def validate_splits(
    paths: Mapping[str, Path | str],
    *,
    text_column: str = "text",
    allow_unknown: bool = False,
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD,
) -> SplitsReport:
    """Validate each split's file, then compare every pair of splits (in the given order; problems are reported
    on the later split's row): exact duplicates, near-duplicates and shared groups. Only valid rows are compared.
    Raises `DatasetError` when a file cannot be read at all."""
    reports: dict[str, ValidationReport] = {}
    splits: list[_Split] = []
    for name, path in paths.items():
        dataset, report = read_dataset(path, text_column=text_column, allow_unknown=allow_unknown)
        reports[name] = report
        splits.append(_Split(name, dataset, report.row_numbers, [normalize_text(t) for t in dataset.texts]))
    stats = {s.name: SplitStats.of(s.dataset) for s in splits}
    result = SplitsReport(reports, stats)
    started = time.perf_counter()
    for n, b in enumerate(splits):
        for a in splits[:n]:
            result.cross_problems += _duplicates_between(a, b, near_duplicate_threshold)
    result.timings["duplicates_s"] = time.perf_counter() - started
    for n, b in enumerate(splits):
        for a in splits[:n]:
            result.cross_problems += _group_overlap(a, b)
    return result


def split_sort_key(name: str) -> tuple[int, str]:
    """train, validation, val, dev, test, challenge first, then the rest by name."""
    lowered = name.lower()
    rank = _SPLIT_ORDER.index(lowered) if lowered in _SPLIT_ORDER else len(_SPLIT_ORDER)
    return rank, lowered


def discover_splits(folder: Path | str) -> dict[str, Path]:
    """The `*.jsonl`, `*.ndjson` and `*.csv` files in `folder` as splits named by file stem, train first."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"not a folder: {folder}")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)
    if not files:
        raise DatasetError(f"no {', '.join(DATA_SUFFIXES)} files in {folder}")
    names = [p.stem for p in files]
    clashes = sorted(n for n, c in Counter(names).items() if c > 1)
    if clashes:
        raise DatasetError(f"{folder}: several files for split(s) {', '.join(clashes)}")
    return {p.stem: p for p in sorted(files, key=lambda p: split_sort_key(p.stem))}
