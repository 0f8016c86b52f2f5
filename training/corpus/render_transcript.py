"""Transcript renderer: a scenario becomes a 911 call, as live-transcription segments.

Two styles (`meta.style`):
- `transcript_clean`: a Whisper-like transcript: punctuated, cased, digits for house and phone numbers.
- `transcript_asr`: speech-to-text of lower quality: lower case, (almost) no punctuation, fillers, numbers as
  words, misrecognised, repeated and cut-off words.
Each call is diarized (speaker `caller` / `call_taker`) or unlabeled (`unknown`, segments cut by time, not by
turn, as full-call ASR usually is: real-text-profile.md §2 found no speaker labels in real full calls).

Labels never come from the call-taker's words: a fact turns a label on only through what the caller says (the
scenario's facts, rendered from `Fact.say`). The call-taker's protocol questions (weapons, breathing, awake,
drugs or drinking, self-harm, danger to others) are asked either to elicit a scenario fact, or about a topic the
scenario has no fact on, and then the caller answers NO, so "is he armed?" / "no" is a question-only mention with
violence_risk 0. Logistics (address, callback, name, age, description, reassurance, instructions) are
label-neutral and pad the call to a right-skewed length; the decisive fact sometimes comes late in a long call.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from typing import Any

from divert.model.inputs import TranscriptSegment, merge_live_segments, render_transcript
from divert.model.preprocess import preprocess
from divert.training.corpus import lexicon
from divert.training.corpus.facts import MED, SI, SUB, VIO, Fact
from divert.training.corpus.scenario import Scenario
from divert.training.corpus.templates import expand, pick, weighted

STYLES = ("transcript_clean", "transcript_asr")
CALLER, TAKER = "caller", "call_taker"

# Share of calls with speaker labels per style (the rest are unlabeled, speaker "unknown").
LABELLED_SHARE = {"transcript_clean": 0.55, "transcript_asr": 0.4}


@dataclass
class Turn:
    speaker: str  # caller | call_taker
    text: str
    labels: frozenset[str] = frozenset()  # labels whose evidence this turn carries (a scenario fact's words)


@dataclass
class RenderedTranscript:
    text: str
    segments: list[dict[str, Any]]
    language: str  # en | es-en
    spanish: bool
    labelled: bool
    evidence: dict[str, list[list[int]]]  # label -> [start, end) character spans of `text` carrying its evidence


# ------------------------------------------------------------------------------------------- vocabulary
FIRST_NAMES = ("Dana", "Marcus", "Elena", "Tom", "Keisha", "Luis", "Brenda", "Kyle", "Rosa", "Dale", "Megan", "Andre",
               "Patty", "Jorge", "Tanya", "Scott", "Linh", "Carl", "Maribel", "Devin", "Joyce", "Omar", "Heather",
               "Victor", "Shannon", "Wes", "Gloria", "Nate", "Yesenia", "Frank")
LAST_NAMES = ("Brantley", "Oyelaran", "Castellano", "Pruitt", "Vandermeer", "Haskins", "Delgadillo", "Tolliver",
              "Nguyen-Ames", "Rourke", "Stavros", "Whitcombe", "Ibarra", "Lindqvist", "McAdoo", "Farrow", "Quintero",
              "Buckner", "Okafor", "Trask", "Villalobos", "Heider", "Sandoval", "Kimura", "Dobbs")
SUFFIX_WORDS = {"RD": "Road", "ST": "Street", "AVE": "Avenue", "DR": "Drive", "LN": "Lane", "BLVD": "Boulevard",
                "CT": "Court", "WAY": "Way", "PL": "Place", "CIR": "Circle", "PKWY": "Parkway", "TRL": "Trail",
                "N": "North", "S": "South", "E": "East", "W": "West"}
CLOTHES = ("a black hoodie", "a gray sweatshirt", "a red jacket", "a white t-shirt and jeans", "a blue coat",
           "pajamas", "a green jacket and shorts", "a tan work shirt", "a black puffer jacket", "a yellow raincoat")
CARS = ("a silver pickup", "a black SUV", "a white van", "a red sedan", "a blue Honda", "a gray minivan")
HISTORY_OK = ("just high blood pressure", "no, nothing", "he has a bad back", "arthritis, that's it",
              "thyroid, I think", "no, not really", "cholesterol, nothing big")


def spoken_address(raw: str) -> str:
    words = raw.split()
    out = [SUFFIX_WORDS.get(w, w.title()) if i > 0 else w for i, w in enumerate(words)]
    return " ".join(out)


# ------------------------------------------------------------------------------------------- numbers as words
_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def _two(n: int) -> str:
    if n < 20:
        return _ONES[n]
    return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])


def number_words(digits: str, rng: random.Random) -> str:
    """A digit string as a speaker says it: '911' -> 'nine one one', '1423' -> 'fourteen twenty three'."""
    if digits == "911":
        return "nine one one"
    if len(digits) > 4 or (digits.startswith("0") and len(digits) > 1):
        return " ".join("oh" if d == "0" and rng.random() < 0.4 else _ONES[int(d)] for d in digits)
    n = int(digits)
    if n < 100:
        return _two(n)
    if n < 1000:
        if n % 100 == 0:
            return _ONES[n // 100] + " hundred"
        if rng.random() < 0.5:
            return _ONES[n // 100] + " " + (_two(n % 100) if n % 100 >= 10 else "oh " + _ONES[n % 10])
        return _ONES[n // 100] + " hundred " + _two(n % 100)
    hi, lo = divmod(n, 100)
    if lo == 0:
        return _two(hi) + " hundred"
    return _two(hi) + " " + (_two(lo) if lo >= 10 else "oh " + _ONES[lo])


_DIGITS = re.compile(r"\d+")


def numbers_to_words(text: str, rng: random.Random) -> str:
    return _DIGITS.sub(lambda m: number_words(m.group(0), rng), text)


# ------------------------------------------------------------------------------------------- person forms
_FIRST_PERSON = [(re.compile(p), r) for p, r in (
    (r"\bI's\b", "I'm"), (r"\bI is\b", "I am"), (r"\bI has\b", "I have"), (r"\bI doesn't\b", "I don't"),
    (r"\bI hasn't\b", "I haven't"), (r"\bI isn't\b", "I'm not"), (r"\bI says I\b", "I feel like I"),
    (r"\bI keeps\b", "I keep"), (r"\bI wants\b", "I want"), (r"\bI hears\b", "I hear"), (r"\bI thinks\b", "I think"),
    (r"\bI gets\b", "I get"), (r"\bI needs\b", "I need"), (r"\bI won't respond to me\b", "I can't wake up"),
    (r"\bI said I\b", "I told them I"), (r"\bme\b(?= up)", "me"), (r"\bmy own\b", "my own"),
)]
_YOU_FORM = [(re.compile(p), r) for p, r in (
    (r"\bis you\b", "are you"), (r"\bdoes you\b", "do you"), (r"\bhas you\b", "have you"), (r"\byou's\b", "you're"),
    (r"\bIs you\b", "Are you"), (r"\bDoes you\b", "Do you"), (r"\bHas you\b", "Have you"),
)]


def _apply(rules: list[tuple[re.Pattern[str], str]], text: str) -> str:
    for pat, rep in rules:
        text = pat.sub(rep, text)
    return text


class Voice:
    """How the caller refers to the subject, and the call-taker's questions about them."""

    def __init__(self, scn: Scenario, rng: random.Random) -> None:
        self.scn = scn
        cf = scn.family.call_family
        self.self_subject = scn.caller_type == "self" and cf in ("medical", "behavioral")
        self.has_subject = cf in ("medical", "behavioral", "police") or any(
            f.labels & {SI, VIO, MED, SUB} for f in scn.facts)
        s = scn.subject
        base = dict(scn.slots)
        if self.self_subject:
            self.say_slots = {**base, "he": "I", "He": "I", "him": "me", "his": "my", "His": "My", "himself": "myself"}
            self.ask_slots = {**base, "he": "you", "He": "You", "him": "you", "his": "your", "His": "Your",
                              "himself": "yourself"}
        else:
            self.say_slots = base
            self.ask_slots = base
        rel = s.relation
        noun = ("guy" if s.age >= 18 else "boy") if s.sex == "M" else ("lady" if s.age >= 18 else "girl")
        if self.self_subject:
            self.intro = ""
        elif scn.caller_type == "third_party_family" and rel:
            self.intro = pick((f"my {rel}", f"it's my {rel}", f"my {rel}, {s.he}", f"I'm calling about my {rel}"), rng)
        elif scn.caller_type == "third_party_professional":
            who = pick(("one of our residents", "a client", "a patient", "a customer", "one of our guests",
                        "a student"), rng)
            self.intro = f"this is the {scn.caller_desc} at {scn.place_prose}, we have {who}"
        elif scn.caller_type == "third_party_bystander":
            self.intro = pick((f"there's a {noun} here", f"there's this {noun}", f"I'm a {scn.caller_desc}, there's a {noun}",
                               f"a {noun} out here"), rng)
        else:
            self.intro = ""

    def say(self, template: str, rng: random.Random) -> str:
        text = expand(template, rng, self.say_slots)
        return _apply(_FIRST_PERSON, text) if self.self_subject else text

    def ask(self, template: str, rng: random.Random) -> str:
        text = expand(template, rng, self.ask_slots)
        return _apply(_YOU_FORM, text) if self.self_subject else text


