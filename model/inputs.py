"""The one input parser: a CAD note or a live transcript becomes the text the models read.

Every entry point (API, CLI, batch, audit, explain) calls `parse_note`, so all of them see the same text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from divert.model.errors import InvalidInputError
from divert.model.preprocess import preprocess

Speaker = Literal["caller", "call_taker", "unknown"]
InputKind = Literal["text", "transcript"]

# How speaker turns are marked in the model's text. Plain words, so a model trained on unlabelled
# transcripts still reads them, and a call-taker's question is told apart from a caller's answer.
SPEAKER_MARKERS: dict[str, str] = {"caller": "CALLER:", "call_taker": "CALL TAKER:", "unknown": ""}

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
    """One call as a client sends it: exactly one of `text` or `transcript`."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, description="CAD narrative or a prose summary of the call so far")
    transcript: Transcript | None = None
    call_id: str | None = Field(default=None, max_length=128)
    context: CallContext = Field(default_factory=CallContext)

    @model_validator(mode="after")
    def _exactly_one_source(self) -> NoteInput:
        given = [name for name in ("text", "transcript") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'text' or 'transcript'")
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
    """Join segments into one text with speaker markers; returns the text and each segment's span."""
    parts: list[str] = []
    spans: list[tuple[int, int, float | None]] = []
    pos = 0
    for seg in segments:
        body = preprocess(seg.text)
        if not body:
            continue
        marker = SPEAKER_MARKERS[seg.speaker]
        piece = f"{marker} {body}" if marker else body
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


def parse_note(note: NoteInput, *, max_chars: int = DEFAULT_MAX_CHARS) -> ParsedNote:
    """Turn a client's note into the text the models read. Raises InvalidInputError with a specific code."""
    context = note.context.model_dump(exclude_none=True)
    if note.text is not None:
        return ParsedNote(text=_check_text(note.text, "text", max_chars), kind="text", call_id=note.call_id,
                          context=context)
    assert note.transcript is not None
    merged = merge_live_segments(note.transcript.segments)
    text, spans = render_transcript(merged)
    _check_text(text, "transcript", max_chars)
    if note.transcript.language:
        context.setdefault("language", note.transcript.language)
    return ParsedNote(text=text, kind="transcript", call_id=note.call_id, context=context,
                      segments_used=len(spans), segment_offsets=spans)


def parse_text(text: str, *, max_chars: int = DEFAULT_MAX_CHARS) -> ParsedNote:
    """Shortcut for a bare narrative (CLI, batch, training)."""
    return ParsedNote(text=_check_text(text, "text", max_chars), kind="text")
