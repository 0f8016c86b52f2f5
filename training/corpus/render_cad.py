"""CAD-narrative renderer: a scenario becomes a dispatcher's note in real CAD style.

Structure is drawn per note: opener or none, fact order, separators, multi-entry updates with clock times,
EMD/system layers, abbreviation density, case and noise, all from a simulated agency's habits plus per-note
randomness (profile §3 recommendations 2-8).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from divert.training.corpus import layers, lexicon, noise
from divert.training.corpus.facts import MED, SI, SUB, VIO, Fact
from divert.training.corpus.scenario import Scenario
from divert.training.corpus.templates import expand, pick, weighted

SEPARATORS: tuple[tuple[str, float], ...] = (
    (" / ", 24), ("//", 4), (", ", 7), (" - ", 12), ("\n", 14), ("... ", 11), (". ", 5), (" ", 24), ("; ", 1.5),
)


@dataclass(frozen=True)
class Agency:
    """A simulated agency's writing habits (case kept consistent within an agency, profile §3 rec. 3)."""

    name: str
    case: str  # upper | lower | mixed
    separators: tuple[tuple[str, float], ...]
    abbr_density: float
    emd_rate: float
    system_rate: float
    ts_style: str  # hms | hm | bracket | date
    ten_codes: bool
    multi_entry_rate: float


def fact_order(n_facts: int, rng: random.Random, *, keep_first: float) -> list[int]:
    """A varied order of a scenario's facts; with probability `keep_first` its first fact stays first."""
    order = list(range(n_facts))
    if rng.random() < keep_first:
        rest = order[1:]
        rng.shuffle(rest)
        return order[:1] + rest
    rng.shuffle(order)
    return order


def make_agencies(rng: random.Random, n: int = 48) -> list[Agency]:
    out: list[Agency] = []
    for i in range(n):
        case = weighted((("upper", 60), ("lower", 6.5), ("mixed", 33.5)), rng)
        primary = weighted(SEPARATORS, rng)
        seps = tuple((s, w * (5.0 if s == primary else 1.0)) for s, w in SEPARATORS)
        out.append(Agency(
            name=f"AG{i:02d}", case=case, separators=seps,
            abbr_density=float(weighted((("0.05", 3), ("0.2", 3), ("0.38", 3), ("0.6", 1)), rng)),
            emd_rate=float(weighted((("0.0", 3), ("0.16", 3), ("0.36", 3)), rng)),
            system_rate=float(weighted((("0.04", 3), ("0.12", 3), ("0.22", 2)), rng)),
            ts_style=weighted((("hms", 5), ("hm", 2), ("bracket", 2), ("date", 1.5)), rng),
            ten_codes=rng.random() < 0.15,
            multi_entry_rate=float(weighted((("0.05", 3), ("0.15", 3), ("0.3", 2)), rng)),
        ))
    return out


# free-text word targets per call family: (median, p95), profile §1.1 and §3 rec. 2
LENGTH_TARGETS: dict[str, tuple[float, float]] = {
    "medical": (11, 50), "alarm": (11, 48), "hazard": (13, 48), "fire": (13, 60), "traffic": (13, 60),
    "service": (11, 45), "police": (18, 95), "behavioral": (17, 85),
}


def target_words(call_family: str, rng: random.Random, scale: float = 1.0) -> int:
    import math

    med, p95 = LENGTH_TARGETS[call_family]
    sigma = math.log(p95 / med) / 1.645
    return max(5, round(med * scale * math.exp(rng.gauss(0, sigma))))


# ----------------------------------------------------------------------------------------------- helpers
def agesex(scn: Scenario, rng: random.Random) -> str:
    age = scn.subject.age
    m = scn.subject.sex == "M"
    form = weighted((("fused", 15), ("yom", 30), ("yo", 17), ("yoa", 7), ("yr", 6), ("y/o", 8), ("sexfirst", 12),
                     ("word", 5)), rng)
    sx = "M" if m else "F"
    word = "MALE" if m else pick(("FEMALE", "FEM"), rng)
    if form == "fused":
        return f"{age}YO{sx}" if rng.random() < 0.8 else f"{age}{sx}"
    if form == "yom":
        return f"{age} YO{sx}"
    if form == "yo":
        return f"{age} YO {pick((sx, word), rng)}"
    if form == "yoa":
        return f"{word} {age} YOA"
    if form == "yr":
        return f"{age} YR OLD {word}"
    if form == "y/o":
        return f"{age} Y/O {word}"
    if form == "sexfirst":
        return f"{pick((word, sx), rng)} {age}"
    if age >= 20 and rng.random() < 0.5:
        return f"{word} IN {age // 10}0S"
    return f"{age} YEAR OLD {word}"


