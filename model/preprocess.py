"""The one preprocessing function. Its version is saved with every model; a model refuses to load under a
different version, so training, batch scoring and serving always see the same text."""

from __future__ import annotations

import re
import unicodedata

PREPROCESSING_VERSION = "1"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def preprocess(text: str) -> str:
    """Normalise a note for the models: NFKC, no control characters, one space between words.

    Case, punctuation, separators and line breaks are kept: they carry CAD meaning ("NO WPNS // RP ADV").
    Offsets reported by explanations refer to this normalised text, which `normalize_for_display` returns too.
    """
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub(" ", text)
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()
