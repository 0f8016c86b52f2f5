"""`RedactionWorker`: redacts recorded notes off the request path (`audit_redaction: deferred`).

Redaction runs spaCy NER two or three times per CAD note (about 7 ms of CPU), more than the model itself takes
for a short note. With deferred redaction the request path writes the prediction row (scores, decisions, keyed
hash of the text; text columns NULL) and returns; this worker holds the raw text in memory only, redacts it in a
background thread, and fills the row's `text_redacted` and `redactions` in once (`AuditStore.fill_texts`).

What it guarantees:
- the raw text is never written anywhere: it lives in this process's memory until redacted;
- nothing is dropped silently: the queue is bounded (`audit_redaction_queue`), and when it is full the request
  redacts its own notes inline (back-pressure, as `inline` mode does), so a burst slows answers down instead of
  losing texts; a batch the store refuses is retried (`RETRY_S`) and kept in memory meanwhile;
- on shutdown (`stop`) the queue is drained before the store is closed; a process killed before that leaves the
  rows of the notes still queued with NULL text (their decisions are recorded; `pending` on the auditor API);
- redaction that raises on a text stores the placeholder `REDACTION_FAILED`, never the text;
- with a `RedactionProcess` (`audit_redaction_worker: process`, the server's default) the redaction itself runs
  in a child process at a lower CPU priority, so it takes no time from answering; this thread only moves texts
  to it and results to the store.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from divert.model.redact import Redactor
from divert.serving.audit.redaction_process import Redacted, RedactionProcess
from divert.serving.audit.store import AuditStore, AuditUnavailable

log = logging.getLogger("divert.serving.audit")

REDACTION_FAILED = "[redaction failed: text not stored]"
BATCH = 64
RETRY_S = 1.0


@dataclass(frozen=True)
class PendingText:
    prediction_id: int
    text: str


class RedactionWorker:
    def __init__(self, store: AuditStore, redactor: Redactor, *, max_pending: int = 10_000,
                 on_change: Callable[[int], None] | None = None, process: RedactionProcess | None = None) -> None:
        self.store = store
        self.redactor = redactor
        self.process = process  # None: redact in the worker thread
        self._queue: queue.Queue[PendingText | None] = queue.Queue(maxsize=max_pending)
        self._thread: threading.Thread | None = None
        self._outstanding = 0  # submitted and not yet stored
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self.on_change = on_change
        self.filled = 0
        self.failed = 0

    # ------------------------------------------------------------------------------------ life cycle

    def start(self) -> None:
        if self.process is not None:
            try:
                self.process.start()
            except Exception as exc:  # no child process here: redact in this process's worker thread
                log.error("redaction process did not start (%s); redacting in a server thread", type(exc).__name__)
                self.process = None
                self.redactor.load()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="divert-redaction", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> int:
        """Drain what is queued (up to `timeout_s`), then end the thread. Returns the texts left unredacted."""
        if self._thread is None:
            return self.pending
        self.wait_idle(timeout_s)
        self._stopping.set()
        self._queue.put(None)
        self._thread.join(timeout=max(1.0, timeout_s))
        self._thread = None
        if self.process is not None:
            self.process.stop()
        left = self.pending
        if left:
            log.error("redaction worker stopped with %d texts not redacted: their predictions keep NULL text", left)
        return left

    @property
    def pending(self) -> int:
        """Texts queued or being redacted."""
        with self._lock:
            return self._outstanding

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Block until every queued text is redacted and stored (True), or `timeout_s` passes (False)."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._outstanding:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None:
                    return False
                self._idle.wait(min(left, 0.1))
        return True

    # ------------------------------------------------------------------------------------ producing

    def has_room(self, n: int) -> bool:
        """Whether `n` more texts fit in the queue now (a started worker only)."""
        return self._thread is not None and self._queue.maxsize - self._queue.qsize() >= n

    def submit(self, items: Sequence[PendingText]) -> bool:
        """Queue the texts of one request, all or none. False when the queue has no room for all of them (the
        caller then redacts inline); the worker must be started."""
        if self._thread is None:
            return False
        with self._lock:
            if self._queue.maxsize - self._queue.qsize() < len(items):
                return False
            for item in items:
                self._queue.put_nowait(item)
            self._outstanding += len(items)
        self._changed()
        return True

    # ------------------------------------------------------------------------------------ consuming

    def _take(self) -> list[PendingText] | None:
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)  # stop after this batch
                break
            batch.append(item)
        return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            rows: list[tuple[int, str, dict[str, int]]] = []
            for item, red in zip(batch, self._redact([item.text for item in batch]), strict=True):
                if red is None:  # a redactor bug must not store the text nor stop the worker
                    self.failed += 1
                    log.error("redaction failed prediction_id=%d", item.prediction_id)
                    rows.append((item.prediction_id, REDACTION_FAILED, {}))
                else:
                    rows.append((item.prediction_id, *red))
            stored = False
            while not stored:
                try:
                    self.store.fill_texts(rows)
                    stored = True
                except AuditUnavailable as exc:  # store down: keep the texts in memory and retry
                    if self._stopping.is_set():
                        break
                    log.warning("redacted texts not stored yet (%s); retrying in %.0fs", exc, RETRY_S)
                    time.sleep(RETRY_S)
            if stored:
                self.filled += len(rows)
                with self._idle:
                    self._outstanding -= len(batch)
                    self._idle.notify_all()
            else:
                log.error("audit store down at shutdown: %d redacted texts not stored", len(rows))
            self._changed()

    def _redact(self, texts: list[str]) -> list[Redacted]:
        if self.process is not None:
            try:
                return self.process.redact(texts)
            except Exception as exc:  # the child keeps failing: redact here rather than lose the texts
                log.error("redaction process unusable (%s); redacting in the server from now on", type(exc).__name__)
                self.process = None
        out: list[Redacted] = []
        for text in texts:
            try:
                red = self.redactor.redact(text)
                out.append((red.text, red.counts()))
            except Exception:
                out.append(None)
        return out

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self.pending)