def _rp(rng: random.Random) -> str:
    return weighted((("RP", 6), ("CALLER", 3), ("COMP", 1), ("CLR", 0.7), ("RPS", 0.3)), rng)


def _adv(rng: random.Random) -> str:
    return weighted((("ADV", 5), ("STATES", 3), ("ADVISES", 2), ("REPORTS", 1.5), ("SAYS", 1.5), ("ADVD", 0.6),
                     ("STS", 0.5)), rng)


def cad_slots(scn: Scenario, rng: random.Random) -> dict[str, str | tuple[str, ...]]:
    slots = dict(scn.slots)
    subj_words: tuple[str, ...]
    rel = scn.subject.relation
    he = scn.subject.he
    if scn.caller_type == "third_party_family" and rel:
        subj_words = ("SUBJ", he, rel, rel, "PT")
    elif scn.caller_type == "self":
        subj_words = (he, "RP", "PT")
    else:
        subj_words = ("SUBJ", he, "MALE" if scn.subject.sex == "M" else "FEMALE", "PT", "SUBJ")
    slots["s"] = subj_words
    return slots


def opener(scn: Scenario, rng: random.Random) -> tuple[str, bool]:
    """Returns (text, joins_first_fact). Empty text means the note starts mid-thought."""
    ct = scn.caller_type
    cf = scn.family.call_family
    busy = cf in ("behavioral", "police")
    x = rng.random()
    # age/sex first ~14%, caller first ~6% (more for police/behavioural), sex/PT ~5%, otherwise nothing
    p_age = 0.26 if cf in ("medical", "behavioral") else 0.14 if cf in ("police", "traffic") else 0.03
    p_caller = 0.12 if busy else 0.05
    if x < p_age:
        return agesex(scn, rng), rng.random() < 0.5
    if x < p_age + p_caller:
        rel = scn.subject.relation.upper()
        poss = pick(("HER", "HIS", "THEIR"), rng)
        if ct == "third_party_family" and rel:
            return expand(pick((f"<rp> <adv> {poss} {rel}", f"<rp> <adv> {poss} {rel} [IS]", f"RPS {rel}",
                                f"{rel} OF RP", f"<rp> IS {rel}S {pick(('MOTHER', 'FATHER', 'SISTER', 'ROOMMATE', 'WIFE'), rng)}",
                                f"<rp> <adv> {rel} <agesex>", f"<rp> CALLING RE {poss} {rel}"), rng), rng,
                          {"rp": _rp(rng), "adv": _adv(rng), "agesex": agesex(scn, rng)}), True
        if ct == "third_party_bystander":
            desc = scn.caller_desc.upper()
            sx = "MALE" if scn.subject.sex == "M" else "FEMALE"
            return expand(pick((f"<rp> IS A {desc}, <adv> {sx}", f"{desc} <adv> {sx}", f"<rp> <adv> A {sx}",
                                f"3RD PARTY <rp> <adv> {sx}", f"<rp> <adv> {sx} [APPROX] {scn.subject.age // 10}0S",
                                "PASSERBY <adv>", f"<rp> DRIVING BY <adv> {sx}"), rng), rng,
                          {"rp": _rp(rng), "adv": _adv(rng)}), True
        if ct == "third_party_professional":
            desc = scn.caller_desc.upper()
            return expand(pick((f"{desc} <adv> [A] RESIDENT", f"<rp> IS {desc}", f"<rp> IS {desc}, <adv> [THAT]",
                                f"{desc} REQ ASSIST", f"{desc} CALLING RE CLIENT", f"<rp> IS {desc} <adv> PT"), rng), rng,
                          {"rp": _rp(rng), "adv": _adv(rng)}), rng.random() < 0.6
        if ct == "self":
            return pick(("1ST PARTY CALLER", "RP IS PT", "RP IS THE SUBJ", f"{agesex(scn, rng)} RP",
                         f"<rp> {scn.subject.he.upper()}".replace("<rp>", _rp(rng)), "CALLER STATES",
                         "RP STS"), rng), rng.random() < 0.4
        if ct == "alarm_or_system":
            return pick(("ALARM CO ADV", f"ALARM CO OPER {rng.randrange(100, 9999)} ADV", "MONITORING CO REPORTS",
                         "PER ALARM CO"), rng), True
        if ct == "officer":
            return pick((f"{pick(lexicon.OFFICER_UNITS, rng)} ADV", "OFC REQ", f"UNIT {pick(lexicon.OFFICER_UNITS, rng)} ON SCENE W/",
                         "DEP ADV", "OFC ON VIEW"), rng), True
    if x < p_age + p_caller + 0.05:
        return pick(("PT", "SUBJ", "MALE" if scn.subject.sex == "M" else "FEMALE", "M" if scn.subject.sex == "M" else "F"),
                    rng), True
    return "", False


