"""The diversion-opportunity report: Erlang C against a hand computation, the tables, the HTML, a screenshot."""

from __future__ import annotations

import base64
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from divert.cli.app import app
from divert.model.labels import LABELS
from divert.model.policy import parse_policy
from divert.serving.report.diversion import NO_RESPONSE, build_report
from divert.serving.report.erlang import erlang_b, erlang_c, service_level, teams_needed
from divert.serving.report.html import render_html, write_report

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "report"


# ------------------------------------------------------------------------------------------------ Erlang C


def test_erlang_c_matches_a_hand_computed_case() -> None:
    """6 calls an hour, 30 minutes each: A = 6 * 30 / 60 = 3 erlangs.

    N = 4 teams:
      Σ_{k=0..3} A^k/k! = 1 + 3 + 9/2 + 27/6            = 13
      A^4/4! · N/(N-A)  = (81/24) · 4/1 = 3.375 · 4     = 13.5
      C(4, 3) = 13.5 / (13 + 13.5)                      = 0.509434  (P(wait > 0))
      Erlang B(4, 3) = 3.375 / (13 + 3.375)             = 0.206107
      P(wait ≤ 10 min) = 1 - 0.509434 · e^{-(4-3)·10/30} = 1 - 0.509434 · 0.716531 = 0.634975
    N = 5 teams:
      Σ_{k=0..4} A^k/k! = 13 + 3.375                    = 16.375
      A^5/5! · N/(N-A)  = (243/120) · 5/2 = 2.025 · 2.5 = 5.0625
      C(5, 3) = 5.0625 / (16.375 + 5.0625)              = 0.236152
      P(wait ≤ 10 min) = 1 - 0.236152 · e^{-(5-3)·10/30} = 1 - 0.236152 · 0.513417 = 0.878755
    So 4 teams answer 63.5% of calls within 10 minutes and 5 teams 87.9%: a target of 80% needs 5 teams, a
    target of 60% needs 4; 3 teams cannot keep up at all (N ≤ A).
    """
    assert erlang_b(4, 3.0) == pytest.approx(3.375 / 16.375, abs=1e-9)
    assert erlang_c(4, 3.0) == pytest.approx(13.5 / 26.5, abs=1e-9)
    assert service_level(4, 6, 30, 10) == pytest.approx(1 - (13.5 / 26.5) * math.exp(-1 / 3), abs=1e-9)
    assert service_level(4, 6, 30, 10) == pytest.approx(0.634975, abs=1e-5)
    assert erlang_c(5, 3.0) == pytest.approx(5.0625 / 21.4375, abs=1e-9)
    assert service_level(5, 6, 30, 10) == pytest.approx(0.878755, abs=1e-5)
    assert teams_needed(6, 30, 10, 0.8) == 5
    assert teams_needed(6, 30, 10, 0.6) == 4
    assert service_level(3, 6, 30, 10) == 0.0 and erlang_c(3, 3.0) == 1.0
    assert teams_needed(0, 30, 10, 0.8) == 0


def test_erlang_c_stays_finite_for_large_loads() -> None:
    needed = teams_needed(400, 60, 5, 0.9)  # 400 erlangs
    assert 400 < needed < 460
    assert service_level(needed, 400, 60, 5) >= 0.9 > service_level(needed - 1, 400, 60, 5)


# ------------------------------------------------------------------------------------------------ the tables

POLICY = {
    "policy_version": "test-1", "name": "test", "timezone": "UTC",
    "programs": [
        {"name": "crisis_team", "kind": "crisis_team", "hours": {"daily": ["08:00-20:00"]}, "areas": ["north"]},
        {"name": "co_responder", "kind": "co_responder"},
        {"name": "police", "kind": "police"},
        {"name": "ems", "kind": "ems"},
    ],
    "rules": [
        {"name": "bh_violent", "when": {"behavioral_health": True, "violence_risk": True}, "route": ["co_responder"]},
        {"name": "bh", "when": {"behavioral_health": True}, "route": ["crisis_team", "co_responder", "police"]},
        {"name": "violence", "when": {"violence_risk": True}, "route": ["police"]},
    ],
    "add_ons": [{"name": "medical", "when": {"medical_emergency": True}, "add": ["ems"]}],
    "last_resort": "police",
    "planning": {"crisis_minutes_per_call": 30, "police_minutes_per_call": 60, "police_officers_per_call": 2,
                 "target_wait_minutes": 10, "target_probability": 0.8, "teams": {"crisis_team": 1},
                 "behavioral_health_codes": ["EDP", "MNTL"]},
}

