"""The embedded batch engine: chunks of the input scored by a pool of worker processes, one part file each.

- bounded memory: at most `2 * workers` chunks are read ahead of the writers;
- every core: `workers` processes (default: one per core; one for an input of at most two chunks), each with one torch / ONNX Runtime / BLAS thread, so
  the processes do not fight over the cores; `workers=1` scores in this process with the model's own thread
  settings (no model copy, no pickling);
- resumable: each chunk is one part (`scored/part-K.parquet`, `rejects/part-K.parquet`), listed in the manifest
  once written; a run started again with the same settings skips the parts already listed.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from divert.model.inputs import DEFAULT_MAX_CHARS
from divert.model.policy import Policy
from divert.serving.batch.core import BatchScorer, rejects_table
from divert.serving.batch.errors import BatchError
from divert.serving.batch.io import Chunk, Mapper, estimate_rows, fingerprint, input_files, read_chunks
from divert.serving.batch.manifest import (
    REJECTS_DIR,
    SCORED_DIR,
    PartCounts,
    RunManifest,
    RunSettings,
    now_iso,
    part_name,
    prepare_output,
    save_manifest,
    sha256_text,
)

if TYPE_CHECKING:
    from divert.model.pyfunc import LoadedModel

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "DIVERT_ONNX_THREADS")
DEFAULT_CHUNK_ROWS = 20_000


@dataclass(frozen=True)
class RunSummary:
    output: Path
    manifest: RunManifest
    parts_scored: int
    parts_skipped: int
    interrupted: bool = False

    @property
    def read(self) -> int:
        return self.manifest.totals.read

    @property
    def scored(self) -> int:
        return self.manifest.totals.scored

    @property
    def rejected(self) -> int:
        return self.manifest.totals.rejected


def model_version_of(loaded: LoadedModel) -> str:
    from divert.serving.service import model_version

    return model_version(loaded)


def run_settings(engine: str, input_path: Path, loaded: LoadedModel, policy: Policy, *, chunk_rows: int,
                 mapping: dict[str, Any] | None, redact: bool, max_chars: int) -> RunSettings:
    return RunSettings(
        engine=engine, input=str(input_path.resolve()), input_files=fingerprint(input_path), mapping=mapping,
        chunk_rows=chunk_rows, model_name=loaded.name, model_version=model_version_of(loaded), model_uri=loaded.uri,
        policy_version=policy.policy_version, policy_sha256=sha256_text(policy.model_dump_json()),
        with_redacted_text=redact, max_chars=max_chars)


def auto_workers(total_rows: int | None, chunk_rows: int) -> int:
    """One process per core, unless the input is at most two chunks: starting workers (each imports the
    libraries and loads the model) then costs more than it saves."""
    cores = os.cpu_count() or 1
    if total_rows is not None and total_rows <= 2 * chunk_rows:
        return 1
    return cores


# ------------------------------------------------------------------------------------------- one part

_WORKER: dict[str, Any] = {}


def one_thread() -> None:
    """One BLAS / torch thread in this process (call before the model is loaded)."""
    for var in THREAD_VARS:
        os.environ[var] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    torch = sys.modules.get("torch")  # imported later, torch reads OMP_NUM_THREADS itself
    if torch is not None:
        torch.set_num_threads(1)


def _init_worker(bundle_dir: str, policy: Policy, model_name: str, model_version: str, clock: datetime,
                 max_chars: int, redact: bool, out: str) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the driver; workers finish their part
    one_thread()
    from divert.model.bundle import DivertModel

    model = DivertModel.load(bundle_dir)
    _WORKER["scorer"] = BatchScorer(model, policy, model_name=model_name, model_version=model_version, now=clock,
                                    max_chars=max_chars, redact=redact)
    _WORKER["out"] = Path(out)


def write_part(scorer: BatchScorer, out: Path, chunk: Chunk) -> PartCounts:
    """Score one chunk and write its two files (each by an atomic rename)."""
    import pyarrow.parquet as pq

    result = scorer.score(chunk.calls)
    rejects = result.rejects if chunk.rejects.empty else (
        chunk.rejects if result.rejects.empty else _concat(chunk.rejects, result.rejects))
    name = part_name(chunk.index)
    for folder, table in ((SCORED_DIR, scorer.to_table(result.scored)), (REJECTS_DIR, rejects_table(rejects))):
        final = out / folder / f"part-{name}.parquet"
        tmp = final.with_name(f".part-{name}.parquet.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, final)
    return PartCounts(read=chunk.read, scored=len(result.scored), rejected=len(rejects))


def _concat(a: Any, b: Any) -> Any:
    import pandas as pd

    return pd.concat([a, b], ignore_index=True).sort_values("row", kind="stable").reset_index(drop=True)


def _score_in_worker(chunk: Chunk) -> tuple[int, PartCounts]:
    return chunk.index, write_part(_WORKER["scorer"], _WORKER["out"], chunk)


# ------------------------------------------------------------------------------------------- the run


def _progress(show: bool) -> Any:
    """A rich progress bar on stderr: rows done of the (estimated) total, elapsed time and ETA."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("rows"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    console=Console(stderr=True), disable=not show, transient=False)


