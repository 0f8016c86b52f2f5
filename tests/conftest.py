"""Shared fixtures: a tiny labeled dataset and tiny trained models that build in seconds."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from divert.model.labels import LABELS

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# (text, labels) written for tests only; each label has clear positives and negatives, negations included.
_TINY: list[tuple[str, dict[str, int]]] = [
    ("RP ADV BROTHER OFF HIS MEDS TALKING TO PEOPLE WHO ARENT THERE NO WPNS", {"behavioral_health": 1}),
    ("SUBJ STATING HE WANTS TO KILL HIMSELF HAS A KNIFE", {"behavioral_health": 1, "suicide_risk": 1, "violence_risk": 1}),
    ("caller says her son is threatening suicide, took pills, hard to wake",
     {"behavioral_health": 1, "suicide_risk": 1, "substance_use": 1, "medical_emergency": 1}),
    ("INTOX MALE PASSED OUT AT BUS STOP UNRESPONSIVE", {"behavioral_health": 1, "substance_use": 1, "medical_emergency": 1}),
    ("DRUNK MALE FIGHTING WITH BOUNCER OUTSIDE BAR", {"substance_use": 1, "violence_risk": 1}),
    ("DV IN PROGRESS HUSBAND HITTING WIFE", {"violence_risk": 1}),
    ("2 SUBJ FIGHTING IN PARKING LOT ONE W/ BAT", {"violence_risk": 1}),
    ("78 YOF FELL HIT HEAD BLEEDING HEAVILY", {"medical_emergency": 1}),
    ("MALE NOT BREATHING CPR IN PROGRESS", {"medical_emergency": 1}),
    ("SEIZURE 30 YOM ON THE GROUND SHAKING", {"medical_emergency": 1}),
    ("woman screaming at cars in the intersection, seems confused, no weapons", {"behavioral_health": 1}),
    ("FEMALE SAYS SHE IS GOING TO END HER LIFE DENIES WEAPONS", {"behavioral_health": 1, "suicide_risk": 1}),
    ("PATIENT DEPRESSED AND SUICIDAL, CUT WRISTS, BLEEDING", {"behavioral_health": 1, "suicide_risk": 1, "medical_emergency": 1}),
    ("HIGH ON METH PARANOID SAYS PEOPLE ARE CHASING HIM", {"behavioral_health": 1, "substance_use": 1}),
    ("NEIGHBOR THREATENING TO SHOOT RP OVER FENCE LINE", {"violence_risk": 1}),
    ("OD ON HEROIN NARCAN GIVEN NOT BREATHING", {"behavioral_health": 1, "substance_use": 1, "medical_emergency": 1}),
    ("LOUD MUSIC NEXT DOOR NOISE COMPLAINT", {}),
    ("2 VEH MVA NB HWY 9 NO INJ BLOCKING LANE", {}),
    ("SMOKE DET ALARM ZONE 3 KH ENRT", {}),
    ("CAR WITH SUICIDE DOORS BLOCKING DRIVEWAY", {}),
    ("GOT MY FLU SHOT AT THE PHARMACY, LOST MY WALLET THERE", {}),
    ("MAN HIGH ON A LADDER CLEANING GUTTERS ASKING FOR LIFT ASSIST NO INJURIES", {}),
    ("KNIFE SHARPENING SHOP ALARM SOUNDING NO ONE ON SCENE", {}),
    ("OVERDUE LIBRARY BOOKS DISPUTE AT FRONT DESK", {}),
    ("SUSPICIOUS VEH PARKED IFO RES UNK PLATE", {}),
    ("THEFT OF BIKE FROM GARAGE LAST NIGHT", {}),
    ("TREE DOWN ACROSS RD WIRES DOWN", {}),
    ("LIFT ASSIST 82 YOM FELL NO INJURY C/B", {}),
    ("RP ADV SUBJ IS CALM NOW, NO WEAPONS, NOT SUICIDAL", {}),
    ("BURGLARY ALARM REAR DOOR OPER 44", {}),
    ("PARKING COMPLAINT CAR ON SIDEWALK", {}),
    ("DOG LOOSE IN PARK NO BITES", {}),
]


def tiny_records() -> list[dict[str, object]]:
    records = []
    for i, (text, on) in enumerate(_TINY):
        records.append({
            "id": f"tiny-{i:03d}",
            "text": text,
            "labels": {name: int(on.get(name, 0)) for name in LABELS},
            "group": f"g{i % 8}",
            "meta": {"style": "cad" if text.isupper() else "prose", "caller_type": "third_party_family",
                     "channel": "phone", "language_mix": "en"},
        })
    return records


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture(scope="session")
def tiny_texts_labels() -> tuple[list[str], np.ndarray]:
    recs = tiny_records()
    texts = [str(r["text"]) for r in recs]
    labels = np.array([[r["labels"][name] for name in LABELS] for r in recs], dtype=float)  # type: ignore[index]
    return texts, labels


@pytest.fixture(scope="session")
def tiny_tfidf_bundle(tmp_path_factory: pytest.TempPathFactory, tiny_texts_labels: tuple[list[str], np.ndarray]) -> Path:
    """A TF-IDF `DivertModel` fitted on the tiny set, saved as a bundle folder (identity calibration)."""
    from divert.model.bundle import DivertModel, Manifest
    from divert.model.calibration import Calibration
    from divert.training.config import TfidfConfig
    from divert.training.train_tfidf import fit_tfidf

    texts, labels = tiny_texts_labels
    scorer = fit_tfidf(texts, labels, TfidfConfig(min_df=1, char_ngrams=(3, 4)), label_names=LABELS, seed=0)
    manifest = Manifest(kind="tfidf", calibration=Calibration.identity(LABELS),
                        thresholds={name: 0.5 for name in LABELS}, name="divert-tiny")
    folder = tmp_path_factory.mktemp("tiny-tfidf") / "bundle"
    return DivertModel(scorer, manifest).save(folder)
