"""Prose renderer: a call-taker's plain-language summary of the call, from the same scenario facts."""

from __future__ import annotations

import random

from divert.training.corpus import lexicon, noise
from divert.training.corpus.render_cad import Rendered, fact_order
from divert.training.corpus.scenario import Scenario
from divert.training.corpus.templates import expand, pick, weighted


def _subject_np(scn: Scenario, rng: random.Random) -> str:
    s = scn.subject
    noun = ("man" if s.age >= 18 else "boy") if s.sex == "M" else ("woman" if s.age >= 18 else "girl")
    ct = scn.caller_type
    if ct == "third_party_family" and s.relation:
        return pick((f"Her {s.relation}", f"His {s.relation}", f"Her {s.age}-year-old {s.relation}",
                     f"His {s.age} year old {s.relation}", f"Reporting party's {s.relation}", f"{s.relation.capitalize()}"), rng)
    if ct == "self":
        return pick(("Caller", f"{s.age} year old {noun}", f"A {s.age}-year-old {noun}", s.he.capitalize()), rng)
    if ct == "third_party_professional":
        who = pick(("resident", "client", "patient", "student", "guest", "customer"), rng)
        return pick((f"A {who}", f"The {who}", f"A {s.age}-year-old {who}"), rng)
    decade = f"in {s.his} {s.age // 10}0s" if s.age >= 20 else f"about {s.age}"
    return pick((f"A {noun} {decade}", f"A {noun}", f"An unknown {noun}", f"The {noun}"), rng)


def _opener(scn: Scenario, rng: random.Random) -> str:
    ct = scn.caller_type
    if ct == "third_party_family":
        return pick(("Caller is calling about a family member.", "", "", "", "", "", "Family member calling."), rng)
    if ct == "third_party_bystander":
        return pick((f"Caller is a {scn.caller_desc}.", "Third party caller.", f"{scn.caller_desc.capitalize()} reports.", "", "", ""), rng)
    if ct == "third_party_professional":
        return pick((f"Caller is {scn.caller_desc} at {scn.place_prose}.", f"{scn.caller_desc.capitalize()} at {scn.place_prose} calling.",
                     f"{scn.caller_desc.capitalize()} calling.", "", ""), rng)
    if ct == "alarm_or_system":
        return pick(("Alarm company calling.", f"Alarm company operator {rng.randrange(100, 9999)} reports the following.",
                     "Monitoring company reports:"), rng)
    if ct == "officer":
        return pick(("Officer on scene requesting assistance.", "Deputy advises:", "Officer reports from the scene."), rng)
    return pick(("First party caller.", "", "", "", "Patient is calling."), rng)


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]


def render_prose(scn: Scenario, rng: random.Random) -> Rendered:
    slots = dict(scn.slots)
    sents: list[str] = []
    op = _opener(scn, rng)
    if op:
        sents.append(op)
    order = fact_order(len(scn.facts), rng, keep_first=0.5)
    spanish_i = -1
    if scn.spanish:
        with_es = [i for i, f in enumerate(scn.facts) if f.es]
        if with_es:
            spanish_i = pick(with_es, rng)
    used_es = False
    first_subject_done = False
    for i in order:
        fact = scn.facts[i]
        if i == spanish_i:
            es = pick(fact.es, rng).lower()
            sents.append(pick((f'Caller, speaking Spanish, says "{es}"', f'Caller says "{es}"',
                               f'Spanish-speaking caller states "{es}"', f'Caller keeps saying "{es}"'), rng))
            used_es = True
            continue
        tpl = pick(fact.prose, rng)
        if not first_subject_done and tpl.startswith("<He> "):
            tpl = _subject_np(scn, rng) + " " + tpl[len("<He> "):]
            first_subject_done = True
        sents.append(_sentence(expand(tpl, rng, slots)))
    for f in scn.extras:
        sents.insert(rng.randrange(len(sents) + 1), _sentence(expand(pick(f.prose, rng), rng, slots)))
    context = [
        pick((f"This is at {scn.place_prose}.", f"Location is {scn.place_prose} on {scn.slots['street']}.",
              f"Address is {scn.address.title()}.", f"It is happening at {scn.place_prose}."), rng),
        pick(("Police are on the way.", "EMS has been notified.", "Units are responding.", "Will meet units outside.",
              "Caller is staying on the line.", f"Unit {lexicon.unit_id(rng)} en route."), rng),
        pick((f"Callback number is {lexicon.phone(rng)}.", "Happened about <mins> minutes ago.", "This has been going on all day.",
              f"Callback {lexicon.phone(rng)}.", "Started about <mins> minutes ago.", f"Apartment {scn.slots['apt']}."), rng),
    ]
    if scn.family.call_family in ("police", "behavioral"):
        context.append(pick((f"{scn.subject.he.capitalize()} is wearing a {pick(('blue', 'black', 'gray', 'red'), rng)} "
                             f"{pick(('hoodie', 'jacket', 'shirt', 'coat'), rng)}.",
                             "Caller can still see them.", "Caller does not know where they went.", "Caller is in another room."), rng))
    rng.shuffle(context)
    target = max(6, round(rng.lognormvariate(2.75, 0.55)))  # median ~16 words
    words = sum(len(s.split()) for s in sents)
    while words < target and context:
        c = expand(context.pop(), rng, slots)
        sents.append(c)
        words += len(c.split())
    if not any(ch.isdigit() for s in sents for ch in s) and rng.random() < 0.55:
        opts = [f"Callback {lexicon.phone(rng)}", f"Unit {lexicon.unit_id(rng)} responding",
                f"About {scn.slots['mins']} minutes ago"]
        if scn.family.call_family in ("medical", "behavioral", "police", "traffic"):
            opts += [f"{scn.subject.he.capitalize()} is {scn.subject.age}", f"Age {scn.subject.age}",
                     f"{scn.subject.age} years old"]
        num = pick(opts, rng)
        sents.insert(rng.randrange(1, len(sents) + 1), num)
    # join: mostly sentences; some comma-chained
    out: list[str] = []
    for s in sents:
        s = s.rstrip(".: ")
        if not out:
            out.append(s)
        elif rng.random() < 0.07:
            out[-1] = f"{out[-1]}, {s[:1].lower() + s[1:] if not s.startswith(('I ', 'EMS', 'Caller')) else s}"
        else:
            out.append(s)
    joiner = weighted(((". ", 8), (". ", 1), ("\n", 0.6), (" - ", 0.5)), rng)
    text = joiner.join(out)
    if rng.random() < 0.3:
        text += "."
    text = noise.drop_apostrophes(text, rng)
    text = noise.misspell(text, rng)
    case = weighted((("sentence", 55), ("upper", 38), ("lower", 7)), rng)
    if case == "upper":
        text = text.upper()
    elif case == "lower":
        text = text.lower()
    return Rendered(text, used_es)
