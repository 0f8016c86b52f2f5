"""What one app holds: settings, policy, keys, metrics, the classification service and its model, readiness checks.

Built by `create_app` (never at import time). Loading a model is done in full before one reference swap, and one
load runs at a time, so a reload never leaves the API without a model or with half of one.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from fastapi.concurrency import run_in_threadpool

from divert.model.errors import DivertError
from divert.model.policy import load_policy
from divert.model.pyfunc import LoadedModel, load_model
from divert.serving.auth import KeyStore
from divert.serving.batching import BatchSettings, MicroBatcher
from divert.serving.call_versions import CallVersions
from divert.serving.errors import ServingError
from divert.serving.metrics import Metrics
from divert.serving.service import ClassificationService, model_version
from divert.serving.settings import ServingSettings

log = logging.getLogger("divert.serving")

ModelLoader = Callable[[str], LoadedModel]
CHECK_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str = ""


ReadinessCheck = Callable[[], CheckResult | Awaitable[CheckResult]]


class ReadinessChecks:
    """Named checks behind /readyz. A check is a sync or async function returning a `CheckResult`; one that
    raises or takes longer than `CHECK_TIMEOUT_S` counts as not ready. The audit store adds its own with
    ``app.state.divert.readiness.add("audit_store", check)``."""

    def __init__(self) -> None:
        self._checks: dict[str, ReadinessCheck] = {}

    def add(self, name: str, check: ReadinessCheck) -> None:
        if name in self._checks:
            raise ValueError(f"readiness check {name!r} is already registered")
        self._checks[name] = check

    async def run(self) -> dict[str, CheckResult]:
        names = list(self._checks)
        results = await asyncio.gather(*(self._run_one(self._checks[n]) for n in names))
        return dict(zip(names, results, strict=True))

    @staticmethod
    async def _run_one(check: ReadinessCheck) -> CheckResult:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                outcome = await check() if inspect.iscoroutinefunction(check) else await run_in_threadpool(check)
                if inspect.isawaitable(outcome):
                    outcome = await outcome
        except TimeoutError:
            return CheckResult(False, f"no answer within {CHECK_TIMEOUT_S:g}s")
        except Exception as exc:
            return CheckResult(False, f"check failed: {type(exc).__name__}")
        if not isinstance(outcome, CheckResult):
            return CheckResult(False, f"check returned {type(outcome).__name__}, not CheckResult")
        return outcome


class AppState:
    def __init__(self, settings: ServingSettings, *, loader: ModelLoader | None = None) -> None:
        self.settings = settings
        self.policy = load_policy(settings.policy_path)  # validated at start-up: a bad policy stops here
        self.keys = KeyStore(settings.all_api_keys)
        self.metrics = Metrics()
        calls = CallVersions(settings.call_cache_size, settings.call_cache_ttl_s) if settings.call_cache_size else None
        self.service = ClassificationService(self.policy, max_note_chars=settings.max_note_chars,
                                             max_batch_size=settings.max_batch_size, call_versions=calls,
                                             max_eido_bytes=settings.max_eido_bytes)
        self.batching = BatchSettings()  # DIVERT_BATCH_*: micro-batching of concurrent requests (off by default)
        self.service.batcher = MicroBatcher.from_settings(self.batching)
        self.readiness = ReadinessChecks()
        self.readiness.add("model", self._model_check)
        self.first_load_done = threading.Event()
        self.load_error: str | None = None
        self._loader = loader or partial(load_model, registered_model=settings.registered_model,
                                         tracking_uri=settings.tracking_uri)
        self.load_lock = threading.Lock()

    def _model_check(self) -> CheckResult:
        if self.service.ready:
            return CheckResult(True, model_version(self.service.model))
        if self.load_error:
            return CheckResult(False, f"load failed: {self.load_error}")
        return CheckResult(False, "loading")

    def load(self, ref: str | None = None) -> tuple[LoadedModel | None, LoadedModel]:
        """Load `ref` (default: the configured one) fully, then swap it in. Returns (previous, new)."""
        if not self.load_lock.acquire(blocking=False):
            raise ServingError("reload_in_progress", "a model load is already running; retry when it ends")
        try:
            started = time.perf_counter()
            try:
                new = self._loader(ref or self.settings.model_ref)
            except Exception:
                self.metrics.reloads.labels("failed").inc()
                raise
            previous = self.service.swap_model(new)
            self.load_error = None
            self.metrics.set_model(new)
            self.metrics.reloads.labels("ok").inc()
            log.info("model loaded model_version=%s kind=%s seconds=%.2f", model_version(new), new.model.kind,
                     time.perf_counter() - started)
            return previous, new
        finally:
            self.load_lock.release()

    def load_at_start(self) -> None:
        """The start-up load. In background mode a failure is recorded for /readyz instead of raised."""
        try:
            self.load()
        except Exception as exc:
            self.load_error = exc.message if isinstance(exc, DivertError) else type(exc).__name__
            log.error("model load failed: %s", self.load_error)
            if self.settings.model_load == "blocking":
                raise
        finally:
            self.first_load_done.set()

    async def reload(self, ref: str | None) -> tuple[LoadedModel | None, LoadedModel]:
        """Admin reload: load in a worker thread (traffic keeps flowing), then swap."""
        try:
            return await run_in_threadpool(self.load, ref)
        except ServingError:
            raise
        except Exception as exc:
            reason = exc.message if isinstance(exc, DivertError) else type(exc).__name__
            current = model_version(self.service.model) if self.service.ready else "no model"
            raise ServingError("reload_failed", f"{reason}; still serving {current}") from exc