_SHE = [(re.compile(r"\bhe's\b"), "she's"), (re.compile(r"\bhe\b"), "she"), (re.compile(r"\bhis\b"), "her"),
        (re.compile(r"\bhim\b"), "her")]


def fact_words(fact: Fact, voice: Voice, rng: random.Random) -> str:
    if fact.say:
        template = pick(fact.say, rng)
        if "<" not in template and voice.scn.subject.sex == "F" and fact.key != "v_dv" and not voice.self_subject:
            template = _apply(_SHE, template)  # a few caller phrases are written about a man
        return voice.say(template, rng)
    return voice.say(pick(fact.prose, rng), rng).lower()


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[:1].upper() + text[1:]
    text = re.sub(r"\bi\b", "I", text)
    text = re.sub(r"\bi'(m|ll|ve|d)\b", r"I'\1", text)
    if text[-1] not in ".?!,":
        text += "."
    return text


# ------------------------------------------------------------------------------------------- protocol questions
# Topic groups the call-taker asks about. A question about a topic with no scenario fact gets a NO answer
# (allowed only when the scenario's label for it is off, see `_negative_allowed`).
NEG_QUESTIONS: dict[str, tuple[str, ...]] = {
    "weapon": ("does <he> have any weapons", "is <he> armed", "does <he> have a gun or a knife or anything",
               "are there any weapons in the house", "any weapons involved", "does <he> have anything in <his> hands",
               "did you see a gun or a knife", "does <he> have access to any guns"),
    "breathing": ("is <he> breathing", "is <he> awake", "is <he> conscious", "is <he> breathing okay",
                  "is <he> awake and talking to you", "can <he> talk to you"),
    "substance": ("has <he> taken anything", "has <he> been drinking", "is <he> on any drugs",
                  "did <he> take any pills or anything", "any drugs or alcohol today", "has <he> had anything to drink"),
    "si": ("has <he> talked about hurting <himself>", "has <he> said anything about killing <himself>",
           "is <he> suicidal", "has <he> said <he> wants to hurt <himself>", "is <he> thinking about hurting <himself>"),
    "danger": ("is <he> a danger to <himself> or others", "is <he> threatening anybody", "has <he> hurt anyone",
               "is <he> being violent", "has <he> threatened you"),
    "hurt": ("is anyone hurt", "is anybody injured", "any injuries", "is <he> bleeding", "is anyone bleeding"),
}
NEG_ANSWERS: dict[str, tuple[str, ...]] = {
    "weapon": ("no", "no, no weapons", "no, <he> doesn't have anything", "no, <he>'s not armed", "no, nothing",
               "no, there's no guns in the house", "no, <his> hands are empty", "no. no, nothing like that",
               "no weapons, no", "no, we don't have any guns"),
    "breathing": ("yes, <he>'s breathing", "yeah, <he>'s awake", "yes, <he>'s talking to me", "yeah, <he>'s breathing fine",
                  "yes, <he>'s awake, <he>'s just upset", "yeah yeah, <he>'s awake"),
    "substance": ("no", "no, <he> doesn't drink", "no, <he> doesn't do drugs", "no, nothing", "no, not today",
                  "no, <he> hasn't taken anything", "no, no drinking"),
    "si": ("no", "no, never", "no, <he>'s never said anything like that", "no, <he>'s not suicidal",
           "no, nothing like that", "no, no, not at all"),
    "danger": ("no, <he>'s not violent", "no, <he>'s not threatening anybody", "no, <he> hasn't hurt anybody",
               "no, <he>'s never been violent", "no. no, nothing like that"),
    "hurt": ("no, nobody's hurt", "no, no one's hurt", "no injuries", "no, everybody's okay", "no, nobody"),
}
NEG_ANSWERS_ES: dict[str, tuple[str, ...]] = {
    "weapon": ("no, no tiene armas", "no, no tiene nada", "no, nada"),
    "substance": ("no, no ha tomado nada", "no, no toma"),
    "si": ("no, nunca", "no, no ha dicho eso"),
    "breathing": ("sí, sí está respirando", "sí, está despierto"),
    "hurt": ("no, nadie está herido",),
    "danger": ("no, no es violento",),
}
_WEAPONISH = {"v_shots", "m_gsw", "m_stab", "v_robbery", "si_gun_self"}
_TOPIC_GROUPS = {
    "weapon": {"weapon"}, "breathing": {"consciousness", "breathing"}, "substance": {"substance", "narcan"},
    "si": {"si", "si_act"}, "danger": {"threat", "assault", "weapon", "shots"}, "hurt": {"injury", "bleeding", "wound"},
}


