"""Call transcripts in the generated corpus: styles, segments, parser agreement and caller-answer labels."""

from __future__ import annotations

import itertools
import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from divert.model.inputs import Transcript
from divert.training.corpus.facts import VIO
from divert.training.corpus.families import families
from divert.training.corpus.generate import SPLIT_FILES, generate_corpus
from divert.training.corpus.profile import (
    ASR_REFERENCE_RANGES,
    TRANSCRIPT_REFERENCE_RANGES,
    compare_to_reference,
    profile_file,
    profile_transcripts,
)
from divert.training.corpus.render_transcript import STYLES, number_words, parsed_text, render_call
from divert.training.corpus.scenario import sample_scenario

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
WEAPON_WORDS = re.compile(r"\b(?:knife|knives|gun|guns|pistol|rifle|weapons?|armed|machete|hammer|bat)\b", re.I)
NEGATIVE = re.compile(r"\b(?:no|not|nothing|don't|doesn't|dont|doesnt|never|nada)\b", re.I)
WEAPON_QUESTION = re.compile(r"\b(?:weapons?|armed|guns?|knife)\b", re.I)


def _load(name: str) -> list[dict]:
    path = CORPUS / SPLIT_FILES[name]
    if not path.exists():
        pytest.fail(f"committed corpus file missing: {path} (run `divert data generate --out data/corpus`)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def calls() -> dict[str, list[dict]]:
    return {name: [r for r in _load(name) if r["meta"]["style"] in STYLES] for name in SPLIT_FILES}


def _lines(rec: dict, speaker: str) -> list[str]:
    return [s["text"] for s in rec["transcript"]["segments"] if s["speaker"] == speaker]


def test_every_split_has_both_styles_and_unlabeled_calls(calls: dict[str, list[dict]]) -> None:
    total = sum(len(v) for v in calls.values())
    assert 3000 <= total <= 4200, total
    assert 1900 <= len(calls["train"]) <= 2600
    for name, recs in calls.items():
        styles = Counter(r["meta"]["style"] for r in recs)
        assert styles["transcript_clean"] >= 50 and styles["transcript_asr"] >= 50, (name, styles)
        unlabeled = [r for r in recs if not r["meta"]["speaker_labels"]]
        assert len(unlabeled) >= 0.3 * len(recs), name
        for r in unlabeled:
            assert {s["speaker"] for s in r["transcript"]["segments"]} == {"unknown"}, r["id"]
            assert "CALLER:" not in r["text"] and "CALL TAKER:" not in r["text"]
        for r in recs:
            if r["meta"]["speaker_labels"]:
                assert {s["speaker"] for s in r["transcript"]["segments"]} == {"caller", "call_taker"}, r["id"]
    assert sum(r["meta"]["language_mix"] == "es-en" for v in calls.values() for r in v) >= 100


def test_text_is_the_parsers_rendering_of_the_segments(calls: dict[str, list[dict]]) -> None:
    for recs in calls.values():
        for r in recs:
            tr = Transcript.model_validate(r["transcript"])  # the service's own schema accepts the field
            assert tr.language == r["meta"]["language_mix"]
            assert parsed_text(r["transcript"]["segments"]) == r["text"], r["id"]


def test_segment_timings_are_plausible(calls: dict[str, list[dict]]) -> None:
    long_calls = 0
    for recs in calls.values():
        for r in recs:
            segs = r["transcript"]["segments"]
            starts = [s["start"] for s in segs]
            assert starts == sorted(starts) and len(set(starts)) == len(starts), r["id"]
            for a, b in itertools.pairwise(segs):
                assert a["end"] <= b["start"]
            for s in segs:
                assert s["final"] is True and 0 <= s["confidence"] <= 1 and s["end"] > s["start"]
                # speech at 1.5-5 words a second
                assert 1.0 <= len(s["text"].split()) / (s["end"] - s["start"]) <= 5.5 or len(s["text"].split()) <= 2
            long_calls += segs[-1]["end"] > 90
    assert long_calls >= 1500


def test_lengths_follow_the_plan(calls: dict[str, list[dict]]) -> None:
    words = sorted(len(r["text"].split()) for recs in calls.values() for r in recs)
    median = words[len(words) // 2]
    assert 200 <= median <= 300, median
    assert words[int(0.9 * len(words))] <= 420  # mostly under ~350 words
    assert sum(w < 100 for w in words) >= 0.05 * len(words)  # openings only


def test_families_stay_in_one_split_and_challenge_calls_are_unseen(calls: dict[str, list[dict]]) -> None:
    groups = {name: {r["group"] for r in recs} for name, recs in calls.items()}
    all_groups = {name: {r["group"] for r in _load(name)} for name in SPLIT_FILES}
    for name, gs in groups.items():
        for other, ogs in all_groups.items():
            if other != name:
                assert not gs & ogs, (name, other)
    holdout = {f.id for f in families() if f.holdout}
    assert groups["challenge"] and groups["challenge"] <= holdout
    trained_bases = {g.split(".")[0] for g in all_groups["train"]}
    assert not {g.split(".")[0] for g in groups["challenge"]} & trained_bases


def test_question_only_weapon_mentions_are_negatives(calls: dict[str, list[dict]]) -> None:
    """The call-taker asks about weapons, the caller says no: violence_risk 0. The caller's own words about a
    weapon in a violence-0 call are always negated (hard-negative families with "knife shop" etc. aside)."""
    asked_no = 0
    for recs in calls.values():
        for r in recs:
            if not r["meta"]["speaker_labels"] or r["meta"]["hard_case"] == "hard_negative":
                continue
            taker = " ".join(_lines(r, "call_taker"))
            if r["labels"][VIO] == 0:
                asked_no += bool(WEAPON_QUESTION.search(taker))
                for line in _lines(r, "caller"):
                    if WEAPON_WORDS.search(line):
                        assert NEGATIVE.search(line), (r["id"], line)
    assert asked_no >= 150, asked_no


KNIFE_FAMILIES = {f.id for f in families() if ("v_knife",) in f.core}


def test_weapon_positives_come_from_the_caller(calls: dict[str, list[dict]]) -> None:
    knife_families = KNIFE_FAMILIES
    seen = 0
    for recs in calls.values():
        for r in recs:
            if r["group"] in knife_families and r["meta"]["speaker_labels"]:
                assert r["labels"][VIO] == 1
                caller = " ".join(_lines(r, "caller")).lower()
                assert "knife" in caller or "cuchillo" in caller, r["id"]
                seen += 1
    assert seen >= 30


def test_decisive_sentence_sometimes_late(calls: dict[str, list[dict]]) -> None:
    late = 0
    for recs in calls.values():
        for r in recs:
            segs = r["transcript"]["segments"]
            if r["labels"][VIO] and segs[-1]["end"] > 120:
                hits = [s["start"] for s in segs if s["speaker"] != "call_taker" and re.search(r"knife|gun", s["text"], re.I)]
                late += bool(hits) and hits[0] > 0.5 * segs[-1]["end"]
    assert late >= 30, late


def test_small_generation_has_transcripts(tmp_path: Path) -> None:
    summary = generate_corpus(tmp_path, seed=11, n_scale=0.05)
    styles = Counter(s for per in summary["styles"].values() for s, n in per.items() for _ in range(n))
    assert styles["transcript_clean"] >= 40 and styles["transcript_asr"] >= 40
    for fname in SPLIT_FILES.values():
        for line in (tmp_path / fname).read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if r["meta"]["style"] in STYLES:
                assert parsed_text(r["transcript"]["segments"]) == r["text"]


def test_negative_protocol_questions_never_turn_labels_on() -> None:
    """A family with no weapon, substance or self-harm fact, rendered many times: the call-taker asks, the
    caller says no, the labels stay as the family defines them."""
    fam = next(f for f in families() if f.id == "bh_psychosis_home.noweap")
    assert fam.labels()[VIO] == 0
    rng = random.Random(5)
    asked = 0
    for k in range(60):
        scn = sample_scenario(fam, rng)
        out = render_call(scn, rng, STYLES[k % 2])
        taker = " ".join(s["text"] for s in out.segments if s["speaker"] in ("call_taker", "unknown")).lower()
        asked += bool(re.search(r"weapon|armed|gun", taker))
    assert asked >= 30


def test_asr_style_surface() -> None:
    fam = next(f for f in families() if f.id == "pol_dv.noweap")
    rng = random.Random(2)
    texts = []
    for _ in range(30):
        out = render_call(sample_scenario(fam, rng), rng, "transcript_asr")
        texts.append(out.text)
        assert not re.search(r"\d", out.text)
    prof = profile_transcripts(texts)
    assert prof["lower_share"] >= 90 and prof["question_share"] == 0
    assert number_words("911", rng) == "nine one one" and number_words("42", rng) == "forty two"


def test_profile_of_committed_transcripts_inside_ranges() -> None:
    figures = profile_file(CORPUS / "test.jsonl")
    rows = [r for r in compare_to_reference(figures) if "." in r.figure]
    assert {r.figure for r in rows} == {f"transcript_clean.{k}" for k in TRANSCRIPT_REFERENCE_RANGES} | {
        f"transcript_asr.{k}" for k in ASR_REFERENCE_RANGES}
    outside = [(r.figure, round(r.value, 2), (r.low, r.high)) for r in rows if not r.inside]
    assert not outside, outside


def test_evidence_spans_mark_the_turns_that_carry_each_label(calls: dict[str, list[dict]]) -> None:
    with_knife = 0
    for recs in calls.values():
        for r in recs:
            evidence = r["meta"]["evidence"]
            assert {lab for lab, spans in evidence.items() if spans} <= {k for k, v in r["labels"].items() if v}
            for spans in evidence.values():
                assert all(0 <= a < b <= len(r["text"]) for a, b in spans)
            if r["group"] in KNIFE_FAMILIES and r["meta"]["speaker_labels"]:
                held = " ".join(r["text"][a:b] for a, b in evidence[VIO]).lower()
                assert "knife" in held or "cuchillo" in held, r["id"]
                with_knife += 1
    positives = [(r, lab) for recs in calls.values() for r in recs for lab, v in r["labels"].items() if v]
    covered = sum(lab in r["meta"]["evidence"] for r, lab in positives)
    assert covered >= 0.9 * len(positives), (covered, len(positives))
    assert with_knife >= 30