# (time, area, nature code, flags): the expected route follows from the policy above
CALLS = [
    ("2025-03-03T10:00:00", "north", "WELFARE", {"behavioral_health"}),  # crisis team takes it; hidden
    ("2025-03-03T10:30:00", "north", "EDP", {"behavioral_health"}),  # crisis team takes it; code says BH
    ("2025-03-03T23:00:00", "north", "WELFARE", {"behavioral_health"}),  # closed -> co_responder; hidden
    ("2025-03-04T11:00:00", "south", "DISORD", {"behavioral_health"}),  # out of area -> co_responder; hidden
    ("2025-03-04T12:00:00", "north", "ASSAULT", {"behavioral_health", "violence_risk"}),  # co_responder; hidden
    ("2025-03-05T09:00:00", "north", "DVA", {"violence_risk"}),  # police
    ("2025-03-05T09:10:00", "south", "CARDIAC", {"medical_emergency"}),  # ems (add-on as primary)
    ("2025-03-05T09:20:00", "north", "NOISE", set()),  # no diversion recommendation
    ("2025-03-10T10:00:00", "north", "MNTL", set()),  # code says BH, text does not: not hidden
]


def scored_frame() -> pd.DataFrame:
    """What `divert batch score` writes for CALLS under POLICY (recommendations from Policy.recommend)."""
    policy = parse_policy(POLICY)
    rows = []
    for i, (time, area, code, flags) in enumerate(CALLS):
        decisions = {name: name in flags for name in LABELS}
        scores = {name: 0.9 if name in flags else 0.1 for name in LABELS}
        rec = policy.recommend(decisions, scores, {"time": time, "area": area})
        route = next((";".join(r.route) for r in policy.rules if r.name == rec.rule), "")
        rows.append({"id": f"r-{i}", **{f"score_{n}": scores[n] for n in LABELS},
                     **{f"decision_{n}": decisions[n] for n in LABELS},
                     "recommendation": rec.primary, "recommendation_kind": rec.primary_kind, "route": route,
                     "fallbacks": ";".join(f"{f.program}:{f.reason}" for f in rec.fallbacks_applied),
                     "time_source": rec.time_source, "evaluated_at": rec.evaluated_at, "time": time, "area": area,
                     "nature_code": code, "policy_version": policy.policy_version})
    return pd.DataFrame(rows)


