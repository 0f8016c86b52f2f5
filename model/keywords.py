"""`keywords`: a transparent lexicon baseline with simple negation handling.

The raw score of a label is the noisy-or of the weights of the rules that fired and were not negated:
1 - prod(1 - w). Calibration on the validation split turns it into a probability like any other scorer's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from divert.model.keyword_rules import NEGATION_CUES, RULES
from divert.model.labels import LABELS

FLOOR = 0.02  # raw score when no rule fires


@dataclass(frozen=True)
class RuleHit:
    label: str
    rule: str
    weight: float
    start: int
    end: int
    negated: bool


class KeywordScorer:
    kind: ClassVar[str] = "keywords"

    def __init__(self, labels: tuple[str, ...] = LABELS, negation_window: int = 4,
                 rules: dict[str, tuple[tuple[str, str, float], ...]] | None = None) -> None:
        self.labels = labels
        self.negation_window = negation_window
        self.rules = rules if rules is not None else RULES
        self._compiled = {
            label: [(rid, re.compile(pat, re.IGNORECASE), w) for rid, pat, w in self.rules.get(label, ())]
            for label in labels
        }
        self._negation = re.compile(NEGATION_CUES, re.IGNORECASE)

    def _negated(self, text: str, start: int) -> bool:
        if self.negation_window == 0:
            return False
        clause = re.split(r"[/.;,\n]|\s-\s|\bbut\b", text[:start])[-1]
        words = clause.split()[-self.negation_window:]
        return bool(self._negation.search(" ".join(words)))

    def hits(self, text: str) -> list[RuleHit]:
        """Every rule match in the text, negated or not, with character offsets."""
        found: list[RuleHit] = []
        for label in self.labels:
            for rid, pattern, weight in self._compiled[label]:
                for m in pattern.finditer(text):
                    found.append(RuleHit(label, rid, weight, m.start(), m.end(), self._negated(text, m.start())))
        return found

    def _score_one(self, text: str) -> np.ndarray:
        miss = {label: 1.0 for label in self.labels}
        fired: set[tuple[str, str]] = set()
        for hit in self.hits(text):
            if hit.negated or (hit.label, hit.rule) in fired:
                continue
            fired.add((hit.label, hit.rule))
            miss[hit.label] *= 1.0 - hit.weight
        return np.array([max(FLOOR, 1.0 - miss[label]) for label in self.labels])

    def raw_scores(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.labels)))
        return np.vstack([self._score_one(t) for t in texts])

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        payload = {"labels": list(self.labels), "negation_window": self.negation_window,
                   "rules": {k: [list(r) for r in v] for k, v in self.rules.items()}}
        (folder / "keywords.json").write_text(json.dumps(payload, indent=1))

    @classmethod
    def load(cls, folder: Path) -> KeywordScorer:
        payload = json.loads((folder / "keywords.json").read_text())
        rules = {k: tuple((r[0], r[1], float(r[2])) for r in v) for k, v in payload["rules"].items()}
        return cls(tuple(payload["labels"]), int(payload["negation_window"]), rules)
