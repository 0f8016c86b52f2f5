"""The auditor API under `/v1/audit` (role `auditor`): list and filter predictions, fetch one with its
explanation, post a review, agreement statistics and the review queue.

There is no PUT, PATCH or DELETE: predictions are append-only and a review is a new row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Body, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from divert.model.labels import LABELS
from divert.serving.audit.models import Prediction, Review
from divert.serving.audit.recorder import AuditService
from divert.serving.audit.store import AuditUnavailable, PredictionFilter, utc
from divert.serving.deps import AuditorKey, StateDep
from divert.serving.errors import ServingError
from divert.serving.routes_classify import error_responses
from divert.serving.service import model_version

router = APIRouter(prefix="/v1/audit", tags=["audit"])
RESPONSES = error_responses(401, 403, extra={404: "prediction_not_found", 422: "invalid_value",
                                             503: "audit_unavailable"})
LabelName = Literal["behavioral_health", "suicide_risk", "substance_use", "violence_risk", "medical_emergency"]
assert set(get_args(LabelName)) == set(LABELS)


class ReviewOut(BaseModel):
    id: int
    prediction_id: int
    created_at: datetime
    reviewer_key_id: str
    verdict: Literal["agree", "disagree"]
    labels: dict[str, int] = Field(description="the reviewer's labels, every label")
    comment: str | None = Field(description="redacted")


class PredictionOut(BaseModel):
    id: int
    request_id: str
    item_index: int
    endpoint: str
    created_at: datetime
    key_id: str = Field(description="the client key's id (never the key)")
    call_id: str | None
    model_name: str
    model_version: str
    policy_version: str | None
    input_kind: str
    text_redacted: str | None = Field(description="null while deferred redaction is pending (or was lost because "
                                                   "the server stopped first): the raw text is never stored")
    redaction_pending: bool = Field(default=False, description="true while text_redacted is null")
    text_hash: str = Field(description="HMAC-SHA256 (audit_hash_key) of the text the model read")
    redactions: dict[str, int] | None
    scores: dict[str, float]
    thresholds: dict[str, float]
    decisions: dict[str, bool]
    flags: list[str]
    recommendation: str | None
    recommendation_detail: dict[str, Any] | None
    latency_ms: float | None
    reviewed: bool


class PredictionPage(BaseModel):
    items: list[PredictionOut]
    total: int = Field(description="predictions matching the filters")
    next_cursor: int | None = Field(description="pass as `cursor` for the next page; null on the last one")


class PredictionDetail(PredictionOut):
    reviews: list[ReviewOut]
    explanation: dict[str, Any] | None = Field(
        description="an /v1/explain answer's stored explanation; for a classify answer, computed now on the "
                    "redacted text when the model that answered is still served (offsets refer to text_redacted)")
    explanation_source: Literal["stored", "computed_on_redacted_text", "unavailable"]


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"verdict": "agree"},
        {"verdict": "disagree", "labels": {"violence_risk": 0}, "comment": "weapon was negated: NO WPNS"}]})

    verdict: Literal["agree", "disagree"]
    labels: dict[LabelName, Literal[0, 1]] | None = Field(
        default=None, description="disagree: the corrected labels (those not given keep the model's decision)")
    comment: str | None = Field(default=None, max_length=2000, description="stored redacted")


class QueueItem(BaseModel):
    priority: float
    uncertainty: float
    uncertain_label: str | None
    disagreement: float | None = Field(description="null without a second model")
    disagreeing_label: str | None
    diversity_factor: float = Field(description="< 1 when other items of the same call are ahead")
    prediction: PredictionOut


class QueueOut(BaseModel):
    items: list[QueueItem]
    second_model: str | None
    notes: list[str]


def audit_of(request: Request) -> AuditService:
    audit: AuditService = request.app.state.audit
    return audit


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except AuditUnavailable as exc:
        raise ServingError("audit_unavailable", f"the audit store cannot be read: {exc}") from exc


def prediction_out(p: Prediction, reviewed: bool) -> PredictionOut:
    return PredictionOut(
        id=p.id, request_id=p.request_id, item_index=p.item_index, endpoint=p.endpoint, created_at=utc(p.created_at),
        key_id=p.key_id, call_id=p.call_id, model_name=p.model_name, model_version=p.model_version,
        policy_version=p.policy_version, input_kind=p.input_kind, text_redacted=p.text_redacted,
        redaction_pending=p.text_redacted is None, text_hash=p.text_hash, redactions=p.redactions, scores=p.scores, thresholds=p.thresholds,
        decisions=p.decisions, flags=[f for f in p.flags.split(",") if f], recommendation=p.recommendation,
        recommendation_detail=p.recommendation_detail, latency_ms=p.latency_ms, reviewed=reviewed)


def review_out(r: Review) -> ReviewOut:
    return ReviewOut(id=r.id, prediction_id=r.prediction_id, created_at=utc(r.created_at),
                     reviewer_key_id=r.reviewer_key_id, verdict=r.verdict,
                     labels=r.labels, comment=r.comment)


@router.get("/predictions", response_model=PredictionPage, responses=RESPONSES,
            summary="Recorded answers, newest first, filtered and paginated")
def list_predictions(
    principal: AuditorKey,
    request: Request,
    since: Annotated[datetime | None, Query(description="created at or after (ISO-8601)")] = None,
    until: Annotated[datetime | None, Query(description="created before (ISO-8601)")] = None,
    label: Annotated[LabelName | None, Query(description="with `decision`: that label's decision")] = None,
    decision: Annotated[bool | None, Query(description="with `label`: its decision (default true); alone: "
                                                        "flagged with any label (true) or none (false)")] = None,
    recommendation: Annotated[str | None, Query(description="primary program, or 'none'")] = None,
    model_version: Annotated[str | None, Query()] = None,
    reviewed: Annotated[bool | None, Query()] = None,
    call_id: Annotated[str | None, Query(max_length=128)] = None,
    text_hash: Annotated[str | None, Query(max_length=64, description="find a CAD entry by its keyed hash")] = None,
    endpoint: Annotated[Literal["classify", "explain"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[int | None, Query(ge=1)] = None,
) -> PredictionPage:
    f = PredictionFilter(since=utc(since) if since else None, until=utc(until) if until else None, label=label,
                         decision=decision, recommendation=recommendation, model_version=model_version,
                         reviewed=reviewed, call_id=call_id, text_hash=text_hash, endpoint=endpoint)
    page = _call(audit_of(request).store.page, f, limit=limit, cursor=cursor)
    return PredictionPage(items=[prediction_out(p, p.id in page.reviewed_ids) for p in page.items],
                          total=page.total, next_cursor=page.next_cursor)


@router.get("/predictions/{prediction_id}", response_model=PredictionDetail, responses=RESPONSES,
            summary="One recorded answer with its reviews and explanation")
def get_prediction(prediction_id: int, principal: AuditorKey, request: Request, state: StateDep,
                   explain: Annotated[bool, Query(description="compute the explanation of a classify answer")] = True,
                   ) -> PredictionDetail:
    found = _call(audit_of(request).store.get, prediction_id)
    if found is None:
        raise ServingError("prediction_not_found", f"no prediction with id {prediction_id}")
    pred, reviews = found
    explanation, source = pred.explanation, "stored"
    if explanation is None:
        explanation, source = None, "unavailable"
        if (explain and pred.text_redacted is not None and state.service.ready
                and model_version(state.service.model) == pred.model_version):
            from divert.model.explain import explain as run_explain

            result = run_explain(state.service.model.model, pred.text_redacted, None)
            explanation, source = result.model_dump(mode="json"), "computed_on_redacted_text"
    return PredictionDetail(**dict(prediction_out(pred, bool(reviews))), reviews=[review_out(r) for r in reviews],
                            explanation=explanation, explanation_source=source)


@router.post("/predictions/{prediction_id}/reviews", response_model=ReviewOut, status_code=status.HTTP_201_CREATED,
             responses=RESPONSES, summary="Review an answer: agree, or disagree with corrected labels")
def post_review(prediction_id: int, body: Annotated[ReviewIn, Body()], principal: AuditorKey,
                request: Request) -> ReviewOut:
    audit = audit_of(request)
    found = _call(audit.store.get, prediction_id)
    if found is None:
        raise ServingError("prediction_not_found", f"no prediction with id {prediction_id}")
    pred = found[0]
    model = {name: int(bool(pred.decisions.get(name, False))) for name in LABELS}
    given = dict(body.labels or {})
    if body.verdict == "agree":
        if any(model[k] != v for k, v in given.items()):
            raise ServingError("invalid_value", "verdict 'agree' with labels that differ from the model's "
                               "decisions: send verdict 'disagree'", field="labels")
        labels = model
    else:
        if not given:
            raise ServingError("invalid_value", "verdict 'disagree' needs the corrected labels", field="labels")
        labels = model | given
        if labels == model:
            raise ServingError("invalid_value", "the corrected labels equal the model's decisions: send verdict "
                               "'agree'", field="labels")
    comment = audit.redactor.redact(body.comment).text if body.comment else None
    review = _call(audit.store.add_review, prediction_id, reviewer=principal.key_id, verdict=body.verdict,
                   labels=labels, comment=comment)
    if review is None:
        raise ServingError("prediction_not_found", f"no prediction with id {prediction_id}")
    return review_out(review)


@router.get("/stats", responses=RESPONSES,
            summary="Agreement of the model with reviewers, per label and per model version")
def stats(principal: AuditorKey, request: Request,
          since: Annotated[datetime | None, Query()] = None,
          until: Annotated[datetime | None, Query()] = None) -> dict[str, Any]:
    f = PredictionFilter(since=utc(since) if since else None, until=utc(until) if until else None)
    result: dict[str, Any] = _call(audit_of(request).store.stats, f)
    return result


@router.get("/queue", response_model=QueueOut, responses=RESPONSES,
            summary="Unreviewed answers whose review teaches the model most, first")
async def queue(principal: AuditorKey, request: Request,
                limit: Annotated[int, Query(ge=1, le=200)] = 20) -> QueueOut:
    audit = audit_of(request)
    ranked, notes = await run_in_threadpool(_call, audit.queue, limit=limit)
    return QueueOut(items=[QueueItem(priority=r.priority, uncertainty=r.uncertainty, uncertain_label=r.uncertain_label,
                                     disagreement=r.disagreement, disagreeing_label=r.disagreeing_label,
                                     diversity_factor=r.terms["diversity_factor"],
                                     prediction=prediction_out(p, False)) for r, p in ranked],
                    second_model=audit.second_model_ref, notes=notes)
