"""Deduplication and group-wise, label-stratified split assignment."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from divert.model.labels import LABELS

SPLITS = ("train", "validation", "test")
SPLIT_SHARES = {"train": 0.70, "validation": 0.15, "test": 0.15}
NEAR_DUP_CUTOFF = 95

_NON_WORD = re.compile(r"[^a-z0-9áéíóúñ ]+")
_WS = re.compile(r"\s+")

Record = dict[str, Any]


def normalise(text: str) -> str:
    """Case, whitespace and punctuation folded: the key for exact-duplicate detection and fuzzy matching."""
    t = _NON_WORD.sub(" ", text.lower())
    return _WS.sub(" ", t).strip()


def drop_exact_duplicates(records: Sequence[Record]) -> list[Record]:
    """Keep the first record of each normalised text (records come in id order)."""
    seen: set[str] = set()
    out: list[Record] = []
    for r in records:
        key = normalise(str(r["text"]))
        if key in seen:
            continue
        seen.add(key)
        out.append(r)
    return out


def near_duplicate_rows(queries: Sequence[str], choices: Sequence[str], cutoff: int = NEAR_DUP_CUTOFF) -> list[int]:
    """Indices of `queries` with a token-set-ratio >= cutoff against any of `choices` (normalised texts)."""
    if not queries or not choices:
        return []
    out: list[int] = []
    step = 512
    for start in range(0, len(queries), step):
        block = list(queries[start : start + step])
        m = process.cdist(block, list(choices), scorer=fuzz.token_set_ratio, score_cutoff=cutoff, dtype=np.uint8,
                          workers=1)
        hits = np.nonzero(m.max(axis=1) >= cutoff)[0]
        out.extend(int(start + i) for i in hits)
    return out


def drop_cross_split_near_duplicates(split_records: dict[str, list[Record]]) -> dict[str, int]:
    """Remove near-duplicates across splits, always from the smaller split (ties: later name). Returns drops."""
    names = sorted(split_records, key=lambda n: (-len(split_records[n]), n))
    dropped = {n: 0 for n in names}
    for i, big in enumerate(names):
        big_texts = [normalise(str(r["text"])) for r in split_records[big]]
        for small in names[i + 1 :]:
            small_texts = [normalise(str(r["text"])) for r in split_records[small]]
            bad = set(near_duplicate_rows(small_texts, big_texts))
            if bad:
                split_records[small] = [r for j, r in enumerate(split_records[small]) if j not in bad]
                dropped[small] += len(bad)
    return dropped


def assign_groups(group_stats: dict[str, tuple[int, dict[str, int]]], seed: int, min_pos: int = 45,
                  attempts: int = 200) -> dict[str, str]:
    """Assign each group to train/validation/test, ~70/15/15 of notes, stratified by label positives.

    group_stats: group -> (n_notes, positives per label). Greedy: groups with the rarest labels go first, each to the
    split that most lacks its labels and its size. Retries with a new shuffle until every split holds >= min_pos
    positives of every label (or returns the best attempt).
    """
    groups = sorted(group_stats)
    total_n = sum(n for n, _ in group_stats.values())
    total_pos = {lab: sum(p[lab] for _, p in group_stats.values()) for lab in LABELS}
    best: dict[str, str] = {}
    best_score = -1.0
    for attempt in range(attempts):
        rng = random.Random(f"{seed}:split:{attempt}")
        order = list(groups)
        rng.shuffle(order)

        def rarity(g: str) -> float:
            _, pos = group_stats[g]
            on = [total_pos[lab] for lab in LABELS if pos[lab] > 0]
            return min(on) if on else float("inf")

        order.sort(key=rarity)
        cur_n = {s: 0 for s in SPLITS}
        cur_pos = {s: {lab: 0 for lab in LABELS} for s in SPLITS}
        assign: dict[str, str] = {}
        for g in order:
            n, pos = group_stats[g]
            scores = []
            for s in SPLITS:
                want_n = SPLIT_SHARES[s] * total_n
                score = (want_n - cur_n[s]) / want_n
                for lab in LABELS:
                    if pos[lab] > 0:
                        want = SPLIT_SHARES[s] * total_pos[lab]
                        score += 2.0 * (want - cur_pos[s][lab]) / max(want, 1.0)
                scores.append((score + rng.uniform(0, 0.15), s))
            s = max(scores)[1]
            assign[g] = s
            cur_n[s] += n
            for lab in LABELS:
                cur_pos[s][lab] += pos[lab]
        worst = min(cur_pos[s][lab] for s in SPLITS for lab in LABELS)
        size_ok = all(abs(cur_n[s] / total_n - SPLIT_SHARES[s]) < 0.04 for s in SPLITS)
        score = worst + (1000 if size_ok else 0)
        if score > best_score:
            best, best_score = assign, score
        if worst >= min_pos and size_ok:
            return assign
    return best


def drop_cross_split_transcript_duplicates(notes: dict[str, list[Record]], calls: dict[str, list[Record]]) -> dict[str, int]:
    """Remove transcripts that are near-duplicates (the validator's test: `divert data validate`, token-set ratio
    >= 95 on `normalize_text`) of any record in another split. Only transcripts are dropped, so the notes stay as
    they are; a long call whose words contain a short note's every word scores 100 and goes."""
    from divert.training.dataset import near_duplicate_matches, normalize_text

    names = sorted(calls, key=lambda n: (-len(calls[n]), n))
    dropped = {n: 0 for n in calls}
    for name in names:
        queries = [normalize_text(str(r["text"])) for r in calls[name]]
        refs = [normalize_text(str(r["text"])) for other in names if other != name
                for r in notes[other] + calls[other]]
        bad = set(near_duplicate_matches(refs, queries)) if queries and refs else set()
        if bad:
            calls[name] = [r for j, r in enumerate(calls[name]) if j not in bad]
            dropped[name] += len(bad)
    return dropped
