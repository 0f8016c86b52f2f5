"""Surface noise of real CAD text: abbreviation choice, case, typos, dropped apostrophes, truncation.

Rates follow /work/shared/reference/real-text-profile.md §1.2 and §3 (rec. 3, 4, 6). None of these change what a
note means; truncation only ever cuts trailing non-evidence text (the caller passes `protect` = the length of the
prefix that holds evidence).
"""

from __future__ import annotations

import random
import re

from divert.training.corpus.templates import pick

# (full forms, abbreviated forms). The pass rewrites each occurrence to one side by the note's density.
ABBREVIATION_PAIRS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("WITH",), ("W/",)),
    (("POSSIBLE", "POSSIBLY"), ("POSS",)),
    (("UNKNOWN",), ("UNK", "UNKN")),
    (("ADVISES", "ADVISED", "STATES", "SAYS"), ("ADV", "ADVD", "STS")),
    (("VEHICLE", "CAR"), ("VEH",)),
    (("INJURIES", "INJURY"), ("INJ",)),
    (("REQUESTING", "REQUESTS"), ("REQ",)),
    (("HISTORY OF",), ("HX",)),
    (("PATIENT",), ("PT",)),
    (("APPROXIMATELY", "ABOUT"), ("APPROX",)),
    (("BETWEEN",), ("BTWN",)),
    (("AMBULANCE",), ("AMB",)),
    (("SUBJECT",), ("SUBJ",)),
    (("RESIDENCE", "HOUSE"), ("RES",)),
    (("APARTMENT",), ("APT",)),
    (("BUILDING",), ("BLDG",)),
    (("MINUTES",), ("MIN", "MINS")),
    (("HOURS",), ("HRS",)),
    (("CALLER",), ("RP", "CLR", "COMP")),
    (("NEGATIVE",), ("NEG",)),
    (("DIFFICULTY",), ("DIFF",)),
    (("EN ROUTE",), ("ENRT", "ENROUTE", "ENR")),
    (("THROUGH",), ("THRU",)),
    (("FEMALE",), ("FEM", "F")),
    (("ALCOHOL",), ("ETOH",)),
    (("WEAPONS", "WEAPON"), ("WPNS", "WPN")),
    (("INTOXICATED",), ("INTOX",)),
    (("CONSCIOUS",), ("CONS", "CONSC")),
    (("DESCRIPTION",), ("DESC",)),
    (("POLICE",), ("PD", "LE")),
    (("IN FRONT OF",), ("IFO",)),
    (("NO FURTHER INFO",), ("NFI",)),
    (("LAST SEEN WEARING",), ("LSW",)),
    (("COMPLAINING OF",), ("C/O",)),
    (("CHEST PAIN",), ("CP",)),
    (("SHORTNESS OF BREATH",), ("SOB",)),
    (("OVERDOSE",), ("OD",)),
    (("SUICIDAL IDEATION", "SUICIDAL IDEATIONS"), ("SI",)),
)

_VARIANT_TO_PAIR: dict[str, int] = {}
for _i, (_full, _abbr) in enumerate(ABBREVIATION_PAIRS):
    for _v in _full + _abbr:
        _VARIANT_TO_PAIR.setdefault(_v, _i)
_ABBR_RE = re.compile(
    r"(?<![A-Z0-9/])(" + "|".join(re.escape(v) for v in sorted(_VARIANT_TO_PAIR, key=len, reverse=True)) + r")(?![A-Z0-9])"
)
# words whose abbreviations are ambiguous in the other direction: never expand these abbreviations
_NO_EXPAND = {"F", "LE", "STS", "SI", "OD", "CP", "SOB", "RES", "APT"}
_NO_ABBREVIATE_FULL = {"SAYS", "STATES", "CAR", "HOUSE", "ABOUT", "POLICE"}