def test_report_tables_count_what_the_policy_says() -> None:
    report = build_report(scored_frame(), parse_policy(POLICY))
    share = report.tables["crisis_team_share"].set_index("calls")["count"]
    assert share.tolist() == [9, 4, 2, 1, 1]  # all, could take, takes, closed, out of area
    s = report.summary
    assert s["crisis team could take"] == 4 and s["crisis team takes under the policy"] == 2
    assert s["outside the team's hours"] == 1 and s["outside the team's areas"] == 1
    # police: 2 crisis-team calls x 60 minutes x 2 officers
    assert s["police officer-hours freed"] == pytest.approx(4.0)
    # first call Mon 3 March 10:00, last Mon 10 March 10:00: one week; per year scales by 52.18 / weeks
    assert report.weeks == pytest.approx(1.0)
    assert s["police officer-hours freed per year"] == pytest.approx(4.0 * 52.18 / report.weeks, rel=1e-3)

    hidden = report.tables["hidden_behavioral_health"].set_index("nature_code")
    assert hidden.loc["WELFARE", "hidden_bh"] == 2 and hidden.loc["DISORD", "hidden_bh"] == 1
    assert hidden.loc["ASSAULT", "hidden_bh"] == 1
    assert hidden.loc["EDP", "hidden_bh"] == 0 and hidden.loc["MNTL", "text_flags_bh"] == 0
    assert s["hidden behavioral-health calls (text flags, code does not)"] == 4

    by_hour = report.tables["responses_by_hour_of_week"].set_index("hour_of_week")
    assert by_hour.loc[10, "crisis_team"] == 2  # Monday 10:00 and 10:30
    assert by_hour.loc[23, "co_responder"] == 1  # Monday 23:00, team closed
    assert by_hour.loc[48 + 9, ["police", "ems", NO_RESPONSE]].tolist() == [1, 1, 1]
    assert by_hour.drop(columns=["weekday", "hour"]).to_numpy().sum() == 9

    area = report.tables["responses_by_area"].set_index("area")
    assert area.loc["north", "total"] == 7 and area.loc["south", "crisis_team_could_take"] == 1

    staff = report.tables["staffing_by_hour_of_week"].set_index("hour_of_week")
    assert staff.loc[10, "teams_on_duty"] == 1 and staff.loc[23, "teams_on_duty"] == 0  # open 08-20 daily
    # Monday 10:00: two crisis-team calls in 1.0 weeks -> 2 / weeks calls per hour
    assert staff.loc[10, "calls_per_hour"] == pytest.approx(2 / report.weeks)
    assert staff.loc[10, "teams_needed"] == teams_needed(2 / report.weeks, 30, 10, 0.8)
    assert staff.loc[5, "teams_needed"] == 0
    assert {a.topic for a in report.assumptions} >= {"crisis share", "hidden", "staffing", "police"}


def test_a_different_policy_re_evaluates_the_stored_scores() -> None:
    """Give the crisis team every hour: the call at 23:00 moves from co-responder to the crisis team."""
    wider = json.loads(json.dumps(POLICY))
    wider["policy_version"] = "test-2"
    wider["programs"][0]["hours"] = "always"
    report = build_report(scored_frame(), parse_policy(wider))
    assert report.summary["crisis team takes under the policy"] == 3
    assert report.summary["outside the team's hours"] == 0
    assert "evaluated again" in report.assumptions[0].text


def test_the_html_is_self_contained(tmp_path: Path) -> None:
    report = build_report(scored_frame(), parse_policy(POLICY), source="scored")
    html = render_html(report)
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 4
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from elsewhere
    for assumption in report.assumptions:
        assert assumption.text.split(";")[0].replace("'", "&#39;")[:40] in html
    path = write_report(report, tmp_path / "rep")
    assert path.name == "report.html"
    names = {p.name for p in (tmp_path / "rep").glob("*.csv")}
    assert names == {"responses_by_hour_of_week.csv", "responses_by_area.csv", "crisis_team_share.csv",
                     "hidden_behavioral_health.csv", "staffing_by_hour_of_week.csv", "summary.csv",
                     "assumptions.csv"}
    assert len(pd.read_csv(tmp_path / "rep" / "staffing_by_hour_of_week.csv")) == 168


