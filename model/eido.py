"""NENA Emergency Incident Data Objects (EIDO, NENA-STA-021.1b JSON) as an input, and EIDO fragments as an output.

Only the parts divert reads or writes are modelled, as our own pydantic types written from the published schema
(`openapi.yaml` of NENA911/EIDO-JSON): the common prologue of every component (`$id`, `lastUpdateTimeStamp`,
`updatedByAgencyReference`, `updatedByAgentReference`), the top-level object, `incidentComponent`,
`callComponent` (its start time), `notesComponent` and `cautionComponent`. Every other member is kept as it came
(`extra="allow"`) and never read.

Reading an EIDO (`eido_note`):
- The note text is the `notesActionComments` of every `notesComponent` entry. They are HTML5 fragments: the
  markup is parsed with the standard library's `html.parser` (a tokenizer that never runs anything), entities
  are decoded, the content of `script`, `style` and other non-text elements is dropped, block elements become
  line breaks. Nothing of the HTML reaches the model or the audit store.
- An EIDO is the full current state of the incident, not a delta, so the notes are de-duplicated by `$id` +
  `lastUpdateTimeStamp` (the same note repeated, e.g. by a sender that merges snapshots, is read once; an edited
  note, with a newer time stamp, is read again) and ordered by `lastUpdateTimeStamp`.
- `incidentComponent.internalIncidentId` becomes the call id (else the EIDO's own `$id` when it fits);
  `incidentTypeInternalCode` (else `incidentTypeCommonRegistryText`) becomes `context.nature_code`, and the
  common registry type `context.incident_type`; the call's `callStartTimestamp` (else the first note's time)
  becomes `context.time`, which the policy's opening hours are checked against.
- A malformed EIDO raises `InvalidInputError` with a specific code and the RFC 6901 JSON pointer of the problem
  inside the EIDO (`/notesComponent/0/lastUpdateTimeStamp`); an EIDO larger than the configured cap is refused
  before it is parsed.

Writing (`result_fragment`): a `notesComponent` entry carrying the flags, scores and recommendation, and a
`cautionComponent` entry (`cautionSeverity`) when violence risk is flagged, for a CAD to merge without a mapping
layer. Both carry every member the schema requires of them.
"""

from __future__ import annotations

import html
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from divert.model.errors import InvalidInputError

DEFAULT_MAX_EIDO_BYTES = 1_000_000
EIDO_HARD_LIMIT_BYTES = 16 * 1024 * 1024  # the standard allows notes of up to 16 MB
MAX_CALL_ID_CHARS = 128

CautionSeverity = Literal["highest", "high", "normal", "low", "lowest"]


# ------------------------------------------------------------------------------------------ the schema parts


class _EidoModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=False, extra="allow",
                              serialize_by_alias=True)


class Reference(_EidoModel):
    """`ReferenceType`: a pointer to another component by its `$id`."""

    ref: str = Field(alias="$ref", min_length=1)


class Prologue(_EidoModel):
    """`PrologueType`, the common header of every data component."""

    id: str = Field(alias="$id", min_length=1, description="globally unique identifier of the component")
    last_update_time_stamp: AwareDatetime = Field(description="RFC 3339 date-time, with its UTC offset")
    updated_by_agency_reference: Reference
    updated_by_agent_reference: Reference | None = None


class Incident(Prologue):
    """`IncidentInformationType` (the members divert reads)."""

    incident_type_common_registry_text: str = Field(description="APCO ANS 2.103.2 common incident type")
    incident_type_internal_code: str | None = None
    incident_type_internal_text: str | None = None
    internal_incident_id: str | None = None
    notes_reference: list[Reference] | None = None


class Call(Prologue):
    """`CallInformationType` (the members divert reads)."""

    call_start_timestamp: AwareDatetime | None = None


class Note(Prologue):
    """`NotesType`: a note about the incident created by an agent, in HTML5."""

    notes_action_comments: str
    agent_reference: Reference | None = None
    caution_reference: list[Reference] | None = None


class Caution(Prologue):
    """`CautionType`: special attention to circumstances that might threaten the safety of people or property."""

    caution_type_internal_text: str
    caution_type_common_registry_text: str
    caution_severity: CautionSeverity
    caution_source: str | None = None
    start_date: AwareDatetime | None = None


class Agency(Prologue):
    """`AgencyType` (required by the top level; its own members are not read)."""


class Eido(Prologue):
    """`EmergencyIncidentDataObjectType`: one incident's full current state."""

    eido_version: str = Field(min_length=1)
    issuing_element_identification: str = Field(min_length=1)
    agency_component: list[Agency]
    incident_component: Incident | None = None
    call_component: list[Call] | None = None
    notes_component: list[Note] | None = None
    caution_component: list[Caution] | None = None


# ------------------------------------------------------------------------------------------------ HTML


