"""The redacted note cut into segments for display, each word tagged with its attribution towards one label.

Templates escape every segment (Jinja autoescape); nothing here builds HTML. Intensity is a CSS class
(`pos-1`..`pos-5` towards the label, `neg-1`..`neg-5` away), so the console needs no inline styles and runs
under a strict Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

LEVELS = 5
MIN_SHARE = 0.05  # words below 5% of the strongest attribution are not highlighted


@dataclass(frozen=True)
class Segment:
    text: str
    attribution: float | None = None
    css: str = ""


def segments(text: str, words: Sequence[Mapping[str, Any]]) -> list[Segment]:
    """`text` split at the words' offsets; words carry their attribution and a class by share of the largest."""
    spans = sorted(((int(w["start"]), int(w["end"]), float(w["attribution"])) for w in words
                    if 0 <= int(w["start"]) < int(w["end"]) <= len(text)), key=lambda s: (s[0], -s[1]))
    peak = max((abs(a) for _, _, a in spans), default=0.0)
    out: list[Segment] = []
    pos = 0
    for start, end, attribution in spans:
        if start < pos:  # overlapping spans (should not happen): keep the first
            continue
        if start > pos:
            out.append(Segment(text[pos:start]))
        share = abs(attribution) / peak if peak > 0 else 0.0
        if share < MIN_SHARE:
            out.append(Segment(text[start:end], attribution))
        else:
            level = max(1, min(LEVELS, int(share * LEVELS + 0.999)))
            out.append(Segment(text[start:end], attribution, f"{'pos' if attribution > 0 else 'neg'}-{level}"))
        pos = end
    if pos < len(text):
        out.append(Segment(text[pos:]))
    return out


def top_words(words: Sequence[Mapping[str, Any]], n: int = 5) -> tuple[list[Mapping[str, Any]],
                                                                         list[Mapping[str, Any]]]:
    """The `n` words pushing most towards the label and the `n` pushing most away."""
    ordered = sorted(words, key=lambda w: float(w["attribution"]))
    towards = [w for w in reversed(ordered) if float(w["attribution"]) > 0][:n]
    away = [w for w in ordered if float(w["attribution"]) < 0][:n]
    return towards, away
