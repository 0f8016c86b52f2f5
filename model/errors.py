"""Typed domain errors. Serving maps each `code` to an HTTP status in one table."""

from __future__ import annotations


class DivertError(Exception):
    """Base class: every domain error carries a stable, machine-readable code."""

    code = "divert_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInputError(DivertError):
    """A note, transcript or EIDO that cannot be classified."""

    code = "invalid_input"

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


class ModelArtifactError(DivertError):
    """A saved model that cannot be loaded or does not match this code."""

    code = "model_artifact_invalid"


class ModelNotLoadedError(DivertError):
    code = "model_not_loaded"
