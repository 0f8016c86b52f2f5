"""Every error the API answers, as one table from a stable code to an HTTP status, and the handlers using it.

The body is always ``{"error": {"code", "message", "field"}, "request_id"}``. Bad input never answers 500:
request validation errors are translated to specific codes here, domain errors carry their own code.
Handlers log the request id, code and status, never the request body.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from divert.model.eido import EidoError
from divert.model.errors import DivertError, InvalidInputError
from divert.serving.schemas import BATCH_TAG, SINGLE_TAG, ErrorDetail, ErrorInfo, ErrorResponse

log = logging.getLogger("divert.serving")

# code -> (HTTP status, what it means). The one place a status is chosen.
ERROR_TABLE: dict[str, tuple[int, str]] = {
    "malformed_json": (422, "the body is not valid JSON"),
    "invalid_body": (422, "the body is neither one note nor a batch"),
    "unknown_field": (422, "a field the API does not know (typos are refused, not ignored)"),
    "missing_field": (422, "a required field is missing"),
    "missing_text": (422, "a note has neither text nor transcript"),
    "both_text_and_transcript": (422, "a note has both text and transcript"),
    "conflicting_inputs": (422, "a note gives more than one of text, transcript and eido"),
    "eido_invalid_type": (422, "an EIDO (or a member of it) has the wrong JSON type; `pointer` says where"),
    "eido_missing_field": (422, "an EIDO lacks a member the standard requires; `pointer` says where"),
    "eido_invalid_value": (422, "an EIDO member has a malformed value (e.g. a time stamp without its UTC offset); "
                                "`pointer` says where"),
    "eido_no_notes": (422, "an EIDO without any note text to classify (notesComponent[].notesActionComments)"),
    "eido_too_large": (413, "an EIDO larger than max_eido_bytes"),
    "unsupported_format": (422, "the `format` query parameter is not json or eido"),
    "not_text": (422, "a value that must be a string is not one"),
    "invalid_type": (422, "a value has the wrong type"),
    "value_too_long": (422, "a value is longer than allowed (e.g. call_id)"),
    "invalid_value": (422, "a value is out of range or malformed"),
    "empty_text": (422, "a note is empty or only whitespace"),
    "text_too_long": (422, "a note is longer than max_note_chars"),
    "empty_batch": (422, "a batch without notes"),
    "too_many_notes": (422, "a batch larger than max_batch_size"),
    "invalid_context_time": (422, "context.time is not an ISO-8601 time"),
    "request_too_large": (413, "the request body is larger than max_request_bytes"),
    "unsupported_media_type": (415, "the body is not sent as application/json"),
    "missing_api_key": (401, "no X-API-Key header"),
    "invalid_api_key": (401, "the X-API-Key is not a configured key"),
    "insufficient_role": (403, "the key does not have the role this endpoint needs"),
    "not_found": (404, "no such endpoint"),
    "method_not_allowed": (405, "the endpoint does not take this method"),
    "reload_in_progress": (409, "another model reload is running"),
    "reload_failed": (409, "the new model could not be loaded; the previous one keeps serving"),
    "prediction_not_found": (404, "no recorded prediction with that id"),
    "model_not_loaded": (503, "the model is not loaded yet"),
    "audit_unavailable": (503, "the answer could not be recorded in the audit store (audit_required=true)"),
    "model_artifact_invalid": (503, "the model artifact cannot be used"),
    "policy_invalid": (500, "the diversion policy is invalid"),
    "internal_error": (500, "an unexpected error; the request id is in the logs"),
}


class ServingError(DivertError):
    """An error raised by the serving layer itself (auth, limits, reload), with a code of the table."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


def status_for(error: DivertError) -> int:
    if error.code in ERROR_TABLE:
        return ERROR_TABLE[error.code][0]
    return 422 if isinstance(error, InvalidInputError) else 500


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def error_response(code: str, message: str, *, status: int | None = None, field: str | None = None,
                   request_id: str | None = None, details: Sequence[ErrorDetail] = (),
                   pointer: str | None = None) -> JSONResponse:
    body = ErrorResponse(error=ErrorInfo(code=code, message=message, field=field, pointer=pointer,
                                         details=list(details) if len(details) > 1 else None),
                         request_id=request_id)
    headers = {"WWW-Authenticate": 'APIKey header="X-API-Key"'} if code in ("missing_api_key", "invalid_api_key") \
        else None
    return JSONResponse(body.model_dump(mode="json"), status_code=status or ERROR_TABLE[code][0], headers=headers)


