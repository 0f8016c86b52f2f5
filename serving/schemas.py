"""Request and response bodies of the HTTP API. Notes reuse `divert.model.inputs.NoteInput`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from divert.model.inputs import InputKind, NoteInput
from divert.model.policy import Recommendation
from divert.model.progressive import CallProgress
from divert.serving.call_versions import CallUpdate

SINGLE_TAG = "as_note"
BATCH_TAG = "as_batch"

EXAMPLE_NOTE: dict[str, Any] = {
    "text": "RP ADV BROTHER OFF HIS MEDS TALKING TO PEOPLE WHO ARENT THERE NO WPNS",
    "call_id": "2025-000123",
    "context": {"caller_type": "family", "channel": "phone", "time": "2025-03-01T14:05:00", "area": "north"},
}


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"notes": [EXAMPLE_NOTE]}]})

    notes: list[NoteInput] = Field(description="up to the configured batch size (see /v1/model)")


def _single_or_batch(value: Any) -> str | None:
    if isinstance(value, BatchRequest) or (isinstance(value, dict) and "notes" in value):
        return BATCH_TAG
    if isinstance(value, NoteInput | dict):
        return SINGLE_TAG
    return None


ClassifyRequest = Annotated[
    Annotated[NoteInput, Tag(SINGLE_TAG)] | Annotated[BatchRequest, Tag(BATCH_TAG)],
    Discriminator(_single_or_batch, custom_error_type="invalid_body",
                  custom_error_message='the body is one note {"text": ...} or a batch {"notes": [...]}'),
]

CLASSIFY_EXAMPLES: dict[str, Any] = {
    "note": {"summary": "One note", "value": EXAMPLE_NOTE},
    "batch": {"summary": "A batch", "value": {"notes": [EXAMPLE_NOTE, {
        "text": "2 SUBJ FIGHTING IN PARKING LOT ONE W/ BAT", "call_id": "2025-000124"}]}},
    "transcript": {"summary": "A live transcript", "value": {"call_id": "2025-000125", "transcript": {"segments": [
        {"speaker": "call_taker", "text": "911, what is the address of your emergency?", "start": 0.0, "end": 2.9},
        {"speaker": "caller", "text": "my son says he wants to kill himself", "start": 3.2, "end": 5.8}]}}},
    "eido": {"summary": "A NENA EIDO incident", "value": {"eido": {
        "$id": "urn:emergency:uid:incidentid:0001abc:psap.example.gov",
        "lastUpdateTimeStamp": "2025-01-15T10:32:10-05:00",
        "updatedByAgencyReference": {"$ref": "psap.example.gov"},
        "eidoVersion": "1.0", "issuingElementIdentification": "cad.psap.example.gov",
        "incidentComponent": {
            "$id": "urn:emergency:uid:eidodatacomponent:inc001:psap.example.gov",
            "lastUpdateTimeStamp": "2025-01-15T10:32:10-05:00",
            "updatedByAgencyReference": {"$ref": "psap.example.gov"},
            "incidentTypeCommonRegistryText": "MNTL", "incidentTypeInternalCode": "PSYCH",
            "internalIncidentId": "2025-000123"},
        "notesComponent": [{
            "$id": "urn:emergency:uid:eidodatacomponent:note001:psap.example.gov",
            "lastUpdateTimeStamp": "2025-01-15T10:31:45-05:00",
            "updatedByAgencyReference": {"$ref": "psap.example.gov"},
            "notesActionComments": "<p>RP STATES BROTHER TALKING ABOUT HURTING HIMSELF, NO WEAPONS SEEN</p>"}],
        "agencyComponent": [{"$id": "psap.example.gov", "lastUpdateTimeStamp": "2025-01-15T10:30:00-05:00",
                             "updatedByAgencyReference": {"$ref": "psap.example.gov"},
                             "agencyRoleDescriptionRegistryText": ["CallReceiving"], "agencyType": ["psap"]}]}}},
}


class LabelScore(BaseModel):
    score: float = Field(description="calibrated probability")
    threshold: float
    decision: bool


def _is_none(value: Any) -> bool:
    return value is None


class InputSummary(BaseModel):
    kind: InputKind
    chars: int = Field(description="characters the model read, after preprocessing")
    segments_used: int | None = Field(default=None, description="transcript segments read (after revisions)")
    notes_used: int | None = Field(default=None, exclude_if=_is_none,
                                   description="EIDO notes read (after de-duplication); only for kind eido")


class NoteResult(BaseModel):
    """The answer for one note; the same object the CLI writes."""

    index: int = Field(description="position of the note in the request")
    call_id: str | None = None
    labels: dict[str, LabelScore]
    flags: list[str] = Field(description="labels whose decision is true")
    recommendation: Recommendation
    call_update: CallUpdate | None = Field(default=None, description="null without a call_id")
    progress: CallProgress | None = Field(
        default=None, description="null without a call_id: for each label raised at some point of the call, when "
                                  "it first crossed its threshold (version, segment index, seconds into the call) "
                                  "and whether it has since been withdrawn")
    input: InputSummary


class _Answer(BaseModel):
    request_id: str
    model_version: str
    policy_version: str


class ClassifyResponse(NoteResult, _Answer):
    """The answer to one note."""


class ClassifyBatchResponse(_Answer):
    results: list[NoteResult]


class EidoResult(BaseModel):
    """One note's answer as EIDO components (`?format=eido`), for a CAD to merge into its incident."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    index: int = Field(description="position of the note in the request")
    call_id: str | None = None
    notes_component: list[dict[str, Any]] = Field(
        alias="notesComponent", description="one NENA NotesType entry: flags, scores and recommendation in "
                                            "notesActionComments (HTML) and in the `divert` extension member")
    caution_component: list[dict[str, Any]] | None = Field(
        default=None, alias="cautionComponent", exclude_if=_is_none,
        description="one NENA CautionType entry when violence_risk is flagged (cautionSeverity highest/high/normal); "
                    "absent otherwise")


