"""The output folder of a batch run and its manifest: what was scored, with what, and which parts are done.

    OUTPUT/
      manifest.json            settings of the run, counts per finished part, totals, complete or not
      scored/part-00000.parquet ...   one file per input chunk (the local engine) or Spark's part files
      rejects/part-00000.parquet ...  row, id, code, reason of every call not scored

A part is listed in the manifest only after both of its files are written (atomically, by rename), so an
interrupted local run resumes by scoring only the parts the manifest does not list. A run is resumed only with
the same input files, chunk size, model version, policy and options; otherwise the folder is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from divert.serving.batch.errors import BatchError

MANIFEST_NAME = "manifest.json"
SCORED_DIR = "scored"
REJECTS_DIR = "rejects"
FORMAT_VERSION = 1


class PartCounts(BaseModel):
    read: int
    scored: int
    rejected: int


class Totals(BaseModel):
    read: int = 0
    scored: int = 0
    rejected: int = 0


class RunSettings(BaseModel):
    """What must be equal for a run to be resumed."""

    engine: str
    input: str
    input_files: list[dict[str, Any]]
    mapping: dict[str, Any] | None = None
    chunk_rows: int
    model_name: str
    model_version: str
    model_uri: str
    policy_version: str
    policy_sha256: str
    with_redacted_text: bool
    max_chars: int


class RunManifest(BaseModel):
    format_version: int = FORMAT_VERSION
    settings: RunSettings
    model_ref: str
    clock: str = Field(description="the time used for calls without a time (ISO-8601)")
    started_at: str
    finished_at: str | None = None
    complete: bool = False
    parts: dict[str, PartCounts] = Field(default_factory=dict)
    totals: Totals = Field(default_factory=Totals)

    def add_part(self, index: int, counts: PartCounts) -> None:
        self.parts[part_name(index)] = counts
        self.totals = Totals(read=sum(p.read for p in self.parts.values()),
                             scored=sum(p.scored for p in self.parts.values()),
                             rejected=sum(p.rejected for p in self.parts.values()))


def part_name(index: int) -> str:
    return f"{index:05d}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save_manifest(out: Path, manifest: RunManifest) -> None:
    write_atomic(out / MANIFEST_NAME, manifest.model_dump_json(indent=2).encode("utf-8"))


def load_manifest(out: Path) -> RunManifest | None:
    path = out / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return RunManifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise BatchError("output_in_use", f"{path} is not a divert batch manifest ({exc.__class__.__name__}); "
                         "give another OUTPUT folder or --overwrite") from exc


def _differences(old: RunSettings, new: RunSettings) -> list[str]:
    a, b = old.model_dump(), new.model_dump()
    return [k for k in a if a[k] != b[k]]


def prepare_output(out: Path, settings: RunSettings, *, model_ref: str, clock: datetime, overwrite: bool,
                   ) -> RunManifest:
    """A fresh manifest, or the manifest of an earlier run with the same settings (to resume)."""
    if out.exists() and not out.is_dir():
        raise BatchError("output_in_use", f"output {out} is a file; give a folder")
    if overwrite and out.exists():
        if not (out / MANIFEST_NAME).is_file() and any(out.iterdir()):
            raise BatchError("output_in_use", f"output {out} is not empty and not a batch output; refusing to "
                             "delete it")
        shutil.rmtree(out)
    if out.exists() and any(out.iterdir()):
        old = load_manifest(out)
        if old is None:
            raise BatchError("output_in_use", f"output folder {out} is not empty and holds no {MANIFEST_NAME}; "
                             "give an empty or new folder")
        changed = _differences(old.settings, settings)
        if changed:
            raise BatchError("output_in_use", f"output {out} holds a run with other settings ({', '.join(changed)} "
                             "differ); give a new folder, or --overwrite to start again")
        return old
    (out / SCORED_DIR).mkdir(parents=True, exist_ok=True)
    (out / REJECTS_DIR).mkdir(parents=True, exist_ok=True)
    manifest = RunManifest(settings=settings, model_ref=model_ref, clock=clock.isoformat(timespec="seconds"),
                           started_at=now_iso())
    save_manifest(out, manifest)
    return manifest


def scored_path(path: Path) -> Path:
    """The scored calls of SCORED: a batch output folder, or any Parquet file / folder."""
    if (path / MANIFEST_NAME).is_file():
        return path / SCORED_DIR
    return path
