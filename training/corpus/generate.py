"""Entry point: generate the labeled synthetic corpus and write the split files.

`generate_corpus(out_dir, seed)` is deterministic: every random draw comes from `random.Random` objects seeded
from `seed` and the family id (never global random, time or set order), so the same seed writes byte-identical
files. `n_scale` shrinks the corpus for tests.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

from divert.model.labels import LABELS
from divert.training.corpus.families import families
from divert.training.corpus.render_cad import make_agencies, render_cad
from divert.training.corpus.render_prose import render_prose
from divert.training.corpus.render_transcript import render_call
from divert.training.corpus.scenario import Family, Scenario, sample_scenario
from divert.training.corpus.splits import (
    SPLITS,
    assign_groups,
    drop_cross_split_near_duplicates,
    drop_cross_split_transcript_duplicates,
    drop_exact_duplicates,
)

DEFAULT_SEED = 20261124
TARGET_NOTES = 9800  # before deduplication
# Share of notes per call family. Behavioural calls are oversampled (~23% here vs ~1.7% of real dispatch,
# profile §1.5) so every label has enough positives; the plain families keep the real order medical > traffic > fire.
CALL_FAMILY_SHARE: dict[str, float] = {
    "behavioral": 0.235, "police": 0.16, "medical": 0.285, "fire": 0.08, "traffic": 0.10, "alarm": 0.05,
    "hazard": 0.035, "service": 0.055,
}
PROSE_SHARE = 0.23
# Transcripts per family, as a share of its notes (about 3,500 calls before deduplication), half of each style.
TRANSCRIPT_RATIO = 0.37
NOTE_STYLES = ("cad", "prose")
SPLIT_FILES = {"train": "train.jsonl", "validation": "validation.jsonl", "test": "test.jsonl", "challenge": "challenge.jsonl"}

Record = dict[str, Any]


def family_sizes(fams: list[Family], seed: int, total: int) -> dict[str, int]:
    per_cf = Counter(f.call_family for f in fams)
    out: dict[str, int] = {}
    for f in fams:
        rng = random.Random(f"{seed}:size:{f.id}")
        base = total * CALL_FAMILY_SHARE[f.call_family] / per_cf[f.call_family] * f.weight
        if f.hard_case == "uncertain":  # uncertain-weapon families are few: give each more notes
            base *= 2.0
        out[f.id] = max(3, round(base * rng.uniform(0.7, 1.3)))
    return out


def _record(text: str, fam: Family, scn: Scenario, style: str, spanish: bool) -> Record:
    return {
        "id": "",
        "text": text,
        "labels": {name: int(scn.labels[name]) for name in LABELS},
        "group": fam.id,
        "meta": {
            "caller_type": scn.caller_type,
            "channel": scn.channel,
            "language_mix": "es-en" if spanish else "en",
            "style": style,
            "family": fam.id,
            "call_family": fam.call_family,
            "hard_case": fam.hard_case,
        },
    }


def _transcript_record(fam: Family, scn: Scenario, style: str, rng: random.Random) -> Record:
    out = render_call(scn, rng, style)
    rec = _record(out.text, fam, scn, style, out.spanish)
    rec["meta"]["speaker_labels"] = out.labelled
    rec["meta"]["evidence"] = out.evidence
    rec["transcript"] = {"segments": out.segments, "language": out.language}
    return rec


def generate_records(seed: int = DEFAULT_SEED, n_scale: float = 1.0) -> list[Record]:
    """Notes first (CAD and prose, in family order), then transcripts (in family order), each from its own
    seeded stream, so adding transcripts leaves the notes unchanged."""
    fams = families()
    agencies = make_agencies(random.Random(f"{seed}:agencies"))
    sizes = family_sizes(fams, seed, round(TARGET_NOTES * n_scale))
    records: list[Record] = []
    for fam in fams:
        rng = random.Random(f"{seed}:notes:{fam.id}")
        for _ in range(sizes[fam.id]):
            scn = sample_scenario(fam, rng)
            if rng.random() < PROSE_SHARE:
                out = render_prose(scn, rng)
                style = "prose"
            else:
                out = render_cad(scn, rng, agencies[rng.randrange(len(agencies))])
                style = "cad"
            records.append(_record(out.text, fam, scn, style, out.spanish))
    for fam in fams:
        rng = random.Random(f"{seed}:transcripts:{fam.id}")
        n = max(1, round(sizes[fam.id] * TRANSCRIPT_RATIO * rng.uniform(0.8, 1.2)))
        for k in range(n):
            scn = sample_scenario(fam, rng)
            style = "transcript_clean" if (k + rng.randrange(2)) % 2 == 0 else "transcript_asr"
            records.append(_transcript_record(fam, scn, style, rng))
    for i, r in enumerate(records):
        r["id"] = f"gen-{i:06d}"
    return records


def split_records(records: list[Record], seed: int) -> tuple[dict[str, list[Record]], dict[str, int]]:
    holdout = {f.id for f in families() if f.holdout}
    records = drop_exact_duplicates(records)
    stats: dict[str, tuple[int, dict[str, int]]] = {}
    for r in records:
        g = str(r["group"])
        if g in holdout or r["meta"]["style"] not in NOTE_STYLES:  # the notes decide the split of a family
            continue
        n, pos = stats.get(g, (0, {lab: 0 for lab in LABELS}))
        stats[g] = (n + 1, {lab: pos[lab] + int(r["labels"][lab]) for lab in LABELS})
    assignment = assign_groups(stats, seed)
    out: dict[str, list[Record]] = {s: [] for s in (*SPLITS, "challenge")}
    for r in records:
        g = str(r["group"])
        out["challenge" if g in holdout else assignment[g]].append(r)
    notes = {s: [r for r in recs if r["meta"]["style"] in NOTE_STYLES] for s, recs in out.items()}
    calls = {s: [r for r in recs if r["meta"]["style"] not in NOTE_STYLES] for s, recs in out.items()}
    dropped = drop_cross_split_near_duplicates(notes)
    dropped_calls = drop_cross_split_transcript_duplicates(notes, calls)
    out = {s: notes[s] + calls[s] for s in out}
    return out, {s: dropped[s] + dropped_calls[s] for s in out}


def write_jsonl(path: Path, records: list[Record]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = sorted(records, key=lambda r: str(r["id"]))
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def summarise(splits: dict[str, list[Record]], dropped: dict[str, int]) -> dict[str, Any]:
    all_recs = [r for recs in splits.values() for r in recs]
    combos = Counter("".join(str(r["labels"][lab]) for lab in LABELS) for r in all_recs)
    return {
        "total": len(all_recs),
        "families": len({r["group"] for r in all_recs}),
        "per_split": {s: len(v) for s, v in splits.items()},
        "positives": {s: {lab: sum(int(r["labels"][lab]) for r in v) for lab in LABELS} for s, v in splits.items()},
        "styles": {s: dict(sorted(Counter(str(r["meta"]["style"]) for r in v).items())) for s, v in splits.items()},
        "hard_cases": dict(sorted(Counter(str(r["meta"]["hard_case"]) for r in all_recs).items())),
        "language_mix": dict(sorted(Counter(str(r["meta"]["language_mix"]) for r in all_recs).items())),
        "call_family": dict(sorted(Counter(str(r["meta"]["call_family"]) for r in all_recs).items())),
        "label_combinations": dict(sorted(combos.items())),
        "near_duplicates_dropped": dropped,
    }


def generate_corpus(out_dir: Path, seed: int = DEFAULT_SEED, n_scale: float = 1.0) -> dict[str, Any]:
    """Generate, deduplicate, split and write train/validation/test/challenge JSONL; returns summary counts."""
    out_dir = Path(out_dir)
    records = generate_records(seed, n_scale)
    splits, dropped = split_records(records, seed)
    for name, fname in SPLIT_FILES.items():
        write_jsonl(out_dir / fname, splits[name])
    return summarise(splits, dropped)


if __name__ == "__main__":  # pragma: no cover
    import sys

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("data/corpus")
    print(json.dumps(generate_corpus(target), indent=1))
