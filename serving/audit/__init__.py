"""The audit trail: every /v1/classify and /v1/explain answer recorded with redacted text (`recorder`), stored
append-only with Alembic migrations (`models`, `store`, `migrations/`), the auditor API (`routes`), the review
queue (`queue`) and the feedback export (`export`)."""