def rng_share(scn: Scenario) -> float:
    """A stable per-scenario number in [0, 1) (from its address), for rare question types."""
    return (sum(map(ord, scn.address)) % 97) / 97


def _negative_allowed(group: str, scn: Scenario, voice: Voice) -> bool:
    topics = {f.topic for f in scn.facts + scn.extras}
    keys = {f.key for f in scn.facts + scn.extras}
    lab = scn.labels
    cf = scn.family.call_family
    if topics & _TOPIC_GROUPS[group]:
        return False
    if group == "weapon":
        return voice.has_subject and not keys & _WEAPONISH and (cf in ("behavioral", "police") or
                                                                 (cf == "medical" and rng_share(scn) < 0.25))
    if group == "breathing":
        return (voice.has_subject and cf in ("medical", "behavioral") and lab[MED] == 0) or (
            voice.has_subject and lab[MED] == 1 and bool(topics & {"bleeding", "injury", "chest", "stroke", "abd"}))
    if group == "substance":
        return lab[SUB] == 0 and voice.has_subject
    if group == "si":
        return (lab[SI] == 0 and cf in ("behavioral", "police", "medical") and voice.has_subject and not voice.self_subject) \
            or (lab[SI] == 0 and voice.self_subject and cf == "behavioral")
    if group == "danger":
        return lab[VIO] == 0 and lab[SI] == 0 and voice.has_subject and not voice.self_subject and \
            cf in ("behavioral", "police")
    if group == "hurt":
        return lab[MED] == 0
    return False


# ------------------------------------------------------------------------------------------- dialogue pieces
GREETINGS = ("911, what's the address of your emergency?", "911, what is the address of the emergency?",
             "911, where is your emergency?", "911, what's your emergency?", "911, what's the location of your emergency?",
             "911. What's the address?", "9-1-1, what's the address of your emergency?", "911, do you need police, fire or ambulance?",
             "County 911, what's the address of the emergency?", "911, what are you reporting?", "911 dispatch, where are you?",
             "911, this call is recorded, what's the address of your emergency?", "Emergency 911, what is your location?")
WHAT_HAPPENED = ("What's going on there?", "Okay, tell me exactly what happened.", "What's the problem?",
                 "What's going on?", "Okay, what's happening?", "And what are you reporting?", "Tell me what's going on.",
                 "Okay, what's going on with <him>?", "What happened?", "Okay, and what's the emergency?")
FOLLOW_UPS = ("Okay, what else?", "Okay. What's <he> doing right now?", "Go ahead.", "Okay, and then what?",
              "What's <he> doing now?", "Okay, keep going.", "Is there anything else?", "Okay, tell me more.")
ACKS = ("Okay.", "Okay.", "Okay, okay.", "Alright.", "Got it.", "Okay, I understand.", "Alright.", "Okay, thank you.")
CALLER_ACKS = ("Okay.", "Yes.", "Yeah.", "Thank you.", "Alright.", "Yep.", "Yes, okay.", "Mhm, yes.")
OPEN_VAGUE = ("I need help.", "I need an ambulance.", "I need the police.", "Hi, yes, I need somebody to come out here.",
              "Hi, um, I need help please.", "Yes, hi, I'm calling because, um, I don't know what to do.",
              "I need someone to come out to my house.", "Hello? Yes, I need help.", "Please, I need help, please.",
              "Hi, I need to report something.")


