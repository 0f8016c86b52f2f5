"""NENA EIDO as an input (notes read safely, ordered, de-duplicated; specific errors with JSON pointers) and as an
output (`notesComponent` / `cautionComponent` entries carrying every member the published schema requires)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from eido_fixtures import (
    NOTE_1,
    NOTE_2,
    eido,
    example_with_notes,
    load_schema,
    note,
    required_members,
    several_notes_eido,
    validate_component,
)
from pydantic import ValidationError

from divert.model.eido import EidoError, html_to_text, json_pointer, result_fragment, validate_eido
from divert.model.inputs import NoteInput, parse_note

# ------------------------------------------------------------------------------------------------ reading


def test_the_example_from_the_standard_is_read() -> None:
    parsed = parse_note(NoteInput(eido=example_with_notes()))
    assert parsed.kind == "eido"
    assert parsed.text == "RP STATES BROTHER TALKING ABOUT HURTING HIMSELF, NO WEAPONS SEEN"
    assert parsed.call_id == "2025-000123"
    assert parsed.context == {"nature_code": "PSYCH", "incident_type": "MNTL", "time": "2025-01-15T10:30:02-05:00"}
    assert (parsed.notes_used, parsed.position) == (1, 0)
    assert parsed.elapsed_s == pytest.approx(103.0)  # 10:31:45 note, call started 10:30:02


def test_notes_are_ordered_deduplicated_and_stripped_of_html() -> None:
    parsed = parse_note(NoteInput(eido=several_notes_eido()))
    assert parsed.text == ("RP ADV BROTHER OFF HIS MEDS\n"
                           "SUBJ STATING HE WANTS TO KILL HIMSELF & HAS A KNIFE\n"
                           "NO OTHER WPNS\nRP <SISTER> ON SCENE")
    assert parsed.notes_used == 3
    assert parsed.elapsed_s == pytest.approx(123.0)
    for dropped in ("alert", "IGNORE ME", "color", "<script", "<p>", "&amp;"):
        assert dropped not in parsed.text


def test_a_repeated_snapshot_reads_the_same() -> None:
    first = parse_note(NoteInput(eido=eido([NOTE_1, NOTE_2])))
    again = parse_note(NoteInput(eido=eido([NOTE_1, NOTE_2, copy.deepcopy(NOTE_2), copy.deepcopy(NOTE_1)])))
    assert again.text == first.text and again.notes_used == 2


def test_an_edited_note_has_a_new_time_stamp_and_is_read_in_its_place_in_time() -> None:
    edited = {**NOTE_1, "lastUpdateTimeStamp": "2025-01-15T10:33:00-05:00",
              "notesActionComments": "<p>UPDATE: BROTHER NOW CALM</p>"}
    parsed = parse_note(NoteInput(eido=eido([edited, NOTE_2, NOTE_1])))
    assert parsed.text.splitlines() == ["RP ADV BROTHER OFF HIS MEDS",
                                        "SUBJ STATING HE WANTS TO KILL HIMSELF & HAS A KNIFE",
                                        "UPDATE: BROTHER NOW CALM"]


def test_the_client_context_and_call_id_win_over_the_eido() -> None:
    parsed = parse_note(NoteInput(eido=example_with_notes(), call_id="cad-9",
                                  context={"nature_code": "EDP", "area": "north", "time": "2025-01-15T23:00:00"}))
    assert parsed.call_id == "cad-9"
    assert parsed.context == {"nature_code": "EDP", "area": "north", "incident_type": "MNTL",
                              "time": "2025-01-15T23:00:00"}


def test_without_an_internal_id_the_incident_id_is_the_call_id() -> None:
    data = example_with_notes()
    del data["incidentComponent"]["internalIncidentId"]
    assert parse_note(NoteInput(eido=data)).call_id == data["$id"]


@pytest.mark.parametrize(("fragment", "text"), [
    ("plain text, not HTML", "plain text, not HTML"),
    ("A &amp; B &lt;3", "A & B <3"),
    ("<p>one</p><p>two<br>three</p>", "one\ntwo\nthree"),
    ("<script>var x = '<p>hidden</p>';</script>shown", "shown"),
    ("<SCRIPT type='text/javascript'>evil()</SCRIPT>ok", "ok"),
    ("<img src=x onerror=alert(1)>after", "after"),
    ("<style>body{}</style><noscript>no</noscript><template><p>t</p></template>kept", "kept"),
    ("<a href='javascript:alert(1)'>link text</a>", "link text"),
    ("<!-- a comment -->visible", "visible"),
    ("<p>unclosed <b>bold", "unclosed bold"),
    ("<svg><script>x()</script><text>svg text</text></svg>rest", "rest"),
])
def test_html_is_neutralised(fragment: str, text: str) -> None:
    assert html_to_text(fragment) == text


# ------------------------------------------------------------------------------------------------ errors


def _set(path: list[str | int], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        target: Any = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return apply


def _delete(path: list[str | int]) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        target: Any = data
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]
    return apply


BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("note without a time", _delete(["notesComponent", 0, "lastUpdateTimeStamp"]), "eido_missing_field",
     "/notesComponent/0/lastUpdateTimeStamp"),
    ("time without an offset", _set(["notesComponent", 1, "lastUpdateTimeStamp"], "2025-01-15T10:31:10"),
     "eido_invalid_value", "/notesComponent/1/lastUpdateTimeStamp"),
    ("time that is not a time", _set(["notesComponent", 0, "lastUpdateTimeStamp"], "yesterday"),
     "eido_invalid_value", "/notesComponent/0/lastUpdateTimeStamp"),
    ("note without $id", _delete(["notesComponent", 1, "$id"]), "eido_missing_field", "/notesComponent/1/$id"),
    ("note text that is a number", _set(["notesComponent", 0, "notesActionComments"], 42), "eido_invalid_type",
     "/notesComponent/0/notesActionComments"),
    ("note without text", _delete(["notesComponent", 0, "notesActionComments"]), "eido_missing_field",
     "/notesComponent/0/notesActionComments"),
    ("notes that are not a list", _set(["notesComponent"], {"a": 1}), "eido_invalid_type", "/notesComponent"),
    ("no eidoVersion", _delete(["eidoVersion"]), "eido_missing_field", "/eidoVersion"),
    ("no agencies", _delete(["agencyComponent"]), "eido_missing_field", "/agencyComponent"),
    ("incident without its type", _delete(["incidentComponent", "incidentTypeCommonRegistryText"]),
     "eido_missing_field", "/incidentComponent/incidentTypeCommonRegistryText"),
    ("reference without $ref", _set(["notesComponent", 0, "updatedByAgencyReference"], {"ref": "x"}),
     "eido_missing_field", "/notesComponent/0/updatedByAgencyReference/$ref"),
    ("no notes", _delete(["notesComponent"]), "eido_no_notes", ""),
    ("empty notes", _set(["notesComponent"], []), "eido_no_notes", "/notesComponent"),
    ("only a script", _set(["notesComponent"], [note(1, "2025-01-15T10:31:10-05:00", "<script>x()</script>")]),
     "eido_no_notes", "/notesComponent"),
]


@pytest.mark.parametrize(("mutate", "code", "pointer"), [case[1:] for case in BROKEN], ids=[c[0] for c in BROKEN])
def test_a_broken_eido_names_the_problem_and_where(mutate: Callable[[dict[str, Any]], None], code: str,
                                                   pointer: str) -> None:
    data = eido([copy.deepcopy(NOTE_1), copy.deepcopy(NOTE_2)])
    mutate(data)
    with pytest.raises(EidoError) as info:
        parse_note(NoteInput(eido=data))
    assert (info.value.code, info.value.pointer, info.value.field) == (code, pointer, "eido")
    assert "IGNORE" not in info.value.message


def test_an_eido_must_be_an_object() -> None:
    with pytest.raises(EidoError) as info:
        validate_eido([example_with_notes()])
    assert (info.value.code, info.value.pointer) == ("eido_invalid_type", "")
    with pytest.raises(ValidationError):
        NoteInput(eido=[1, 2])


def test_the_size_cap_is_applied_before_parsing() -> None:
    big = eido([note(1, "2025-01-15T10:31:10-05:00", "<p>" + "RP ADV " * 400 + "</p>")])
    assert parse_note(NoteInput(eido=big), max_eido_bytes=100_000).notes_used == 1
    with pytest.raises(EidoError) as info:
        parse_note(NoteInput(eido=big), max_eido_bytes=2_000)
    assert info.value.code == "eido_too_large"


def test_exactly_one_input_kind() -> None:
    with pytest.raises(ValidationError, match="exactly one of 'text', 'transcript' or 'eido'"):
        NoteInput(text="a", eido=example_with_notes())
    with pytest.raises(ValidationError):
        NoteInput()


def test_json_pointers_escape_tilde_and_slash() -> None:
    assert json_pointer(["notesComponent", 0, "a/b~c"]) == "/notesComponent/0/a~1b~0c"
    assert json_pointer([]) == ""


# ------------------------------------------------------------------------------------------------ writing


@pytest.fixture(scope="module")
def schema_doc() -> dict[str, Any]:
    return load_schema()


LABELS_ON = {"behavioral_health": {"score": 0.93, "threshold": 0.5, "decision": True},
             "violence_risk": {"score": 0.81, "threshold": 0.4, "decision": True},
             "medical_emergency": {"score": 0.02, "threshold": 0.5, "decision": False}}
RECOMMENDATION = {"primary": "co_responder", "additional": ["ems"],
                  "reasons": ["behavioral_health and violence_risk <flagged> & routed"]}


def _fragment(labels: dict[str, dict[str, Any]]) -> dict[str, Any]:
    flags = [n for n, v in labels.items() if v["decision"]]
    return result_fragment(flags=flags, labels=labels, recommendation=RECOMMENDATION, model_version="divert/7",
                           policy_version="default-1", incident_id="2025-000123",
                           now=datetime(2025, 1, 15, 15, 33, tzinfo=UTC))


def test_the_answer_as_eido_has_every_required_member(schema_doc: dict[str, Any]) -> None:
    fragment = _fragment(LABELS_ON)
    notes_required = required_members(schema_doc, "NotesType")
    caution_required = required_members(schema_doc, "CautionType")
    assert {"$id", "lastUpdateTimeStamp", "updatedByAgencyReference", "notesActionComments"} <= notes_required
    assert {"cautionSeverity", "cautionTypeInternalText", "cautionTypeCommonRegistryText"} <= caution_required
    [entry] = fragment["notesComponent"]
    [caution] = fragment["cautionComponent"]
    assert notes_required <= set(entry)
    assert caution_required <= set(caution)
    validate_component(schema_doc, "NotesType", entry)
    validate_component(schema_doc, "CautionType", caution)
    assert caution["cautionSeverity"] in schema_doc["components"]["schemas"]["CautionType"]["allOf"][1][
        "properties"]["cautionSeverity"]["enum"]
    assert entry["cautionReference"] == [{"$ref": caution["$id"]}]


def test_the_eido_note_carries_flags_scores_and_recommendation_escaped() -> None:
    [entry] = _fragment(LABELS_ON)["notesComponent"]
    assert entry["divert"]["flags"] == ["behavioral_health", "violence_risk"]
    assert entry["divert"]["scores"]["violence_risk"] == pytest.approx(0.81)
    assert entry["divert"]["recommendation"] == {"primary": "co_responder", "additional": ["ems"]}
    comments = entry["notesActionComments"]
    assert "<flagged>" not in comments and "&lt;flagged&gt;" in comments
    text = html_to_text(comments)
    assert "flags: behavioral_health, violence_risk" in text and "recommended: co_responder" in text
    assert "violence_risk: 0.81 (threshold 0.40) FLAGGED" in text
    assert "behavioral_health and violence_risk <flagged> & routed" in text
    # what divert writes reads back as an EIDO note
    assert parse_note(NoteInput(eido=eido([entry]))).text == text


def test_no_caution_without_violence_risk(schema_doc: dict[str, Any]) -> None:
    calm = {**LABELS_ON, "violence_risk": {"score": 0.1, "threshold": 0.4, "decision": False}}
    fragment = _fragment(calm)
    assert "cautionComponent" not in fragment
    assert "cautionReference" not in fragment["notesComponent"][0]
    validate_component(schema_doc, "NotesType", fragment["notesComponent"][0])


@pytest.mark.parametrize(("score", "severity"), [(0.95, "highest"), (0.75, "high"), (0.45, "normal")])
def test_caution_severity_follows_the_score(score: float, severity: str) -> None:
    labels = {"violence_risk": {"score": score, "threshold": 0.4, "decision": True}}
    assert _fragment(labels)["cautionComponent"][0]["cautionSeverity"] == severity
