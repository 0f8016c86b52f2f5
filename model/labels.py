"""Label schema v1: the one label map, saved with every model."""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = "v1"


@dataclass(frozen=True)
class LabelDefinition:
    name: str
    definition: str


LABEL_DEFINITIONS: tuple[LabelDefinition, ...] = (
    LabelDefinition(
        "behavioral_health",
        "The call's central concern is a person's mental or emotional state or substance use (acute distress, "
        "psychosis, erratic behaviour, suicidal thoughts or acts, intoxication or overdose, a welfare concern about "
        "someone's mental state): a call a behavioral-health responder could own.",
    ),
    LabelDefinition(
        "suicide_risk",
        "Ideation, plan, threat or attempt of self-harm or suicide, reported by anyone.",
    ),
    LabelDefinition(
        "substance_use",
        "Intoxication, drug or alcohol use, or overdose is part of the concern.",
    ),
    LabelDefinition(
        "violence_risk",
        "A weapon present or accessible, threats to harm others, an assault or fight in progress or just happened, "
        "domestic violence, combative behaviour towards people. A negated mention ('NO WEAPONS SEEN') is not one.",
    ),
    LabelDefinition(
        "medical_emergency",
        "Needs EMS now: unconscious, not breathing, serious injury or bleeding, seizure, unresponsive overdose.",
    ),
)

LABELS: tuple[str, ...] = tuple(d.name for d in LABEL_DEFINITIONS)
LABEL_INDEX: dict[str, int] = {name: i for i, name in enumerate(LABELS)}

# Labels where a miss is costly: thresholds keep recall at or above a target instead of maximising F1.
RECALL_FIRST_LABELS: tuple[str, ...] = ("violence_risk", "suicide_risk")


def label_map() -> dict[str, object]:
    """The serialisable label map stored inside every model artifact."""
    return {
        "schema_version": SCHEMA_VERSION,
        "labels": list(LABELS),
        "definitions": {d.name: d.definition for d in LABEL_DEFINITIONS},
    }
