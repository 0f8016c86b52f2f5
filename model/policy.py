"""A community's diversion policy: which programs exist, when and where they work, and which flags go to them.

The policy is a YAML file validated by pydantic; `load_policy` turns any problem into a `PolicyError` whose
message names the field (``programs[1].hours.sat[0]: ...``). `Policy.recommend` maps one note's label
decisions and scores, and its call context (time, area), to a `Recommendation` with the reasons for it.

Evaluation, in order:
1. the call time comes from ``context.time`` (ISO-8601; a naive time is local to the policy's timezone); without
   it the current time in the policy's timezone is used, and the reasons say so;
2. the first rule whose conditions all hold gives the route, an ordered list of programs; the first program
   open at that time and serving that area is the primary response; each one skipped is a fallback with a reason;
   when none is available the policy's ``last_resort`` (open always, everywhere) is used;
3. every add-on whose conditions hold adds its first available program (EMS for a medical emergency);
4. when no rule matches there is no diversion recommendation (``primary`` is null), unless an add-on applies,
   in which case its program becomes the primary response.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator

from divert.model.errors import DivertError, InvalidInputError
from divert.model.labels import LABELS

DEFAULT_POLICY_PATH = Path(__file__).parent / "resources" / "default_policy.yaml"

ProgramKind = Literal["crisis_team", "co_responder", "police", "ems", "other"]
FallbackReason = Literal["closed", "out_of_area", "area_unknown"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NAME = r"^[a-z][a-z0-9_]*$"
_RANGE = re.compile(r"^(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})$")
_TAG = "as_"  # prefix of the union tags below; `_loc` drops them from error locations


def _choose(*pairs: tuple[type | str, str]) -> Any:
    """A union discriminator: the tag of the first matching (type or literal string, tag); None: no member fits."""

    def pick(value: Any) -> str | None:
        for kind, tag in pairs:
            if (value == kind) if isinstance(kind, str) else isinstance(value, kind):
                return _TAG + tag
        return None

    return pick


class PolicyError(DivertError):
    """A policy file that cannot be used; the message names the file and the field."""

    code = "policy_invalid"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeRange(_Strict):
    """Minutes since midnight. ``end < start`` is an overnight range that runs into the next day."""

    start: int
    end: int

    @classmethod
    def parse(cls, value: str) -> TimeRange:
        match = _RANGE.match(value.strip())
        if not match:
            raise ValueError(f"{value!r} is not a range like '08:00-20:00'")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
            raise ValueError(f"{value!r} has an impossible time")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start == end:
            raise ValueError(f"{value!r} is empty; write '00:00-24:00' for the whole day")
        return cls(start=start, end=end)

    @property
    def overnight(self) -> bool:
        return self.end < self.start

    def __str__(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"


def _ranges(value: Any) -> Any:
    if isinstance(value, list):
        return [TimeRange.parse(v) if isinstance(v, str) else v for v in value]
    if isinstance(value, str):  # a single range without a list
        return [TimeRange.parse(value)]
    return value


class WeeklyHours(_Strict):
    """Opening hours per weekday. A weekday not listed takes ``daily``; with neither it is closed."""

    daily: list[TimeRange] | None = None
    mon: list[TimeRange] | None = None
    tue: list[TimeRange] | None = None
    wed: list[TimeRange] | None = None
    thu: list[TimeRange] | None = None
    fri: list[TimeRange] | None = None
    sat: list[TimeRange] | None = None
    sun: list[TimeRange] | None = None

    _parse = field_validator("daily", *WEEKDAYS, mode="before")(_ranges)

    def on(self, weekday: int) -> list[TimeRange]:
        given: list[TimeRange] | None = getattr(self, WEEKDAYS[weekday])
        return given if given is not None else (self.daily or [])

    def is_open(self, weekday: int, minute: int) -> bool:
        for r in self.on(weekday):
            if (r.start <= minute < r.end) if not r.overnight else minute >= r.start:
                return True
        return any(r.overnight and minute < r.end for r in self.on((weekday - 1) % 7))

    def describe(self, weekday: int) -> str:
        today = self.on(weekday)
        return ", ".join(str(r) for r in today) if today else "closed"


Hours = Annotated[
    Annotated[Literal["always"], Tag(_TAG + "always")] | Annotated[WeeklyHours, Tag(_TAG + "weekly")],
    Discriminator(_choose(("always", "always"), (dict, "weekly"), (WeeklyHours, "weekly")),
                  custom_error_type="invalid_hours",
                  custom_error_message="hours is 'always' or a mapping of weekday (mon..sun, daily) to ranges"),
]
Areas = Annotated[
    Annotated[Literal["all"], Tag(_TAG + "all")] | Annotated[list[str], Tag(_TAG + "list")],
    Discriminator(_choose(("all", "all"), (list, "list")), custom_error_type="invalid_areas",
                  custom_error_message="areas is 'all' or a list of area names"),
]


class Program(_Strict):
    name: str = Field(pattern=_NAME, description="referenced by rules, reported in answers")
    kind: ProgramKind
    description: str = ""
    hours: Hours = "always"
    areas: Areas = Field(default="all", description="beats, districts or zones served")

    @field_validator("areas")
    @classmethod
    def _areas_given(cls, value: list[str] | str) -> list[str] | str:
        if isinstance(value, list) and not value:
            raise ValueError("an empty list serves no area; write 'all' or name the areas")
        return value

    @property
    def always_open(self) -> bool:
        return self.hours == "always"

    @property
    def everywhere(self) -> bool:
        return self.areas == "all"


class ScoreCondition(_Strict):
    """A policy's own threshold on the calibrated score, instead of the model's decision."""

    min_score: float | None = Field(default=None, ge=0, le=1)
    max_score: float | None = Field(default=None, ge=0, le=1)

    def holds(self, score: float) -> bool:
        return (self.min_score is None or score >= self.min_score) and (
            self.max_score is None or score < self.max_score
        )


# `true`/`false`: the model's decision at its threshold; a mapping: a score range.
Condition = Annotated[
    Annotated[bool, Tag(_TAG + "bool")] | Annotated[ScoreCondition, Tag(_TAG + "score")],
    Discriminator(_choose((bool, "bool"), (dict, "score"), (ScoreCondition, "score")),
                  custom_error_type="invalid_condition",
                  custom_error_message="a condition is true, false or a score range like {min_score: 0.8}"),
]


class _Matcher(_Strict):
    name: str = Field(pattern=_NAME)
    when: dict[str, Condition] = Field(min_length=1, description="every condition must hold")

    @property
    def programs(self) -> tuple[str, list[str]]:
        """(field name, programs listed) for validation messages."""
        raise NotImplementedError


class Rule(_Matcher):
    route: list[str] = Field(min_length=1, description="programs in order of preference; later ones are fallbacks")

    @property
    def programs(self) -> tuple[str, list[str]]:
        return "route", self.route


class AddOn(_Matcher):
    add: list[str] = Field(min_length=1, description="the first available of these is added")

    @property
    def programs(self) -> tuple[str, list[str]]:
        return "add", self.add


class NoMatch(_Strict):
    reason: str = "no rule matched: no diversion recommendation; dispatch by the call type"


class FallbackApplied(BaseModel):
    program: str
    reason: FallbackReason
    replaced_by: str | None = None


class Recommendation(BaseModel):
    """The response recommended for one note under one policy."""

    primary: str | None = Field(description="program name; null when no rule applies")
    primary_kind: ProgramKind | None = None
    additional: list[str] = Field(default_factory=list, description="programs added on, e.g. EMS")
    reasons: list[str] = Field(default_factory=list)
    fallbacks_applied: list[FallbackApplied] = Field(default_factory=list)
    rule: str | None = Field(default=None, description="the rule that matched")
    policy_version: str
    evaluated_at: str = Field(description="the call time the policy was evaluated at (ISO-8601, policy timezone)")
    time_source: Literal["context", "current_time"]


DEFAULT_BH_NATURE_CODES: tuple[str, ...] = ("EDP", "MNTL", "MTLV", "SUICIDE", "SUICTHRT")


class Planning(_Strict):
    """Settings of the diversion-opportunity report (`divert report diversion`); never used to route a call."""

    crisis_minutes_per_call: float = Field(default=60, gt=0, description="a crisis team's time on one call, "
                                           "travel and hand-off included")
    police_minutes_per_call: float = Field(default=45, gt=0, description="officer time of one police response")
    police_officers_per_call: float = Field(default=2, gt=0, description="officers sent to one police response")
    target_wait_minutes: float = Field(default=10, ge=0, description="a call should wait less than this ...")
    target_probability: float = Field(default=0.8, gt=0, lt=1, description="... with at least this probability")
    teams: dict[str, int] = Field(default_factory=dict, description="teams on duty per crisis-team program, "
                                  "when the program is open")
    behavioral_health_codes: list[str] = Field(default_factory=lambda: list(DEFAULT_BH_NATURE_CODES),
                                               description="nature codes that already mean behavioral health")


class Policy(_Strict):
    policy_version: str = Field(min_length=1)
    name: str = "policy"
    description: str = ""
    timezone: str = "UTC"
    unknown_area: Literal["covered", "not_covered"] = Field(
        default="not_covered", description="how a call without context.area is treated by area-limited programs"
    )
    programs: list[Program] = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list, description="first match wins")
    add_ons: list[AddOn] = Field(default_factory=list)
    last_resort: str = Field(description="a program open always and everywhere, used when a route is exhausted")
    no_match: NoMatch = Field(default_factory=NoMatch)
    planning: Planning = Field(default_factory=Planning, description="report settings (staffing, police time)")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r} (use an IANA name like 'America/Chicago')") from exc
        return value

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    def program(self, name: str) -> Program:
        return next(p for p in self.programs if p.name == name)

    def call_time(self, context: Mapping[str, Any] | None, *, now: datetime | None = None,
                  ) -> tuple[datetime, Literal["context", "current_time"]]:
        """The time a call is evaluated at, in the policy's timezone, and where it came from.

        ``context["time"]`` is ISO-8601; a naive time is local to the policy's timezone. Without one, `now` or
        the current time is used. Raises InvalidInputError(invalid_context_time) for a time that cannot be read.
        """
        raw = (context or {}).get("time")
        if raw in (None, ""):
            return (now or datetime.now(self.tz)).astimezone(self.tz), "current_time"
        try:
            parsed = datetime.fromisoformat(str(raw))
        except ValueError as exc:
            raise InvalidInputError("invalid_context_time", f"context.time {raw!r} is not an ISO-8601 time",
                                    field="context.time") from exc
        return (parsed.astimezone(self.tz) if parsed.tzinfo else parsed.replace(tzinfo=self.tz)), "context"

    def recommend(
        self,
        decisions: Mapping[str, bool],
        scores: Mapping[str, float],
        context: Mapping[str, Any] | None = None,
        *,
        thresholds: Mapping[str, float] | None = None,
        now: datetime | None = None,
    ) -> Recommendation:
        """Recommend a response. `now` replaces the current time when the context has none (tests, replays)."""
        return _Evaluation(self, decisions, scores, dict(context or {}), thresholds or {}, now).run()

    def situation(self, decisions: Mapping[str, bool], scores: Mapping[str, float], when: datetime,
                  area: str | None) -> tuple[Any, ...]:
        """Everything `recommend` reads of a call, as a hashable key: the outcome of every rule and add-on
        condition, which programs with hours are open at `when` (the call time, from `call_time`) and the area.
        Calls in the same situation get the same primary, add-ons, rule and fallbacks; only the wording of the
        reasons and `evaluated_at` carry the call's own time and scores. Batch scoring evaluates the policy once
        per situation, so a new input `_Evaluation` reads must be added here too."""
        conditions = tuple(
            bool(decisions[label]) == cond if isinstance(cond, bool) else cond.holds(float(scores[label]))
            for matcher in (*self.rules, *self.add_ons) for label, cond in matcher.when.items())
        return conditions, self.open_programs(when.weekday(), when.hour * 60 + when.minute), area or None

    def open_programs(self, weekday: int, minute: int) -> tuple[bool, ...]:
        """For every program with opening hours, whether it is open at that minute of that weekday."""
        return tuple(p.hours.is_open(weekday, minute) for p in self.programs if isinstance(p.hours, WeeklyHours))


class _Evaluation:
    """One `recommend` call: collects the reasons and fallbacks while walking rules and routes."""

    def __init__(self, policy: Policy, decisions: Mapping[str, bool], scores: Mapping[str, float],
                 context: dict[str, Any], thresholds: Mapping[str, float], now: datetime | None) -> None:
        self.policy = policy
        self.decisions = decisions
        self.scores = scores
        self.thresholds = thresholds
        self.reasons: list[str] = []
        self.fallbacks: list[FallbackApplied] = []
        self.area: str | None = context.get("area") or None
        self.when, self.time_source = policy.call_time(context, now=now)
        if self.time_source == "current_time":
            self.reasons.append(f"no call time in the context: used the current time in {policy.timezone} "
                                f"({_clock(self.when)})")

    def holds(self, when: Mapping[str, Condition]) -> bool:
        for label, cond in when.items():
            if isinstance(cond, bool):
                if bool(self.decisions[label]) != cond:
                    return False
            elif not cond.holds(float(self.scores[label])):
                return False
        return True

    def explain(self, when: Mapping[str, Condition]) -> str:
        parts = []
        for label, cond in when.items():
            score = float(self.scores[label])
            if isinstance(cond, bool):
                flagged = bool(self.decisions[label])
                cmp = "≥" if flagged else "<"
                threshold = self.thresholds.get(label)
                against = f" {cmp} threshold {threshold:.2f}" if threshold is not None else ""
                parts.append(f"{label} {'flagged' if flagged else 'not flagged'} (score {score:.2f}{against})")
            else:
                bounds = [f"≥ {cond.min_score:.2f}" if cond.min_score is not None else "",
                          f"< {cond.max_score:.2f}" if cond.max_score is not None else ""]
                parts.append(f"{label} score {score:.2f} within the policy range {' and '.join(b for b in bounds if b)}")
        return "; ".join(parts)

    def unavailable(self, program: Program) -> FallbackReason | None:
        minute = self.when.hour * 60 + self.when.minute
        if isinstance(program.hours, WeeklyHours) and not program.hours.is_open(self.when.weekday(), minute):
            return "closed"
        if program.everywhere or not isinstance(program.areas, list):
            return None
        if self.area is None:
            return None if self.policy.unknown_area == "covered" else "area_unknown"
        served = {a.casefold() for a in program.areas}
        return None if self.area.casefold() in served else "out_of_area"

    def why(self, program: Program, reason: FallbackReason) -> str:
        if reason == "closed":
            assert isinstance(program.hours, WeeklyHours)
            day = self.when.weekday()
            return (f"{program.name} is closed at {_clock(self.when)} {self.policy.timezone} "
                    f"(hours on {WEEKDAYS[day]}: {program.hours.describe(day)})")
        if reason == "out_of_area":
            return f"{program.name} does not serve area {self.area!r}"
        return f"the call has no area and {program.name} serves only some areas"

    def first_available(self, names: list[str]) -> Program | None:
        """The first program in `names` that is open here and now; records a fallback for each one skipped."""
        for i, name in enumerate(names):
            program = self.policy.program(name)
            reason = self.unavailable(program)
            if reason is None:
                return program
            nxt = names[i + 1] if i + 1 < len(names) else None
            self.fallbacks.append(FallbackApplied(program=name, reason=reason, replaced_by=nxt))
            self.reasons.append(f"{self.why(program, reason)}; " +
                                (f"falls back to {nxt}" if nxt else "no further program in the list"))
        return None

    def run(self) -> Recommendation:
        primary: Program | None = None
        rule = next((r for r in self.policy.rules if self.holds(r.when)), None)
        if rule is not None:
            self.reasons.append(f"rule {rule.name!r}: {self.explain(rule.when)} → route {' → '.join(rule.route)}")
            primary = self.first_available(rule.route)
            if primary is None:
                primary = self.policy.program(self.policy.last_resort)
                if self.fallbacks:
                    self.fallbacks[-1].replaced_by = primary.name
                self.reasons.append(f"no program of the route is available: falls back to the last resort, "
                                    f"{primary.name}")
        else:
            self.reasons.append(self.policy.no_match.reason)
        additional = self._add_ons(primary)
        if primary is None and additional:
            primary = self.policy.program(additional.pop(0))
            self.reasons.append(f"no rule matched, so the add-on {primary.name} is the primary response")
        return Recommendation(
            primary=primary.name if primary else None, primary_kind=primary.kind if primary else None,
            additional=additional, reasons=self.reasons, fallbacks_applied=self.fallbacks,
            rule=rule.name if rule else None, policy_version=self.policy.policy_version,
            evaluated_at=self.when.isoformat(timespec="seconds"), time_source=self.time_source,
        )

    def _add_ons(self, primary: Program | None) -> list[str]:
        added: list[str] = []
        for add_on in self.policy.add_ons:
            if not self.holds(add_on.when):
                continue
            program = self.first_available(add_on.add)
            if program is None:
                self.reasons.append(f"add-on {add_on.name!r}: {self.explain(add_on.when)}, but none of "
                                    f"{', '.join(add_on.add)} is available")
            elif program.name in added or (primary is not None and program.name == primary.name):
                continue
            else:
                added.append(program.name)
                self.reasons.append(f"add-on {add_on.name!r}: {self.explain(add_on.when)} → adds {program.name}")
        return added


def _clock(when: datetime) -> str:
    return f"{WEEKDAYS[when.weekday()]} {when:%H:%M}"


# ---------------------------------------------------------------------------------------------- loading


def _loc(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(_TAG):
            continue  # union tags pydantic puts in the location
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def _check_references(policy: Policy) -> None:
    names: set[str] = set()
    for i, program in enumerate(policy.programs):
        if program.name in names:
            raise PolicyError(f"programs[{i}].name: program {program.name!r} is defined twice",
                              field=f"programs[{i}].name")
        names.add(program.name)

    def check_programs(where: str, listed: list[str]) -> None:
        for j, name in enumerate(listed):
            if name not in names:
                raise PolicyError(f"{where}[{j}]: unknown program {name!r}; known: {sorted(names)}",
                                  field=f"{where}[{j}]")

    def check_labels(where: str, when: Mapping[str, Condition]) -> None:
        for label, cond in when.items():
            if label not in LABELS:
                raise PolicyError(f"{where}.{label}: unknown label; known: {list(LABELS)}", field=f"{where}.{label}")
            if isinstance(cond, ScoreCondition) and cond.min_score is None and cond.max_score is None:
                raise PolicyError(f"{where}.{label}: give min_score and/or max_score", field=f"{where}.{label}")

    matchers: tuple[tuple[str, list[Rule] | list[AddOn]], ...] = (("rules", policy.rules), ("add_ons", policy.add_ons))
    for kind, items in matchers:
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.name in seen:
                raise PolicyError(f"{kind}[{i}].name: {item.name!r} is used twice", field=f"{kind}[{i}].name")
            seen.add(item.name)
            check_labels(f"{kind}[{i}].when", item.when)
            field, listed = item.programs
            check_programs(f"{kind}[{i}].{field}", listed)
    if policy.last_resort not in names:
        raise PolicyError(f"last_resort: unknown program {policy.last_resort!r}; known: {sorted(names)}",
                          field="last_resort")
    for name in policy.planning.teams:
        if name not in names:
            raise PolicyError(f"planning.teams.{name}: unknown program; known: {sorted(names)}",
                              field=f"planning.teams.{name}")
    last = policy.program(policy.last_resort)
    if not (last.always_open and last.everywhere):
        raise PolicyError(f"last_resort: {last.name!r} must be open always and serve all areas, so every call "
                          "gets a response", field="last_resort")


def parse_policy(raw: Any, *, source: str = "policy") -> Policy:
    """Validate an already-read policy mapping. Raises PolicyError naming `source` and the field."""
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: the top level must be a mapping")
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = _loc(tuple(first["loc"]))
        msg = str(first["msg"]).removeprefix("Value error, ")
        extra = exc.error_count() - 1
        more = f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra else ""
        raise PolicyError(f"{source}: {field}: {msg}{more}", field=field) from exc
    try:
        _check_references(policy)
    except PolicyError as exc:
        raise PolicyError(f"{source}: {exc.message}", field=exc.field) from exc
    return policy


def load_policy(path: Path | str | None = None) -> Policy:
    """Read and validate a policy file; None reads the packaged default policy."""
    path = Path(path) if path is not None else DEFAULT_POLICY_PATH
    if not path.is_file():
        raise PolicyError(f"policy file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from exc
    return parse_policy(raw, source=str(path))
