"""Scenario families (what kind of call) and scenarios (one concrete call's facts), kept apart from rendering.

A `Family` is a compositional definition: who calls, about whom, where, and slots of facts, each slot a set of
label-equivalent alternatives. `sample_scenario` draws one concrete `Scenario` from it: every renderer (CAD
note, prose summary, transcript) reads only the scenario, so the labels are decided once, from the facts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from divert.model.labels import LABELS
from divert.training.corpus import lexicon
from divert.training.corpus.facts import BH, FACTS, MED, SI, SUB, VIO, Fact
from divert.training.corpus.templates import pick

CALLER_TYPES = ("self", "third_party_family", "third_party_bystander", "third_party_professional", "alarm_or_system",
                "officer")
CALL_FAMILIES = ("medical", "fire", "traffic", "alarm", "hazard", "service", "police", "behavioral")
HARD_CASES = ("negation", "hard_negative", "mixed", "history_only", "uncertain")


@dataclass(frozen=True)
class Family:
    id: str
    base: str
    call_family: str
    call_types: tuple[str, ...]
    core: tuple[tuple[str, ...], ...]
    optional: tuple[tuple[str, float], ...] = ()
    callers: tuple[str, ...] = ("third_party_family",)
    subject: str = "any"  # age kind for lexicon.age_for
    sex: str = ""  # "M", "F" or "" (either)
    places: tuple[str, ...] = ("residence",)
    bh: bool = False  # the family's central concern is mental state / substance crisis
    hard_case: str | None = None
    victims: tuple[str, ...] = ("rp",)
    weight: float = 1.0
    holdout: bool = False  # challenge-only family

    def labels(self) -> dict[str, int]:
        on: set[str] = set()
        for slot in self.core:
            on |= FACTS[slot[0]].labels
        if self.bh:
            on.add(BH)
        if SI in on:
            on.add(BH)
        return {name: int(name in on) for name in LABELS}

    def check(self) -> None:
        """Every alternative in a slot must turn on the same labels; topics must not contradict."""
        for slot in self.core:
            first = FACTS[slot[0]].labels
            for key in slot:
                if FACTS[key].labels != first:
                    raise ValueError(f"{self.id}: slot {slot} mixes label sets")
        on = {name for name, v in self.labels().items() if v}
        for key, _ in self.optional:
            if not FACTS[key].labels <= on:
                raise ValueError(f"{self.id}: optional fact {key} would change the labels")
        if self.call_family not in CALL_FAMILIES:
            raise ValueError(f"{self.id}: call family {self.call_family}")
        for c in self.callers:
            if c not in CALLER_TYPES:
                raise ValueError(f"{self.id}: caller {c}")
        if self.hard_case is not None and self.hard_case not in HARD_CASES:
            raise ValueError(f"{self.id}: hard case {self.hard_case}")


def derive_hard_case(core: tuple[tuple[str, ...], ...], labels: dict[str, int]) -> str | None:
    tags = {FACTS[slot[0]].tag for slot in core}
    if "hard_negative" in tags:
        return "hard_negative"
    if "history" in tags:
        return "history_only"
    if "uncertain" in tags:
        return "uncertain"
    if "negation" in tags:
        # a negation is a hard case only when it negates something a model could expect in such a call
        return "negation"
    if sum(labels[name] for name in (SI, SUB, VIO, MED)) >= 2:
        return "mixed"
    return None


@dataclass
class Person:
    sex: str  # "M" or "F"
    age: int
    relation: str  # relation to the caller ("son"), or "" when none

    @property
    def he(self) -> str:
        return "he" if self.sex == "M" else "she"

    @property
    def him(self) -> str:
        return "him" if self.sex == "M" else "her"

    @property
    def his(self) -> str:
        return "his" if self.sex == "M" else "her"

    @property
    def himself(self) -> str:
        return "himself" if self.sex == "M" else "herself"


@dataclass
class Scenario:
    """One concrete call: facts and roles. Renderers read this and nothing else."""

    family: Family
    caller_type: str
    channel: str
    subject: Person
    caller_desc: str  # "mother", "neighbor", "group home staff", "" for self
    place_kind: str
    place_cad: str
    place_prose: str
    address: str
    victim: str  # who is threatened or hurt, as a short noun ("RP", "HIS MOTHER")
    facts: list[Fact]
    extras: list[Fact]
    spanish: bool
    slots: dict[str, str | tuple[str, ...]] = field(default_factory=dict)

    @property
    def labels(self) -> dict[str, int]:
        return self.family.labels()


_CHANNELS: dict[str, tuple[tuple[str, float], ...]] = {
    "self": (("phone", 0.8), ("text_to_911", 0.1), ("transfer", 0.1)),
    "third_party_family": (("phone", 0.9), ("text_to_911", 0.07), ("transfer", 0.03)),
    "third_party_bystander": (("phone", 0.95), ("text_to_911", 0.05)),
    "third_party_professional": (("phone", 0.85), ("transfer", 0.15)),
    "alarm_or_system": (("alarm", 1.0),),
    "officer": (("radio", 1.0),),
}

PARTS = ("arm", "leg", "head", "hand", "chest", "abdomen", "neck", "thigh", "shoulder", "face")
SURFACES = ("counter", "floor", "stairs", "curb", "table", "tub", "driveway")
PILLS = ("tylenol", "ibuprofen", "xanax", "sleeping pills", "her meds", "seroquel", "oxycodone", "benadryl",
         "blood pressure pills", "klonopin")
HOSPITALS = ("ST BRENDAN", "MERCY NORTH", "VALLEY GEN", "COUNTY MED CTR", "LAKESIDE REGIONAL")
BARS = ("THE SPOKE & ANCHOR", "BLUE HERON TAVERN", "RUSTY NAIL PUB", "THE OXBOW TAP", "DUFFY'S LOUNGE")


def _weighted(options: tuple[tuple[str, float], ...], rng: random.Random) -> str:
    from divert.training.corpus.templates import weighted

    return weighted(options, rng)


def sample_scenario(fam: Family, rng: random.Random) -> Scenario:
    caller_type = pick(fam.callers, rng)
    channel = _weighted(_CHANNELS[caller_type], rng)
    sex = fam.sex or pick(("M", "F"), rng)
    age = lexicon.age_for(fam.subject, rng)
    relation = ""
    caller_desc = ""
    if caller_type == "third_party_family":
        options = lexicon.RELATIONS_FAMILY[sex]
        if age < 25:
            options = tuple(r for r in options if r in ("son", "daughter", "brother", "sister", "grandson",
                                                      "granddaughter", "nephew", "niece", "stepson", "stepdaughter",
                                                      "boyfriend", "girlfriend", "roommate"))
        elif age >= 70:
            options = tuple(r for r in options if r in ("father", "mother", "husband", "wife", "uncle", "aunt",
                                                      "brother", "sister"))
        relation = pick(options, rng)
        caller_desc = pick(("mother", "father", "wife", "husband", "sister", "brother", "daughter", "son",
                            "girlfriend", "roommate"), rng)
    elif caller_type == "third_party_bystander":
        caller_desc = pick(lexicon.BYSTANDERS, rng)
    elif caller_type == "third_party_professional":
        caller_desc = pick(lexicon.PROFESSIONALS, rng)
    elif caller_type == "alarm_or_system":
        caller_desc = "alarm company"
    elif caller_type == "officer":
        caller_desc = "officer"
    subject = Person(sex, age, relation)

    place_kind = pick(fam.places, rng)
    place_cad, place_prose = pick(lexicon.PLACES[place_kind], rng)
    apt = f"{rng.randrange(1, 40)}{pick(('', '', 'A', 'B', 'C'), rng)}"
    floor = pick(("2ND", "3RD", "1ST", "4TH"), rng)
    hwy = pick(lexicon.HIGHWAYS, rng)
    streetname = pick(lexicon.STREET_NAMES, rng).title()
    street = lexicon.street(rng)
    biz = pick(lexicon.BUSINESSES, rng)
    place_slots = {"apt": apt, "floor": floor, "hwy": hwy, "mm": str(rng.randrange(1, 140)), "dir": pick(lexicon.DIRECTIONS, rng),
                   "streetname": streetname, "street": street, "biz": biz}
    from divert.training.corpus.templates import fill_slots

    place_cad = fill_slots(place_cad, place_slots, rng)
    place_prose = fill_slots(place_prose, place_slots, rng)

    victim_kind = pick(fam.victims, rng)
    victim = _victim_word(victim_kind, caller_type, rng)

    facts = [FACTS[pick(slot, rng)] for slot in fam.core]
    extras = [FACTS[key] for key, p in fam.optional if rng.random() < p]
    spanish = rng.random() < (0.13 if fam.call_family in ("behavioral", "police") else 0.04)

    rel2 = pick(("mother", "sister", "friend", "ex", "daughter", "brother", "pastor", "coworker"), rng)
    slots: dict[str, str | tuple[str, ...]] = {
        "he": subject.he, "He": subject.he.capitalize(), "him": subject.him, "his": subject.his,
        "His": subject.his.capitalize(), "himself": subject.himself,
        "rel": relation or pick(("roommate", "friend", "partner"), rng), "rel2": rel2, "vic": victim,
        "num": str(rng.choice((2, 2, 3, 3, 4, 5))), "mins": str(rng.choice((5, 10, 15, 20, 30, 45))),
        "part": pick(PARTS, rng), "surface": pick(SURFACES, rng), "pills": pick(PILLS, rng),
        "hosp": pick(HOSPITALS, rng), "bar": pick(BARS, rng), "place_short": place_cad.lower(),
        "street": street.lower(), "biz": biz.lower(), "apt": apt, "floor": floor.lower(),
        "opnum": str(rng.randrange(100, 9999)), "dir": pick(lexicon.DIRECTIONS, rng).lower(),
    }
    return Scenario(fam, caller_type, channel, subject, caller_desc, place_kind, place_cad, place_prose,
                    lexicon.address(rng), victim, facts, extras, spanish, slots)


def _victim_word(kind: str, caller_type: str, rng: random.Random) -> str:
    if kind == "rp":
        return "rp" if caller_type != "self" else pick(("his wife", "her husband", "roommate", "neighbor"), rng)
    table = {
        "family": ("his mother", "his father", "her husband", "his wife", "his brother", "the family", "her mother"),
        "neighbor": ("the neighbor", "neighbors", "the upstairs neighbor"),
        "staff": ("staff", "a nurse", "security", "the clerk", "the bartender", "the manager"),
        "stranger": ("a customer", "a passerby", "another patron", "a male", "a female", "the victim"),
        "police": ("officers", "police", "anyone who comes"),
    }
    return pick(table[kind], rng)


def labels_of(fam: Family) -> dict[str, int]:
    return fam.labels()


LABEL_KEYS = (BH, SI, SUB, VIO, MED)
