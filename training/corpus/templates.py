"""A tiny template language for phrase variation.

Syntax:
- ``{a|b|c}``: pick one alternative (alternatives may nest and may be empty: ``{A|}``).
- ``[text]``: optional, kept with probability 0.5.
- ``<slot>``: replaced by ``slots[slot]``; a list value gives a fresh random pick at every occurrence.

Expansion draws only from the ``random.Random`` passed in, in left-to-right order, so it is reproducible.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")

SlotValue = str | Sequence[str]

_SLOT = re.compile(r"<([A-Za-z_0-9]+)>")
_SPACES = re.compile(r"[ \t]+")
_SPACE_BEFORE_PUNCT = re.compile(r" +([,.;:!?])")


def _find_close(text: str, start: int, open_ch: str, close_ch: str) -> int:
    depth = 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch == open_ch:
            depth += 1
        elif ch == close_ch:
            depth -= 1
            if depth == 0:
                return i
    raise ValueError(f"unbalanced {open_ch!r} in template: {text!r}")


def _split_top(body: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    cur: list[str] = []
    for ch in body:
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        if ch == "|" and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _expand_structure(text: str, rng: random.Random) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "{":
            j = _find_close(text, i, "{", "}")
            options = _split_top(text[i + 1 : j])
            out.append(_expand_structure(options[rng.randrange(len(options))], rng))
            i = j + 1
        elif ch == "[":
            j = _find_close(text, i, "[", "]")
            if rng.random() < 0.5:
                out.append(_expand_structure(text[i + 1 : j], rng))
            i = j + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def fill_slots(text: str, slots: Mapping[str, SlotValue], rng: random.Random) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in slots:
            raise KeyError(f"template slot <{name}> has no value")
        value = slots[name]
        if isinstance(value, str):
            return value
        return value[rng.randrange(len(value))]

    # Slot values may themselves hold template syntax or slots (one level deep).
    first = _SLOT.sub(repl, text)
    if "<" in first:
        first = _SLOT.sub(repl, first)
    return first


def tidy(text: str) -> str:
    text = _SPACES.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return text.strip(" ,")


def expand(template: str, rng: random.Random, slots: Mapping[str, SlotValue] | None = None) -> str:
    """Expand one template into a string."""
    text = _expand_structure(template, rng)
    if slots is not None and "<" in text:
        text = fill_slots(text, slots, rng)
        if "{" in text or "[" in text:
            text = _expand_structure(text, rng)
    return tidy(text)


def pick(options: Sequence[T], rng: random.Random) -> T:
    return options[rng.randrange(len(options))]


def weighted(options: Sequence[tuple[T, float]], rng: random.Random) -> T:
    total = sum(w for _, w in options)
    x = rng.random() * total
    acc = 0.0
    for value, w in options:
        acc += w
        if x < acc:
            return value
    return options[-1][0]
