"""The one input parser: a CAD note, a live transcript or a NENA EIDO incident becomes the text the models read.

Every entry point (API, CLI, batch, audit, explain) calls `parse_note`, so all of them see the same text.
A note gives exactly one of `text`, `transcript` or `eido` (see `divert.model.eido` for how an EIDO is read).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from divert.model.eido import DEFAULT_MAX_EIDO_BYTES, eido_note
from divert.model.errors import InvalidInputError
from divert.model.preprocess import CALL_TAKER_MARKER, CALLER_MARKER, preprocess

Speaker = Literal["caller", "call_taker", "unknown"]
InputKind = Literal["text", "transcript", "eido"]
INPUT_SOURCES: tuple[str, ...] = ("text", "transcript", "eido")

# How speaker turns are marked in the model's text. Plain words, so a model trained on unlabelled
# transcripts still reads them, and a call-taker's question is told apart from a caller's answer.
# `preprocess` writes the same markers for labels found in free text ("call taker:", "CT:", "Caller -" ...).
SPEAKER_MARKERS: dict[str, str] = {"caller": CALLER_MARKER, "call_taker": CALL_TAKER_MARKER, "unknown": ""}

DEFAULT_MAX_CHARS = 20_000


class CallContext(BaseModel):
    """What the CAD knows about the call beside the narrative. Used for policy and slicing, never as text."""

    model_config = ConfigDict(extra="allow")

    caller_type: str | None = Field(default=None, description="self, third_party, family, bystander, professional")
    channel: str | None = Field(default=None, description="phone, text, radio, transfer, alarm")
    time: str | None = Field(default=None, description="ISO-8601 time of the call (local time of the centre)")
    area: str | None = Field(default=None, description="beat, district or zone used by the policy")
    nature_code: str | None = None


class TranscriptSegment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speaker: Speaker = "unknown"
    text: str
    start: float | None = Field(default=None, ge=0, description="seconds from the start of the call")
    end: float | None = Field(default=None, ge=0)
    final: bool = True
    confidence: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _times_ordered(self) -> TranscriptSegment:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError("segment end is before its start")
        return self


class Transcript(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segments: list[TranscriptSegment] = Field(min_length=1)
    language: str | None = None


class NoteInput(BaseModel):
    """One call as a client sends it: exactly one of `text`, `transcript` or `eido`."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, description="CAD narrative or a prose summary of the call so far")
    transcript: Transcript | None = None
    eido: dict[str, Any] | None = Field(
        default=None, description="a NENA Emergency Incident Data Object (NENA-STA-021.1b JSON): its notes "
                                  "(notesComponent[].notesActionComments, HTML) are read, its incident type becomes "
                                  "context.nature_code and its internalIncidentId the call_id")
    call_id: str | None = Field(default=None, max_length=128)
    context: CallContext = Field(default_factory=CallContext)

    @model_validator(mode="after")
    def _exactly_one_source(self) -> NoteInput:
        given = [name for name in INPUT_SOURCES if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'text', 'transcript' or 'eido'")
        return self


@dataclass(frozen=True)
class ParsedNote:
    """What the models read (`text`), and what the answer reports about where it came from."""

    text: str
    kind: InputKind
    call_id: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    segments_used: int | None = None
    segment_offsets: tuple[tuple[int, int, float | None], ...] = ()  # (char start, char end, seconds) per segment
    notes_used: int | None = None  # EIDO notes read
    # Where in the call this text ends, for progressive calls: the index of the last segment (transcript) or
    # note (EIDO) read, and seconds from the start of the call to its end (None when unknown).
    position: int | None = None
    elapsed_s: float | None = None


def merge_live_segments(segments: list[TranscriptSegment]) -> list[TranscriptSegment]:
    """Apply the live-transcription overwrite rule, in arrival order.

    A segment from the same speaker whose start is at or before segments already held replaces them: the
    stream has revised its hypothesis. Segments without a start time are appended.
    """
    held: list[TranscriptSegment] = []
    for seg in segments:
        if seg.start is not None:
            start = seg.start
            held = [
                h for h in held if not (h.speaker == seg.speaker and h.start is not None and h.start >= start)
            ]
        held.append(seg)
    return sorted(held, key=lambda s: (s.start if s.start is not None else float("inf")))


def render_transcript(segments: list[TranscriptSegment]) -> tuple[str, tuple[tuple[int, int, float | None], ...]]:
    """Join segments into one text with speaker markers, one turn per line (`CALLER: ...` / `CALL TAKER: ...`);
    returns the text and each segment's span. The text is already preprocessed (`preprocess(text) == text`)."""
    parts: list[str] = []
    spans: list[tuple[int, int, float | None]] = []
    pos = 0
    for seg in segments:
        body = preprocess(seg.text)
        if not body:
            continue
        marker = SPEAKER_MARKERS[seg.speaker]
        # A label inside the segment's own text ("caller: ...") is normalised with the marker, not doubled.
        piece = preprocess(f"{marker} {body}") if marker else body
        if parts:
            pos += 1  # the newline joining turns
        spans.append((pos, pos + len(piece), seg.start))
        parts.append(piece)
        pos += len(piece)
    return "\n".join(parts), tuple(spans)


def _check_text(text: str, field_name: str, max_chars: int) -> str:
    if len(text) > max_chars:
        raise InvalidInputError(
            "text_too_long", f"{field_name} has {len(text)} characters; the limit is {max_chars}", field=field_name
        )
    cleaned = preprocess(text)
    if not cleaned:
        raise InvalidInputError("empty_text", f"{field_name} is empty or only whitespace", field=field_name)
    return cleaned


def _segment_end(seg: TranscriptSegment) -> float | None:
    return seg.end if seg.end is not None else seg.start


def parse_note(note: NoteInput, *, max_chars: int = DEFAULT_MAX_CHARS,
               max_eido_bytes: int = DEFAULT_MAX_EIDO_BYTES) -> ParsedNote:
    """Turn a client's note into the text the models read. Raises InvalidInputError with a specific code
    (for an EIDO, `divert.model.eido.EidoError`, which also carries the JSON pointer of the problem)."""
    context = note.context.model_dump(exclude_none=True)
    if note.text is not None:
        return ParsedNote(text=_check_text(note.text, "text", max_chars), kind="text", call_id=note.call_id,
                          context=context)
    if note.eido is not None:
        read = eido_note(note.eido, max_bytes=max_eido_bytes)
        text = _check_text(read.text, "eido", max_chars)
        for key, value in read.context.items():  # what the client says in `context` wins
            context.setdefault(key, value)
        return ParsedNote(text=text, kind="eido", call_id=note.call_id or read.call_id, context=context,
                          notes_used=read.notes_used, position=read.notes_used - 1, elapsed_s=read.elapsed_s)
    assert note.transcript is not None
    merged = merge_live_segments(note.transcript.segments)
    text, spans = render_transcript(merged)
    _check_text(text, "transcript", max_chars)
    if note.transcript.language:
        context.setdefault("language", note.transcript.language)
    used = [seg for seg in merged if preprocess(seg.text)]
    ends = [e for e in (_segment_end(seg) for seg in used) if e is not None]
    return ParsedNote(text=text, kind="transcript", call_id=note.call_id, context=context,
                      segments_used=len(spans), segment_offsets=spans, position=len(spans) - 1,
                      elapsed_s=max(ends) if ends else None)


def parse_text(text: str, *, max_chars: int = DEFAULT_MAX_CHARS) -> ParsedNote:
    """Shortcut for a bare narrative (CLI, batch, training)."""
    return ParsedNote(text=_check_text(text, "text", max_chars), kind="text")
