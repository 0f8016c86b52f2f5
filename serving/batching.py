"""Micro-batching: concurrent single-note requests are scored together, in small batches with a bounded wait.

Each caller (a request's worker thread) hands its texts and the model it holds to `MicroBatcher.predict` and
blocks until its own rows come back. One worker thread takes the first waiting request, then keeps collecting
requests until the batch holds `max_size` notes or `max_wait_ms` has passed since it took the first one, scores
each model's group with one `DivertModel.predict` call, and hands every caller its own rows. A request is never
split across batches and never dropped: an error while scoring a batch is raised in every caller of that
batch, and requests holding different models (a reload swapped the model meanwhile) are scored by their own
model. While a batch is being scored, new requests queue up and form the next batch, so under load batches
form without any wait; `max_wait_ms` only matters when requests trickle in.

Settings come from `DIVERT_BATCH_*` variables (`BatchSettings`): `DIVERT_BATCH_ENABLED`,
`DIVERT_BATCH_MAX_SIZE`, `DIVERT_BATCH_MAX_WAIT_MS`. Off by default: `bench/inference.py` measures whether it
helps on the machine and model at hand (results in bench/README.md).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from divert.model.bundle import DivertModel, Predictions

log = logging.getLogger("divert.serving")


class BatchSettings(BaseSettings):
    """`DIVERT_BATCH_ENABLED`, `DIVERT_BATCH_MAX_SIZE`, `DIVERT_BATCH_MAX_WAIT_MS`."""

    model_config = SettingsConfigDict(env_prefix="DIVERT_BATCH_", extra="ignore", env_ignore_empty=True)

    enabled: bool = Field(default=False, description="group concurrent single-note requests into batches")
    max_size: int = Field(default=16, ge=1, le=1024, description="notes per batch at most")
    max_wait_ms: float = Field(default=2.0, ge=0, le=1000,
                               description="longest wait for more requests after the first of a batch")


@dataclass
class _Request:
    model: DivertModel
    texts: list[str]
    future: Future[Predictions] = field(default_factory=Future)


_STOP = object()


class MicroBatcher:
    """Thread-safe: any number of threads may call `predict` at once. `close` stops the worker; requests
    already queued are still answered, later ones are scored directly in the caller's thread."""

    def __init__(self, max_size: int = 16, max_wait_ms: float = 2.0, *, name: str = "divert-batcher") -> None:
        if max_size < 1 or max_wait_ms < 0:
            raise ValueError("max_size must be at least 1 and max_wait_ms at least 0")
        self.max_size = max_size
        self.max_wait_s = max_wait_ms / 1000.0
        self._queue: queue.SimpleQueue[_Request | object] = queue.SimpleQueue()
        self._carry: _Request | None = None
        self._closed = False
        self._lock = threading.Lock()
        self.batches = 0  # scored batches, for tests and metrics
        self.notes = 0
        self._worker = threading.Thread(target=self._run, name=name, daemon=True)
        self._worker.start()

    @classmethod
    def from_settings(cls, settings: BatchSettings) -> MicroBatcher | None:
        return cls(settings.max_size, settings.max_wait_ms) if settings.enabled else None

    # ------------------------------------------------------------------------------------------------ callers

    def predict(self, model: DivertModel, texts: Sequence[str]) -> Predictions:
        """`model.predict(texts)`, scored in a batch with other callers' texts; blocks until done."""
        request = _Request(model, list(texts))
        with self._lock:
            if self._closed:
                return model.predict(request.texts)
            self._queue.put(request)
        return request.future.result()

    def close(self, timeout: float | None = 5.0) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._worker.join(timeout)

    # ------------------------------------------------------------------------------------------------ worker

    def _run(self) -> None:
        stopping = False
        while not stopping or self._carry is not None:
            first = self._carry if self._carry is not None else self._queue.get()
            self._carry = None
            if first is _STOP:
                break
            assert isinstance(first, _Request)
            batch, stop_seen = self._collect(first)
            stopping = stopping or stop_seen
            self._score(batch)
        self._drain()

    def _collect(self, first: _Request) -> tuple[list[_Request], bool]:
        """`first` plus whatever arrives before the batch is full or the wait is over; True if told to stop."""
        batch, size = [first], len(first.texts)
        deadline = time.monotonic() + self.max_wait_s
        while size < self.max_size:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            assert isinstance(item, _Request)
            if size + len(item.texts) > self.max_size:
                self._carry = item  # first of the next batch: a request is never split
                break
            batch.append(item)
            size += len(item.texts)
        return batch, False

    def _score(self, batch: list[_Request]) -> None:
        groups: dict[int, list[_Request]] = {}
        for request in batch:
            groups.setdefault(id(request.model), []).append(request)
        for requests in groups.values():
            texts = [t for r in requests for t in r.texts]
            try:
                preds = requests[0].model.predict(texts)
            except Exception as exc:  # every caller of this group gets the error; the worker goes on
                for r in requests:
                    r.future.set_exception(exc)
                continue
            self.batches += 1
            self.notes += len(texts)
            start = 0
            for r in requests:
                end = start + len(r.texts)
                r.future.set_result(Predictions(labels=preds.labels, scores=preds.scores[start:end].copy(),
                                                thresholds=preds.thresholds))
                start = end

    def _drain(self) -> None:
        """After stop: answer whatever is still queued (directly), so no caller waits forever."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Request):
                self._score([item])
