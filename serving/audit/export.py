"""Reviewed predictions as a labeled dataset in the training format, for `divert feedback export`.

One row per reviewed prediction (its latest review): `{"id", "text", "labels", "group", "meta"}` with the
redacted text and the reviewer's labels. Rows of one call share a group (so a split never separates versions of a
call); a text seen twice is written once (the latest review). `divert data validate` accepts the file, and
training merges it by adding it to `data.train`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from divert.model.labels import LABELS
from divert.serving.audit.store import AuditStore, PredictionFilter


def feedback_rows(store: AuditStore, f: PredictionFilter | None = None) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for pred, review in store.reviewed(f):
        if pred.text_redacted is None:  # redaction pending (or lost): there is no text to train on yet
            continue
        group = (f"feedback-call-{store_safe(pred.key_id)}-{store_safe(pred.call_id)}" if pred.call_id
                 else f"feedback-{pred.text_hash[:16]}")
        row = {
            "id": f"feedback-{pred.id}",
            "text": pred.text_redacted,
            "labels": {name: int(review.labels.get(name, int(bool(pred.decisions.get(name, False)))))
                       for name in LABELS},
            "group": group,
            "meta": {"source": "feedback", "style": "cad" if pred.text_redacted.isupper() else "prose",
                     "prediction_id": pred.id, "review_id": review.id, "verdict": review.verdict,
                     "model_version": pred.model_version, "reviewed_at": review.created_at.isoformat(),
                     "text_hash": pred.text_hash, "input_kind": pred.input_kind},
        }
        latest[pred.text_redacted] = row  # reviewed() is in prediction order: a later one replaces the earlier
    return list(latest.values())


def store_safe(value: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in value)[:80]


def export_feedback(store: AuditStore, out: Path, f: PredictionFilter | None = None) -> tuple[int, int]:
    """Write the feedback dataset; returns (rows written, reviewed predictions left out because their redacted
    text is still pending)."""
    rows = feedback_rows(store, f)
    pending = sum(pred.text_redacted is None for pred, _ in store.reviewed(f))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return len(rows), pending