class Builder:
    def __init__(self, scn: Scenario, rng: random.Random, voice: Voice) -> None:
        self.scn, self.rng, self.voice = scn, rng, voice
        self.turns: list[Turn] = []
        self.caller_sex = pick(("M", "F"), rng)
        self.honorific = ("sir" if self.caller_sex == "M" else "ma'am") if rng.random() < 0.65 else ""
        self.okay_rate = rng.uniform(0.05, 0.28)
        self.used_es = False
        self.name = (pick(FIRST_NAMES, rng), pick(LAST_NAMES, rng))
        self.phone = lexicon.phone(rng)
        self.clothes = pick(CLOTHES, rng)

    def ct(self, text: str, ack: bool = True) -> None:
        text = self.voice.ask(text, self.rng) if "<" in text else text
        if ack and self.rng.random() < self.okay_rate and not text.lower().startswith(("okay", "alright", "ok")):
            prefix = pick(("Okay. ", "Okay, ", "Alright, ", "Okay. ", "Okay, so "), self.rng)
            body = text if prefix.endswith(". ") or text.startswith("I ") or text.startswith("I'") else text[:1].lower() + text[1:]
            text = prefix + body
        if self.honorific and self.rng.random() < 0.12:
            text = text.rstrip("?.!") + f", {self.honorific}" + ("?" if text.endswith("?") else ".")
        self.turns.append(Turn(TAKER, _sentence(text)))

    def caller(self, text: str, labels: frozenset[str] = frozenset()) -> None:
        self.turns.append(Turn(CALLER, _sentence(text), labels))

    def question(self, template: str) -> None:
        q = self.voice.ask(template, self.rng).rstrip(".")
        self.ct(q[:1].upper() + q[1:] + "?")

    def words(self) -> int:
        return sum(len(t.text.split()) for t in self.turns)


def _fact_es(fact: Fact, rng: random.Random) -> str:
    return pick(fact.es, rng).lower()


def _evidence(b: Builder, fact: Fact, *, volunteered: bool) -> None:
    """One scenario fact enters the call through the caller's words (answering a question or volunteered)."""
    rng, voice = b.rng, b.voice
    words = fact_words(fact, voice, rng)
    if b.scn.spanish and fact.es and (not b.used_es or rng.random() < 0.4):
        es = _fact_es(fact, rng)
        words = weighted(((f"{es}, {words}", 3), (f"{es}... {words}", 1), (es, 2), (f"{words}, {es}", 1)), rng)
        b.used_es = True
    if fact.questions and not volunteered:
        b.question(pick(fact.questions, rng))
        positive = bool(fact.labels) or fact.tag is None
        if positive and fact.tag != "uncertain" and not words.lower().startswith(("yes", "yeah", "no", "i don't")):
            words = weighted(((f"yes, {words}", 3), (f"yeah, {words}", 3), (words, 3), (f"yes. yes, {words}", 1)), rng)
        b.caller(words, fact.labels)
        if rng.random() < 0.25 and fact.labels & {VIO, SI}:
            b.ct(pick(("Where is it right now?", "Okay, where is <he> now?", "Okay, stay away from <him>.",
                       "Okay. Can you get somewhere safe?"), rng))
            b.caller(pick(("In the kitchen.", "I don't know, in <his> room.", "Okay.", "<He>'s still in the house.",
                           "I'm outside now.", "Yeah, I'm in the car."), rng).replace("<he>", voice.scn.subject.he)
                     .replace("<He>", voice.scn.subject.he.capitalize()).replace("<his>", voice.scn.subject.his))
    else:
        if rng.random() < 0.5 and b.turns and b.turns[-1].speaker == CALLER:
            b.ct(pick(FOLLOW_UPS, rng))
        b.caller(words, fact.labels)


def _negative(b: Builder, group: str) -> None:
    rng = b.rng
    b.question(pick(NEG_QUESTIONS[group], rng))
    if b.scn.spanish and group in NEG_ANSWERS_ES and rng.random() < 0.5:
        ans = pick(NEG_ANSWERS_ES[group], rng)
        b.used_es = True
    else:
        ans = b.voice.say(pick(NEG_ANSWERS[group], rng), rng)
    b.caller(ans)


def _sub(text: str, scn: Scenario) -> str:
    s = scn.subject
    return (text.replace("<he>", s.he).replace("<He>", s.he.capitalize()).replace("<his>", s.his)
            .replace("<His>", s.his.capitalize()).replace("<him>", s.him))


STORY = ("I just got home and {saw|found} this.", "I don't know what to do.", "I was in the other room.",
         "I've been trying to call {my sister|my brother|somebody} but nobody's answering.",
         "We were just {watching TV|having dinner|sitting outside}.", "I didn't know who else to call.",
         "I'm {so|really} sorry, I'm just {scared|freaking out|shaking}.", "It happened so fast.",
         "I {came|got} back from the store and {that's when|then} I {saw|noticed}.", "Please just send somebody.",
         "I already called {my mom|his mom|her mom|my husband|my wife}.", "I'm standing by the front door.",
         "The neighbors came out too.", "I don't want to get anybody in trouble.")
CALLER_QS = (("Are they coming?", "Yes, they're on the way."), ("What do I do?", "Just stay where you are and stay on the line."),
             ("Should I go outside?", "Stay where you're safe. Are you somewhere safe?"),
             ("How long is it gonna take?", "They're coming as fast as they can."),
             ("Are they almost here?", "They're close. Stay with me."))
ONCE = ("callback", "name", "age", "describe", "where", "relation", "history", "safety", "time", "car", "others",
        "entry", "landmark", "pets", "meet", "readback")
REPEATABLE = ("hello", "onway", "stay", "calm", "story", "callerq", "update")


