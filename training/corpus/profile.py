"""Style profile of a text corpus, and its comparison with real dispatch figures.

`profile_texts` computes the figures of /work/shared/reference/real-text-profile.md (CAD narratives §1, transcripts
§2) for any list of texts; `REFERENCE_RANGES` holds the real CAD values as acceptable ranges (a tolerance around
the real value, source line in the comment); `compare_to_reference` lines them up. The real profile is of CAD
narratives, so the generator is compared on its CAD-style and prose notes (`style in {cad, prose}`), never on
transcripts; transcripts have their own `TRANSCRIPT_REFERENCE_RANGES` (Whisper-style full calls, §2).
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# §1.3: the 150 most frequent abbreviation/jargon tokens plus the "lower in the list" tokens.
ABBREVIATION_TOKENS: frozenset[str] = frozenset(["YO", "YOF", "RP", "YOM", "ADV", "UNK", "VEH", "PROQA", "POSS", "RD", "EMS", "PT", "REQ", "CAD", "FD", "ENROUTE", "YOA", "DETERMINANT", "ST", "DIFF", "INJ", "SUFFIX", "CO", "2ND", "MED", "HX", "CC", "YR", "W/", "Y/O", "HRS", "DEPT", "SUBJ", "LOC", "REF", "RESD", "VS", "NOTIFIED", "DR", "ALS", "COMP", "1ST", "PD", "RES", "AMB", "DET", "AVAIL", "CONS", "HWY", "APT", "MVA", "ENRT", "FEM", "BLK", "3RD", "INC", "NON-TRAUMATIC", "E911", "COMPL", "FT", "PAGED", "BLDG", "DISP", "PRI", "DESC", "AVE", "CP", "HAZ", "MIN", "ETA", "BP", "RESP", "CMPLT", "ADVD", "APPROX", "BLS", "MINS", "NLLY", "SB", "VEHS", "TWP", "NB", "GEN", "CB", "COPD", "C/B", "WHI", "BTWN", "VOIP", "ADDR", "SOB", "CONC", "TRANS", "O2", "RM", "CLR", "1/2", "OPER", "ENR", "CVA", "KH", "MVC", "NEG", "LN", "WPH2", "RT", "STAGE", "WB", "PI", "TAC", "PASSERBY", "ATT", "LBS", "BUSN", "GRY", "C/O", "KEYHOLDER", "CONSC", "MI", "TONED", "N/A", "EMD", "EB", "UNKN", "COMM", "HAZMAT", "RPS", "THRU", "INTOX", "CT", "CPR", "10-17", "WHT", "MPH", "ALRM", "UNCON", "BLVD", "AUD", "ONSCENE", "10-50", "LAT", "OPS", "ABD", "MM", "PC", "TIA", "STS", "ACK", "OD", "EVAL", "DIB", "OCC", "LZ", "W/M", "W/F", "B/M", "IFO", "DOB", "PX", "SUSP", "VIC", "SIG", "NFI", "LSW", "ATL", "DOA", "DNR", "AED", "CHF", "UTI", "AFIB", "HBP", "ALOC", "DLOC", "ETOH", "WPNS", "HU", "XFER", "P/U", "JUV", "PED", "PREG", "OFC", "DEP", "K9", "AMA", "10-4", "10-23"])

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[/'-][A-Za-z0-9]+)*/?")
_FUSED_AGE = re.compile(r"^\d+(YOM|YOF|YOA|YO)$")
_CLOCK = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?::\d{2})?(?![\d:])")
_DATE = re.compile(r"(?<![\d/])\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})(?![\d/])")
_EMD = re.compile(r"\d+-year-old, (?:male|female)|chief complaint|dispatch code|determinant|proqa|key questions|"
                  r"\b\d{1,2}[a-eo]\d{2}[a-z]?\b|\b\d{1,2}-[a-e]-\d{1,2}\b", re.IGNORECASE)
_TEN_CODE = re.compile(r"\b10-\d{1,3}\b")
_WEAPON = re.compile(r"\b(?:weapons?|wpns?|guns?|knife|knives|firearms?|armed|pistol|rifle|handgun|shotgun|machete)\b",
                     re.IGNORECASE)
_WEAPON_NEG = re.compile(r"\b(?:no|neg|negative|unk|unkn|unknown|not|denies)\s+(?:weapons?|wpns?|armed)\b|"
                         r"\bposs(?:ibly)?\s+armed\b|\bunk if armed\b", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:no|not|neg|none|cant|can't|cannot|denies|denied|never|doesnt|doesn't|dont|don't|didnt|"
                       r"didn't|wont|won't|isnt|isn't|wasnt|wasn't|nobody|nothing|unable)\b", re.IGNORECASE)
_DENIES = re.compile(r"\bdenie[sd]\b", re.IGNORECASE)
_CALLER = re.compile(r"\b(?:rp|rps|rp's|caller|caller's|callers|comp|compl|clr|complainant)\b", re.IGNORECASE)
_FILLER = re.compile(r"\b(?:uh|um|uhh|umm|mm|hmm|er|erm)\b", re.IGNORECASE)
_OKAY = re.compile(r"\b(?:okay|ok)\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z']+")
_MARKER = re.compile(r"^(?:CALLER|CALL TAKER):[ ]?", re.MULTILINE)
_REPEAT = re.compile(r"\b(\w+)\s+\1\b", re.IGNORECASE)
_SIR = re.compile(r"\b(?:sir|ma'?am)\b", re.IGNORECASE)
_SPANISH = re.compile(r"\b(?:por favor|necesito|ayuda|tiene|está|esta|quiere|sí|señora|hijo|hija|nada|nunca)\b",
                      re.IGNORECASE)
_NUMBER_WORD = re.compile(r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
                          r"fifty|sixty|seventy|eighty|ninety|hundred|oh|zero)\b", re.IGNORECASE)
TRANSCRIPT_STYLES = ("transcript_clean", "transcript_asr")


def _pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else 0.0


def _share(flags: Iterable[bool]) -> float:
    f = list(flags)
    return 100.0 * sum(f) / len(f) if f else 0.0


def abbreviation_count(text: str) -> int:
    n = 0
    for tok in _TOKEN.findall(text):
        up = tok.upper()
        m = _FUSED_AGE.match(up)
        if m:
            up = m.group(1)
        if up in ABBREVIATION_TOKENS:
            n += 1
    return n


def _case(text: str) -> str:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "none"
    if all(c.isupper() for c in letters):
        return "upper"
    if all(c.islower() for c in letters):
        return "lower"
    return "mixed"


def _truncated_flags(texts: list[str]) -> list[bool]:
    """A note is cut mid-word when its last fragment never occurs inside any note (only ever last) but is a
    proper prefix (>= 2 letters shorter) of a word that does."""
    inner: Counter[str] = Counter()
    lasts: list[str] = []
    for t in texts:
        words = _WORD.findall(t.upper())
        inner.update(words[:-1])
        ends_clean = bool(t) and t.rstrip()[-1:].isalpha()
        lasts.append(words[-1] if words and ends_clean and t.rstrip().upper().endswith(words[-1]) else "")
    prefixes: set[str] = set()
    for w in inner:
        if len(w) >= 4:
            for k in range(2, len(w) - 1):
                prefixes.add(w[:k])
    return [bool(last) and last not in inner and last in prefixes for last in lasts]


def profile_texts(texts: list[str]) -> dict[str, float]:
    """Style figures of a corpus (percent shares are 0-100)."""
    words = [len(t.split()) for t in texts]
    chars = [len(t) for t in texts]
    cases = [_case(t) for t in texts]
    abbr = [abbreviation_count(t) for t in texts]
    n_words_total = max(1, sum(words))
    fillers = [len(_FILLER.findall(t)) for t in texts]
    okays = [len(_OKAY.findall(t)) for t in texts]
    out: dict[str, float] = {
        "n": float(len(texts)),
        "words_p5": _pct(words, 5), "words_p25": _pct(words, 25), "words_p50": _pct(words, 50),
        "words_p75": _pct(words, 75), "words_p95": _pct(words, 95),
        "chars_p50": _pct(chars, 50), "chars_p95": _pct(chars, 95),
        "upper_share": _share(c == "upper" for c in cases),
        "lower_share": _share(c == "lower" for c in cases),
        "mixed_share": _share(c == "mixed" for c in cases),
        "digit_share": _share(any(ch.isdigit() for ch in t) for t in texts),
        "abbr_median": _pct([float(a) for a in abbr], 50), "abbr_p75": _pct([float(a) for a in abbr], 75),
        "abbr_p95": _pct([float(a) for a in abbr], 95), "abbr_none_share": _share(a == 0 for a in abbr),
        "slash_sep_share": _share(" / " in t or "//" in t for t in texts),
        "linebreak_share": _share("\n" in t for t in texts),
        "comma_share": _share("," in t for t in texts),
        "dash_share": _share(" - " in t or "--" in t for t in texts),
        "ellipsis_share": _share(".." in t for t in texts),
        "terminal_punct_share": _share(t.rstrip().endswith((".", "!", "?")) for t in texts),
        "question_share": _share("?" in t for t in texts),
        "clock_time_share": _share(bool(_CLOCK.search(t)) for t in texts),
        "date_share": _share(bool(_DATE.search(t)) for t in texts),
        "emd_share": _share(bool(_EMD.search(t)) for t in texts),
        "ten_code_share": _share(bool(_TEN_CODE.search(t)) for t in texts),
        "weapon_term_share": _share(bool(_WEAPON.search(t)) for t in texts),
        "weapon_negation_share": _share(bool(_WEAPON_NEG.search(t)) for t in texts),
        "negation_share": _share(bool(_NEGATION.search(t)) for t in texts),
        "denies_share": _share(bool(_DENIES.search(t)) for t in texts),
        "caller_ref_share": _share(bool(_CALLER.search(t)) for t in texts),
        "truncated_share": _share(_truncated_flags(texts)),
        # transcript figures (meaningful on transcripts)
        "fillers_per_100_words": 100.0 * sum(fillers) / n_words_total,
        "filler_share": _share(f > 0 for f in fillers),
        "no_punct_share": _share(not re.search(r"[.,?!]", t) for t in texts),
        "okay_per_100_words": 100.0 * sum(okays) / n_words_total,
    }
    return out


def profile_transcripts(texts: list[str]) -> dict[str, float]:
    """Transcript figures (real-text-profile.md §2). Speaker markers (`CALLER:` / `CALL TAKER:`, added by the
    parser to diarized segments) are counted, then removed before the style figures are computed."""
    labelled = [bool(_MARKER.search(t)) for t in texts]
    bare = [_MARKER.sub("", t) for t in texts]
    out = profile_texts(bare)
    words = [len(t.split()) for t in bare]
    n_words_total = max(1, sum(words))
    number_tokens = sum(len(re.findall(r"\d+", t)) for t in bare)
    number_words = sum(len(_NUMBER_WORD.findall(t)) for t in bare)
    out.update({
        "repeats_per_100_words": 100.0 * sum(len(_REPEAT.findall(t)) for t in bare) / n_words_total,
        "repeat_share": _share(bool(_REPEAT.search(t)) for t in bare),
        "sir_maam_share": _share(bool(_SIR.search(t)) for t in bare),
        "speaker_label_share": _share(labelled),
        "spanish_share": _share(bool(_SPANISH.search(t)) for t in bare),
        "digit_number_share": 100.0 * number_tokens / max(1, number_tokens + number_words),
    })
    return out


# Real CAD narratives, all layers (real-text-profile.md §1). (low, high): a tolerance around the real value.
REFERENCE_RANGES: dict[str, tuple[float, float]] = {
    "words_p5": (4, 8),  # §1.1 words, all: p5 6 (the 6-word floor is a selection rule)
    "words_p25": (7, 12),  # §1.1 words, all: p25 9
    "words_p50": (12, 19),  # §1.1 words, all: p50 15 (free text 13; behavioural 17, police 19)
    "words_p75": (20, 34),  # §1.1 words, all: p75 27
    "words_p95": (55, 100),  # §1.1 words, all: p95 78
    "chars_p50": (65, 115),  # §1.1 characters, all: p50 83
    "chars_p95": (330, 620),  # §1.1 characters, all: p95 479
    "upper_share": (46, 62),  # §1.2 Case: ALL UPPER 54.0
    "lower_share": (4, 11),  # §1.2 Case: all lower 7.5
    "mixed_share": (30, 46),  # §1.2 Case: mixed 38.4
    "digit_share": (65, 85),  # §1.2 Digits 75.8 / 70.2
    "abbr_median": (1, 2),  # §1.2 abbreviation density: median 1 per narrative
    "abbr_p75": (1, 3),  # §1.2 p75 2
    "abbr_p95": (4, 8),  # §1.2 p95 6
    "abbr_none_share": (20, 38),  # §1.2 29% of narratives have none
    "slash_sep_share": (24, 37),  # §1.2 slash used as a separator 30.2 / 25.4
    "linebreak_share": (17, 31),  # §1.2 line break 19.2 free, 24.2 all
    "comma_share": (19, 33),  # §1.2 comma 25.7 (free text)
    "dash_share": (9, 19),  # §1.2 ` - ` or `--` 13.6
    "ellipsis_share": (5, 12.5),  # §1.2 ellipsis 8.6
    "terminal_punct_share": (7, 15),  # §1.2 terminal ./!/? 10.9
    "question_share": (0, 2.5),  # §1.2 `?` anywhere 0.9
    "clock_time_share": (5, 12),  # §1.2 clock times 8.4
    "date_share": (3.5, 9.5),  # §1.2 dates 6.5
    "emd_share": (8, 16.5),  # §1.2 ProQA/EMD boilerplate ~12
    "ten_code_share": (0.7, 3.5),  # §1.2 10-codes 1.7
    "negation_share": (20, 38),  # §1.6 any negation 27.9 (22.4 free)
    "caller_ref_share": (14, 30),  # §1.6 caller referenced 19.9 (higher in police/behavioural)
    "truncated_share": (2, 5.5),  # §1.2 truncated mid-word at the end 3.0 / 2.3 (a lower bound)
}

# Content figures: real values for reference only. The corpus oversamples police and behavioural calls on purpose
# (weapon terms 9.9 / 13.9 % there, §1.6), so these are reported, not held to the all-calls value.
CONTENT_REFERENCE: dict[str, float] = {
    "weapon_term_share": 1.0,  # §1.6 weapon terms, all narratives
    "weapon_negation_share": 0.3,  # §1.6 explicit weapon negation or uncertainty
    "denies_share": 0.03,  # §1.6 DENIES/DENIED almost absent
}

# Whisper-style full 911 calls (§2 table, first column), compared with `transcript_clean`.
TRANSCRIPT_REFERENCE_RANGES: dict[str, tuple[float, float]] = {
    "words_p5": (30, 120),  # §2 words p5 76
    # §2 words p50 553, p95 2016. Held lower on purpose: the transformer reads 256-token windows and the corpus
    # must stay affordable to train, so calls run a median of ~230 words (p95 ~420): a documented gap.
    "words_p50": (200, 650),
    "filler_share": (30, 55),  # §2 fillers in 41.8% of docs
    "fillers_per_100_words": (0.1, 0.6),  # §2 0.21 per 100 words
    "repeats_per_100_words": (0.3, 1.5),  # §2 adjacent repeated word 0.88/100 words (0.31 within a sentence)
    "no_punct_share": (0, 2),  # §2 no punctuation 0.2%
    "lower_share": (0, 3),  # §2 all lower case 0.8%
    "question_share": (90, 100),  # §2 contains `?` 97.5%
    "okay_per_100_words": (1.5, 4.5),  # §2 "okay" about 3 per 100 words
    "sir_maam_share": (50, 80),  # §2 sir/ma'am in 65% of calls
    "digit_share": (85, 100),  # §2 contains digits 94.3%
}
# Sphinx/IBM-like ASR openings (§2 prose, §3 rec. 10c), compared with `transcript_asr`.
ASR_REFERENCE_RANGES: dict[str, tuple[float, float]] = {
    "lower_share": (95, 100),  # §2 CMU output 100% lower case
    "no_punct_share": (80, 100),  # §2 IBM leaves 93% unpunctuated
    "question_share": (0, 5),  # §2 CMU/IBM: no `?`
    "digit_share": (0, 5),  # §2 "In the IBM and CMU outputs every number is spelled out"
}
STYLE_REFERENCE_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "transcript_clean": TRANSCRIPT_REFERENCE_RANGES, "transcript_asr": ASR_REFERENCE_RANGES,
}


@dataclass(frozen=True)
class ComparisonRow:
    figure: str
    value: float
    low: float
    high: float

    @property
    def inside(self) -> bool:
        return self.low <= self.value <= self.high


def compare_to_reference(profile: dict[str, float],
                         reference: dict[str, tuple[float, float]] | None = None) -> list[ComparisonRow]:
    """Rows for the reference's figures. With the CAD ranges (the default), transcript figures that
    `profile_file` put in the profile as `<style>.<figure>` are compared with their own style's ranges too."""
    ref = REFERENCE_RANGES if reference is None else reference
    rows = [ComparisonRow(name, float(profile.get(name, float("nan"))), lo, hi) for name, (lo, hi) in ref.items()]
    if ref is REFERENCE_RANGES:
        for style, ranges in STYLE_REFERENCE_RANGES.items():
            rows += [ComparisonRow(f"{style}.{name}", float(profile[f"{style}.{name}"]), lo, hi)
                     for name, (lo, hi) in ranges.items() if f"{style}.{name}" in profile]
    return rows


