"""Speaker-aware preprocessing (PREPROCESSING_VERSION 2): speaker labels written in free text become the markers
`CALLER:` / `CALL TAKER:` at the start of a line, inline turns are split, CAD shorthand is left alone, and the
function is idempotent."""

from __future__ import annotations

import pytest

from divert.model.inputs import (
    SPEAKER_MARKERS,
    NoteInput,
    Transcript,
    TranscriptSegment,
    parse_note,
    render_transcript,
)
from divert.model.preprocess import PREPROCESSING_VERSION, preprocess


def test_the_version_is_bumped_for_speaker_markers() -> None:
    assert PREPROCESSING_VERSION == "2"
    assert SPEAKER_MARKERS["caller"] == "CALLER:" and SPEAKER_MARKERS["call_taker"] == "CALL TAKER:"


@pytest.mark.parametrize(("raw", "expected"), [
    ("call taker: is he armed?", "CALL TAKER: is he armed?"),
    ("Call-taker: what's the address", "CALL TAKER: what's the address"),
    ("Call Taker: ok", "CALL TAKER: ok"),
    ("calltaker:ok", "CALL TAKER: ok"),
    ("call_taker: ok", "CALL TAKER: ok"),
    ("CT: is he breathing", "CALL TAKER: is he breathing"),
    ("Dispatcher: units are on the way", "CALL TAKER: units are on the way"),
    ("Telecommunicator: stay on the line", "CALL TAKER: stay on the line"),
    ("911: what is the address of your emergency", "CALL TAKER: what is the address of your emergency"),
    ("Operator: go ahead", "CALL TAKER: go ahead"),
    ("caller: no, nothing", "CALLER: no, nothing"),
    ("Caller - he has a knife", "CALLER: he has a knife"),
    ("CALLER \u2013 he left", "CALLER: he left"),
    ("  caller :   spaced out  ", "CALLER: spaced out"),
])
def test_speaker_labels_become_the_markers(raw: str, expected: str) -> None:
    assert preprocess(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("call taker: is he armed? caller: no, nothing", "CALL TAKER: is he armed?\nCALLER: no, nothing"),
    ("Operator: hi? Caller: hello", "CALL TAKER: hi?\nCALLER: hello"),
    ("Dispatcher: ok. Caller: thanks. CT: stay on the line",
     "CALL TAKER: ok.\nCALLER: thanks.\nCALL TAKER: stay on the line"),
    # speech-to-text output without punctuation: the line is already a labelled dialogue
    ("call taker: is he armed caller: no nothing call taker: okay",
     "CALL TAKER: is he armed\nCALLER: no nothing\nCALL TAKER: okay"),
    ("911: what is your emergency caller: my son took pills",
     "CALL TAKER: what is your emergency\nCALLER: my son took pills"),
    ("call taker: is he breathing?\ncaller: no he's not breathing",
     "CALL TAKER: is he breathing?\nCALLER: no he's not breathing"),
])
def test_inline_turns_are_split_into_lines(raw: str, expected: str) -> None:
    assert preprocess(raw) == expected


@pytest.mark.parametrize("cad", [
    "RP ADV BROTHER OFF HIS MEDS TALKING TO PEOPLE WHO ARENT THERE NO WPNS",
    "CALLER STATES SUBJ HAS A KNIFE - NO WPNS SEEN",
    "RP ADV - CALLER - UNK LOC",
    "CALLER STATES \"NO TIENE ARMAS\" - BANGING ON DOORS",
    "RP ADV CALLER: SUBJ W/ KNIFE",  # a label inside a CAD line is not a turn
    "spoke with the caller: she is fine now",
    "FORKLIFT OPERATOR: INJURED HAND",
    "did you call 911: yes",
    "911:30 PM CALL BACK",
    "SUBJ ON CALLER'S PORCH / CT SCAN SCHEDULED",
    "RE-CALLER: SAME ISSUE",
])
def test_cad_notes_are_not_mangled(cad: str) -> None:
    assert preprocess(cad) == cad


@pytest.mark.parametrize("raw", [
    "call taker: is he armed? caller: no, nothing",
    "CALLER: CALLER: hello",
    "Caller:\nmy son is not breathing",
    "caller:",
    "RP ADV\u00a0SUBJ   W/ KNIFE\r\n\r\n\tNO WPNS SEEN\x07 //  UNK",
    "Dispatcher: ok. Caller: thanks. CT: stay on the line",
    "ct:ct:caller - yes",
    "call taker: is he armed caller: no nothing call taker: okay",
    "Caller - Caller - hi",
])
def test_preprocess_is_idempotent(raw: str) -> None:
    once = preprocess(raw)
    assert preprocess(once) == once


def test_a_label_right_after_another_is_one_turn() -> None:
    assert preprocess("CALLER: caller: hi") == "CALLER: hi"
    assert preprocess("CALL TAKER: caller: yes he does") == "CALLER: yes he does"


def test_render_transcript_keeps_its_format_and_is_already_preprocessed() -> None:
    segments = [TranscriptSegment(speaker="call_taker", text="911, what's the address?", start=0.0, end=2.0),
                TranscriptSegment(speaker="caller", text="caller: 22 Main St, my son has a knife", start=2.5, end=5.0),
                TranscriptSegment(speaker="unknown", text="Operator: is he armed? Caller: yes", start=6.0)]
    text, spans = render_transcript(segments)
    assert text == ("CALL TAKER: 911, what's the address?\nCALLER: 22 Main St, my son has a knife\n"
                    "CALL TAKER: is he armed?\nCALLER: yes")
    assert preprocess(text) == text
    assert [text[s:e] for s, e, _ in spans] == ["CALL TAKER: 911, what's the address?",
                                                "CALLER: 22 Main St, my son has a knife",
                                                "CALL TAKER: is he armed?\nCALLER: yes"]


def test_free_text_and_diarized_transcripts_read_the_same() -> None:
    free = parse_note(NoteInput(text="call taker: is he armed? caller: no, nothing"))
    diarized = parse_note(NoteInput(transcript=Transcript(segments=[
        TranscriptSegment(speaker="call_taker", text="is he armed?", start=0.0),
        TranscriptSegment(speaker="caller", text="no, nothing", start=1.5)])))
    assert free.text == diarized.text == "CALL TAKER: is he armed?\nCALLER: no, nothing"


def test_a_label_after_a_cad_separator_is_not_a_turn() -> None:
    cad = "RP ADV SUBJ W/ KNIFE // 10-4 C/B; CALLER: he's 5'11\" (UNK) @ 12:30 -- NO WPNS!! #4 APT"
    assert preprocess(cad) == cad
    assert preprocess("UNK LOC, CALLER: HANG UP") == "UNK LOC, CALLER: HANG UP"
    assert preprocess('he said "stop." caller: then he left') == 'he said "stop."\nCALLER: then he left'