class EidoResponse(_Answer):
    """The answer as EIDO fragments (`?format=eido`): one entry per note, in request order."""

    results: list[EidoResult]


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, machine-readable")
    message: str
    field: str | None = Field(default=None, description='where in the request, e.g. "notes[2].text"')
    pointer: str | None = Field(default=None, description="for an EIDO: the RFC 6901 JSON pointer of the problem "
                                                          "inside it, e.g. /notesComponent/0/lastUpdateTimeStamp")


class ErrorInfo(ErrorDetail):
    details: list[ErrorDetail] | None = Field(default=None, description="every problem, when there are several")


class ErrorResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "error": {"code": "empty_text", "message": "text is empty or only whitespace", "field": "notes[2].text"},
        "request_id": "6f1c0e0b5d2a4c1f9a7e3b8d2c4f6a10"}]})

    error: ErrorInfo
    request_id: str | None = None


class LabelInfo(BaseModel):
    name: str
    definition: str
    threshold: float
    threshold_rule: str | None = None


class ModelSummary(BaseModel):
    name: str
    version: str | None = None
    alias: str | None = None
    model_version: str = Field(description="the identifier reported in every answer")
    uri: str
    run_id: str | None = None


class ModelInfo(ModelSummary):
    kind: str
    created_at: str
    label_schema_version: str | None = None
    preprocessing_version: str
    dataset_fingerprint: str | None = None
    labels: list[LabelInfo]
    metrics: dict[str, float]
    policy_version: str
    limits: dict[str, int]


class ReloadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}, {"model_ref": "champion"}]})

    model_ref: str | None = Field(default=None, description="None: the configured reference (e.g. 'champion')")


class ReloadResponse(BaseModel):
    previous: ModelSummary | None
    current: ModelSummary


class CheckResultOut(BaseModel):
    ok: bool
    detail: str = ""


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, CheckResultOut]


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"
