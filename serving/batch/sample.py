"""A generated call history for demos, benchmarks and tests: bundled corpus notes with times, areas and codes.

Each call takes a note of the bundled generated corpus (`data/corpus/*.jsonl`), a time drawn from a weekly
profile (quiet at night, busiest in the afternoon and evening, more on weekend nights), an area, and a nature code
drawn from the note's call family with the code noise seen in dispatch data: most behavioral-health calls are
coded as something else (welfare check, disturbance, suspicious person, trespass), a few as EDP / MNTL. A few
rows are broken on purpose (`broken=`): an empty note, an unreadable time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT / "data" / "corpus"
AREAS: tuple[str, ...] = ("north", "south", "east", "west", "central")
AREA_WEIGHTS = (0.18, 0.22, 0.17, 0.15, 0.28)

# call family -> (codes, weights); behavioral calls mostly carry a non-BH code.
CODES: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "behavioral": (("WELFARE", "DISORD", "SUSP", "TRESPASS", "EDP", "MNTL", "NOISE", "ASSIST"),
                   (0.26, 0.18, 0.14, 0.08, 0.14, 0.08, 0.06, 0.06)),
    "medical": (("SICK", "FALL", "CARDIAC", "RESP", "SEIZURE", "OD", "UNCON"), (0.3, 0.2, 0.12, 0.12, 0.1, 0.08, 0.08)),
    "police": (("ASSAULT", "FIGHT", "DVA", "LARCENY", "BURGLARY", "THREATS", "WEAPON"),
               (0.18, 0.16, 0.16, 0.16, 0.12, 0.12, 0.1)),
    "traffic": (("MVA", "MVAINJY", "TSTOP", "DISVEH"), (0.4, 0.2, 0.2, 0.2)),
    "fire": (("FSTRU", "FSMOKE", "ALRF", "FVEH"), (0.3, 0.3, 0.3, 0.1)),
    "service": (("ASSIST", "CITASST", "INFO", "PROPLOST"), (0.3, 0.3, 0.2, 0.2)),
    "alarm": (("ALRBA", "ALRBS", "ALRR"), (0.5, 0.3, 0.2)),
    "hazard": (("WIRES", "GASLEAK", "HAZ"), (0.4, 0.3, 0.3)),
}
SUICIDE_CODES = (("SUICIDE", "SUICTHRT", "WELFARE", "MNTL"), (0.3, 0.2, 0.35, 0.15))

# relative call volume by hour of day, and by weekday (mon..sun)
HOURLY = np.array([3, 2.4, 2, 1.6, 1.4, 1.5, 2.2, 3.2, 4.2, 4.8, 5.2, 5.5,
                   5.8, 5.9, 6.0, 6.2, 6.4, 6.5, 6.3, 6.0, 5.6, 5.0, 4.4, 3.6])
DAILY = np.array([1.0, 0.97, 0.98, 1.0, 1.08, 1.12, 1.05])


def corpus_notes(paths: Sequence[Path] | None = None) -> list[dict[str, object]]:
    paths = paths or sorted(CORPUS.glob("*.jsonl"))
    notes: list[dict[str, object]] = []
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            notes.extend(json.loads(line) for line in fh if line.strip())
    return notes


def sample_calls(n: int, *, seed: int = 0, start: str = "2025-01-06", days: int = 364, broken: int = 0,
                 notes: list[dict[str, object]] | None = None) -> pd.DataFrame:
    """`n` calls: id, text, time (ISO-8601, local), area, nature_code. `broken` rows have a problem."""
    rng = np.random.default_rng(seed)
    notes = notes if notes is not None else corpus_notes()
    pick = rng.integers(0, len(notes), size=n)
    hour_weights = np.outer(DAILY, HOURLY).ravel()
    hour_of_week = rng.choice(168, size=n, p=hour_weights / hour_weights.sum())
    week = rng.integers(0, days // 7, size=n)
    minute = rng.integers(0, 60, size=n)
    base = pd.Timestamp(start).normalize() - pd.Timedelta(days=pd.Timestamp(start).weekday())
    times = base + pd.to_timedelta(week * 7 * 24 * 60 + hour_of_week * 60 + minute, unit="min")
    areas = rng.choice(len(AREAS), size=n, p=np.array(AREA_WEIGHTS) / sum(AREA_WEIGHTS))
    texts: list[str] = []
    codes: list[str] = []
    for k in pick:
        note = notes[int(k)]
        texts.append(str(note["text"]))
        meta = note.get("meta") or {}
        labels = note.get("labels") or {}
        family = str(meta.get("call_family", "service")) if isinstance(meta, dict) else "service"
        choices, weights = SUICIDE_CODES if isinstance(labels, dict) and labels.get("suicide_risk") else (
            CODES.get(family, CODES["service"]))
        codes.append(str(rng.choice(choices, p=np.array(weights) / sum(weights))))
    frame = pd.DataFrame({
        "id": [f"C{seed:02d}-{i:08d}" for i in range(n)],
        "text": texts,
        "time": times.strftime("%Y-%m-%dT%H:%M:%S"),
        "area": [AREAS[a] for a in areas],
        "nature_code": codes,
    })
    for j, row in enumerate(rng.choice(n, size=min(broken, n), replace=False)):
        if j % 2 == 0:
            frame.loc[row, "text"] = "   "
        else:
            frame.loc[row, "time"] = "yesterday evening"
    return frame