def test_cli_report_reads_a_batch_output(tmp_path: Path) -> None:
    out = tmp_path / "batch"
    (out / "scored").mkdir(parents=True)
    scored_frame().to_parquet(out / "scored" / "part-00000.parquet")
    (out / "manifest.json").write_text("{}")
    policy = tmp_path / "policy.yaml"
    policy.write_text(json.dumps(POLICY))  # JSON is YAML
    result = CliRunner().invoke(app, ["report", "diversion", str(out), "--policy", str(policy), "--out",
                                      str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output
    assert "a crisis team could take 4" in result.output
    assert (tmp_path / "rep" / "report.html").is_file()
    missing = CliRunner().invoke(app, ["report", "diversion", str(tmp_path / "nothing"), "--out", str(tmp_path)])
    assert missing.exit_code == 1 and "not found" in missing.output


# ------------------------------------------------------------------------------------------------ screenshot


@pytest.fixture(scope="module")
def corpus_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A word TF-IDF fitted on the bundled corpus' train split (seconds), saved as a bundle."""
    from divert.model.bundle import DivertModel, Manifest
    from divert.model.calibration import Calibration
    from divert.serving.batch.sample import CORPUS, corpus_notes
    from divert.training.config import TfidfConfig
    from divert.training.train_tfidf import fit_tfidf

    notes = corpus_notes([CORPUS / "train.jsonl"])
    texts = [str(n["text"]) for n in notes]
    labels = np.array([[n["labels"][name] for name in LABELS] for n in notes], dtype=float)  # type: ignore[index]
    scorer = fit_tfidf(texts, labels, TfidfConfig(char_ngrams=None, min_df=2), label_names=LABELS, seed=0)
    manifest = Manifest(kind="tfidf", calibration=Calibration.identity(LABELS),
                        thresholds={name: 0.5 for name in LABELS}, name="divert-corpus-tfidf")
    return DivertModel(scorer, manifest).save(tmp_path_factory.mktemp("corpus-tfidf") / "bundle")


@pytest.mark.slow
@pytest.mark.browser
def test_report_page_renders_in_headless_chromium(corpus_bundle: Path, tmp_path: Path) -> None:
    """The bundled corpus as a year of calls -> batch score -> report -> screenshot (test-artifacts/report/)."""
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("no /usr/bin/chromium: run scripts/install_browser.sh for the report screenshot")
    playwright = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed "
                                     "(scripts/install_browser.sh)")
    from divert.model.policy import load_policy
    from divert.model.pyfunc import load_model
    from divert.serving.batch.local import score_local
    from divert.serving.batch.sample import sample_calls

    calls = sample_calls(30_000, seed=1, broken=12)
    calls.to_parquet(tmp_path / "calls.parquet")
    policy = parse_policy(POLICY | {"policy_version": "demo-1", "name": "demo-county", "programs": [
        {"name": "crisis_team", "kind": "crisis_team", "hours": {"daily": ["08:00-22:00"], "fri": ["08:00-24:00"],
                                                                 "sat": ["00:00-02:00", "10:00-24:00"]},
         "areas": ["north", "central", "south", "east"]},
        {"name": "co_responder", "kind": "co_responder"}, {"name": "police", "kind": "police"},
        {"name": "ems", "kind": "ems"}],
        "planning": {**POLICY["planning"], "crisis_minutes_per_call": 75,  # type: ignore[dict-item]
                     "target_wait_minutes": 15, "teams": {"crisis_team": 1},
                     "behavioral_health_codes": list(load_policy().planning.behavioral_health_codes)}})
    summary = score_local(tmp_path / "calls.parquet", tmp_path / "scored", loaded=load_model(str(corpus_bundle)),
                          model_ref="corpus-tfidf", policy=policy, workers=1, show_progress=False)
    assert summary.read == 30_000 == summary.scored + summary.rejected and summary.rejected == 12
    from divert.serving.report.diversion import diversion_report

    report = diversion_report(tmp_path / "scored", policy)
    page_path = write_report(report, tmp_path / "report")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(page_path, ARTIFACTS / "report.html")
    shot = ARTIFACTS / "report.png"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(page_path.resolve().as_uri())
            assert page.locator("h1").inner_text() == "Diversion opportunity report"
            images = page.locator("img")
            assert images.count() == 4
            for i in range(4):  # every embedded plot decoded and laid out
                assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
            page.screenshot(path=str(shot), full_page=True)
            page.set_viewport_size({"width": 1100, "height": 1250})
            page.screenshot(path=str(ARTIFACTS / "report-top.png"))
        finally:
            browser.close()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_planning_settings_are_checked_with_the_policy() -> None:
    from divert.model.policy import PolicyError

    with pytest.raises(PolicyError, match=r"planning\.teams\.night_team: unknown program"):
        parse_policy(POLICY | {"planning": {"teams": {"night_team": 2}}})
    with pytest.raises(PolicyError, match=r"planning\.target_probability"):
        parse_policy(POLICY | {"planning": {"target_probability": 1.5}})
    assert parse_policy({k: v for k, v in POLICY.items() if k != "planning"}).planning.crisis_minutes_per_call == 60
