"""The diversion policy: every rule, add-on, fallback and validation branch."""

from __future__ import annotations

import copy
import itertools
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from serving_fixtures import expected_primary

from divert.model.errors import InvalidInputError
from divert.model.labels import LABELS
from divert.model.policy import (
    DEFAULT_POLICY_PATH,
    Policy,
    PolicyError,
    Recommendation,
    TimeRange,
    load_policy,
    parse_policy,
)

SATURDAY_AFTERNOON = "2025-03-01T14:00:00"  # 2025-03-01 is a Saturday


def default_raw() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(DEFAULT_POLICY_PATH.read_text())
    return raw


def with_program(raw: dict[str, Any], name: str, **changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    program = next(p for p in raw["programs"] if p["name"] == name)
    program.update(changes)
    return raw


def run(policy: Policy, *flags: str, context: dict[str, Any] | None = None, scores: dict[str, float] | None = None,
        now: datetime | None = None) -> Recommendation:
    decisions = {name: name in flags for name in LABELS}
    given = {name: (0.9 if name in flags else 0.1) for name in LABELS} | (scores or {})
    ctx = {"time": SATURDAY_AFTERNOON} if context is None else context
    return policy.recommend(decisions, given, ctx, thresholds={n: 0.5 for n in LABELS}, now=now)


@pytest.fixture(scope="module")
def default_policy() -> Policy:
    return load_policy()


# ------------------------------------------------------------------------------------ the default policy


@pytest.mark.parametrize("flags", [set(c) for r in range(len(LABELS) + 1) for c in itertools.combinations(LABELS, r)],
                         ids=lambda f: "+".join(sorted(f)) or "none")
def test_every_label_combination_follows_the_default_policy(default_policy: Policy, flags: set[str]) -> None:
    rec = run(default_policy, *flags)
    assert rec.primary == expected_primary(flags)
    ems_added = "medical_emergency" in flags and rec.primary != "ems"
    assert rec.additional == (["ems"] if ems_added else [])
    assert rec.fallbacks_applied == []
    assert rec.policy_version == default_policy.policy_version
    assert rec.time_source == "context"


def test_rule_reason_names_the_rule_labels_scores_and_route(default_policy: Policy) -> None:
    rec = run(default_policy, "behavioral_health", scores={"behavioral_health": 0.87, "violence_risk": 0.12})
    assert rec.rule == "behavioral_health"
    assert rec.primary_kind == "crisis_team"
    reason = rec.reasons[0]
    assert "'behavioral_health'" in reason
    assert "behavioral_health flagged (score 0.87 ≥ threshold 0.50)" in reason
    assert "violence_risk not flagged (score 0.12 < threshold 0.50)" in reason
    assert "crisis_team → co_responder → police" in reason


def test_violence_risk_with_behavioral_health_goes_to_co_responder(default_policy: Policy) -> None:
    rec = run(default_policy, "behavioral_health", "violence_risk")
    assert (rec.primary, rec.rule) == ("co_responder", "behavioral_health_with_violence_risk")


def test_medical_emergency_adds_ems_with_a_reason(default_policy: Policy) -> None:
    rec = run(default_policy, "behavioral_health", "medical_emergency")
    assert (rec.primary, rec.additional) == ("crisis_team", ["ems"])
    assert any("add-on 'medical_emergency'" in r and "adds ems" in r for r in rec.reasons)


def test_medical_emergency_alone_makes_ems_primary(default_policy: Policy) -> None:
    rec = run(default_policy, "medical_emergency")
    assert (rec.primary, rec.primary_kind, rec.additional, rec.rule) == ("ems", "ems", [], None)
    assert rec.reasons[-1] == "no rule matched, so the add-on ems is the primary response"


def test_no_flag_means_no_diversion_recommendation(default_policy: Policy) -> None:
    rec = run(default_policy)
    assert (rec.primary, rec.primary_kind, rec.additional, rec.rule) == (None, None, [], None)
    assert rec.reasons == [default_policy.no_match.reason]


def test_substance_use_alone_is_not_a_diversion_rule(default_policy: Policy) -> None:
    assert run(default_policy, "substance_use").primary is None


# ------------------------------------------------------------------------------------------ call time


def test_without_a_call_time_the_current_time_is_used_and_said(default_policy: Policy) -> None:
    now = datetime(2025, 3, 4, 9, 30, tzinfo=ZoneInfo("UTC"))  # a Tuesday
    rec = run(default_policy, "behavioral_health", context={}, now=now)
    assert rec.time_source == "current_time"
    assert rec.evaluated_at == "2025-03-04T09:30:00+00:00"
    assert rec.reasons[0] == "no call time in the context: used the current time in UTC (tue 09:30)"


def test_an_unreadable_call_time_is_an_input_error(default_policy: Policy) -> None:
    with pytest.raises(InvalidInputError) as info:
        run(default_policy, "behavioral_health", context={"time": "yesterday at noon"})
    assert (info.value.code, info.value.field) == ("invalid_context_time", "context.time")


def test_times_with_an_offset_are_converted_to_the_policy_timezone() -> None:
    raw = with_program(default_raw(), "crisis_team", hours={"daily": ["08:00-20:00"]})
    policy = parse_policy(raw | {"timezone": "America/Chicago"})
    # 02:00 UTC on Sunday is 20:00 on Saturday in Chicago: closed; a naive 19:00 is local: open.
    late = run(policy, "behavioral_health", context={"time": "2025-03-02T02:00:00+00:00"})
    assert late.primary == "co_responder"
    assert late.evaluated_at == "2025-03-01T20:00:00-06:00"
    assert run(policy, "behavioral_health", context={"time": "2025-03-01T19:00:00"}).primary == "crisis_team"


# ------------------------------------------------------------------------------------------- fallbacks


def test_a_closed_program_falls_back_to_the_next_one_and_says_why() -> None:
    policy = parse_policy(with_program(default_raw(), "crisis_team", hours={"daily": ["08:00-20:00"]}))
    assert run(policy, "behavioral_health", context={"time": "2025-03-01T10:00:00"}).primary == "crisis_team"
    rec = run(policy, "behavioral_health", context={"time": "2025-03-01T21:15:00"})
    assert rec.primary == "co_responder"
    [fallback] = rec.fallbacks_applied
    assert (fallback.program, fallback.reason, fallback.replaced_by) == ("crisis_team", "closed", "co_responder")
    assert "crisis_team is closed at sat 21:15 UTC (hours on sat: 08:00-20:00); falls back to co_responder" in rec.reasons


@pytest.mark.parametrize(("when", "is_open"), [
    ("2025-02-28T19:59:00", False),  # fri before the range
    ("2025-02-28T20:00:00", True),  # fri, start of the overnight range
    ("2025-03-01T01:59:00", True),  # sat, the part that runs past midnight
    ("2025-03-01T02:00:00", False),  # sat, end of the range
    ("2025-03-01T21:00:00", False),  # sat evening: only fri has the range
])
def test_overnight_ranges_run_into_the_next_day(when: str, is_open: bool) -> None:
    policy = parse_policy(with_program(default_raw(), "crisis_team", hours={"fri": "20:00-02:00"}))
    rec = run(policy, "behavioral_health", context={"time": when})
    assert (rec.primary == "crisis_team") is is_open


def test_a_listed_weekday_overrides_daily_and_an_empty_list_closes_it() -> None:
    hours = {"daily": ["00:00-24:00"], "sun": []}
    policy = parse_policy(with_program(default_raw(), "crisis_team", hours=hours))
    assert run(policy, "behavioral_health", context={"time": "2025-03-01T12:00:00"}).primary == "crisis_team"
    sunday = run(policy, "behavioral_health", context={"time": "2025-03-02T12:00:00"})
    assert sunday.primary == "co_responder"
    assert "(hours on sun: closed)" in sunday.reasons[1]


def test_a_program_outside_its_areas_falls_back() -> None:
    policy = parse_policy(with_program(default_raw(), "crisis_team", areas=["north", "central"]))
    assert run(policy, "behavioral_health", context={"time": SATURDAY_AFTERNOON, "area": "NORTH"}).primary == (
        "crisis_team")
    rec = run(policy, "behavioral_health", context={"time": SATURDAY_AFTERNOON, "area": "south"})
    assert rec.primary == "co_responder"
    assert rec.fallbacks_applied[0].reason == "out_of_area"
    assert "crisis_team does not serve area 'south'; falls back to co_responder" in rec.reasons


def test_a_call_without_area_follows_the_unknown_area_setting() -> None:
    raw = with_program(default_raw(), "crisis_team", areas=["north"])
    strict = run(parse_policy(raw), "behavioral_health")
    assert strict.primary == "co_responder"
    assert strict.fallbacks_applied[0].reason == "area_unknown"
    assert run(parse_policy(raw | {"unknown_area": "covered"}), "behavioral_health").primary == "crisis_team"


def test_when_the_whole_route_is_closed_the_last_resort_answers() -> None:
    raw = with_program(default_raw(), "crisis_team", hours={"daily": ["08:00-09:00"]})
    raw = with_program(raw, "co_responder", areas=["north"])
    rec = run(parse_policy(raw), "behavioral_health", context={"time": "2025-03-01T22:00:00", "area": "south"})
    # crisis_team closed -> co_responder out of area -> police (also the last of the route)
    assert rec.primary == "police"
    assert [f.program for f in rec.fallbacks_applied] == ["crisis_team", "co_responder"]
    raw["rules"] = [{"name": "only_crisis", "when": {"behavioral_health": True}, "route": ["crisis_team"]}]
    rec = run(parse_policy(raw), "behavioral_health", context={"time": "2025-03-01T22:00:00"})
    assert rec.primary == "police"
    assert rec.fallbacks_applied[-1].replaced_by == "police"
    assert rec.reasons[-1] == "no program of the route is available: falls back to the last resort, police"


def test_an_add_on_with_no_program_available_is_reported() -> None:
    policy = parse_policy(with_program(default_raw(), "ems", areas=["north"]))
    rec = run(policy, "violence_risk", "medical_emergency", context={"time": SATURDAY_AFTERNOON, "area": "south"})
    assert (rec.primary, rec.additional) == ("police", [])
    assert "but none of ems is available" in rec.reasons[-1]


def test_an_add_on_equal_to_the_primary_is_not_added_twice() -> None:
    raw = default_raw()
    raw["add_ons"].append({"name": "police_for_violence", "when": {"violence_risk": True}, "add": ["police"]})
    rec = run(parse_policy(raw), "violence_risk")
    assert (rec.primary, rec.additional) == ("police", [])


def test_score_range_conditions_use_the_policys_own_thresholds() -> None:
    raw = default_raw()
    raw["rules"].insert(0, {"name": "very_likely_violence", "when": {"violence_risk": {"min_score": 0.95}},
                            "route": ["police"]})
    raw["rules"].insert(1, {"name": "calm_crisis", "when": {"behavioral_health": True,
                                                           "violence_risk": {"max_score": 0.3}},
                            "route": ["crisis_team"]})
    policy = parse_policy(raw)
    assert run(policy, "behavioral_health", "violence_risk", scores={"violence_risk": 0.97}).rule == (
        "very_likely_violence")
    assert run(policy, "behavioral_health", "violence_risk", scores={"violence_risk": 0.6}).rule == (
        "behavioral_health_with_violence_risk")
    calm = run(policy, "behavioral_health", scores={"violence_risk": 0.2})
    assert calm.rule == "calm_crisis"
    assert "violence_risk score 0.20 within the policy range < 0.30" in calm.reasons[0]
    assert run(policy, "behavioral_health", scores={"violence_risk": 0.4}).rule == "behavioral_health"


# ------------------------------------------------------------------------------------------ validation


def test_the_packaged_default_policy_is_valid() -> None:
    policy = load_policy()
    assert policy.policy_version == "default-1"
    assert {p.kind for p in policy.programs} == {"crisis_team", "co_responder", "police", "ems"}


def test_time_ranges_read_whole_days_and_reject_empty_ones() -> None:
    assert str(TimeRange.parse("00:00-24:00")) == "00:00-24:00"
    with pytest.raises(ValueError, match="is empty"):
        TimeRange.parse("08:00-08:00")


def _mutate(path: str, value: Any) -> Any:
    def apply(raw: dict[str, Any]) -> None:
        *parents, leaf = path.split("/")
        node: Any = raw
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is _DELETE:
            del node[leaf]
        else:
            node[int(leaf) if leaf.isdigit() else leaf] = value
    return apply


_DELETE = object()


@pytest.mark.parametrize(("mutation", "field", "message"), [
    (_mutate("policy_version", _DELETE), "policy_version", "Field required"),
    (_mutate("policy_version", ""), "policy_version", "at least 1 character"),
    (_mutate("surprise", 1), "surprise", "Extra inputs are not permitted"),
    (_mutate("timezone", "Mars/Olympus"), "timezone", "unknown timezone 'Mars/Olympus'"),
    (_mutate("programs", []), "programs", "at least 1 item"),
    (_mutate("programs/0/kind", "fire"), "programs[0].kind", "Input should be 'crisis_team'"),
    (_mutate("programs/0/name", "Crisis Team"), "programs[0].name", "should match pattern"),
    (_mutate("programs/1/name", "crisis_team"), "programs[1].name", "program 'crisis_team' is defined twice"),
    (_mutate("programs/0/hours", "sometimes"), "programs[0].hours", "hours is 'always' or a mapping"),
    (_mutate("programs/0/hours", {"someday": ["08:00-09:00"]}), "programs[0].hours.someday", "Extra inputs"),
    (_mutate("programs/0/hours", {"sat": ["25:00-26:00"]}), "programs[0].hours.sat", "impossible time"),
    (_mutate("programs/0/hours", {"sat": ["8am-5pm"]}), "programs[0].hours.sat", "not a range like"),
    (_mutate("programs/0/areas", []), "programs[0].areas", "serves no area"),
    (_mutate("programs/0/areas", "north"), "programs[0].areas", "areas is 'all' or a list"),
    (_mutate("rules/0/when", {}), "rules[0].when", "at least 1 item"),
    (_mutate("rules/0/when/violence_risk", "maybe"), "rules[0].when.violence_risk", "a condition is true, false"),
    (_mutate("rules/0/when/violence_risk", {"min_score": 1.5}), "rules[0].when.violence_risk.min_score",
     "less than or equal to 1"),
    (_mutate("rules/0/when/violence_risk", {}), "rules[0].when.violence_risk", "give min_score and/or max_score"),
    (_mutate("rules/0/when/gang_activity", True), "rules[0].when.gang_activity", "unknown label"),
    (_mutate("rules/1/name", "behavioral_health_with_violence_risk"), "rules[1].name", "is used twice"),
    (_mutate("rules/2/route/1", "sheriff"), "rules[2].route[1]", "unknown program 'sheriff'"),
    (_mutate("add_ons/0/add/0", "helicopter"), "add_ons[0].add[0]", "unknown program 'helicopter'"),
    (_mutate("last_resort", "sheriff"), "last_resort", "unknown program 'sheriff'"),
    (_mutate("programs/2/hours", {"daily": ["08:00-20:00"]}), "last_resort", "must be open always"),
])
def test_an_invalid_policy_names_the_field(mutation: Any, field: str, message: str) -> None:
    raw = default_raw()
    mutation(raw)
    with pytest.raises(PolicyError) as info:
        parse_policy(raw, source="community.yaml")
    assert info.value.field == field
    assert info.value.message.startswith(f"community.yaml: {field}: ")
    assert message in info.value.message


def test_policy_files_that_cannot_be_read_are_policy_errors(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="policy file not found"):
        load_policy(tmp_path / "missing.yaml")
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("programs: [unclosed\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(bad_yaml)
    a_list = tmp_path / "list.yaml"
    a_list.write_text("- 1\n- 2\n")
    with pytest.raises(PolicyError, match="the top level must be a mapping"):
        load_policy(a_list)


def test_several_problems_are_counted_in_the_message() -> None:
    raw = default_raw()
    del raw["policy_version"]
    del raw["last_resort"]
    with pytest.raises(PolicyError, match=r"\(and 1 more problem\)"):
        parse_policy(raw)