def _logistics(b: Builder, kind: str) -> None:
    """A label-neutral exchange. Person questions need a subject; once-only kinds reuse the call's name/number."""
    rng, scn, v = b.rng, b.scn, b.voice
    s = scn.subject
    person = v.has_subject and not v.self_subject
    indoors = scn.place_kind in ("residence", "apartment", "group_home", "motel")
    clinical = scn.family.call_family in ("medical", "behavioral")
    if (kind in ("entry", "pets") and not indoors) or (kind == "history" and not clinical):
        return
    if kind == "address":
        b.ct(pick(("What's the address?", "What's the address there?", "Where are you right now?",
                   "What's the address of the emergency?", "Where are you at?"), rng))
        addr = spoken_address(scn.address)
        b.caller(pick((addr, f"{addr}.", f"It's {addr}.", f"Yeah, {addr}.", f"I'm at {addr}.",
                       f"{addr}, in {pick(lexicon.TOWNS, rng).title()}."), rng))
        r = rng.random()
        if r < 0.35:
            q, a = pick((("What's the cross street?", f"Near {pick(lexicon.STREET_NAMES, rng).title()}."),
                         ("What's the cross street?", "I don't know the cross street."),
                         ("What city is that in?", f"{pick(lexicon.TOWNS, rng).title()}."),
                         ("Is that a house or an apartment?", pick(("It's a house.", f"Apartment {scn.slots['apt']}."), rng))), rng)
            b.ct(q)
            b.caller(a)
        elif r < 0.55:
            b.ct(f"{addr}?")
            b.caller(pick(("Yes.", "Yeah.", "Yes, that's right.", "Correct."), rng))
    elif kind == "callback":
        b.ct(pick(("What's the phone number you're calling from?", "What's a good callback number?",
                   "What number are you calling from in case we get disconnected?", "Is this a good number to call you back?"), rng))
        b.caller(pick((b.phone, f"It's {b.phone}.", f"Yeah, {b.phone}.", f"Yes, {b.phone}."), rng))
        if rng.random() < 0.3:
            b.ct(f"{b.phone}?")
            b.caller("Yes.")
    elif kind == "name":
        b.ct(pick(("What's your name?", "What's your first and last name?", "Can I get your name?", "And your name?"), rng))
        first, last = b.name
        b.caller(pick((f"{first} {last}.", f"It's {first}.", f"{first}. {first} {last}.", f"My name is {first} {last}."), rng))
        if rng.random() < 0.3:
            b.ct("Can you spell the last name for me?")
            b.caller("-".join(last.replace("-", "").upper()) + ".")
    elif kind == "age" and v.has_subject:
        b.question("how old is <he>" if not v.self_subject else "how old are you")
        who = "I'm" if v.self_subject else f"{s.he.capitalize()}'s"
        b.caller(pick((f"{s.age}.", f"{who} {s.age}.", f"{s.age}, I think.", f"Like {s.age}.", f"About {s.age}."), rng))
    elif kind == "describe" and person:
        b.question(pick(("what's <he> wearing", "what does <he> look like", "can you describe <him>"), rng))
        b.caller(pick((f"{b.clothes}.", f"{b.clothes.capitalize()}, I think.", _sub(f"<He> has {b.clothes} on.", scn)), rng))
    elif kind == "where" and person:
        b.question(pick(("where is <he> right now", "is <he> still there", "is <he> still with you", "where is <he> at now"), rng))
        where = (("In the living room.", "Yeah, <he>'s still here.", "<He>'s in <his> room.", "Out front.",
                  "In the back yard.", "Yeah, right here.", "I can still see <him>.") if indoors else
                 ("Still right here.", "<He>'s walking toward the corner.", "I can still see <him>.", "Across the street.",
                  "By the entrance.", "I don't see <him> right now.", "Still in the lot."))
        b.caller(_sub(pick(where, rng), scn))
    elif kind == "relation" and person:
        b.question(pick(("do you know <him>", "is <he> related to you", "how do you know <him>"), rng))
        if scn.caller_type == "third_party_family" and s.relation:
            b.caller(f"Yes, {s.he}'s my {s.relation}.")
        else:
            b.caller(_sub(pick(("No, I've never seen <him> before.", "No, I don't know <him>.", "Kind of, from around here.",
                                "I've seen <him> around."), rng), scn))
    elif kind == "history" and v.has_subject:
        b.question(pick(("any medical problems", "does <he> have any medical history",
                         "any medical conditions I should know about"), rng))
        b.caller(v.say(pick(HISTORY_OK, rng).replace("he ", "<he> "), rng))
    elif kind == "safety":
        q, answers = pick((("Are you safe right now?", ("Yes.", "Yeah, I'm okay.", "Yes, I'm in my car.", "Yes, I'm outside.")),
                     ("Can you lock the door?", ("Okay, hold on.", "Okay, I did.", "It's locked.")),
                     ("Are you somewhere safe?", ("Yeah, I'm in the bedroom.", "Yes.", "I'm at the neighbor's."))), rng)
        b.ct(q)
        b.caller(pick(answers, rng))
    elif kind == "entry":
        q, answers = pick((("Is the front door unlocked?", ("Yes.", "It's unlocked.", "I'll unlock it.")),
                     ("Can you unlock the front door for them?", ("Okay.", "Yeah, hold on.", "Okay, it's open.")),
                     ("Is there a gate code?", ("No.", "It's 4 4 1 2.", "The gate's open.")),
                     ("How do they get in?", ("The side door.", "Through the front, it's open.", "I'll come down."))), rng)
        b.ct(q)
        b.caller(pick(answers, rng))
    elif kind == "landmark":
        b.ct(pick(("What does the building look like?", "Is it a house or a business?", "What's near you?"), rng))
        b.caller(pick(("It's the blue house with the white fence.", "The gray one on the corner.",
                       f"Across from {pick(lexicon.BUSINESSES, rng).title()}.", "It's a brick building, two floors.",
                       "There's a big tree in front."), rng))
    elif kind == "pets":
        b.ct("Are there any dogs in the house?")
        b.caller(pick(("No.", "Yeah, I'll put the dog up.", "Just a cat.", "Yes, I'll put him in the back."), rng))
    elif kind == "meet":
        b.ct(pick(("Can somebody meet them outside?", "Can you turn the porch light on?", "Can you wave them down when they get there?"), rng))
        b.caller(pick(("Yes.", "Okay, I will.", "My son will go out.", "Okay, hold on.", "Yeah."), rng))
    elif kind == "readback":
        b.ct(f"So you're at {spoken_address(scn.address)}, correct?")
        b.caller(pick(("Yes.", "Correct.", "Yes, that's it.", "Yeah."), rng))
    elif kind == "hello":
        b.ct(pick(("Hello?", "Are you still there?", "Can you hear me?", "Hello, are you with me?"), rng), ack=False)
        b.caller(pick(("Yes, I'm here.", "Sorry, yes.", "Yeah, I'm here.", "Hello? Yes.", "I'm here, I'm here."), rng))
    elif kind == "onway":
        b.ct(pick(("I've got help on the way.", "They're on their way.", "Help is on the way, okay?",
                   "I'm sending them now.", "They're already on the way, I'm just updating them."), rng))
        b.caller(pick((*CALLER_ACKS, "Please hurry.", "Okay, please hurry."), rng))
    elif kind == "stay":
        b.ct(pick(("Stay on the line with me.", "Don't hang up.", "I need you to stay on the phone with me, okay?",
                   "Stay on the line, okay?"), rng))
        b.caller(pick(CALLER_ACKS, rng))
    elif kind == "time":
        b.ct(pick(("When did this start?", "How long ago did this happen?", "When did this happen?"), rng))
        b.caller(pick((f"About {scn.slots['mins']} minutes ago.", "Just now.", "Like an hour ago.", "This morning.",
                       "It's been going on all day.", "A few minutes ago."), rng))
    elif kind == "car" and scn.family.call_family in ("police", "traffic"):
        b.ct(pick(("What kind of car?", "Did you see a vehicle?", "Did you get a plate?"), rng))
        b.caller(pick((f"{pick(CARS, rng).capitalize()}.", "No, I didn't see.", "I didn't get the plate.",
                       f"I think {pick(CARS, rng)}."), rng))
    elif kind == "others":
        b.ct(pick(("Is anyone else there with you?", "Who else is in the house?", "Is anyone else there?"), rng))
        b.caller(pick(("Just me.", "My kids are here.", "Just me and my mom.", "No, just us.", "My neighbor came over."), rng))
    elif kind == "calm":
        b.ct(pick((f"I need you to take a breath for me{', ' + b.honorific if b.honorific else ''}.",
                   "I need you to calm down so I can help you.", "Okay, listen to me.", "Slow down for me."), rng), ack=False)
        b.caller(pick(("Okay. Okay.", "Okay, sorry.", "I'm trying.", "Okay."), rng))
    elif kind == "story":
        b.caller(expand(pick(STORY, rng), rng))
        if rng.random() < 0.6:
            b.ct(pick(("Okay, I understand.", "Okay. I'm here with you.", "That's okay.", "Okay, you're doing good."), rng))
    elif kind == "callerq":
        q, a = pick(CALLER_QS, rng)
        b.caller(q)
        b.ct(a)
    elif kind == "update":
        b.ct(pick(("Hold on, I'm updating the responders.", "Okay, I'm putting that in for them.",
                   "Give me one second.", "I'm letting them know.", "Let me update them, hold on.",
                   "Okay, I'm typing this in.", "Bear with me one second.", "I'm passing that along."), rng), ack=False)
        b.caller(pick(CALLER_ACKS, rng))


