"""The audit tables: predictions and reviews.

Revision ID: 0001
Revises:
Create Date: 2025-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_predictions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("item_index", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(128), nullable=True),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=False),
        sa.Column("policy_version", sa.String(100), nullable=True),
        sa.Column("input_kind", sa.String(16), nullable=False),
        sa.Column("text_redacted", sa.Text(), nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("redactions", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("decisions", sa.JSON(), nullable=False),
        sa.Column("flags", sa.String(400), nullable=False),
        sa.Column("recommendation", sa.String(64), nullable=True),
        sa.Column("recommendation_detail", sa.JSON(), nullable=True),
        sa.Column("explanation", sa.JSON(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
    )
    for column in ("request_id", "created_at", "call_id", "model_version", "text_hash", "recommendation"):
        op.create_index(f"ix_audit_predictions_{column}", "audit_predictions", [column])
    op.create_index("ix_audit_predictions_model_created", "audit_predictions", ["model_version", "created_at"])
    op.create_table(
        "audit_reviews",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("prediction_id", sa.Integer(), sa.ForeignKey("audit_predictions.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewer_key_id", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
    )
    op.create_index("ix_audit_reviews_prediction_id", "audit_reviews", ["prediction_id"])


def downgrade() -> None:
    op.drop_table("audit_reviews")
    op.drop_table("audit_predictions")