class _TextExtractor(HTMLParser):
    """Text of an HTML fragment: entities decoded, non-text elements dropped, block elements as line breaks.
    It only tokenizes; nothing is fetched, rendered or run."""

    DROP = frozenset({"script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math",
                      "head", "title", "select", "textarea", "canvas", "audio", "video"})
    BLOCK = frozenset({"p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
                       "blockquote", "pre", "hr", "section", "article", "header", "footer", "dd", "dt", "dl"})
    VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "source", "track", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._dropping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.DROP:
            self._dropping.append(tag)
        elif tag in self.BLOCK and not self._dropping:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCK and not self._dropping:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._dropping:
            if tag in self._dropping:  # close the innermost open element of that name (and what it holds)
                while self._dropping and self._dropping.pop() != tag:
                    pass
            return
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """The readable text of an HTML fragment (see `_TextExtractor`). Plain text comes back unchanged apart from
    entity decoding, so notes that are not HTML at all are read as they are."""
    if "<" not in fragment:
        return html.unescape(fragment).strip()
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    text = "".join(parser.parts)
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


# ------------------------------------------------------------------------------------------------ reading


def json_pointer(loc: Sequence[str | int]) -> str:
    """RFC 6901 pointer for a pydantic error location inside the EIDO."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in loc)


_PYDANTIC_TO_CODE = {"missing": "eido_missing_field"}


def _code_of(error_type: str) -> str:
    if error_type in _PYDANTIC_TO_CODE:
        return _PYDANTIC_TO_CODE[error_type]
    if error_type.endswith("_type") or error_type in ("model_attributes_type", "list_type"):
        return "eido_invalid_type"
    return "eido_invalid_value"


def _message(err: Mapping[str, Any], pointer: str) -> str:
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    return f"EIDO {pointer or '(root)'}: {msg}"  # pydantic's message, never the input itself


def validate_eido(raw: Any, *, max_bytes: int = DEFAULT_MAX_EIDO_BYTES, field: str = "eido") -> Eido:
    """Parse an EIDO given as decoded JSON; raises InvalidInputError with a code and a JSON pointer."""
    if not isinstance(raw, dict):
        raise EidoError("eido_invalid_type", "an EIDO is a JSON object", pointer="", field=field)
    size = len(json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > max_bytes:
        raise EidoError("eido_too_large", f"the EIDO has {size} bytes; the limit is {max_bytes}", pointer="",
                        field=field)
    try:
        return Eido.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        pointer = json_pointer(err["loc"])
        raise EidoError(_code_of(str(err["type"])), _message(err, pointer), pointer=pointer,
                        field=field) from None


class EidoError(InvalidInputError):
    """A malformed EIDO: `pointer` is the RFC 6901 JSON pointer of the problem inside the EIDO."""

    def __init__(self, code: str, message: str, *, pointer: str, field: str | None = "eido") -> None:
        super().__init__(code, message, field=field)
        self.pointer = pointer


@dataclass(frozen=True)
class EidoNote:
    """What divert reads from one EIDO."""

    text: str
    notes_used: int
    call_id: str | None
    context: dict[str, str]
    # seconds from the call's start (or the first note) to the latest note read; None without times
    elapsed_s: float | None
    latest_update: datetime | None


def unique_notes(notes: Sequence[Note]) -> list[tuple[int, Note]]:
    """Notes with their index in `notesComponent`, de-duplicated by `$id` + `lastUpdateTimeStamp` (first kept),
    ordered by `lastUpdateTimeStamp` (then by their position)."""
    seen: set[tuple[str, datetime]] = set()
    out: list[tuple[int, Note]] = []
    for i, note in enumerate(notes):
        key = (note.id, note.last_update_time_stamp)
        if key in seen:
            continue
        seen.add(key)
        out.append((i, note))
    return sorted(out, key=lambda pair: (pair[1].last_update_time_stamp, pair[0]))


def eido_note(raw: Any, *, max_bytes: int = DEFAULT_MAX_EIDO_BYTES, field: str = "eido") -> EidoNote:
    """Read an EIDO (decoded JSON) into the text the models read, the call id and the context."""
    eido = validate_eido(raw, max_bytes=max_bytes, field=field)
    texts: list[str] = []
    times: list[datetime] = []
    for _, note in unique_notes(eido.notes_component or []):
        text = html_to_text(note.notes_action_comments)
        if text:
            texts.append(text)
            times.append(note.last_update_time_stamp)
    if not texts:
        where = "/notesComponent" if eido.notes_component is not None else ""
        raise EidoError("eido_no_notes", "the EIDO has no note with text (notesComponent[].notesActionComments)",
                        pointer=where, field=field)
    incident = eido.incident_component
    context: dict[str, str] = {}
    call_id: str | None = None
    if incident is not None:
        nature = incident.incident_type_internal_code or incident.incident_type_common_registry_text
        if nature:
            context["nature_code"] = nature
        if incident.incident_type_common_registry_text:
            context["incident_type"] = incident.incident_type_common_registry_text
        call_id = incident.internal_incident_id or None
    if call_id is None and len(eido.id) <= MAX_CALL_ID_CHARS:
        call_id = eido.id
    if call_id is not None and len(call_id) > MAX_CALL_ID_CHARS:
        raise EidoError("eido_invalid_value", f"internalIncidentId is longer than {MAX_CALL_ID_CHARS} characters",
                        pointer="/incidentComponent/internalIncidentId", field=field)
    starts = [c.call_start_timestamp for c in eido.call_component or [] if c.call_start_timestamp is not None]
    origin = min(starts) if starts else min(times)
    context["time"] = origin.isoformat()  # the policy's hours are those of the call (its UTC offset is kept)
    latest = max(times)
    elapsed = max(0.0, (latest - origin).total_seconds())
    return EidoNote(text="\n".join(texts), notes_used=len(texts), call_id=call_id, context=context,
                    elapsed_s=elapsed, latest_update=latest)


# ------------------------------------------------------------------------------------------------ writing

DIVERT_AGENCY_REF = "divert"  # `updatedByAgencyReference` of what divert writes, unless the caller names one
VIOLENCE_LABEL = "violence_risk"


def _severity(score: float, threshold: float) -> CautionSeverity:
    """How seriously to take a flagged violence risk: by how far the calibrated score clears its threshold."""
    if score >= max(0.9, threshold):
        return "highest"
    if score >= max(0.7, threshold):
        return "high"
    return "normal"


def result_fragment(*, flags: Sequence[str], labels: Mapping[str, Mapping[str, Any]],
                    recommendation: Mapping[str, Any], model_version: str, policy_version: str,
                    incident_id: str | None = None, agency_ref: str = DIVERT_AGENCY_REF,
                    now: datetime | None = None) -> dict[str, Any]:
    """The answer as EIDO components: `{"notesComponent": [note], "cautionComponent": [caution]?}`.

    `labels` maps each label to `{"score", "threshold", "decision"}`; `recommendation` is the policy's answer
    (`primary`, `additional`, `reasons`). The note's `notesActionComments` is an HTML5 fragment written with
    every value escaped; the structured values are also under `divert` (an extension member).
    """
    stamp = (now or datetime.now(UTC)).isoformat(timespec="milliseconds")
    base = incident_id or "incident"
    note_id = f"urn:divert:note:{uuid.uuid5(uuid.NAMESPACE_URL, f'{base}/{stamp}/{model_version}')}"
    esc = html.escape
    primary = recommendation.get("primary")
    additional = list(recommendation.get("additional") or [])
    rows = "".join(
        f"<li>{esc(name)}: {float(v['score']):.2f} (threshold {float(v['threshold']):.2f})"
        f"{' FLAGGED' if v.get('decision') else ''}</li>"
        for name, v in labels.items())
    reasons = "".join(f"<li>{esc(str(r))}</li>" for r in recommendation.get("reasons") or [])
    comments = (
        f"<p>divert {esc(model_version)} (policy {esc(policy_version)}): "
        f"flags: {esc(', '.join(flags) or 'none')}; recommended: {esc(str(primary or 'no diversion'))}"
        f"{'; also ' + esc(', '.join(additional)) if additional else ''}</p>"
        f"<ul>{rows}</ul>{'<p>Reasons:</p><ul>' + reasons + '</ul>' if reasons else ''}"
        "<p>A second opinion for the call-taker, not a dispatch decision.</p>")
    prologue = {"lastUpdateTimeStamp": stamp, "updatedByAgencyReference": {"$ref": agency_ref}}
    note: dict[str, Any] = {
        "$id": note_id, **prologue, "notesActionComments": comments,
        "divert": {"flags": list(flags), "scores": {n: float(v["score"]) for n, v in labels.items()},
                   "thresholds": {n: float(v["threshold"]) for n, v in labels.items()},
                   "recommendation": {"primary": primary, "additional": additional},
                   "model_version": model_version, "policy_version": policy_version},
    }
    out: dict[str, Any] = {"notesComponent": [note]}
    violence = labels.get(VIOLENCE_LABEL)
    if violence is not None and violence.get("decision"):
        caution_id = f"urn:divert:caution:{uuid.uuid5(uuid.NAMESPACE_URL, note_id)}"
        severity = _severity(float(violence["score"]), float(violence["threshold"]))
        out["cautionComponent"] = [{
            "$id": caution_id, **prologue,
            "cautionTypeInternalText": "Possible violence risk (divert model flag)",
            "cautionTypeCommonRegistryText": "Violence",
            "cautionSeverity": severity,
            "cautionSource": agency_ref,
            "startDate": stamp,
        }]
        note["cautionReference"] = [{"$ref": caution_id}]
    # What we write must read back as our own types (and so as the schema's components).
    for entry in out["notesComponent"]:
        Note.model_validate(entry)
    for entry in out.get("cautionComponent", []):
        Caution.model_validate(entry)
    return out
