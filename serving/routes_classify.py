"""`POST /v1/classify`: one note or a batch; flags, recommendation and call-version changes per note.

A note is `text`, a live `transcript` or a NENA `eido` incident. `?format=eido` answers with EIDO components
(`notesComponent`, and `cautionComponent` when violence risk is flagged) instead of divert's own JSON. The
answer is recorded in the audit store first; only then is the call's version history advanced, so an answer
refused with 503 `audit_unavailable` leaves the call as it was.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request

from divert.model.eido import result_fragment
from divert.serving.deps import CadKey, StateDep
from divert.serving.errors import request_id_of
from divert.serving.schemas import (
    CLASSIFY_EXAMPLES,
    BatchRequest,
    ClassifyBatchResponse,
    ClassifyRequest,
    ClassifyResponse,
    EidoResponse,
    EidoResult,
    ErrorResponse,
    NoteResult,
)
from divert.serving.service import Classification

log = logging.getLogger("divert.serving")

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text} for status, text in (
        (401, "missing_api_key, invalid_api_key"),
        (403, "insufficient_role"),
        (413, "request_too_large, eido_too_large"),
        (422, "malformed_json, invalid_body, unknown_field, missing_field, missing_text, both_text_and_transcript, "
              "conflicting_inputs, not_text, invalid_type, value_too_long, invalid_value, empty_text, text_too_long, "
              "empty_batch, too_many_notes, invalid_context_time, eido_invalid_type, eido_missing_field, "
              "eido_invalid_value, eido_no_notes (EIDO errors carry the JSON `pointer` of the problem)"),
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
    response_model=ClassifyResponse | ClassifyBatchResponse | EidoResponse,
    summary="Flag one note or a batch and recommend a response under the community's policy",
    description="A note is `text`, a live `transcript` (segments with speaker, start/end seconds; a segment from "
                "the same speaker starting at or before held ones replaces them) or a NENA `eido` incident. "
                "Send the whole call so far each time it is updated: notes with the same `call_id` are "
                "versions of one call, `call_update` says which flags changed since the previous version and "
                "`progress` when each flag first crossed its threshold (segment, seconds into the call) and "
                "whether it has since been withdrawn. A single note is answered with one result; "
                "`{\"notes\": [...]}` with `results` in the same order. `?format=eido` answers with EIDO "
                "`notesComponent` / `cautionComponent` entries per note instead.",
    responses=ERRORS,
)
def classify(
    body: Annotated[ClassifyRequest, Body(openapi_examples=CLASSIFY_EXAMPLES)],
    principal: CadKey,
    state: StateDep,
    request: Request,
    format: Annotated[Literal["json", "eido"], Query(
        description="json: divert's answer; eido: EIDO notesComponent (+ cautionComponent) entries")] = "json",
) -> ClassifyResponse | ClassifyBatchResponse | EidoResponse:
    batch = isinstance(body, BatchRequest)
    notes = body.notes if isinstance(body, BatchRequest) else [body]
    answer = state.service.classify(notes, batch=batch, namespace=principal.key_id, record_calls=False)
    request.app.state.audit.record_classification(request, principal.key_id, state.service, notes, answer, batch=batch)
    # Recorded: only now does the call's history move on (a refused answer raised above and left it as it was).
    answer = state.service.record_calls(answer, namespace=principal.key_id)
    state.metrics.observe_results(answer.results)
    request_id = request_id_of(request) or ""
    log.info("classified request_id=%s key=%s notes=%d flagged=%d model_version=%s format=%s", request_id,
             principal.key_id, len(answer.results), sum(bool(r.flags) for r in answer.results), answer.model_version,
             format)
    envelope = {"request_id": request_id, "model_version": answer.model_version,
                "policy_version": answer.policy_version}
    if format == "eido":
        agency = state.settings.eido_agency_ref
        return EidoResponse(**envelope, results=[eido_result(r, answer, agency) for r in answer.results])
    if batch:
        return ClassifyBatchResponse(**envelope, results=answer.results)
    return ClassifyResponse(**envelope, **dict(answer.results[0]))


def eido_result(result: NoteResult, answer: Classification, agency_ref: str) -> EidoResult:
    """One note's answer as EIDO components."""
    fragment = result_fragment(
        flags=result.flags, labels={n: ls.model_dump() for n, ls in result.labels.items()},
        recommendation=result.recommendation.model_dump(mode="json"), model_version=answer.model_version,
        policy_version=answer.policy_version, incident_id=result.call_id, agency_ref=agency_ref)
    return EidoResult.model_validate({"index": result.index, "call_id": result.call_id, **fragment})
