"""The synthetic corpus generator and the committed corpus (data/corpus/*.jsonl)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from divert.model.labels import LABELS
from divert.training.corpus.families import families
from divert.training.corpus.generate import SPLIT_FILES, generate_corpus
from divert.training.corpus.profile import (
    REFERENCE_RANGES,
    compare_to_reference,
    profile_file,
    profile_texts,
    read_texts,
)
from divert.training.corpus.splits import normalise
from divert.training.dataset import near_duplicate_matches, normalize_text

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
META_KEYS = ["caller_type", "channel", "language_mix", "style", "family", "call_family", "hard_case"]
META_VALUES: dict[str, set[str | None]] = {
    "caller_type": {"self", "third_party_family", "third_party_bystander", "third_party_professional", "alarm_or_system",
                    "officer"},
    "channel": {"phone", "text_to_911", "transfer", "radio", "alarm"},
    "language_mix": {"en", "es-en"},
    "style": {"cad", "prose", "transcript_clean", "transcript_asr"},
    "call_family": {"medical", "fire", "traffic", "alarm", "hazard", "service", "police", "behavioral"},
    "hard_case": {None, "negation", "hard_negative", "mixed", "history_only", "uncertain"},
}


def _load(name: str) -> list[dict]:
    path = CORPUS / SPLIT_FILES[name]
    if not path.exists():
        pytest.fail(f"committed corpus file missing: {path} (run `divert data generate --out data/corpus`)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[dict]]:
    return {name: _load(name) for name in SPLIT_FILES}


def test_generation_is_byte_identical_for_a_seed(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    sa = generate_corpus(a, seed=7, n_scale=0.06)
    sb = generate_corpus(b, seed=7, n_scale=0.06)
    generate_corpus(c, seed=8, n_scale=0.06)
    assert sa == sb
    for fname in SPLIT_FILES.values():
        assert (a / fname).read_bytes() == (b / fname).read_bytes(), fname
    assert (a / "train.jsonl").read_bytes() != (c / "train.jsonl").read_bytes()
    assert sa["total"] > 300


def test_records_validate(corpus: dict[str, list[dict]]) -> None:
    ids: set[str] = set()
    for name, recs in corpus.items():
        assert recs, name
        assert [r["id"] for r in recs] == sorted(r["id"] for r in recs), f"{name} not sorted by id"
        for r in recs:
            transcript = r["meta"]["style"].startswith("transcript_")
            assert list(r) == ["id", "text", "labels", "group", "meta", *(["transcript"] if transcript else [])]
            assert re.fullmatch(r"gen-\d{6}", r["id"])
            assert r["id"] not in ids
            ids.add(r["id"])
            assert isinstance(r["text"], str) and r["text"].strip()
            assert list(r["labels"]) == list(LABELS)
            assert all(v in (0, 1) for v in r["labels"].values())
            assert list(r["meta"]) == META_KEYS + (["speaker_labels", "evidence"] if transcript else [])
            for key, allowed in META_VALUES.items():
                assert r["meta"][key] in allowed, (r["id"], key, r["meta"][key])
            assert r["group"] == r["meta"]["family"]
            if r["labels"]["suicide_risk"]:
                assert r["labels"]["behavioral_health"] == 1, r["id"]


def test_labels_follow_the_family_definition(corpus: dict[str, list[dict]]) -> None:
    fams = {f.id: f for f in families()}
    for recs in corpus.values():
        for r in recs:
            fam = fams[r["group"]]
            assert r["labels"] == fam.labels(), r["id"]
            assert r["meta"]["hard_case"] == fam.hard_case
            assert r["meta"]["call_family"] == fam.call_family


def test_size_and_family_count(corpus: dict[str, list[dict]]) -> None:
    notes = [r for recs in corpus.values() for r in recs if r["meta"]["style"] in ("cad", "prose")]
    assert len(notes) >= 8000
    assert len({r["group"] for recs in corpus.values() for r in recs}) >= 150
    assert len(families()) >= 150


def test_splits_share_no_group(corpus: dict[str, list[dict]]) -> None:
    groups = {name: {r["group"] for r in recs} for name, recs in corpus.items()}
    names = list(groups)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not groups[a] & groups[b], (a, b, sorted(groups[a] & groups[b])[:5])


def test_challenge_holds_only_unseen_families(corpus: dict[str, list[dict]]) -> None:
    holdout = {f.id for f in families() if f.holdout}
    challenge = {r["group"] for r in corpus["challenge"]}
    seen = {r["group"] for name in ("train", "validation", "test") for r in corpus[name]}
    assert challenge <= holdout
    assert not seen & holdout
    assert len(challenge) >= 20
    assert 600 <= len(corpus["challenge"]) <= 1600
    # held-out bases are new kinds of call, not variants of trained ones
    held_bases = {g.split(".")[0] for g in challenge}
    assert not held_bases & {g.split(".")[0] for g in seen}


def test_every_label_has_positives_in_every_split(corpus: dict[str, list[dict]]) -> None:
    for name, recs in corpus.items():
        for lab in LABELS:
            pos = sum(r["labels"][lab] for r in recs)
            assert pos >= 30, (name, lab, pos)
            assert pos < len(recs), (name, lab)


def test_all_allowed_label_combinations_present(corpus: dict[str, list[dict]]) -> None:
    combos = Counter(tuple(r["labels"][lab] for lab in LABELS) for recs in corpus.values() for r in recs)
    allowed = {(bh, si, sub, vio, med) for bh in (0, 1) for si in (0, 1) for sub in (0, 1) for vio in (0, 1) for med in (0, 1)
               if not (si and not bh)}
    assert len(allowed) == 24
    assert allowed <= set(combos), sorted(allowed - set(combos))
    assert set(combos) <= allowed


def test_hard_cases_in_quantity(corpus: dict[str, list[dict]]) -> None:
    counts = Counter(r["meta"]["hard_case"] for recs in corpus.values() for r in recs)
    for case in ("negation", "hard_negative", "mixed", "history_only", "uncertain"):
        assert counts[case] >= 200, (case, counts[case])


def test_no_exact_duplicates_across_or_within_splits(corpus: dict[str, list[dict]]) -> None:
    seen: dict[str, str] = {}
    for recs in corpus.values():
        for r in recs:
            key = normalise(r["text"])
            assert key not in seen, (r["id"], seen.get(key))
            seen[key] = r["id"]


def test_no_near_duplicates_across_splits(corpus: dict[str, list[dict]]) -> None:
    """Token-set ratio >= 95 never crosses splits: the validator's own check (`divert data validate`), on every
    pair of records, with its exact candidate filter (fast even with long transcripts)."""
    keys = {name: [normalize_text(r["text"]) for r in recs] for name, recs in corpus.items()}
    names = list(keys)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert near_duplicate_matches(keys[a], keys[b]) == {}, (a, b)


def test_spanish_and_prose_shares(corpus: dict[str, list[dict]]) -> None:
    notes = [r for recs in corpus.values() for r in recs if r["meta"]["style"] in ("cad", "prose")]
    es = sum(r["meta"]["language_mix"] == "es-en" for r in notes) / len(notes)
    prose = sum(r["meta"]["style"] == "prose" for r in notes) / len(notes)
    assert 0.025 <= es <= 0.07
    assert 0.18 <= prose <= 0.28
    bh = sum(r["labels"]["behavioral_health"] for r in notes) / len(notes)
    assert 0.15 <= bh <= 0.35


def test_phone_numbers_are_fictional(corpus: dict[str, list[dict]]) -> None:
    phone = re.compile(r"\b\d{3}-\d{4}\b")
    for recs in corpus.values():
        for r in recs:
            for m in phone.finditer(r["text"]):
                assert m.group(0).startswith("555-01"), (r["id"], m.group(0))


def test_profile_of_committed_notes_inside_reference_ranges() -> None:
    texts = [t for fname in SPLIT_FILES.values() for t in read_texts(CORPUS / fname, styles={"cad", "prose"})]
    rows = compare_to_reference(profile_texts(texts))
    outside = [(r.figure, round(r.value, 2), (r.low, r.high)) for r in rows if not r.inside]
    assert not outside, outside
    assert {r.figure for r in rows} == set(REFERENCE_RANGES)


def test_profile_figures_on_known_texts(tmp_path: Path) -> None:
    texts = ["RP ADV 34YOM / NO WPNS", "caller says he is fine.", "Male at 14:32:10, unk wpns - poss armed",
             "SMOKE SHOWING ON 3/4/2026\nFD PAGED"]
    p = profile_texts(texts)
    assert p["upper_share"] == 50.0 and p["lower_share"] == 25.0 and p["mixed_share"] == 25.0
    assert p["slash_sep_share"] == 25.0
    assert p["clock_time_share"] == 25.0 and p["date_share"] == 25.0
    assert p["weapon_negation_share"] == 50.0
    assert p["caller_ref_share"] == 50.0
    assert p["terminal_punct_share"] == 25.0
    assert p["abbr_median"] >= 1
    csv_path = tmp_path / "c.csv"
    csv_path.write_text("text,violence_risk\n" + "\n".join(f'"{t}",0' for t in texts) + "\n", encoding="utf-8")
    assert profile_file(csv_path)["n"] == 4.0
