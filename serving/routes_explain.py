"""`POST /v1/explain`: which words of a note pushed each label's score up or down, for the model being served.

Include with ``app.include_router(routes_explain.router)`` in `create_app`. The note is parsed exactly as
/v1/classify parses it (`parse_note`), the explanation is of the model the service holds at that moment, and
the response returns the parsed text: every word offset refers to it (for a transcript, the rendered text with
its `CALLER:` / `CALL TAKER:` markers; for an EIDO, the text of its notes with the HTML stripped).
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Request
from pydantic import Field

from divert.model.explain import DEFAULT_IG_STEPS, MAX_IG_STEPS, Explanation, explain
from divert.model.inputs import InputKind, NoteInput, parse_note
from divert.serving.auth import Principal
from divert.serving.deps import ModelDep, SettingsDep, require_role
from divert.serving.errors import request_id_of
from divert.serving.routes_classify import ERRORS
from divert.serving.service import model_version

log = logging.getLogger("divert.serving")

router = APIRouter(prefix="/v1", tags=["explain"])

CadOrAuditorKey = Annotated[Principal, Depends(require_role("cad", "auditor"))]

EXPLAIN_EXAMPLES = {
    "note": {"summary": "A CAD note", "value": {
        "text": "RP ADV BROTHER OFF HIS MEDS TALKING TO PEOPLE WHO ARENT THERE NO WPNS",
        "labels": ["behavioral_health", "violence_risk"]}},
    "transcript": {"summary": "A transcript", "value": {"transcript": {"segments": [
        {"speaker": "call_taker", "text": "Does he have any weapons?", "start": 0.0},
        {"speaker": "caller", "text": "No, no weapons, he's just yelling.", "start": 2.1}]}}},
}


class ExplainRequest(NoteInput):
    """A note (text, transcript or EIDO, as for /v1/classify) and what to explain."""

    labels: list[str] | None = Field(default=None, description="labels to explain (default: all)")
    method: Literal["exact", "rules", "integrated_gradients", "occlusion"] | None = Field(
        default=None, description="default: the model kind's method (tfidf: exact, keywords: rules, "
                                  "transformer: occlusion)")
    n_steps: int = Field(default=DEFAULT_IG_STEPS, ge=1, le=MAX_IG_STEPS,
                         description="Integrated Gradients steps (transformer only)")


class ExplainResponse(Explanation):
    request_id: str
    model_version: str = Field(description="the served model that was explained")
    call_id: str | None
    input_kind: InputKind


@router.post(
    "/explain",
    response_model=ExplainResponse,
    summary="Word-level attributions for each label of one note, with offsets into the text the model read",
    description="For each label (or those in `labels`): the calibrated score, threshold and decision, and per word "
                "its start/end offset in `text` and a signed attribution (> 0 towards the label, < 0 away). "
                "`method` says how (exact TF-IDF contributions, keyword rules, Integrated Gradients or "
                "occlusion) and each label's `completeness_error` how far the attributions are from adding up "
                "to `output - baseline_output` (null for occlusion).",
    responses=ERRORS,
)
def explain_note(
    body: Annotated[ExplainRequest, Body(openapi_examples=EXPLAIN_EXAMPLES)],
    principal: CadOrAuditorKey,
    loaded: ModelDep,
    settings: SettingsDep,
    request: Request,
) -> ExplainResponse:
    parsed = parse_note(body, max_chars=settings.max_note_chars, max_eido_bytes=settings.max_eido_bytes)
    explanation = explain(loaded.model, parsed.text, body.labels, method=body.method, n_steps=body.n_steps)
    request.app.state.audit.record_explanation(request, principal.key_id, loaded, explanation,
                                               call_id=parsed.call_id, input_kind=parsed.kind)
    request_id = request_id_of(request) or ""
    log.info("explained request_id=%s key=%s method=%s labels=%d model_version=%s", request_id, principal.key_id,
             explanation.method, len(explanation.labels), model_version(loaded))
    return ExplainResponse(**dict(explanation), request_id=request_id, model_version=model_version(loaded),
                           call_id=parsed.call_id, input_kind=parsed.kind)
