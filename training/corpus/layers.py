"""Boilerplate layers real CAD narratives carry beside free text (profile §1.4 items 9-10, §3 rec. 7).

EMD/ProQA blocks, CAD-system log lines, E911 headers, premise flags, unit status. Every value is synthetic, and
each EMD block agrees with the scenario's labels (a "Not conscious" line appears only when the call is a
medical emergency; a psychiatric determinant's wording matches the suicide label).
"""

from __future__ import annotations

import random

from divert.training.corpus import lexicon
from divert.training.corpus.facts import MED, SI, SUB, VIO
from divert.training.corpus.scenario import Scenario
from divert.training.corpus.templates import pick, weighted

# protocol -> (chief complaint title, [(code, descriptor, needs_med)])
EMD_PROTOCOLS: dict[str, tuple[str, tuple[tuple[str, str, bool], ...]]] = {
    "17": ("Falls", (("17A01", "Not dangerous body area", False), ("17A02", "Non-recent (>= 6hrs) injuries", False),
                     ("17B01", "Possibly dangerous body area", True), ("17D04", "Not alert", True),
                     ("17B03", "Unknown status/Other codes not applicable", False))),
    "26": ("Sick Person (Specific Diagnosis)", (("26A01", "No priority symptoms", False), ("26C01", "Altered level of consciousness", True),
                                                ("26O01", "Assessment required", False))),
    "06": ("Breathing Problems", (("06C01", "Abnormal breathing", True), ("06D02", "Difficulty speaking between breaths", True))),
    "10": ("Chest Pain (Non-Traumatic)", (("10C01", "Abnormal breathing", True), ("10D02", "Changing color", True),
                                          ("10C03", "Breathing normally >= 35", True))),
    "31": ("Unconscious/Fainting (Near)", (("31D02", "Unconscious - Effective breathing", True),
                                           ("31A01", "Fainting episode(s) and alert >= 35", False))),
    "12": ("Convulsions/Seizures", (("12D02", "Continuous or multiple seizures", True), ("12C02", "Irregular breathing", True))),
    "21": ("Hemorrhage/Lacerations", (("21B02", "Serious hemorrhage", True), ("21D04", "Dangerous hemorrhage", True),
                                      ("21A01", "Not dangerous hemorrhage", False))),
    "09": ("Cardiac or Respiratory Arrest/Death", (("09E01", "Breathing uncertain (agonal/ineffective)", True),)),
    "28": ("Stroke (CVA)/Transient Ischemic Attack (TIA)", (("28C01L", "Not alert - Less than T hrs", True),)),
    "25": ("Psychiatric/Abnormal Behavior/Suicide Attempt", (("25A01", "Non-suicidal and alert", False),
                                                             ("25B03", "Serious hemorrhage", True),
                                                             ("25B06", "Unknown status/Other codes not applicable", False),
                                                             ("25D01", "Not alert", True))),
    "23": ("Overdose/Poisoning (Ingestion)", (("23C01", "Not alert", True),
                                              ("23O01", "Poisoning without priority symptoms", False),
                                              ("23C08", "Unknown status/Other codes not applicable", False))),
    "27": ("Stab/Gunshot/Penetrating Trauma", (("27D03", "Central wounds", True), ("27B01", "Non-recent (>= 6hrs) single peripheral wound", True))),
    "04": ("Assault/Sexual Assault/Stun Gun", (("04B01", "Possibly dangerous body area", True), ("04A01", "Not dangerous body area", False))),
    "29": ("Traffic/Transportation Incidents", (("29B01", "Injuries", True), ("29D02P", "High mechanism", True),
                                                ("29O01", "No injuries (confirmed)", False))),
    "02": ("Allergies (Reactions)/Envenomations (Stings, Bites)", (("02D01", "Ineffective breathing", True),)),
    "13": ("Diabetic Problems", (("13C01", "Not alert", True),)),
    "01": ("Abdominal Pain/Problems", (("01C01", "Fainting or near fainting >= 50", True),)),
}
RESPONSE_BY_LEVEL = {"A": "Alpha", "B": "Bravo", "C": "Charlie", "D": "Delta", "E": "Echo", "O": "Omega"}


def _protocol_for(scn: Scenario) -> str:
    keys = {f.key for f in scn.facts}
    labels = scn.labels
    if labels[SI] or (labels["behavioral_health"] and not labels[SUB]):
        return "25"
    if labels[SUB] and ({"s_pills", "s_od_opioid", "s_huffing", "s_narcan"} & keys):
        return "23"
    for key, proto in (("m_gsw", "27"), ("m_stab", "27"), ("m_arrest", "09"), ("m_notbreathing", "09"),
                       ("m_cp", "10"), ("m_diffbreath", "06"), ("m_allergic", "02"), ("m_seizure", "12"),
                       ("m_stroke", "28"), ("m_unresp", "31"), ("m_diabetic", "13"), ("m_abd", "01"),
                       ("m_bleed", "21"), ("m_headinj", "17"), ("m_hipfx", "17"), ("m_lift", "17"), ("m_minor", "17"),
                       ("m_mvainj", "29"), ("m_sick", "26"), ("m_choking", "06"), ("m_hardwake", "26")):
        if key in keys:
            return proto
    if labels[VIO]:
        return "04"
    if scn.family.call_family == "traffic":
        return "29"
    return "26"


