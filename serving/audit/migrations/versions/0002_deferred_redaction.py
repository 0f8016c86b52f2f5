"""Deferred redaction: a prediction's redacted text and redaction counts may be NULL until the redaction worker
fills them in (once).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot ALTER a column's nullability in place (Alembic copies the table)
    with op.batch_alter_table("audit_predictions") as batch:
        batch.alter_column("text_redacted", existing_type=sa.Text(), nullable=True)
        batch.alter_column("redactions", existing_type=sa.JSON(), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE audit_predictions SET text_redacted = '[redaction pending]' WHERE text_redacted IS NULL")
    op.execute("UPDATE audit_predictions SET redactions = '{}' WHERE redactions IS NULL")
    with op.batch_alter_table("audit_predictions") as batch:
        batch.alter_column("text_redacted", existing_type=sa.Text(), nullable=False)
        batch.alter_column("redactions", existing_type=sa.JSON(), nullable=False)
