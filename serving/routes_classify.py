"""`POST /v1/classify`: one note or a batch; flags, recommendation and call-version changes per note."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from divert.serving.deps import CadKey, StateDep
from divert.serving.errors import request_id_of
from divert.serving.schemas import (
    CLASSIFY_EXAMPLES,
    BatchRequest,
    ClassifyBatchResponse,
    ClassifyRequest,
    ClassifyResponse,
    ErrorResponse,
)

log = logging.getLogger("divert.serving")

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text} for status, text in (
        (401, "missing_api_key, invalid_api_key"),
        (403, "insufficient_role"),
        (413, "request_too_large"),
        (422, "malformed_json, invalid_body, unknown_field, missing_field, missing_text, both_text_and_transcript, "
              "not_text, invalid_type, value_too_long, invalid_value, empty_text, text_too_long, empty_batch, "
              "too_many_notes, invalid_context_time"),
        (503, "model_not_loaded, audit_unavailable"),
    )
}



def error_responses(*statuses: int, extra: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` for some of the statuses above, plus `extra` {status: codes}."""
    out: dict[int | str, dict[str, Any]] = {s: ERRORS[s] for s in statuses}
    for status, codes in (extra or {}).items():
        out[status] = {"model": ErrorResponse, "description": codes}
    return out


router = APIRouter(prefix="/v1", tags=["classify"])


@router.post(
    "/classify",
    response_model=ClassifyResponse | ClassifyBatchResponse,
    summary="Flag one note or a batch and recommend a response under the community's policy",
    description="Send the whole narrative so far each time a call is updated: notes with the same `call_id` are "
                "versions of one call, and `call_update` says which flags changed since the previous version. "
                "A single note is answered with one result; `{\"notes\": [...]}` with `results` in the same order.",
    responses=ERRORS,
)
def classify(
    body: Annotated[ClassifyRequest, Body(openapi_examples=CLASSIFY_EXAMPLES)],
    principal: CadKey,
    state: StateDep,
    request: Request,
) -> ClassifyResponse | ClassifyBatchResponse:
    batch = isinstance(body, BatchRequest)
    notes = body.notes if isinstance(body, BatchRequest) else [body]
    answer = state.service.classify(notes, batch=batch, namespace=principal.key_id)
    request.app.state.audit.record_classification(request, principal.key_id, state.service, notes, answer, batch=batch)
    state.metrics.observe_results(answer.results)
    request_id = request_id_of(request) or ""
    log.info("classified request_id=%s key=%s notes=%d flagged=%d model_version=%s", request_id,
             principal.key_id, len(answer.results), sum(bool(r.flags) for r in answer.results), answer.model_version)
    envelope = {"request_id": request_id, "model_version": answer.model_version,
                "policy_version": answer.policy_version}
    if batch:
        return ClassifyBatchResponse(**envelope, results=answer.results)
    return ClassifyResponse(**envelope, **dict(answer.results[0]))