def render_fact(fact: Fact, scn: Scenario, rng: random.Random, slots: dict[str, str | tuple[str, ...]],
                spanish: bool) -> tuple[str, bool]:
    """One fact as a CAD fragment; (text, used_spanish)."""
    if spanish and fact.es:
        es = pick(fact.es, rng)
        form = weighted(((f'RP STATES "{es}"', 3), (f"{es} PER RP", 2), (f'"{es}"', 2), (f"RP ADV {es}", 1),
                         (f"{es} ({expand(pick(fact.cad, rng), rng, slots)})", 2)), rng)
        return form, True
    return expand(pick(fact.cad, rng), rng, slots), False


def context_pool(scn: Scenario, rng: random.Random) -> list[str]:
    """Label-neutral fragments that lengthen a note (location, caller, description, dispatch)."""
    cf = scn.family.call_family
    street2 = lexicon.street(rng)
    pool = [
        pick((f"AT {scn.place_cad}", f"LOC {scn.place_cad}", f"IFO {scn.place_cad}", f"@ {scn.place_cad}",
              f"AT THE {scn.place_cad}", f"INSIDE {scn.place_cad}", f"BEHIND {scn.place_cad}",
              f"NEAR {lexicon.street(rng)} & {street2}" if rng.random() < 0.3 else f"OUTSIDE {scn.place_cad}"), rng),
        pick(("PD ENRT", "PD NOTIFIED", "EMS NOTIFIED", "FD PAGED", f"{lexicon.unit_id(rng)} ENRT", "EMS STAGING",
              "STAGE FOR PD", "UNITS ADV", "SUPERVISOR ADV"), rng),
        pick((f"CB {lexicon.phone(rng)}", f"CALLBACK {lexicon.phone(rng)}", "WILL MEET UNITS OUT FRONT",
              "WILL FLAG DOWN UNITS", "REQ CALL ON ARRIVAL", "MEET IN LOT", "LIGHTS ON IN FRONT", "FAMILY WILL MEET",
              "SIDE DOOR OPEN", "UNIT <num>"), rng),
        pick(("OCCURRED APPROX <mins> MIN AGO", "ONGOING", "JUST HAPPENED", "SINCE THIS AM", "X<num> HRS",
              "STARTED APPROX <mins> MIN AGO", "CALL DROPPED CB MADE", "NFI", "DUP CALL SEE PREV", "<num>ND CALL",
              "ADV TO CALL BACK IF ANYTHING CHANGES", "ADV TO STAY ON LINE", "ADV NOT TO APPROACH"), rng),
        agesex(scn, rng) if cf in ("medical", "behavioral", "police", "traffic") else pick(
            (f"ZONE {rng.randrange(1, 30)}", f"ETA {rng.randrange(3, 25)} MIN", f"{lexicon.unit_id(rng)} ENRT",
             f"PREMISE #{rng.randrange(1000, 99999)}", f"{rng.randrange(2, 6)} UNITS ASSIGNED"), rng),
        pick((scn.address if rng.random() < 0.3 else f"#{scn.slots['apt']}", f"RM {scn.slots['apt']}",
              f"BLDG {rng.randrange(1, 30)}", f"{rng.randrange(1, 4)} FLOOR", f"LOT {rng.randrange(1, 40)}",
              f"SPACE {rng.randrange(1, 90)}", f"UNIT {rng.randrange(100, 400)}", f"X{rng.randrange(2, 4)}"), rng),
    ]
    if cf in ("police", "behavioral") or scn.caller_type in ("third_party_bystander", "officer"):
        color = pick(("BLK", "BLUE", "GRY", "RED", "WHT", "GREEN", "TAN", "BROWN"), rng)
        cloth = pick(("HOODIE", "JACKET", "T-SHIRT", "JEANS", "SWEATPANTS", "BALL CAP", "COAT", "SHORTS", "SCRUBS"), rng)
        sx = scn.subject.sex
        race = pick((f"W/{sx}", f"B/{sx}", f"H/{sx}", f"A/{sx}", "WHI MALE" if sx == "M" else "WHI FEMALE",
                     "BLK MALE" if sx == "M" else "BLK FEMALE"), rng)
        pool += [
            pick((f"LSW {color} {cloth}", f"WEARING {color} {cloth}", f"{color} {cloth}, {pick(('BEARD', 'BALD', 'LONG HAIR', 'GLASSES', 'BACKPACK'), rng)}"), rng),
            pick((f"{race} APPROX {scn.subject.age // 10}0S", f"DESC {race} THIN BUILD", f"{race} {scn.subject.age} YO",
                  f"APPROX 5'{rng.randrange(2, 12)} {pick(('THIN', 'HEAVY', 'MED'), rng)} BUILD"), rng),
            pick(("UNK DIRECTION OF TRAVEL", f"LAST SEEN WALKING {pick(lexicon.DIRECTIONS, rng)}", "STILL ON SCENE",
                  "SUBJ WENT BACK INSIDE", "SUBJ IN THE BACKYARD", "SUBJ STILL IN AREA"), rng),
            pick(("PRIOR CALLS TO ADDR", "PREMISE HX ON FILE", "KNOWN TO PD", "FAMILY ON SCENE", "DOG ON PREMISES",
                  "FRONT DOOR UNLOCKED", "CHILDREN IN RES", "RP OUTSIDE IN VEH"), rng),
        ]
    if cf == "medical":
        pool += [
            pick(("HX COPD", "HX CHF", "HX DIABETES", "HX HTN", "HX AFIB", "ON BLOOD THINNERS", "ON O2 AT HOME",
                  "HX CANCER", "HX CARDIAC", "DNR ON FILE", "HX HIP REPLACEMENT"), rng),
            pick(("LIVES ALONE", "FAMILY ON SCENE", "DOOR UNLOCKED", "GATE CODE <num>", "CARE GIVER ON SCENE",
                  "PT IN BEDROOM", "PT IN BATHROOM", "PT IN LIVING RM", f"{pick(('2ND', '3RD'), rng)} FLR"), rng),
        ]
    if cf in ("traffic",):
        pool += [pick((f"{pick(lexicon.DIRECTIONS, rng)} {pick(lexicon.HIGHWAYS, rng)} MM {rng.randrange(1, 140)}",
                       "BLOCKING RT LN", "BOTH LANES BLOCKED", "OFF ROAD", "FLUIDS IN RD", "TOW REQ", "PC VS PICKUP"), rng)]
    if cf in ("fire", "alarm", "hazard"):
        pool += [pick(("1ST ALARM", "CHIEF NOTIFIED", "UTILITY NOTIFIED", "RESPONDING NON-EMERGENCY", "HYDRANT ON CORNER",
                       "KNOX BOX ON SITE", "MUTUAL AID REQ"), rng)]
    return [expand(p, rng, scn.slots) for p in pool]