# ------------------------------------------------------------------ request validation -> specific codes


def _field(loc: Sequence[Any]) -> str | None:
    out = ""
    for part in loc:
        if part in ("body", SINGLE_TAG, BATCH_TAG) and not out:
            continue
        if part in (SINGLE_TAG, BATCH_TAG):
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


def _code(err: dict[str, Any]) -> str:
    kind = str(err.get("type", ""))
    if kind == "json_invalid":
        return "malformed_json"
    if kind in ERROR_TABLE:  # custom error types (invalid_body)
        return kind
    if kind == "extra_forbidden":
        return "unknown_field"
    if kind == "missing":
        return "invalid_body" if tuple(err.get("loc", ())) == ("body",) else "missing_field"
    if kind == "string_type":
        return "not_text"
    if kind in ("string_too_long", "too_long"):
        return "value_too_long"
    if kind == "value_error" and "exactly one of" in str(err.get("msg", "")):
        given = err.get("input")
        sources = {name for name in ("text", "transcript", "eido")
                   if isinstance(given, dict) and given.get(name) is not None}
        if sources == {"text", "transcript"}:
            return "both_text_and_transcript"
        return "conflicting_inputs" if sources else "missing_text"
    loc = tuple(err.get("loc", ()))
    if loc == ("query", "format"):
        return "unsupported_format"
    if loc and loc[-1] == "eido" and kind == "dict_type":
        return "eido_invalid_type"
    if kind.endswith("_type") or kind.startswith(("model_", "union_tag")):
        return "invalid_type"
    return "invalid_value"


def _message(err: dict[str, Any], code: str) -> str:
    if code == "malformed_json":
        ctx = err.get("ctx") or {}
        where = err.get("loc", ())[-1] if len(err.get("loc", ())) > 1 else None
        at = f" at character {where}" if isinstance(where, int) else ""
        return f"the body is not valid JSON{at}: {ctx.get('error', 'decode error')}"
    if code == "invalid_body" and err.get("type") == "missing":
        return "the request has no body: send one note or a batch as JSON"
    return str(err.get("msg", "invalid")).removeprefix("Value error, ")


def validation_details(errors: Sequence[Any]) -> list[ErrorDetail]:
    """Pydantic/FastAPI errors as our details. The message never echoes the input."""
    out = []
    for err in errors:
        code = _code(err)
        field = None if code == "malformed_json" else _field(err.get("loc", ()))
        out.append(ErrorDetail(code=code, message=_message(err, code), field=field,
                               pointer="" if code == "eido_invalid_type" else None))
    return out


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


# ------------------------------------------------------------------------------------------ handlers


async def _on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DivertError)
    status = status_for(exc)
    rid = request_id_of(request)
    log.info("error request_id=%s code=%s status=%d", rid, exc.code, status)
    pointer = exc.pointer if isinstance(exc, EidoError) else None
    return error_response(exc.code, exc.message, status=status, field=exc.field, request_id=rid, pointer=pointer)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    rid = request_id_of(request)
    if not _is_json(request.headers.get("content-type", "")) and any(
            tuple(e.get("loc", ()))[:1] == ("body",) for e in exc.errors()):
        log.info("error request_id=%s code=unsupported_media_type status=415", rid)
        return error_response("unsupported_media_type", "send the body as JSON with Content-Type: application/json",
                              request_id=rid)
    details = validation_details(exc.errors())
    first = details[0] if details else ErrorDetail(code="invalid_value", message="invalid request")
    log.info("error request_id=%s code=%s status=422 problems=%d", rid, first.code, len(details))
    return error_response(first.code, first.message, status=422, field=first.field, request_id=rid,
                          details=details, pointer=first.pointer)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = ERROR_TABLE[code][1] if code in ERROR_TABLE else str(exc.detail)
    response = error_response(code, message, status=exc.status_code, request_id=request_id_of(request))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def internal_error_response(exc: BaseException, request_id: str | None) -> JSONResponse:
    """500 `internal_error`. Logs the type and the frames only: an exception's message may quote the input."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("internal error request_id=%s type=%s\n%s", request_id, type(exc).__name__, frames)
    return error_response("internal_error", ERROR_TABLE["internal_error"][1], request_id=request_id)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DivertError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    # Anything else is answered by `RequestContextMiddleware` with `internal_error_response`, and not re-raised
    # to the server, whose traceback log would print the exception's message.
