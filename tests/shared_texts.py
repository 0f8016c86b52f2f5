"""Hand-written notes that several test modules check against different models."""

from __future__ import annotations

import numpy as np

from divert.model.labels import LABEL_INDEX, LABELS

# A negated weapon mention in notes of several styles: "no weapons" must not count as evidence of violence.
NEGATED_WEAPONS = [
    "RP ADV SUBJ YELLING AT NEIGHBORS NO WEAPONS",
    "caller says her brother is confused and pacing, no weapons seen",
    "FEMALE CRYING IN LOBBY NO WEAPONS PER RP",
    "male talking to himself outside the store, no weapons",
]


def trigger_notes(n: int, seed: int, *, trigger: str, filler: list[str]) -> tuple[list[str], np.ndarray]:
    """`n` seeded notes of filler words; every other one holds `trigger` and only those have violence_risk on."""
    rng = np.random.default_rng(seed)
    texts, labels = [], np.zeros((n, len(LABELS)))
    for i in range(n):
        words = [str(w) for w in rng.choice(filler, size=int(rng.integers(6, 12)))]
        if i % 2 == 0:
            words.insert(int(rng.integers(len(words) + 1)), trigger)
            labels[i, LABEL_INDEX["violence_risk"]] = 1.0
        texts.append(" ".join(words))
    return texts, labels