def abbreviate(text: str, density: float, rng: random.Random) -> str:
    """Rewrite abbreviable words: each occurrence becomes an abbreviation with probability `density`."""

    def repl(m: re.Match[str]) -> str:
        word = m.group(1)
        full, abbr = ABBREVIATION_PAIRS[_VARIANT_TO_PAIR[word]]
        is_abbr = word in abbr
        if is_abbr and word in _NO_EXPAND:
            return word
        if not is_abbr and word in _NO_ABBREVIATE_FULL and rng.random() < 0.6:
            return word
        want_abbr = rng.random() < density
        if want_abbr == is_abbr:
            return word
        if want_abbr:
            return abbr[0] if rng.random() < 0.75 else pick(abbr, rng)
        return full[0]

    out = _ABBR_RE.sub(repl, text)
    return out.replace("W/ ", "W/ ").replace("W/  ", "W/ ")


# Misspellings at the real per-word rates (§1.2).
TYPOS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("UNCONSCIOUS", ("UNCONCIOUS", "UNCONSCIOS", "UNCONSIOUS"), 0.17),
    ("CONSCIOUS", ("CONCIOUS", "CONSCOUS", "CONSIOUS"), 0.11),
    ("VOMITING", ("VOMITTING",), 0.28),
    ("LETHARGIC", ("LETHARGIC", "LETHARIC", "LETHERGIC"), 0.17),
    ("SEIZURE", ("SIEZURE",), 0.05),
    ("SEIZURES", ("SIEZURES",), 0.05),
    ("SEIZING", ("SIEZING",), 0.05),
    ("RECEIVED", ("RECIEVED",), 0.045),
    ("ACROSS", ("ACCROSS",), 0.03),
    ("DIFFICULTY", ("DIFFICULTLY", "DIFICULTY"), 0.01),
    ("BREATHING", ("BREATHNG", "BREATHIGN"), 0.007),
    ("AMBULANCE", ("AMBULENCE",), 0.004),
    ("A LOT", ("ALOT",), 0.3),
    ("THE", ("TEH",), 0.0015),
    ("RESPONSIVE", ("RESPONSIVE", "REPSONSIVE"), 0.01),
    ("UNRESPONSIVE", ("UNRESPONSIVE", "UNRESPONSVE", "UNREPONSIVE"), 0.01),
    ("HALLUCINATING", ("HALUCINATING", "HALLUCINATEING"), 0.06),
    ("SUICIDAL", ("SUICIDAL", "SUCIDAL"), 0.01),
    ("PARANOID", ("PARANIOD",), 0.04),
    ("AGGRESSIVE", ("AGRESSIVE",), 0.08),
    ("THREATENING", ("THREATNING", "THRETENING"), 0.03),
    ("NEIGHBOR", ("NEIGHBOR", "NIEGHBOR"), 0.02),
    ("ANYMORE", ("ANY MORE",), 0.2),
)
_TYPO_RE = {w: re.compile(r"\b" + w + r"\b", re.IGNORECASE) for w, _, _ in TYPOS}


def _match_case(src: str, dst: str) -> str:
    if src.isupper():
        return dst.upper()
    if src.islower():
        return dst.lower()
    if src[:1].isupper():
        return dst[:1].upper() + dst[1:].lower()
    return dst


def misspell(text: str, rng: random.Random, scale: float = 1.0) -> str:
    for word, variants, rate in TYPOS:
        rx = _TYPO_RE[word]
        if not rx.search(text):
            continue
        def repl(m: re.Match[str], v: tuple[str, ...] = variants, r: float = rate) -> str:
            return _match_case(m.group(0), pick(v, rng)) if rng.random() < r * scale else m.group(0)

        text = rx.sub(repl, text)
    return text


_CONTRACTION = re.compile(r"\b([A-Za-z]+)n't\b")
_APOS = re.compile(r"\b([A-Za-z]+)'([A-Za-z]{1,2})\b")