def _target_words(rng: random.Random) -> int:
    if rng.random() < 0.12:  # the opening of a call only
        return rng.randrange(25, 90)
    return min(560, max(90, round(280 * math.exp(rng.gauss(0, 0.36)))))


def build_dialogue(scn: Scenario, rng: random.Random) -> tuple[list[Turn], bool]:
    voice = Voice(scn, rng)
    b = Builder(scn, rng, voice)
    target = _target_words(rng)
    facts = list(scn.facts) + list(scn.extras)
    order = list(range(len(facts)))
    rng.shuffle(order)
    # negative protocol questions (hard negatives): each allowed group asked with a probability
    probs = {"weapon": 0.6, "breathing": 0.5, "substance": 0.45, "si": 0.45, "danger": 0.35, "hurt": 0.35}
    negs = [g for g in NEG_QUESTIONS if _negative_allowed(g, scn, voice) and rng.random() < probs[g]]
    late = rng.random() < 0.3 and target > 150
    greeting = pick(GREETINGS, rng)
    b.ct(greeting, ack=False)
    asks_address = "address" in greeting or "location" in greeting or "where" in greeting.lower()
    first = facts[order[0]] if order else None
    spanish_open = scn.spanish and rng.random() < 0.5
    if spanish_open:
        b.caller(pick(("Hola, sí, necesito ayuda por favor.", "Sí, hello? Necesito una ambulancia.", "Ayuda, por favor.",
                       "Hello, yes, do you speak Spanish? Necesito ayuda."), rng))
        b.ct(pick(("Do you speak English?", "Okay, do you speak any English?", "¿Habla inglés? Do you speak English?"), rng),
             ack=False)
        b.caller(pick(("A little. Un poquito.", "Yes, a little.", "Sí, sí, a little bit.", "Yes, yes."), rng))
        b.used_es = True
    if asks_address:
        addr = spoken_address(scn.address)
        if late or first is None or rng.random() < 0.5:
            b.caller(pick((addr, f"{addr}.", f"Yeah, it's {addr}.", f"Yes, {addr}."), rng))
            b.ct(pick(WHAT_HAPPENED, rng))
        else:
            _evidence(b, first, volunteered=True)
            order = order[1:]
            first = None
            b.ct(pick(("Okay, what's the address?", "What's the address?", "Okay, where are you?"), rng))
            b.caller(pick((addr, f"{addr}.", f"It's {addr}."), rng))
    opened = False
    if late or first is None:
        intro = voice.intro
        b.caller(pick(OPEN_VAGUE, rng)[:-1] + (f", {intro}." if intro and rng.random() < 0.7 else "."))
        opened = True
    elif first is not None:
        intro = voice.intro
        words = fact_words(first, voice, rng)
        b.caller((f"{intro}, " if intro and rng.random() < 0.6 else "") + words, first.labels)
        order = order[1:]
        opened = True
    assert opened
    if not asks_address:
        _logistics(b, "address")
    # the body: evidence facts, negative protocol questions and logistics blocks
    events: list[tuple[str, Any]] = [("fact", facts[i]) for i in order] + [("neg", g) for g in negs]
    rng.shuffle(events)
    pool = [k for k in ONCE if rng.random() < 0.85] + [k for k in REPEATABLE if rng.random() < 0.6]
    rng.shuffle(pool)
    if late:
        # the decisive facts come after a run of logistics
        while b.words() < target * rng.uniform(0.45, 0.7) and pool:
            _logistics(b, pool.pop())
    n_events = len(events)
    for k, (kind, item) in enumerate(events):
        if kind == "fact":
            fact = item
            asked = bool(fact.questions) and (fact.tag == "negation" or rng.random() < 0.65)
            _evidence(b, fact, volunteered=not asked)
        else:
            _negative(b, item)
        # spread logistics between events until the target is reached
        remaining = n_events - k
        while pool and b.words() < target * (k + 1) / max(1, n_events) * 0.85 and rng.random() < 0.8 and remaining:
            _logistics(b, pool.pop())
            if rng.random() < 0.4:
                break
    refill = ["story", "story", "story", "callerq", "callerq", "update", "update", "onway", "stay", "hello", "calm"]
    rng.shuffle(refill)
    while b.words() < target and (pool or (b.words() < target * 0.8 and refill)):
        _logistics(b, pool.pop() if pool else refill.pop())
    if target > 60 and rng.random() < 0.8:
        b.ct(pick(("Okay, they're on the way. If anything changes, call us back.", "Okay, stay on the line until they get there.",
                   "Alright, I'm going to let you go, call back if anything changes.", "They should be there any minute.",
                   "Okay, I see them pulling up now."), rng), ack=False)
        b.caller(pick(("Okay, thank you.", "Thank you.", "Okay. Thank you so much.", "Okay, bye.", "Thank you, bye."), rng))
    merged: list[Turn] = []
    for t in b.turns:  # a speaker's consecutive sentences are one turn
        if merged and merged[-1].speaker == t.speaker:
            merged[-1] = Turn(t.speaker, f"{merged[-1].text} {t.text}", merged[-1].labels | t.labels)
        else:
            merged.append(t)
    return merged, b.used_es


