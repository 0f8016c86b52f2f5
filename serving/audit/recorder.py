"""`AuditService`: what the API routes call to record an answer, and what the auditor routes read through.

Recording hashes the text the model read with the keyed hash and writes one row per note in one transaction,
after the answer is computed and before it is returned. The note's redacted text (`divert.model.redact.Redactor`)
goes in the same row (`audit_redaction: inline`) or is filled in moments later by the `RedactionWorker`
(`deferred`, the default: spaCy NER costs more than the model on a short note, so it stays off the request path;
when the worker's queue is full the request redacts inline). If the write fails (store down, redaction failing)
and `audit_required` is true, the route answers 503 `audit_unavailable` instead of the unrecorded prediction;
with `audit_required` false it answers and logs that the answer was not recorded. Logs never hold note text.
/v1/explain answers are always redacted inline (their attributions are mapped onto the redacted text).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import Request

from divert.model.redact import PLACEHOLDERS, RedactionResult, Redactor, keyed_hash, offset_map
from divert.serving.audit.models import Prediction
from divert.serving.audit.queue import NO_SECOND_MODEL, Candidate, Ranked, rank, review_boost
from divert.serving.audit.redaction_process import RedactionProcess
from divert.serving.audit.redaction_worker import PendingText, RedactionWorker
from divert.serving.audit.store import AuditStore, AuditUnavailable, flags_column
from divert.serving.errors import ServingError, request_id_of
from divert.serving.settings import ServingSettings

if TYPE_CHECKING:
    from divert.model.explain import Explanation
    from divert.model.inputs import NoteInput
    from divert.model.pyfunc import LoadedModel
    from divert.serving.service import Classification, ClassificationService
    from divert.serving.state import CheckResult

log = logging.getLogger("divert.serving.audit")

CLOCK_ATTR = "audit_started"


def start_clock(request: Request) -> None:
    """App-level dependency: when the route started, for the recorded latency."""
    setattr(request.state, CLOCK_ATTR, time.perf_counter())


def _latency_ms(request: Request) -> float | None:
    started = getattr(request.state, CLOCK_ATTR, None)
    return None if started is None else (time.perf_counter() - started) * 1000


class AuditService:
    def __init__(self, settings: ServingSettings, *, store: AuditStore | None = None,
                 redactor: Redactor | None = None) -> None:
        self.required = settings.audit_required
        self._hash_key = settings.audit_key()  # refuses an unset key outside dev mode
        self.store = store or AuditStore(settings.audit_url)
        self.redactor = redactor or Redactor()
        self.worker: RedactionWorker | None = None
        if settings.audit_redaction == "deferred":
            process = (RedactionProcess(self.redactor.model, use_ner=self.redactor.use_ner,
                                        nice=settings.audit_redaction_nice)
                       if settings.audit_redaction_worker == "process" else None)
            self.worker = RedactionWorker(self.store, self.redactor, max_pending=settings.audit_redaction_queue,
                                          process=process)
        self.second_model_ref = settings.review_second_model_ref
        self._settings = settings
        self._second: LoadedModel | None = None
        self._second_lock = threading.Lock()
        self._second_cache: dict[int, tuple[dict[str, float], dict[str, float]]] = {}

    # --------------------------------------------------------------------------------- life cycle

    def start(self) -> None:
        """At start-up: load the redactor and run the migrations. A store that is down is logged, not raised
        (it is retried on the next record; /readyz reports it)."""
        if self.worker is None or self.worker.process is None:
            self.redactor.load()  # otherwise spaCy loads in the child, and here only if a request must redact inline
        try:
            self.store.migrate()
        except AuditUnavailable as exc:
            log.warning("audit store not ready at start-up (%s); audit_required=%s", exc, self.required)
        if self.worker is not None:
            self.worker.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """At shutdown: redact and store what is still queued (up to `timeout_s`), then close the store."""
        if self.worker is not None:
            self.worker.stop(timeout_s)
        self.store.dispose()

    def check(self) -> CheckResult:
        from divert.serving.state import CheckResult

        try:
            self.store.ping()
            self.store.ensure_migrated(retry_after_s=0)
        except AuditUnavailable as exc:
            if self.required:
                return CheckResult(False, str(exc))
            return CheckResult(True, f"{exc}; audit_required=false: answering without recording")
        return CheckResult(True, self.store.dialect)

    def hash(self, text: str) -> str:
        return keyed_hash(text, self._hash_key)

    # ------------------------------------------------------------------------------------ record

    def _persist(self, request: Request, what: str, build: Any, after: Any = None) -> None:
        rid = request_id_of(request) or ""
        try:
            rows: list[Prediction] = build()
            ids = self.store.record(rows)
            if after is not None:
                after(ids)
        except Exception as exc:  # store down, redaction failing: never a silent unrecorded answer
            reason = str(exc) if isinstance(exc, AuditUnavailable) else type(exc).__name__
            if self.required:
                log.error("audit record failed request_id=%s endpoint=%s reason=%s: refusing the answer", rid,
                          what, reason)
                raise ServingError("audit_unavailable", "the answer could not be recorded in the audit store "
                                   "and recording is required; retry later") from exc
            log.warning("audit record failed request_id=%s endpoint=%s reason=%s: answered unrecorded", rid,
                        what, reason)

    def record_classification(self, request: Request, key_id: str, service: ClassificationService,
                              notes: Sequence[NoteInput], answer: Classification, *, batch: bool) -> None:
        latency = _latency_ms(request)
        parsed = answer.notes or tuple(service.parse(notes, batch=batch))
        texts = [note.text for note in parsed]
        defer = self.worker is not None and self.worker.has_room(len(texts))

        def build() -> list[Prediction]:
            now = datetime.now(UTC)
            rows = []
            for note, result in zip(parsed, answer.results, strict=True):
                red = None if defer else self.redactor.redact(note.text)
                decisions = {name: ls.decision for name, ls in result.labels.items()}
                rec = result.recommendation
                rows.append(Prediction(
                    request_id=request_id_of(request) or "", item_index=result.index, endpoint="classify",
                    created_at=now, key_id=key_id, call_id=result.call_id, model_name=answer.model.name,
                    model_version=answer.model_version, policy_version=answer.policy_version,
                    input_kind=note.kind, text_redacted=red.text if red else None, text_hash=self.hash(note.text),
                    redactions=red.counts() if red else None,
                    scores={n: ls.score for n, ls in result.labels.items()},
                    thresholds={n: ls.threshold for n, ls in result.labels.items()}, decisions=decisions,
                    flags=flags_column(decisions), recommendation=rec.primary,
                    recommendation_detail=rec.model_dump(mode="json"),  # policy output: no note text
                    explanation=None, latency_ms=latency))
            return rows

        def hand_over(ids: list[int]) -> None:
            if not defer or self.worker is None:
                return
            if not self.worker.submit([PendingText(pid, text) for pid, text in zip(ids, texts, strict=True)]):
                # the queue filled up meanwhile: redact these notes here
                reds = [self.redactor.redact(t) for t in texts]
                self.store.fill_texts([(pid, r.text, r.counts()) for pid, r in zip(ids, reds, strict=True)])

        self._persist(request, "classify", build, hand_over)

    def record_explanation(self, request: Request, key_id: str, loaded: LoadedModel, explanation: Explanation,
                           *, call_id: str | None, input_kind: str) -> None:
        """Record one /v1/explain answer (the routes_explain route calls this before returning)."""
        from divert.serving.service import model_version

        latency = _latency_ms(request)

        def build() -> list[Prediction]:
            text = explanation.text
            red = self.redactor.redact(text)
            labels = explanation.labels
            decisions = {lab.label: lab.decision for lab in labels}
            return [Prediction(
                request_id=request_id_of(request) or "", item_index=0, endpoint="explain",
                created_at=datetime.now(UTC), key_id=key_id, call_id=call_id, model_name=loaded.name,
                model_version=model_version(loaded), policy_version=None, input_kind=input_kind,
                text_redacted=red.text, text_hash=self.hash(text), redactions=red.counts(),
                scores={lab.label: lab.score for lab in labels}, thresholds={lab.label: lab.threshold for lab in labels},
                decisions=decisions, flags=flags_column(decisions), recommendation=None, recommendation_detail=None,
                explanation=redact_explanation(explanation.model_dump(mode="json"), red), latency_ms=latency)]

        self._persist(request, "explain", build)

    # ------------------------------------------------------------------------------------ queue

    def second_model(self) -> LoadedModel | None:
        if self.second_model_ref is None:
            return None
        with self._second_lock:
            if self._second is None:
                from divert.model.pyfunc import load_model

                self._second = load_model(self.second_model_ref, registered_model=self._settings.registered_model,
                                          tracking_uri=self._settings.tracking_uri)
        return self._second

    def _second_scores(self, preds: Sequence[Prediction]) -> dict[int, tuple[dict[str, float], dict[str, float]]]:
        second = self.second_model()
        if second is None:
            return {}
        missing = [p for p in preds if p.id not in self._second_cache]
        if missing:
            missing = [p for p in missing if p.text_redacted is not None]  # pending redaction: no text to score
            if not missing:
                return {p.id: self._second_cache[p.id] for p in preds if p.id in self._second_cache}
            out = second.model.predict([p.text_redacted or "" for p in missing])
            for i, p in enumerate(missing):
                row = out.row(i)
                self._second_cache[p.id] = ({n: float(v["score"]) for n, v in row.items()},
                                            {n: float(v["threshold"]) for n, v in row.items()})
            if len(self._second_cache) > 50_000:
                self._second_cache.clear()
        return {p.id: self._second_cache[p.id] for p in preds if p.id in self._second_cache}

    def queue(self, *, limit: int, candidates: int = 2000) -> tuple[list[tuple[Ranked, Prediction]], list[str]]:
        preds = self.store.unreviewed(limit=candidates)
        second = self._second_scores(preds)
        notes = [] if self.second_model_ref else [NO_SECOND_MODEL]
        by_id = {p.id: p for p in preds}
        items = [Candidate(id=p.id, group=f"call:{p.key_id}:{p.call_id}" if p.call_id else f"text:{p.text_hash}",
                           scores=p.scores, thresholds=p.thresholds,
                           second_scores=second[p.id][0] if p.id in second else None,
                           second_thresholds=second[p.id][1] if p.id in second else None,
                           boost=review_boost(p.recommendation_detail)) for p in preds]
        return [(r, by_id[r.id]) for r in rank(items, limit=limit)], notes


def redact_explanation(explanation: dict[str, Any], red: RedactionResult) -> dict[str, Any]:
    """An explanation with its text redacted and every word and rule offset carried over to the redacted text.
    Words inside a redacted span become the placeholder (attributions of several such words are summed)."""
    original = explanation["text"]
    mapping = offset_map(original, red.spans)
    out = {**explanation, "text": red.text, "redacted": True}
    labels = []
    for label in explanation.get("labels", []):
        words: dict[tuple[int, int], dict[str, Any]] = {}
        for w in label.get("words", []):
            s, e = _widen(mapping[w["start"]], mapping[w["end"]], red, mapping, w["start"], w["end"])
            key = (s, e)
            if key in words:
                words[key]["attribution"] += w["attribution"]
            else:
                words[key] = {**w, "start": s, "end": e, "word": red.text[s:e]}
        rules = []
        for r in label.get("rules", []):
            s, e = _widen(mapping[r["start"]], mapping[r["end"]], red, mapping, r["start"], r["end"])
            rules.append({**r, "start": s, "end": e, "text": red.text[s:e]})
        labels.append({**label, "words": list(words.values()), "rules": rules})
    out["labels"] = labels
    return out


def _widen(s: int, e: int, red: RedactionResult, mapping: list[int], os_: int, oe: int) -> tuple[int, int]:
    """Offsets that touch a redacted span cover its whole placeholder."""
    for kind, ps, pe in red.spans:
        if os_ < pe and oe > ps:
            start = mapping[ps]
            s, e = min(s, start), max(e, start + len(PLACEHOLDERS[kind]))
    return s, e
