"""Alembic migrations of the audit store; run by `AuditStore.migrate()` (at start-up) or `divert audit migrate`."""