def emd_block(scn: Scenario, rng: random.Random) -> str | None:
    """A ProQA-style block in Title case; None when no determinant fits the labels."""
    proto = _protocol_for(scn)
    title, codes = EMD_PROTOCOLS[proto]
    med = bool(scn.labels[MED])
    fits = [c for c in codes if c[2] == med]
    if proto == "25":
        fits = [c for c in fits if ("suicid" in c[1].lower()) == bool(scn.labels[SI])] or fits
        if scn.labels[SI]:
            fits = [c for c in fits if c[1] != "Non-suicidal and alert"]
    if not fits:
        return None
    code, desc, _ = pick(fits, rng)
    keys = {f.key for f in scn.facts}
    if {"m_notbreathing", "m_arrest"} & keys:
        cb = "Not conscious, Not breathing"
    elif {"m_unresp"} & keys:
        cb = pick(("Not conscious, Breathing", "Unconscious, Breathing", "Not conscious, Breathing uncertain"), rng)
    elif {"m_hardwake", "m_overdose_resp"} & keys:
        cb = pick(("Conscious, Breathing", "Unknown if conscious, Breathing"), rng)
    else:
        cb = "Conscious, Breathing"
    sex = "Male" if scn.subject.sex == "M" else "Female"
    age = scn.subject.age
    age_txt = f"{age}-year-old" if rng.random() < 0.85 else f"{age} Years"
    lines = [f"{age_txt}, {sex}, {cb}."]
    if rng.random() < 0.7:
        lines.append(f"Chief Complaint: {proto} - {title}" if rng.random() < 0.5 else f"Chief Complaint: {title}")
    if rng.random() < 0.8:
        lines.append(f"Dispatch Code: {code} ({desc})" if rng.random() < 0.6 else f"Determinant: {code} Suffix: {code[5:] or 'N/A'}")
    if rng.random() < 0.45:
        lines.append(f"Response: {RESPONSE_BY_LEVEL.get(code[2], 'Bravo')}")
    if rng.random() < 0.35:
        answers = _key_answers(scn, rng)
        lines.append(" ".join(f"{i + 1}. {a}." for i, a in enumerate(answers)))
    if rng.random() < 0.25:
        lines.insert(0, pick(("ProQA Medical Key Questions", "ProQA Paramount", "EMD Case Entry", "Key Questions:"), rng))
    return pick(("\n", " ", " / "), rng).join(lines)


def _key_answers(scn: Scenario, rng: random.Random) -> list[str]:
    labels = scn.labels
    out = [pick(("The caller is on scene (1st party)", "The caller is with the patient",
                 "The caller is not with the patient (3rd party)", "The caller is a 2nd party"), rng)]
    if labels[VIO]:
        out.append(pick(("The assailant is still nearby", "Weapons are involved", "It is unknown if weapons are involved"), rng))
    elif rng.random() < 0.5:
        out.append(pick(("There are no weapons involved", "He is completely alert"), rng))
    if labels[MED]:
        out.append(pick(("He is not completely alert", "There is SERIOUS bleeding", "He is not breathing normally",
                         "It is unknown if he is breathing normally"), rng))
    else:
        out.append(pick(("He is breathing normally", "There is no bleeding", "He is completely alert (responding appropriately)",
                         "NLLY"), rng))
    if scn.subject.sex == "F":
        out = [a.replace("He is", "She is").replace("he is", "she is") for a in out]
    return out


def system_lines(scn: Scenario, rng: random.Random) -> list[str]:
    """CAD-system text: unit status, E911 header, premise flags (no timestamps; the renderer adds those)."""
    out: list[str] = []
    kind = weighted((("unit", 4), ("e911", 2), ("premise", 2), ("notify", 3), ("xref", 1)), rng)
    if kind == "unit":
        unit = lexicon.unit_id(rng)
        out.append(f"{unit} {pick(('ENRT', 'ENROUTE', 'ONSCENE', 'AVAIL', 'DISP', 'ACK', 'STAGED', 'ON SCENE'), rng)}")
    elif kind == "e911":
        cls = weighted((("WPH2", 4), ("WPH1", 1), ("RESD", 2), ("BUSN", 1), ("VOIP", 1.5)), rng)
        lat = f"{rng.uniform(40, 45):.6f}"
        lon = f"-{rng.uniform(85, 92):.6f}"
        if rng.random() < 0.5:
            out.append(f"E911 CLASS OF SERVICE: {cls} LAT: {lat} LON: {lon}")
        else:
            out.append(f"{cls} CB {lexicon.phone(rng)}")
    elif kind == "premise":
        out.append(pick(("Medical: No / Hazards: No", "Medical: Yes / Hazards: No", "HAZ: NONE ON FILE", "PREMISE HX ON FILE",
                         "Premise Info: gate code on file"), rng))
    elif kind == "notify":
        out.append(pick(("FD PAGED", "EMS NOTIFIED", "PD NOTIFIED", "TONED OUT", "PAGED <unit>", "NOTIFIED SUPERVISOR",
                         "XFER TO <agency>"), rng)
                   .replace("<unit>", lexicon.unit_id(rng)).replace("<agency>", pick(("COUNTY EMS", "SHERIFF", "CITY PD", "FD"), rng)))
    else:
        out.append(f"REF INC #{rng.randrange(10, 99)}-{rng.randrange(100000, 999999)}")
    return out


def timestamp(rng: random.Random, style: str) -> str:
    h, m, s = lexicon.clock(rng)
    if style == "bracket":
        h12 = h % 12 or 12
        ampm = "AM" if h < 12 else "PM"
        return f"[{lexicon.date_str(rng)} {h12}:{m:02d}:{s:02d} {ampm} : {pick(('POS3', 'DISP2', 'CT14', 'JMR', 'KLD', 'POS7'), rng)}]"
    if style == "date":
        return f"{lexicon.date_str(rng)} {h:02d}:{m:02d}"
    if style == "hm":
        return f"{h:02d}:{m:02d}"
    return f"{h:02d}:{m:02d}:{s:02d}"
