"""The diversion-opportunity report: what a crisis team could have taken from a scored call history.

Input: the Parquet written by `divert batch score` (its `scored/` folder, or the batch OUTPUT folder itself).
Settings: the policy's `planning` section (minutes per call, wait target, teams on duty, behavioral-health nature
codes). Every number comes with the assumption it rests on (`Assumption`), printed beside it in the report.

Tables (each written as CSV):
- `responses_by_hour_of_week`: calls per recommended response for each of the 168 hours of the week;
- `responses_by_area`: calls per recommended response in each area;
- `crisis_team_share`: calls a crisis team could have taken, how many it would have under the policy's hours and
  areas, and how many fell outside its hours or areas;
- `hidden_behavioral_health`: per original nature code, calls whose text flags behavioral health or suicide risk
  while the code is not a behavioral-health code;
- `staffing_by_hour_of_week`: crisis-team arrivals per hour, the Erlang C teams needed for the wait target, the
  teams the policy says are on duty, and the share of calls answered in time with them;
- `summary`: headline numbers, police hours freed included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from divert.model.labels import LABELS
from divert.model.policy import WEEKDAYS, Policy, WeeklyHours
from divert.serving.batch.errors import BatchError
from divert.serving.batch.manifest import scored_path
from divert.serving.report.erlang import offered_load, service_level, teams_needed

NO_RESPONSE = "no diversion recommendation"
BH_LABELS = ("behavioral_health", "suicide_risk")
NEEDED_COLUMNS = ("id", "recommendation", "recommendation_kind", "route", "fallbacks", "time_source",
                  "evaluated_at", "area", "nature_code", "policy_version",
                  *(f"{kind}_{name}" for name in LABELS for kind in ("score", "decision")))


@dataclass(frozen=True)
class Assumption:
    topic: str
    text: str


@dataclass
class DiversionReport:
    policy: Policy
    source: str
    calls: int
    timed_calls: int
    first_call: pd.Timestamp | None
    last_call: pd.Timestamp | None
    weeks: float
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict[str, float | int | str] = field(default_factory=dict)
    assumptions: list[Assumption] = field(default_factory=list)

    def write_csv(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, table in self.tables.items():
            path = folder / f"{name}.csv"
            table.to_csv(path, index=False)
            paths.append(path)
        path = folder / "summary.csv"
        pd.DataFrame({"metric": list(self.summary), "value": list(self.summary.values())}).to_csv(path, index=False)
        paths.append(path)
        path = folder / "assumptions.csv"
        pd.DataFrame([{"topic": a.topic, "assumption": a.text} for a in self.assumptions]).to_csv(path, index=False)
        paths.append(path)
        return paths


def read_scored(path: Path) -> pd.DataFrame:
    """The columns the report needs from a scored Parquet file or folder."""
    source = scored_path(path)
    if not source.exists():
        raise BatchError("input_not_found", f"scored calls not found: {path}")
    import pyarrow.dataset as ds

    try:
        dataset = ds.dataset(str(source), format="parquet")
    except (OSError, ValueError) as exc:
        raise BatchError("input_unreadable", f"{path} is not readable Parquet: {exc}") from exc
    missing = [c for c in NEEDED_COLUMNS if c not in dataset.schema.names]
    if missing:
        raise BatchError("input_columns", f"{path} lacks the columns {', '.join(missing)}: give the output of "
                         "`divert batch score`")
    return dataset.to_table(columns=list(NEEDED_COLUMNS)).to_pandas()


def reevaluate(scored: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """The recommendation columns again under `policy`, from the stored scores, decisions, times and areas
    (`Policy.recommend`, as the API calls it): a county compares policies without scoring again."""
    routes = {rule.name: ";".join(rule.route) for rule in policy.rules}
    out = scored.copy()
    cols: dict[str, list[str | None]] = {k: [] for k in ("recommendation", "recommendation_kind", "route",
                                                           "fallbacks", "evaluated_at")}
    decisions = scored[[f"decision_{name}" for name in LABELS]].to_numpy(dtype=bool)
    scores = scored[[f"score_{name}" for name in LABELS]].to_numpy(dtype=float)
    for i, (when, area) in enumerate(zip(scored["evaluated_at"].tolist(), scored["area"].tolist(), strict=True)):
        context = {"time": when, "area": None if pd.isna(area) else area}
        rec = policy.recommend(dict(zip(LABELS, decisions[i].tolist(), strict=True)),
                               dict(zip(LABELS, scores[i].tolist(), strict=True)), context)
        cols["recommendation"].append(rec.primary)
        cols["recommendation_kind"].append(rec.primary_kind)
        cols["route"].append(routes.get(rec.rule, "") if rec.rule else "")
        cols["fallbacks"].append(";".join(f"{f.program}:{f.reason}" for f in rec.fallbacks_applied))
        cols["evaluated_at"].append(rec.evaluated_at)
    for name, values in cols.items():
        out[name] = values
    out["policy_version"] = policy.policy_version
    return out


def _hour_of_week(times: pd.Series) -> pd.Series:
    return times.dt.weekday * 24 + times.dt.hour


def _crisis_programs(policy: Policy) -> list[str]:
    return [p.name for p in policy.programs if p.kind == "crisis_team"]


def _teams_on_duty(policy: Policy) -> np.ndarray:
    """Crisis teams on duty in each hour of the week (a program counts when open at half past the hour)."""
    out = np.zeros(168, dtype=np.int64)
    for name in _crisis_programs(policy):
        teams = policy.planning.teams.get(name, 0)
        hours = policy.program(name).hours
        for how in range(168):
            day, hour = divmod(how, 24)
            if not isinstance(hours, WeeklyHours) or hours.is_open(day, hour * 60 + 30):
                out[how] += teams
    return out


def build_report(scored: pd.DataFrame, policy: Policy, *, source: str = "") -> DiversionReport:
    plan = policy.planning
    crisis = set(_crisis_programs(policy))
    n = len(scored)
    if n == 0:
        raise BatchError("input_empty", f"{source or 'the input'} holds no scored calls")
    scored_under = sorted(set(scored["policy_version"].dropna().astype(str)))
    if scored_under != [policy.policy_version]:
        scored = reevaluate(scored, policy)
    response = scored["recommendation"].fillna(NO_RESPONSE).astype(str)
    route = scored["route"].fillna("").astype(str).str.split(";")
    fallbacks = scored["fallbacks"].fillna("").astype(str)
    taken = scored["recommendation_kind"].fillna("").astype(str).eq("crisis_team")
    in_route = route.map(lambda progs: any(p in crisis for p in progs))
    eligible = taken | in_route

    def missed(reasons: tuple[str, ...]) -> pd.Series:
        return fallbacks.map(lambda f: any(
            prog in crisis and why in reasons for prog, _, why in (x.partition(":") for x in f.split(";") if x)))

    closed = eligible & ~taken & missed(("closed",))
    outside_area = eligible & ~taken & ~closed & missed(("out_of_area", "area_unknown"))

    timed = scored["time_source"].astype(str).eq("context")
    times = pd.to_datetime(scored.loc[timed, "evaluated_at"], utc=True, format="ISO8601").dt.tz_convert(policy.tz)
    first, last = (times.min(), times.max()) if len(times) else (None, None)
    weeks = max((last - first).total_seconds() / (7 * 86400), 1.0) if first is not None else 1.0
    how = pd.Series(-1, index=scored.index, dtype=np.int64)
    how.loc[times.index] = _hour_of_week(times).astype(np.int64)

    report = DiversionReport(policy=policy, source=source, calls=n, timed_calls=int(timed.sum()), first_call=first,
                             last_call=last, weeks=weeks)
    order = [p.name for p in policy.programs] + [NO_RESPONSE]
    responses = [r for r in order if r in set(response)] + sorted(set(response) - set(order))

    # calls per response by hour of week
    tab = pd.crosstab(how[timed], response[timed]).reindex(index=range(168), columns=responses, fill_value=0)
    tab.insert(0, "hour", [h % 24 for h in range(168)])
    tab.insert(0, "weekday", [WEEKDAYS[h // 24] for h in range(168)])
    tab.insert(0, "hour_of_week", range(168))
    report.tables["responses_by_hour_of_week"] = tab.reset_index(drop=True).rename_axis(columns=None)

    # calls per response by area
    area = scored["area"].fillna("(no area)").astype(str)
    by_area = pd.crosstab(area, response).reindex(columns=responses, fill_value=0)
    by_area["total"] = by_area.sum(axis=1)
    by_area["crisis_team_could_take"] = eligible.groupby(area).sum()
    by_area = by_area.sort_values("total", ascending=False).reset_index().rename(columns={"area": "area"})
    report.tables["responses_by_area"] = by_area.rename_axis(columns=None)

    # crisis-team share
    rows = [
        ("all scored calls", n),
        ("crisis team could take (its program is in the call's route)", int(eligible.sum())),
        ("crisis team takes under the policy's hours and areas", int(taken.sum())),
        ("could take, but the team is closed at the call's hour", int(closed.sum())),
        ("could take, but the call is outside the team's areas", int(outside_area.sum())),
    ]
    share = pd.DataFrame(rows, columns=["calls", "count"])
    share["share_of_all_calls"] = share["count"] / n
    share["share_of_could_take"] = share["count"] / max(int(eligible.sum()), 1)
    share.loc[0, "share_of_could_take"] = np.nan
    report.tables["crisis_team_share"] = share

    # hidden behavioral-health calls per nature code
    text_bh = scored[[f"decision_{name}" for name in BH_LABELS]].fillna(False).astype(bool).any(axis=1)
    code = scored["nature_code"].fillna("(no code)").astype(str).str.upper()
    bh_codes = {c.upper() for c in plan.behavioral_health_codes}
    code_bh = code.isin(bh_codes)
    hidden_tab = pd.DataFrame({"nature_code": code, "text_bh": text_bh, "code_bh": code_bh})
    hidden = hidden_tab.groupby("nature_code").agg(calls=("text_bh", "size"), text_flags_bh=("text_bh", "sum"))
    hidden["code_is_bh"] = hidden.index.isin(bh_codes)
    hidden["hidden_bh"] = np.where(hidden["code_is_bh"], 0, hidden["text_flags_bh"])
    hidden["hidden_share_of_code"] = hidden["hidden_bh"] / hidden["calls"]
    hidden = hidden.sort_values(["hidden_bh", "calls"], ascending=False).reset_index()
    report.tables["hidden_behavioral_health"] = hidden

    # staffing by Erlang C
    demand = eligible & timed
    arrivals = how[demand].value_counts().reindex(range(168), fill_value=0).to_numpy() / weeks
    on_duty = _teams_on_duty(policy)
    staff = pd.DataFrame({
        "hour_of_week": range(168), "weekday": [WEEKDAYS[h // 24] for h in range(168)],
        "hour": [h % 24 for h in range(168)], "calls_per_hour": arrivals,
        "offered_load_erlangs": [offered_load(a, plan.crisis_minutes_per_call) for a in arrivals],
        "teams_needed": [teams_needed(a, plan.crisis_minutes_per_call, plan.target_wait_minutes,
                                      plan.target_probability) for a in arrivals],
        "teams_on_duty": on_duty,
    })
    staff["shortfall"] = (staff["teams_needed"] - staff["teams_on_duty"]).clip(lower=0)
    staff["answered_in_time_with_teams_on_duty"] = [
        service_level(int(t), a, plan.crisis_minutes_per_call, plan.target_wait_minutes) if a > 0 else 1.0
        for t, a in zip(on_duty, arrivals, strict=True)]
    report.tables["staffing_by_hour_of_week"] = staff

    # police time
    freed_calls = int(taken.sum())
    freed_hours = freed_calls * plan.police_minutes_per_call * plan.police_officers_per_call / 60
    per_year = 52.18 / weeks
    short_hours = int((staff["shortfall"] > 0).sum())
    report.summary = {
        "calls scored": n,
        "calls with a time": int(timed.sum()),
        "period": f"{first:%Y-%m-%d} to {last:%Y-%m-%d}" if first is not None else "unknown",
        "weeks covered": round(weeks, 1),
        "crisis team could take": int(eligible.sum()),
        "crisis team could take (share of calls)": round(float(eligible.mean()), 4),
        "crisis team takes under the policy": freed_calls,
        "outside the team's hours": int(closed.sum()),
        "outside the team's areas": int(outside_area.sum()),
        "hidden behavioral-health calls (text flags, code does not)": int(hidden["hidden_bh"].sum()),
        "calls the code marks as behavioral health": int(code_bh.sum()),
        "police officer-hours freed": round(freed_hours, 1),
        "police officer-hours freed per year": round(freed_hours * per_year, 1),
        "peak crisis teams needed (any hour of the week)": int(staff["teams_needed"].max()),
        "hours of the week short of teams": short_hours,
    }
    crisis_names = ", ".join(sorted(crisis)) or "none"
    again = (f" The calls were scored under policy {', '.join(scored_under)}; their recommendations were "
             "evaluated again under this policy from the stored scores, decisions, times and areas."
             if scored_under != [policy.policy_version] else "")
    report.assumptions = [
        Assumption("responses", f"Recommended response = the policy's primary program ({policy.name}, version "
                   f"{policy.policy_version}) from the model's flags; '{NO_RESPONSE}' = no rule matched.{again}"),
        Assumption("crisis share", f"A crisis team 'could take' a call when a crisis-team program ({crisis_names}) "
                   "is in the route of the rule the call matched; it 'takes' it when that program is open at the "
                   "call's hour and serves its area."),
        Assumption("time", f"Hours of the week are in {policy.timezone}; {n - int(timed.sum()):,} calls without "
                   "a time are left out of the hour-of-week tables and the staffing."),
        Assumption("hidden", "Hidden behavioral-health call = the text flags behavioral_health or suicide_risk and "
                   f"the nature code is not one of {', '.join(sorted(bh_codes))} (planning.behavioral_health_codes)."),
        Assumption("staffing", f"Erlang C (M/M/N): arrivals per hour of the week = crisis-team calls in that hour / "
                   f"{weeks:.1f} weeks; {plan.crisis_minutes_per_call:g} minutes per call; target: a call waits "
                   f"under {plan.target_wait_minutes:g} minutes with probability ≥ {plan.target_probability:g}. "
                   "Teams on duty = planning.teams of each crisis-team program while it is open. Calls do not "
                   "leave the queue, and a call's time is the same in every hour of the day."),
        Assumption("police", f"Every call the crisis team takes would otherwise have had a police response of "
                   f"{plan.police_minutes_per_call:g} minutes by {plan.police_officers_per_call:g} officers; "
                   "co-responder calls free no police time. Per year = the period's figure × 52.18 / weeks."),
        Assumption("model", "Flags are a model's, not a person's: every figure inherits its error (see the model "
                   "card's recall and precision per label)."),
    ]
    return report


def diversion_report(path: Path, policy: Policy) -> DiversionReport:
    return build_report(read_scored(path), policy, source=str(path))