def drop_apostrophes(text: str, rng: random.Random, rate: float = 0.57) -> str:
    text = _CONTRACTION.sub(lambda m: m.group(1) + ("nt" if rng.random() < rate else "n't"), text)
    text = _APOS.sub(lambda m: m.group(1) + ("" if rng.random() < rate * 0.7 else "'") + m.group(2), text)
    return text


_ABBR_KEEP = re.compile(r"^(?:[A-Z0-9/&@#-]{1,6}|[0-9]+[A-Z]{2,3})$")
_KEEP_UPPER_WORDS = {"RP", "PD", "FD", "EMS", "ETOH", "WPNS", "UNK", "POSS", "SUBJ", "ADV", "CB", "HX", "SI", "OD", "NEG",
                     "PT", "C/B", "W/", "IFO", "LSW", "NFI", "YOM", "YOF", "YO", "REQ", "MVA", "PI", "CP", "SOB", "ALS",
                     "BLS", "ENRT", "KH", "GSW", "DV", "INTOX", "APT", "RES", "VEH", "INJ", "ATL", "NB", "SB", "EB",
                     "WB", "MM", "CPR", "AED", "CIT", "MCT", "LOC", "ALOC", "DLOC", "DIB", "CO", "ER", "OPER", "SUSP",
                     "JUV", "W/M", "W/F", "B/M", "B/F", "H/M", "H/F", "CVA", "FX", "LAC", "HWY", "RD", "ST", "AVE",
                     "DR", "LN"}


def sentence_case_cad(text: str, rng: random.Random) -> str:
    """Mixed case CAD: words lower-cased, abbreviations kept upper, a capital after each separator."""
    out: list[str] = []
    cap_next = True
    for tok in re.split(r"(\s+)", text):
        if not tok or tok.isspace():
            out.append(tok)
            continue
        core = tok.strip(",.;:()[]\"'")
        if core.upper() in _KEEP_UPPER_WORDS or (_ABBR_KEEP.match(core) and any(c.isdigit() for c in core)):
            word = tok
        else:
            word = tok.lower()
            if cap_next:
                word = word[:1].upper() + word[1:]
        out.append(word)
        cap_next = tok.endswith((".", "/", "//", "-", ":", ";")) or tok in ("/", "//", "-", "--", "...")
    return "".join(out)


COMMON_WORDS = ("BREATHING", "ADVISED", "REQUESTING", "RESPONDING", "NOTIFIED", "CONSCIOUS", "FURTHER", "INFORMATION",
                "AMBULANCE", "STAGING", "MEETING", "LOCATION", "CALLBACK", "DISPATCH", "ENROUTE", "KEYHOLDER",
                "RESIDENCE", "APARTMENT", "PARKING", "BUILDING", "UNKNOWN", "VEHICLE", "TRANSPORT", "OFFICER",
                "CONTACT", "AVAILABLE", "RESPONSE", "STANDING", "OUTSIDE", "ASSIST", "COMPLAINT")


def truncate_mid_word(text: str, protect: int, rng: random.Random) -> str | None:
    """Cut the end inside a common word after `protect` characters; None when the tail has no such word."""
    tail = text[protect:]
    candidates = [m for m in re.finditer(r"[A-Za-z]{5,}", tail)]
    if not candidates:
        return None
    common = [m for m in candidates if m.group(0).upper() in COMMON_WORDS]
    m = pick(common, rng) if common and rng.random() < 0.4 else candidates[-1]
    word = m.group(0)
    keep = rng.randrange(3, max(4, len(word) - 1))
    return text[: protect + m.start() + keep]


def truncate_word_boundary(text: str, protect: int, rng: random.Random) -> str | None:
    tail = text[protect:]
    spaces = [m.start() for m in re.finditer(r" ", tail)]
    if len(spaces) < 2:
        return None
    cut = protect + spaces[rng.randrange(len(spaces) // 2, len(spaces))]
    return text[:cut].rstrip(" /,-")
