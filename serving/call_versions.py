"""The last flags seen per call, so an answer can say what changed since the previous version of a call.

A CAD sends the whole narrative so far each time a call is updated; notes that share a `call_id` are versions of
one call. `CallVersions` keeps, per (namespace, call_id), the decisions and primary response of the last version:
bounded (least recently updated calls are evicted first), expiring (`ttl_s` after the last update) and
thread-safe (the compare-and-set of one call happens under one lock). Nothing of the note text is kept.

For progressive calls it also keeps each call's `CallTimeline` (`divert.model.progressive`): when each flag first
crossed its threshold (version, segment index, seconds into the call) and whether a flag raised earlier has since
been withdrawn. The service records a version only after the answer has been recorded in the audit store, so a
refused answer leaves the history as it was.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from threading import Lock

from pydantic import BaseModel, Field

from divert.model.progressive import CallProgress, CallTimeline, Point


class FlagChange(BaseModel):
    label: str
    previous: bool
    current: bool


class CallUpdate(BaseModel):
    """How this version of a call compares with the previous one this service saw."""

    call_id: str
    version: int = Field(description="versions of this call seen by this service, this one included")
    previous_version_seen: bool = Field(description="false for the first version (or after the call expired)")
    flags_changed: bool
    changed: list[FlagChange] = Field(default_factory=list, description="labels whose decision changed")
    recommendation_changed: bool = False
    previous_primary: str | None = None


@dataclass(frozen=True)
class _Snapshot:
    decisions: dict[str, bool]
    primary: str | None
    version: int
    updated_at: float
    timeline: CallTimeline = field(default_factory=CallTimeline)


class CallVersions:
    def __init__(self, max_size: int, ttl_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.max_size = max_size
        self.ttl_s = ttl_s
        self._clock = clock
        self._calls: OrderedDict[tuple[str, str], _Snapshot] = OrderedDict()
        self._lock = Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def update(self, call_id: str, decisions: Mapping[str, bool], primary: str | None, *,
               namespace: str = "") -> CallUpdate:
        """Record this version of the call and say how it differs from the previous one."""
        return self.track(call_id, decisions, primary, namespace=namespace)[0]

    def track(self, call_id: str, decisions: Mapping[str, bool], primary: str | None, *, namespace: str = "",
              position: int | None = None, elapsed_s: float | None = None) -> tuple[CallUpdate, CallProgress]:
        """Record this version of the call (which ends at segment `position`, `elapsed_s` seconds into the
        call); returns how it differs from the previous version and the call's flag timeline."""
        key = (namespace, call_id)
        now = self._clock()
        with self._lock:
            previous = self._calls.pop(key, None)
            if previous is not None and now - previous.updated_at > self.ttl_s:
                previous = None
            timeline = (previous.timeline if previous else CallTimeline()).advance(
                Point(decisions=dict(decisions), position=position, elapsed_s=elapsed_s))
            self._calls[key] = _Snapshot(dict(decisions), primary, (previous.version if previous else 0) + 1, now,
                                         timeline)
            # Oldest first: drop what expired, then what exceeds the bound.
            while self._calls and (len(self._calls) > self.max_size
                                   or now - next(iter(self._calls.values())).updated_at > self.ttl_s):
                self._calls.popitem(last=False)
        progress = timeline.progress()
        if previous is None:
            return CallUpdate(call_id=call_id, version=1, previous_version_seen=False, flags_changed=False), progress
        changed = [FlagChange(label=name, previous=previous.decisions.get(name, False), current=bool(value))
                   for name, value in decisions.items() if previous.decisions.get(name, False) != bool(value)]
        return CallUpdate(call_id=call_id, version=previous.version + 1, previous_version_seen=True,
                          flags_changed=bool(changed), changed=changed,
                          recommendation_changed=previous.primary != primary,
                          previous_primary=previous.primary), progress
