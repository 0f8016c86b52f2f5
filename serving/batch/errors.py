"""Errors of a batch run. Each is one sentence the CLI prints as it is (no traceback)."""

from __future__ import annotations

from divert.model.errors import DivertError


class BatchError(DivertError):
    """A batch run that cannot start or go on: unreadable input, a used output folder, no Java, ..."""

    code = "batch_failed"

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code