def call_type_for(scn: Scenario, rng: random.Random) -> str:
    labels = scn.labels
    need = {"violence": VIO, "suicide": SI, "overdose": SUB, "intox": SUB, "dui": SUB, "traffic_inj": MED,
            "bleeding": MED, "cardiac": MED, "unconscious": MED, "seizure": MED, "stroke": MED, "breathing": MED}
    keys = [k for k in scn.family.call_types if k not in need or labels[need[k]]]
    if not keys:
        keys = [{"behavioral": "behavioral", "police": "police", "traffic": "traffic", "medical": "medical"}
                .get(scn.family.call_family, "service")]
    return pick(lexicon.CALL_TYPES[pick(keys, rng)], rng)


@dataclass
class Rendered:
    text: str
    spanish: bool


def render_cad(scn: Scenario, rng: random.Random, agency: Agency) -> Rendered:
    slots = cad_slots(scn, rng)
    cf = scn.family.call_family
    target = target_words(cf, rng, scale=0.7)
    spanish_fact = -1
    if scn.spanish:
        with_es = [i for i, f in enumerate(scn.facts) if f.es]
        if with_es:
            spanish_fact = pick(with_es, rng)

    # evidence fragments, in a varied order (the first fact of the family stays early more often)
    order = fact_order(len(scn.facts), rng, keep_first=0.6)
    used_es = False
    segments: list[tuple[str, bool]] = []  # (text, evidence)
    for i in order:
        txt, es = render_fact(scn.facts[i], scn, rng, slots, i == spanish_fact)
        used_es = used_es or es
        segments.append((txt, scn.facts[i].evidence))
    for f in scn.extras:
        pos = rng.randrange(len(segments) + 1)
        segments.insert(pos, (render_fact(f, scn, rng, slots, False)[0], f.evidence))
    if used_es and rng.random() < 0.7:
        segments.insert(rng.randrange(len(segments) + 1),
                        (pick(("RP SPANISH SPEAKING", "LANG LINE USED", "SPANISH SPKG RP", "HABLA ESPANOL",
                               "XFER TO SPANISH INTERPRETER", "RP SPEAKS SPANISH ONLY"), rng), False))

    op, joins = opener(scn, rng)
    if op and target < 10 and rng.random() < 0.6:
        op = ""
    if op:
        if joins and segments:
            first, ev = segments[0]
            segments[0] = (f"{op} {first}", ev)
        else:
            segments.insert(0, (op, False))

    # lengthen with neutral context until the target is met
    pool = context_pool(scn, rng)
    rng.shuffle(pool)
    words = sum(len(t.split()) for t, _ in segments)
    while words < target and pool:
        frag = pool.pop()
        if words + len(frag.split()) > target + 2 and rng.random() < 0.8:
            continue
        if rng.random() < 0.65:
            segments.append((frag, False))
        else:
            segments.insert(rng.randrange(len(segments) + 1), (frag, False))
        words += len(frag.split())
    # very long notes restate a fact as an update
    for _ in range(3 if target > 25 else 0):
        if words >= target or not scn.facts:
            break
        f = pick(scn.facts, rng)
        upd = f"{pick(('UPDATE', 'UPD', 'PER RP', 'NOW ADV', 'ADDL', 'ALSO', '2ND CALLER ADV', 'NOW', 'UPDT'), rng)} " \
              f"{render_fact(f, scn, rng, slots, False)[0]}"
        segments.append((upd, f.evidence))
        words += len(upd.split())
        extra = [c for c in context_pool(scn, rng) if not re.search(r"\d ?(?:Y|YR|YO)\b|/[MF] |MALE|FEMALE", c)]
        rng.shuffle(extra)
        for frag in extra[: rng.randrange(1, 4)]:
            segments.append((frag, False))
            words += len(frag.split())
    if agency.ten_codes and rng.random() < 0.15:
        code = "10-50" if cf == "traffic" else pick(("10-4", "10-23", "10-17", "10-97", "10-8"), rng)
        segments.append((pick((f"{lexicon.unit_id(rng)} {code}", code, f"{code} PER {pick(lexicon.OFFICER_UNITS, rng)}"), rng),
                         False))

    # per-segment noise that keeps meaning: abbreviation choice, typos
    density = min(1.0, max(0.0, agency.abbr_density + rng.uniform(-0.2, 0.2)))
    if target > 30:  # long notes are written out more (keeps p95 abbreviations near the real 6)
        density *= 0.6
    segments = [(noise.misspell(noise.abbreviate(t.upper(), density, rng), rng), ev) for t, ev in segments]
    sep = weighted(agency.separators, rng)
    if sep != ", " and rng.random() < 0.7:
        segments = [(t.replace(", ", " "), ev) for t, ev in segments]
    want_trunc = rng.random()
    if want_trunc < 0.08 and segments and segments[-1][1]:
        tail = pick([*context_pool(scn, rng), pick(("PD ENRT", "EMS NOTIFIED", "UNITS ADV", "RESPONDING"), rng)], rng)
        segments.append((tail.upper(), False))

    # join, as one entry or as several time-stamped entries
    multi = len(segments) >= 3 and rng.random() < agency.multi_entry_rate * (1.6 if cf in ("police", "behavioral") else 1.0)
    if target > 45:
        multi = multi or rng.random() < 0.5
    if multi:
        n_entries = min(len(segments), rng.choice((2, 2, 3, 3, 4)))
        cuts = sorted(rng.sample(range(1, len(segments)), n_entries - 1))
        groups = [segments[a:b] for a, b in zip([0, *cuts], [*cuts, len(segments)], strict=True)]
        stamp = rng.random() < 0.4
        entry_sep = pick(("\n", "\n", " ", " ** ", " | "), rng)
        h, m, s = lexicon.clock(rng)
        day = lexicon.date_str(rng)
        entries: list[tuple[str, bool]] = []
        for g in groups:
            body = sep.join(t for t, _ in g)
            if stamp:
                prefix = _stamp(agency.ts_style, h, m, s, rng, day)
                body = f"{prefix} {body}"
                secs = h * 3600 + m * 60 + s + rng.randrange(8, 300)
                h, m, s = (secs // 3600) % 24, (secs // 60) % 60, secs % 60
            entries.append((body, any(ev for _, ev in g)))
        parts = entries
        joiner = entry_sep
    else:
        parts = segments
        joiner = sep

    text = ""
    protect = 0
    for i, (t, ev) in enumerate(parts):
        text = t if i == 0 else f"{text}{joiner}{t}"
        if ev:
            protect = len(text)

    # boilerplate layers
    emd_p = agency.emd_rate * {"medical": 2.0, "behavioral": 1.2, "traffic": 1.2, "police": 0.5}.get(cf, 0.0)
    if target > 45 and cf in ("medical", "behavioral", "traffic", "police"):
        emd_p += 0.25
    if rng.random() < emd_p:
        block = layers.emd_block(scn, rng)
        if block:
            glue = pick(("\n", " ", " / "), rng)
            if rng.random() < 0.5:
                text = block + glue + text
                protect += len(block) + len(glue)
            else:
                text = text + glue + block
    if rng.random() < agency.system_rate:
        line = " ".join(layers.system_lines(scn, rng))
        if rng.random() < 0.3:
            hh, mm, ss = lexicon.clock(rng)
            line = f"{_stamp(agency.ts_style, hh, mm, ss, rng)} {line}"
        glue = pick(("\n", " ", " / "), rng)
        if rng.random() < 0.6:
            text = text + glue + line
        else:
            text = line + glue + text
            protect += len(line) + len(glue)
    if rng.random() < 0.045:
        d = lexicon.date_str(rng)
        if rng.random() < 0.4:
            hh, mm, ss = lexicon.clock(rng)
            d = f"{d} {_stamp('hm', hh, mm, ss, rng)}"
        stamp_txt = pick((f"{d} ", f"[{d}] ", f"RCVD {d} ", f"CALL REC {d} "), rng)
        if rng.random() < 0.5:
            text = stamp_txt + text
            protect += len(stamp_txt)
        else:
            text = f"{text}{pick((' ', chr(10)), rng)}{stamp_txt.strip()}"
    if rng.random() < 0.08:
        prefix = call_type_for(scn, rng) + pick((" - ", ": ", " / ", " "), rng)
        text = prefix + text
        protect += len(prefix)

    # case (agency habit; a few notes per agency differ)
    case = agency.case if rng.random() < 0.85 else weighted((("upper", 6), ("lower", 1), ("mixed", 3)), rng)
    if case == "lower":
        text = text.lower()
    elif case == "mixed":
        text = noise.sentence_case_cad(text, rng)
    # terminal punctuation ~10%
    if rng.random() < 0.06 and not text.endswith((".", "?", "!")):
        text += "."
    # truncation at the end (never into evidence)
    x = want_trunc
    if x < 0.05:
        cut = noise.truncate_mid_word(text, protect, rng)
        if cut:
            text = cut
    elif x < 0.08:
        cut = noise.truncate_word_boundary(text, protect, rng)
        if cut:
            text = cut
    return Rendered(text.strip(), used_es)


def _stamp(style: str, h: int, m: int, s: int, rng: random.Random, day: str = "") -> str:
    day = day or lexicon.date_str(rng)
    if style == "bracket":
        h12 = h % 12 or 12
        return f"[{day} {h12}:{m:02d}:{s:02d} {'AM' if h < 12 else 'PM'} : {pick(('POS3', 'DISP2', 'CT14', 'JMR', 'KLD'), rng)}]"
    if style == "date":
        return f"{day} {h:02d}:{m:02d}"
    if style == "hm":
        return f"{h:02d}:{m:02d}"
    return f"{h:02d}:{m:02d}:{s:02d}"
