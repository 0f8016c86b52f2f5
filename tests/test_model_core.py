"""The model package's contract: input parsing, preprocessing, the keyword baseline and the saved bundle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from divert.model.bundle import DivertModel
from divert.model.errors import InvalidInputError, ModelArtifactError
from divert.model.inputs import NoteInput, Transcript, TranscriptSegment, merge_live_segments, parse_note
from divert.model.keywords import KeywordScorer
from divert.model.labels import LABELS
from divert.model.preprocess import preprocess


def test_preprocess_normalises_but_keeps_cad_meaning() -> None:
    raw = "RP ADV\u00a0SUBJ   W/ KNIFE\r\n\r\n\tNO WPNS SEEN\x07 //  UNK"
    assert preprocess(raw) == "RP ADV SUBJ W/ KNIFE\nNO WPNS SEEN // UNK"
    assert preprocess(preprocess(raw)) == preprocess(raw)


@pytest.mark.parametrize("text,code", [("", "empty_text"), ("   \n\t ", "empty_text"), ("x" * 101, "text_too_long")])
def test_parse_rejects_bad_text_with_specific_codes(text: str, code: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_note(NoteInput(text=text), max_chars=100)
    assert info.value.code == code and info.value.field == "text"


def test_note_needs_exactly_one_source() -> None:
    with pytest.raises(ValidationError):
        NoteInput()
    with pytest.raises(ValidationError):
        NoteInput(text="a", transcript=Transcript(segments=[TranscriptSegment(text="b")]))


def test_live_transcript_overwrite_rule() -> None:
    segs = [
        TranscriptSegment(speaker="call_taker", text="911 what is the address", start=0.0, end=2.0),
        TranscriptSegment(speaker="caller", text="my brother has a nice", start=2.5, end=4.0, final=False),
        TranscriptSegment(speaker="call_taker", text="okay", start=4.2, end=4.5),
        # the stream revises the caller's hypothesis from 2.5 s on
        TranscriptSegment(speaker="caller", text="my brother has a knife", start=2.5, end=4.1),
    ]
    merged = merge_live_segments(segs)
    assert [s.text for s in merged] == ["911 what is the address", "my brother has a knife", "okay"]
    parsed = parse_note(NoteInput(transcript=Transcript(segments=segs), call_id="c1"))
    assert parsed.segments_used == 3 and parsed.kind == "transcript"
    assert parsed.text.splitlines()[1] == "CALLER: my brother has a knife"
    start, end, seconds = parsed.segment_offsets[1]
    assert parsed.text[start:end] == "CALLER: my brother has a knife" and seconds == 2.5


def test_keyword_negation_and_hits() -> None:
    scorer = KeywordScorer()
    vr = LABELS.index("violence_risk")
    pos, neg = scorer.raw_scores(["SUBJ W/ KNIFE IN KITCHEN", "NO WPNS SEEN, SUBJ CALM"])[:, vr]
    assert pos > 0.5 and neg < 0.1
    hits = scorer.hits("DENIES SI // HAS KNIFE")
    si = [h for h in hits if h.label == "suicide_risk"]
    assert si and all(h.negated for h in si)
    assert any(h.label == "violence_risk" and not h.negated for h in hits)


def test_bundle_round_trip_and_version_checks(tiny_tfidf_bundle: Path, tmp_path: Path) -> None:
    model = DivertModel.load(tiny_tfidf_bundle)
    texts = ["SUBJ W/ KNIFE", "LOUD MUSIC"]
    copy = model.save(tmp_path / "copy")
    np.testing.assert_array_equal(DivertModel.load(copy).predict(texts).scores, model.predict(texts).scores)

    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["preprocessing_version"] = "0"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelArtifactError, match="preprocessing"):
        DivertModel.load(copy)
    with pytest.raises(ModelArtifactError, match="manifest"):
        DivertModel.load(tmp_path)