def score_local(
    input_path: Path,
    output: Path,
    *,
    loaded: LoadedModel,
    model_ref: str,
    policy: Policy,
    mapper: Mapper | None = None,
    mapping: dict[str, Any] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    workers: int | None = None,
    redact: bool = False,
    max_chars: int = DEFAULT_MAX_CHARS,
    overwrite: bool = False,
    show_progress: bool = True,
    clock: datetime | None = None,
    stop_after_parts: int | None = None,
    on_part: Callable[[int, PartCounts], None] | None = None,
) -> RunSummary:
    """Score INPUT into the OUTPUT folder; resumes an earlier run of the same settings.

    `stop_after_parts` interrupts the run (as Ctrl-C would) once that many parts have been written in this
    call: tests use it to check resuming.
    """
    if chunk_rows < 1:
        raise BatchError("invalid_option", "--chunk-rows must be at least 1")
    settings = run_settings("local", input_path, loaded, policy, chunk_rows=chunk_rows, mapping=mapping,
                            redact=redact, max_chars=max_chars)
    start_clock = clock or datetime.now(policy.tz)
    manifest = prepare_output(output, settings, model_ref=model_ref, clock=start_clock, overwrite=overwrite)
    run_clock = datetime.fromisoformat(manifest.clock)
    done = set(manifest.parts)
    try:
        total = estimate_rows(input_files(input_path))
    except BatchError:
        total = None
    workers = max(1, workers if workers is not None else auto_workers(total, chunk_rows))
    progress = _progress(show_progress)
    scored_now = 0
    skipped = 0
    interrupted = False

    def commit(index: int, counts: PartCounts) -> None:
        nonlocal scored_now
        manifest.add_part(index, counts)
        save_manifest(output, manifest)
        scored_now += 1
        if on_part is not None:
            on_part(index, counts)
        progress.update(task, advance=counts.read)
        if stop_after_parts is not None and scored_now >= stop_after_parts:
            raise KeyboardInterrupt

    chunks = read_chunks(input_path, chunk_rows, mapper)

    def todo() -> Iterator[Chunk]:
        nonlocal skipped
        for chunk in chunks:
            if part_name(chunk.index) in done:
                skipped += 1
                progress.update(task, advance=manifest.parts[part_name(chunk.index)].read)
                continue
            yield chunk

    with progress:
        task = progress.add_task(f"scoring {input_path.name}", total=total)
        try:
            if workers == 1:  # this process, with the model's own thread settings (all cores for a transformer)
                scorer = BatchScorer(loaded.model, policy, model_name=loaded.name,
                                     model_version=settings.model_version, now=run_clock, max_chars=max_chars,
                                     redact=redact)
                for chunk in todo():
                    commit(chunk.index, write_part(scorer, output, chunk))
            else:
                _run_pool(todo(), output, loaded, policy, settings, run_clock, max_chars, redact, workers, commit)
        except KeyboardInterrupt:
            interrupted = True
    if not interrupted:
        manifest.complete = True
        manifest.finished_at = now_iso()
        save_manifest(output, manifest)
    return RunSummary(output=output, manifest=manifest, parts_scored=scored_now, parts_skipped=skipped,
                      interrupted=interrupted)


def _run_pool(chunks: Iterator[Chunk], output: Path, loaded: LoadedModel, policy: Policy, settings: RunSettings,
              clock: datetime, max_chars: int, redact: bool, workers: int,
              commit: Callable[[int, PartCounts], None]) -> None:
    import multiprocessing as mp

    with tempfile.TemporaryDirectory(prefix="divert-batch-model-") as tmp:
        bundle = loaded.model.save(Path(tmp) / "bundle")
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
            initargs=(str(bundle), policy, loaded.name, settings.model_version, clock, max_chars, redact,
                      str(output)))
        inflight: set[Future[tuple[int, PartCounts]]] = set()
        try:
            for chunk in chunks:
                inflight.add(pool.submit(_score_in_worker, chunk))
                if len(inflight) >= 2 * workers:
                    finished, inflight = wait(inflight, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        commit(*fut.result())
            while inflight:
                finished, inflight = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in finished:
                    commit(*fut.result())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
