"""The one preprocessing function. Its version is saved with every model; a model refuses to load under a
different version, so training, batch scoring and serving always see the same text.

Version 2 adds speaker-aware normalisation: the speaker turn labels people and transcription systems write
("call taker:", "Call-taker:", "CT:", "Dispatcher:", "Telecommunicator:", "911:", "Operator:", "caller:",
"Caller -", ...) become the two markers of `divert.model.inputs.SPEAKER_MARKERS` (`CALLER:` and `CALL TAKER:`),
each at the start of its own line, so the model can tell a call-taker's question ("is he armed?") from the
caller's answer ("no, nothing"). Turns written inline on one line are split into lines. CAD shorthand is left
alone: "RP ADV ...", "CALLER STATES ..." (no colon) or "SPOKE WITH THE CALLER: ..." (a label inside a sentence
that is not a dialogue) stay as they are.
"""

from __future__ import annotations

import re
import unicodedata

PREPROCESSING_VERSION = "2"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")

# The markers written into the model's text (the same strings as `inputs.SPEAKER_MARKERS`, which imports them).
CALLER_MARKER = "CALLER:"
CALL_TAKER_MARKER = "CALL TAKER:"

# Ways people and transcription systems name the two speakers. Short or ambiguous names ("CT", "911") are
# recognised at the start of a line (or after sentence punctuation in a dialogue), never inside a sentence.
_CALL_TAKER_NAMES = r"call[ _-]?taker|dispatcher|telecommunicator|operator|ct|911"
_CALLER_NAMES = r"caller"
_NAME = rf"(?:(?P<ct>{_CALL_TAKER_NAMES})|(?P<caller>{_CALLER_NAMES}))"

# At the start of a line: a name, then a colon (not a clock time such as "911:30") or a spaced dash.
_LINE_LABEL = re.compile(rf"^{_NAME}(?:\s*:(?!\d)|\s+[-\u2013\u2014]+(?=\s|$))\s*", re.IGNORECASE)
# Inside a line: a name with a colon, not glued to a preceding word ("RE-CALLER:" or "CALLER2:" do not count).
_INLINE_LABEL = re.compile(rf"(?<![\w-]){_NAME}\s*:(?!\d)\s*", re.IGNORECASE)
_INLINE_EXCLUDED = {"911"}  # "did you call 911: ..." is not a turn
_SENTENCE_END = tuple(".?!\u2026")  # a turn may start after a sentence ends (closing quotes/brackets allowed)
_CLOSERS = "\"')]\u201d\u2019"


def _marker(match: re.Match[str]) -> str:
    return CALL_TAKER_MARKER if match.group("ct") is not None else CALLER_MARKER


def _join(marker: str, body: str) -> str:
    return f"{marker} {body}" if marker and body else (marker or body)


def _split_turns(line: str) -> list[str]:
    """One line, with its speaker labels canonicalised and inline turns split into lines of their own."""
    head = _LINE_LABEL.match(line)
    marker, cut = (_marker(head), head.end()) if head is not None else ("", 0)
    in_dialogue = head is not None
    pieces: list[str] = []
    for match in _INLINE_LABEL.finditer(line, cut):
        name = (match.group("ct") or match.group("caller") or "").lower()
        if name in _INLINE_EXCLUDED:
            continue
        before = line[cut:match.start()].strip()
        # A dialogue written on one line: the label follows the end of a sentence (not a CAD separator such as
        # ";" or "//"), or the line is already a labelled dialogue (speech-to-text output often has no punctuation between turns). A label right
        # after another one replaces it ("CALLER: caller: hi" is one caller turn).
        if before and not (in_dialogue or before.rstrip(_CLOSERS).endswith(_SENTENCE_END)):
            continue
        if before:
            pieces.append(_join(marker, before))
        marker, cut, in_dialogue = _marker(match), match.end(), True
    pieces.append(_join(marker, line[cut:].strip()))
    return [p for p in pieces if p]


def canonicalise_speakers(text: str) -> str:
    """Speaker labels of `text` (already line-normalised) as `CALLER:` / `CALL TAKER:` at the start of lines."""
    if ":" not in text and "-" not in text and "\u2013" not in text and "\u2014" not in text:
        return text
    lines: list[str] = []
    for line in text.split("\n"):
        lines.extend(_split_turns(line))
    return "\n".join(lines)


def preprocess(text: str) -> str:
    """Normalise a note for the models: NFKC, no control characters, one space between words, speaker turns
    marked consistently (see the module docstring).

    Case, punctuation, separators and line breaks are kept: they carry CAD meaning ("NO WPNS // RP ADV").
    Idempotent: `preprocess(preprocess(t)) == preprocess(t)`. Offsets reported by explanations refer to this
    normalised text.
    """
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub(" ", text)
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n", text)
    text = "\n".join(line.strip() for line in text.split("\n")).strip()
    return canonicalise_speakers(text)
