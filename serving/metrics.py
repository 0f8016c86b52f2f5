"""Prometheus metrics, one `CollectorRegistry` per app (so tests and several apps in a process do not collide)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from divert.model.pyfunc import LoadedModel
from divert.serving.schemas import NoteResult

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("divert_http_requests", "HTTP requests by route, method and status",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("divert_http_request_duration_seconds", "HTTP request latency by route",
                                 ["route", "method"], buckets=LATENCY_BUCKETS, registry=r)
        self.notes = Counter("divert_notes_classified", "Notes classified", registry=r)
        self.labels = Counter("divert_label_decisions", "Label decisions by label and decision",
                              ["label", "decision"], registry=r)
        self.responses = Counter("divert_recommended_responses", "Primary responses recommended",
                                 ["response"], registry=r)
        self.add_ons = Counter("divert_recommended_add_ons", "Programs added on (e.g. EMS)", ["program"], registry=r)
        self.fallbacks = Counter("divert_policy_fallbacks", "Programs skipped by the policy, and why",
                                 ["program", "reason"], registry=r)
        self.flag_changes = Counter("divert_call_flag_changes", "Label decisions that changed between versions "
                                    "of a call", ["label"], registry=r)
        self.model_info = Gauge("divert_model_info", "The model being served (value 1)",
                                ["name", "version", "alias", "kind"], registry=r)
        self.model_loaded = Gauge("divert_model_loaded", "1 when a model is loaded", registry=r)
        self.redaction_pending = Gauge("divert_audit_redaction_pending",
                                       "Recorded notes waiting for deferred redaction", registry=r)
        self.reloads = Counter("divert_model_reloads", "Model reloads by outcome", ["outcome"], registry=r)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def observe_results(self, results: Sequence[NoteResult]) -> None:
        self.notes.inc(len(results))
        for res in results:
            for name, label in res.labels.items():
                self.labels.labels(name, str(label.decision).lower()).inc()
            rec = res.recommendation
            self.responses.labels(rec.primary or "none").inc()
            for program in rec.additional:
                self.add_ons.labels(program).inc()
            for fb in rec.fallbacks_applied:
                self.fallbacks.labels(fb.program, fb.reason).inc()
            for change in res.call_update.changed if res.call_update else ():
                self.flag_changes.labels(change.label).inc()

    def set_model(self, loaded: LoadedModel) -> None:
        self.model_info.clear()
        self.model_info.labels(loaded.name, loaded.version or "", loaded.alias or "", loaded.model.kind).set(1)
        self.model_loaded.set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