def comparison_markdown(rows: list[ComparisonRow]) -> str:
    lines = ["| figure | corpus | real range | inside |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.figure} | {r.value:.1f} | {r.low:g}-{r.high:g} | {'yes' if r.inside else 'NO'} |")
    return "\n".join(lines)


def read_texts(path: Path, styles: set[str] | None = None) -> list[str]:
    """Texts of a JSONL (field `text`) or CSV (column `text`) corpus; `styles` filters JSONL by meta.style."""
    path = Path(path)
    texts: list[str] = []
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                texts.append(row["text"])
        return texts
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            style = (rec.get("meta") or {}).get("style")
            if styles is None or style in styles:
                texts.append(str(rec["text"]))
    return texts


def profile_file(path: Path, styles: set[str] | None = None) -> dict[str, float]:
    """Figures of a file. With `styles`, of those styles' texts. Without, the plain figures are of the notes (every
    style but transcripts; of all texts if there are only transcripts), and each transcript style present adds its
    transcript figures as `<style>.<figure>`."""
    if styles is not None:
        return profile_texts(read_texts(Path(path), styles))
    by_style = read_texts_by_style(Path(path))
    notes = [t for style, texts in by_style.items() if style not in TRANSCRIPT_STYLES for t in texts]
    out = profile_texts(notes or [t for texts in by_style.values() for t in texts])
    for style in TRANSCRIPT_STYLES:
        if by_style.get(style):
            out.update({f"{style}.{k}": v for k, v in profile_transcripts(by_style[style]).items()})
    return out


def read_texts_by_style(path: Path) -> dict[str, list[str]]:
    """Texts of a JSONL/CSV corpus grouped by meta.style (`""` when a record has none, and for CSV)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return {"": read_texts(path)}
    out: dict[str, list[str]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                out.setdefault(str((rec.get("meta") or {}).get("style") or ""), []).append(str(rec["text"]))
    return out