# ------------------------------------------------------------------------------------------- surface styles
FILLERS_CLEAN = ("uh", "um")
FILLERS_ASR = ("uh", "um", "uh", "um", "like", "you know", "i mean", "uh", "so")
# plausible speech-to-text confusions on label-neutral words
MISHEARD: dict[str, tuple[str, ...]] = {
    "address": ("a dress",), "ambulance": ("amber lance", "ambulances"), "okay": ("ok", "o k"), "there": ("their",),
    "right": ("write",), "you're": ("your",), "they're": ("there", "their"), "sir": ("sure", "her"),
    "ma'am": ("mam", "mom", "man"), "number": ("numbers",), "street": ("streets",), "minutes": ("minute",),
    "calling": ("call in",), "hello": ("hollow", "halo"), "police": ("please",), "lane": ("lain",), "road": ("rode",),
    "wearing": ("where in",), "phone": ("fone", "foam"), "apartment": ("a partner",), "door": ("doors",),
    "house": ("how's",), "would": ("wood",), "four": ("for",), "two": ("to", "too"), "eight": ("ate",),
}
_PUNCT = re.compile(r"[.,?!;:\"]")


def _asr_words(text: str, rng: random.Random, filler_rate: float, keep_apostrophes: bool) -> str:
    text = numbers_to_words(text.replace("9-1-1", "911"), rng)
    text = text.replace("-", " ").replace("(", " ").replace(")", " ")
    text = _PUNCT.sub(" ", text).lower()
    if not keep_apostrophes:
        text = text.replace("'", "")
    out: list[str] = []
    for w in text.split():
        r = rng.random()
        if r < filler_rate:
            out.append(pick(FILLERS_ASR, rng))
        if w in MISHEARD and rng.random() < 0.25:
            out.append(pick(MISHEARD[w], rng))
            continue
        r = rng.random()
        if r < 0.012:
            out.append(w)  # repeated word
        elif r < 0.018 and len(w) > 4:
            out.append(w[: rng.randrange(2, len(w) - 1)])  # cut-off word, restarted
        out.append(w)
    return " ".join(out)


def _clean_words(text: str, rng: random.Random, filler_rate: float) -> str:
    words = text.split()
    out: list[str] = []
    for i, w in enumerate(words):
        if i > 0 and rng.random() < filler_rate:
            out.append(pick(FILLERS_CLEAN, rng) + ",")
        if rng.random() < 0.006 and w.isalpha():
            out.append(w)
        out.append(w)
    return " ".join(out)


