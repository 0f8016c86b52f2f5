"""Progressive calls: as a call grows (a live transcript, a CAD narrative or EIDO updated again and again), when
did each flag first cross its threshold, and has a flag raised earlier since been withdrawn?

Pure logic shared by the service (one `CallTimeline` per call, advanced by each posted version) and by
`bench/time_to_flag.py` (which replays a transcript one segment at a time). A *point* is one scored prefix of the
call: the decisions of the model on everything up to the segment (or note) with index `position`, which ends
`elapsed_s` seconds into the call. Timing is as fine as the points: the service sees the versions a client posts,
the benchmark every segment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from pydantic import BaseModel, Field


@dataclass(frozen=True)
class Point:
    """One scored prefix of a call."""

    decisions: Mapping[str, bool]
    position: int | None = None  # index of the last segment / note read (None for plain text)
    elapsed_s: float | None = None  # seconds from the start of the call to the end of that segment


@dataclass(frozen=True)
class _Mark:
    version: int
    position: int | None
    elapsed_s: float | None


@dataclass(frozen=True)
class LabelState:
    raised: bool = False
    first_raised: _Mark | None = None
    last_withdrawn: _Mark | None = None
    times_withdrawn: int = 0

    def advance(self, on: bool, mark: _Mark) -> LabelState:
        if on and not self.raised:
            return replace(self, raised=True, first_raised=self.first_raised or mark)
        if not on and self.raised:
            return replace(self, raised=False, last_withdrawn=mark, times_withdrawn=self.times_withdrawn + 1)
        return self


class FlagProgress(BaseModel):
    """One label that has been raised at some point of the call."""

    label: str
    raised: bool = Field(description="flagged in this version")
    first_raised_version: int = Field(description="the version of the call in which it first crossed its threshold")
    first_raised_segment: int | None = Field(
        description="index of the last transcript segment (or EIDO note) read when it first crossed; null for text")
    first_raised_s: float | None = Field(description="seconds into the call when it first crossed; null if unknown")
    withdrawn: bool = Field(description="raised earlier in the call but not in this version")
    withdrawn_version: int | None = Field(default=None, description="when it was last withdrawn (if it is now)")
    withdrawn_segment: int | None = None
    withdrawn_s: float | None = None
    times_withdrawn: int = Field(default=0, description="how often it went from raised to not raised")


class CallProgress(BaseModel):
    """The flags of a call over its versions; every label raised at least once is listed."""

    version: int
    segment: int | None = Field(default=None, description="index of the last segment / note read by this version")
    elapsed_s: float | None = Field(default=None, description="seconds into the call at the end of this version")
    flags: list[FlagProgress] = Field(default_factory=list)


@dataclass(frozen=True)
class CallTimeline:
    """Immutable: `advance` returns the timeline with one more point."""

    version: int = 0
    labels: Mapping[str, LabelState] = field(default_factory=dict)
    last: _Mark | None = None

    def advance(self, point: Point) -> CallTimeline:
        mark = _Mark(self.version + 1, point.position, point.elapsed_s)
        names = list(dict.fromkeys([*self.labels, *point.decisions]))
        states = {name: self.labels.get(name, LabelState()).advance(bool(point.decisions.get(name, False)), mark)
                  for name in names}
        return CallTimeline(version=mark.version, labels=states, last=mark)

    def progress(self) -> CallProgress:
        flags = []
        for name, state in self.labels.items():
            if state.first_raised is None:
                continue
            withdrawn = not state.raised
            last = state.last_withdrawn if withdrawn else None
            flags.append(FlagProgress(
                label=name, raised=state.raised, first_raised_version=state.first_raised.version,
                first_raised_segment=state.first_raised.position, first_raised_s=state.first_raised.elapsed_s,
                withdrawn=withdrawn, withdrawn_version=last.version if last else None,
                withdrawn_segment=last.position if last else None, withdrawn_s=last.elapsed_s if last else None,
                times_withdrawn=state.times_withdrawn))
        last_mark = self.last
        return CallProgress(version=self.version, segment=last_mark.position if last_mark else None,
                            elapsed_s=last_mark.elapsed_s if last_mark else None, flags=flags)


def replay(points: Iterable[Point]) -> CallTimeline:
    """The timeline of a call scored at each of `points`, in order."""
    timeline = CallTimeline()
    for point in points:
        timeline = timeline.advance(point)
    return timeline


@dataclass(frozen=True)
class LabelOutcome:
    """What a replayed call says about one label (for the time-to-flag benchmark)."""

    ever_raised: bool
    first_raised_s: float | None
    first_raised_segment: int | None
    withdrawn_later: bool  # went from raised to not raised at least once
    raised_at_end: bool


def outcomes(timeline: CallTimeline) -> dict[str, LabelOutcome]:
    out = {}
    for name, state in timeline.labels.items():
        first = state.first_raised
        out[name] = LabelOutcome(ever_raised=first is not None, first_raised_s=first.elapsed_s if first else None,
                                 first_raised_segment=first.position if first else None,
                                 withdrawn_later=state.times_withdrawn > 0, raised_at_end=state.raised)
    return out
