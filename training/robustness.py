"""Perturbation checks: the same note in another surface form should get the same decisions.

Perturbations (each deterministic given a seed): upper case, lower case, common typos, abbreviations expanded,
abbreviations contracted. The flip rate is the share of (note, label) decisions that change. A separate check
adds a negated mention ("NO WEAPONS SEEN") to notes and counts how often that turns a label on.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from divert.model.bundle import DivertModel

# CAD abbreviation <-> plain words. Expansion maps each token; contraction maps the phrases back.
ABBREVIATIONS: dict[str, str] = {
    "RP": "reporting party", "SUBJ": "subject", "W/": "with", "ETOH": "alcohol", "WPNS": "weapons",
    "WPN": "weapon", "UNK": "unknown", "POSS": "possible", "ADV": "advises", "PT": "patient", "HX": "history",
    "UNCON": "unconscious", "INTOX": "intoxicated", "VEH": "vehicle", "RES": "residence", "INJ": "injury",
    "YOM": "year old male", "YOF": "year old female", "DIFF": "difficulty", "REQ": "requesting", "LOC": "location",
    "C/B": "conscious and breathing", "BF": "boyfriend", "GF": "girlfriend", "APT": "apartment", "SI": "suicidal ideation",
    "OD": "overdose", "DV": "domestic violence", "NEG": "negative", "CLR": "caller", "COMP": "complainant",
}
_EXPANSIONS = sorted(ABBREVIATIONS.items(), key=lambda kv: -len(kv[1]))
_TYPO_TARGETS = {"unconscious": "unconcious", "conscious": "concious", "vomiting": "vomitting", "seizure": "siezure",
                 "breathing": "breathng", "weapons": "weapns", "suicidal": "suicidle", "threatening": "threatning",
                 "intoxicated": "intoxicted", "knife": "knif", "bleeding": "bleding", "overdose": "overdoes"}


def expand_abbreviations(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        token = m.group(0)
        full = ABBREVIATIONS.get(token.upper())
        if full is None:
            return token
        return full.upper() if token.isupper() and len(token) > 1 else full

    return re.sub(r"(?<![\w/])(?:[A-Za-z]+/|[A-Za-z]+)(?![\w/])", repl, text)


def contract_abbreviations(text: str) -> str:
    for abbr, full in _EXPANSIONS:
        text = re.sub(rf"\b{re.escape(full)}\b", abbr, text, flags=re.IGNORECASE)
    return text


def add_typos(text: str, seed: int = 0, rate: float = 0.08) -> str:
    """Known misspellings where they fit, plus adjacent-letter swaps in ~rate of the longer words."""
    rng = random.Random(seed)
    words = text.split(" ")
    for i, w in enumerate(words):
        low = w.lower()
        if low in _TYPO_TARGETS:
            typo = _TYPO_TARGETS[low]
            words[i] = typo.upper() if w.isupper() else typo
        elif len(w) > 4 and w.isalpha() and rng.random() < rate:
            k = rng.randrange(1, len(w) - 2)
            words[i] = w[:k] + w[k + 1] + w[k] + w[k + 2:]
    return " ".join(words)


PERTURBATIONS: dict[str, Callable[[str], str]] = {
    "upper case": str.upper,
    "lower case": str.lower,
    "typos": add_typos,
    "abbreviations expanded": expand_abbreviations,
    "abbreviations contracted": contract_abbreviations,
}

NEGATED_MENTIONS: dict[str, str] = {
    "violence_risk": "NO WEAPONS SEEN",
    "suicide_risk": "NOT SUICIDAL",
    "substance_use": "NO ETOH OR DRUGS",
}


@dataclass
class FlipReport:
    perturbation: str
    notes_changed: int
    flip_rate: float
    flips_per_label: dict[str, float]


def flip_rates(model: DivertModel, texts: list[str]) -> list[FlipReport]:
    base = model.predict(texts).decisions
    reports = []
    for name, fn in PERTURBATIONS.items():
        changed = [fn(t) for t in texts]
        moved = sum(a != b for a, b in zip(texts, changed, strict=True))
        dec = model.predict(changed).decisions
        flips = dec != base
        reports.append(FlipReport(name, moved, float(flips.mean()),
                                  {lab: float(flips[:, j].mean()) for j, lab in enumerate(model.labels)}))
    return reports


def negation_turn_on_rates(model: DivertModel, texts: list[str]) -> dict[str, float]:
    """Of the notes where a label is off, the share where appending its negated mention turns it on."""
    base = model.predict(texts).decisions
    out: dict[str, float] = {}
    for label, phrase in NEGATED_MENTIONS.items():
        j = model.labels.index(label)
        off = [t for t, d in zip(texts, base[:, j], strict=True) if not d]
        if not off:
            continue
        dec = model.predict([f"{t} / {phrase}" for t in off]).decisions[:, j]
        out[label] = float(np.mean(dec))
    return out