# ------------------------------------------------------------------------------------------- segments
def _segment_texts(turns: list[Turn], labelled: bool, rng: random.Random
                   ) -> list[tuple[str, str, int, frozenset[int]]]:
    """(speaker, text, words, indices of the turns whose words it holds) per segment. Labelled: a long turn splits
    into several segments of the same speaker. Unlabeled: consecutive turns are merged into time-cut segments
    regardless of who speaks."""
    out: list[tuple[str, str, int, frozenset[int]]] = []
    if labelled:
        for i, t in enumerate(turns):
            words = t.text.split()
            if len(words) > 22 and rng.random() < 0.6:
                cut = rng.randrange(8, len(words) - 6)
                out.append((t.speaker, " ".join(words[:cut]), cut, frozenset({i})))
                out.append((t.speaker, " ".join(words[cut:]), len(words) - cut, frozenset({i})))
            else:
                out.append((t.speaker, t.text, len(words), frozenset({i})))
        return out
    buf: list[str] = []
    owners: set[int] = set()
    limit = rng.randrange(10, 30)
    for i, t in enumerate(turns):
        buf.extend(t.text.split())
        owners.add(i)
        if len(buf) >= limit:
            out.append(("unknown", " ".join(buf), len(buf), frozenset(owners)))
            buf, owners = [], set()
            limit = rng.randrange(8, 32)
    if buf:
        out.append(("unknown", " ".join(buf), len(buf), frozenset(owners)))
    return out


def _timed(pieces: list[tuple[str, str, int, frozenset[int]]], rng: random.Random, asr: bool) -> list[dict[str, Any]]:
    t = round(rng.uniform(0.3, 2.5), 2)
    rate = {CALLER: rng.uniform(2.3, 3.4), TAKER: rng.uniform(2.4, 3.1), "unknown": rng.uniform(2.4, 3.2)}
    segs: list[dict[str, Any]] = []
    prev_speaker = ""
    for speaker, text, n, _ in pieces:
        if segs:
            gap = rng.uniform(0.15, 1.2) if speaker == prev_speaker else rng.uniform(0.3, 1.8)
            if rng.random() < 0.06:
                gap += rng.uniform(3, 12)  # typing, a hold, a pause
            t = round(t + gap, 2)
        dur = max(0.4, n / rate[speaker] * rng.uniform(0.85, 1.2))
        end = round(t + dur, 2)
        conf = rng.uniform(0.55, 0.93) if asr else rng.uniform(0.82, 0.99)
        segs.append({"speaker": speaker, "text": text, "start": t, "end": end, "final": True,
                     "confidence": round(conf, 3)})
        t = end
        prev_speaker = speaker
    return segs


def parsed_text(segments: list[dict[str, Any]]) -> str:
    """The text the service's parser reads for these segments (divert.model.inputs)."""
    segs = [TranscriptSegment(**s) for s in segments]
    return render_transcript(merge_live_segments(segs))[0]


def render_call(scn: Scenario, rng: random.Random, style: str) -> RenderedTranscript:
    if style not in STYLES:
        raise ValueError(f"unknown transcript style {style}")
    turns, spanish = build_dialogue(scn, rng)
    asr = style == "transcript_asr"
    labelled = rng.random() < LABELLED_SHARE[style]
    if asr:
        filler_rate = rng.choice((0.0, 0.0, 0.01, 0.02, 0.035))
        keep_apos = rng.random() < 0.5
        turns = [Turn(t.speaker, _asr_words(t.text, rng, filler_rate, keep_apos), t.labels) for t in turns]
        turns = [t for t in turns if t.text]
    else:
        filler_rate = 0.0 if rng.random() < 0.42 else rng.uniform(0.002, 0.005)
        turns = [Turn(t.speaker, _clean_words(t.text, rng, filler_rate), t.labels) for t in turns]
    pieces = _segment_texts(turns, labelled, rng)
    if asr and rng.random() < 0.1:  # a few ASR outputs keep sentence stops
        pieces = [(s, txt + ".", n, owners) for s, txt, n, owners in pieces]
    segments = _timed(pieces, rng, asr)
    text = parsed_text(segments)
    evidence = evidence_spans(text, segments, [owners for *_, owners in pieces], turns)
    return RenderedTranscript(text, segments, "es-en" if spanish else "en", spanish, labelled, evidence)


def evidence_spans(text: str, segments: list[dict[str, Any]], owners: list[frozenset[int]], turns: list[Turn]
                   ) -> dict[str, list[list[int]]]:
    """Label -> character spans of `text` holding the turns that carry that label's evidence.

    A turn's span runs from the first to the last segment holding its words. Training uses these spans to cut a
    long call's window around its evidence (`divert.training.train_transformer.sample_training_windows`).
    """
    segs = [TranscriptSegment(**seg) for seg in segments]
    merged = merge_live_segments(segs)
    _, spans = render_transcript(merged)
    starts = [float("inf") if seg.start is None else seg.start for seg in segs]
    order = sorted(range(len(segs)), key=starts.__getitem__)
    kept = [i for i in order if preprocess(segs[i].text)]
    if len(kept) != len(spans):
        raise AssertionError("segment spans do not line up with the segments")
    turn_span: dict[int, list[int]] = {}
    for i, (start, end, _) in zip(kept, spans, strict=True):
        for t in owners[i]:
            lo, hi = turn_span.get(t, [start, end])
            turn_span[t] = [min(lo, start), max(hi, end)]
    out: dict[str, list[list[int]]] = {}
    for t, span in sorted(turn_span.items()):
        for label in sorted(turns[t].labels):
            out.setdefault(label, []).append(span)
    assert all(0 <= a < b <= len(text) for spans_ in out.values() for a, b in spans_)
    return out
