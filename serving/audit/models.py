"""The audit tables. Append-only: a prediction row is written once; a review is a new row that references it.
The one exception is the redacted text of a prediction recorded with deferred redaction (`audit_redaction:
deferred`, the default): its row is written before the answer is returned with `text_redacted` and `redactions`
NULL, and the redaction worker fills both in once, moments later (never overwriting a value). A row whose text
is still NULL is pending redaction, or lost it because the server stopped first; its scores, decisions and
keyed hash are recorded either way, and the raw text is never stored.

`predictions` holds one row per answered note (a batch of n notes is n rows with the same `request_id`), with
the note text only as redacted text and a keyed hash. `flags` is the sorted flagged labels joined as
",label,label," so that a label filter is a portable `LIKE '%,label,%'`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Prediction(Base):
    __tablename__ = "audit_predictions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    item_index: Mapped[int] = mapped_column(Integer, default=0, doc="position of the note in the request")
    endpoint: Mapped[str] = mapped_column(String(16), doc="classify or explain")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    key_id: Mapped[str] = mapped_column(String(64), doc="the id of the client's API key, never the key")
    call_id: Mapped[str | None] = mapped_column(String(128), index=True)
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(200), index=True)
    policy_version: Mapped[str | None] = mapped_column(String(100))
    input_kind: Mapped[str] = mapped_column(String(16))
    text_redacted: Mapped[str | None] = mapped_column(Text, doc="NULL while deferred redaction is pending")
    text_hash: Mapped[str] = mapped_column(String(64), index=True, doc="HMAC-SHA256 of the text the model read")
    redactions: Mapped[dict[str, Any] | None] = mapped_column(JSON, doc="{PII type: count}; NULL while pending")
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)
    decisions: Mapped[dict[str, Any]] = mapped_column(JSON)
    flags: Mapped[str] = mapped_column(String(400), doc='",label,label," of the flagged labels')
    recommendation: Mapped[str | None] = mapped_column(String(64), index=True, doc="primary program, or null")
    recommendation_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    explanation: Mapped[dict[str, Any] | None] = mapped_column(JSON, doc="explain answers: offsets into the "
                                                                         "redacted text")
    latency_ms: Mapped[float | None] = mapped_column(Float)


class Review(Base):
    __tablename__ = "audit_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prediction_id: Mapped[int] = mapped_column(ForeignKey("audit_predictions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reviewer_key_id: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(16), doc="agree or disagree")
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, doc="the corrected labels {label: 0|1}, all of them")
    comment: Mapped[str | None] = mapped_column(Text, doc="redacted")


Index("ix_audit_predictions_model_created", Prediction.model_version, Prediction.created_at)
