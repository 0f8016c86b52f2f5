"""Batch scoring with the local engine: formats, parity with the API's code path, rejects, resume, CLI errors."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from divert.cli.app import app
from divert.model.inputs import NoteInput
from divert.model.labels import LABELS
from divert.model.policy import Policy, load_policy
from divert.model.pyfunc import LoadedModel, load_model
from divert.serving.batch.core import BatchScorer
from divert.serving.batch.errors import BatchError
from divert.serving.batch.local import RunSummary, score_local
from divert.serving.batch.sample import sample_calls
from divert.serving.service import ClassificationService

CLOCK = datetime.fromisoformat("2025-06-01T12:00:00+00:00")
RAW_SNIPPET = "TALKING TO PEOPLE WHO ARENT THERE"


def calls_frame() -> pd.DataFrame:
    """Notes with every kind of row: good ones, an empty note, a bad time, no id, no time, a long note."""
    rows = [
        ("c-1", "RP ADV BROTHER OFF HIS MEDS TALKING TO PEOPLE WHO ARENT THERE NO WPNS", "2025-03-03T02:10:00", "north",
         "WELFARE"),
        ("c-2", "SUBJ STATING HE WANTS TO KILL HIMSELF HAS A KNIFE", "2025-03-04T14:00:00", "south", "SUICTHRT"),
        ("c-3", "DV IN PROGRESS HUSBAND HITTING WIFE", "2025-03-05T22:30:00", "east", "DVA"),
        ("c-4", "MALE NOT BREATHING CPR IN PROGRESS", "2025-03-06T08:00:00", "west", "CARDIAC"),
        ("c-5", "LOUD MUSIC NEXT DOOR NOISE COMPLAINT", "2025-03-07T23:59:00", "central", "NOISE"),
        ("c-6", "   ", "2025-03-08T10:00:00", "north", "SUSP"),  # empty note -> reject
        ("c-7", "caller says her son is threatening suicide, took pills, hard to wake", "noonish", "north",
         "SICK"),  # bad time -> reject
        ("", "HIGH ON METH PARANOID SAYS PEOPLE ARE CHASING HIM", "2025-03-09T01:00:00", "south", "DRUGS"),  # no id
        ("c-9", "woman screaming at cars in the intersection, seems confused, no weapons", "", "", ""),  # no time
        ("c-10", "X" * 30_000, "2025-03-10T10:00:00", "north", "INFO"),  # too long -> reject
    ]
    return pd.DataFrame(rows, columns=["id", "text", "time", "area", "nature_code"])


def write_input(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)
    return path


@pytest.fixture(scope="module")
def loaded(tiny_tfidf_bundle: Path) -> LoadedModel:
    return load_model(str(tiny_tfidf_bundle))


def run(loaded: LoadedModel, src: Path, out: Path, **kw: object) -> RunSummary:
    options: dict[str, object] = {"chunk_rows": 4, "workers": 1, "show_progress": False, "clock": CLOCK}
    options.update(kw)
    return score_local(src, out, loaded=loaded, model_ref="tiny", policy=load_policy(), **options)  # type: ignore[arg-type]


def text_or_none(value: object) -> object:
    return None if pd.isna(value) else value  # type: ignore[call-overload]


def scored(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "scored").sort_values("id").reset_index(drop=True)


def rejects(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "rejects").sort_values("row").reset_index(drop=True)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_every_format_scores_the_same_and_counts_add_up(loaded: LoadedModel, tmp_path: Path, suffix: str) -> None:
    src = write_input(calls_frame(), tmp_path / f"calls{suffix}")
    summary = run(loaded, src, tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["complete"] and manifest["totals"] == {"read": 10, "scored": 6, "rejected": 4}
    got = scored(tmp_path / "out")
    assert got["id"].tolist() == sorted(["c-1", "c-2", "c-3", "c-4", "c-5", "c-9"])
    rej = rejects(tmp_path / "out")
    assert dict(zip(rej["row"], rej["code"], strict=True)) == {
        6: "empty_text", 7: "invalid_context_time", 8: "missing_id", 10: "text_too_long"}
    assert rej.loc[rej["row"] == 7, "id"].item() == "c-7"
    assert "noonish" in rej.loc[rej["row"] == 7, "reason"].item()
    assert summary.read == 10
    # passthrough for the report, never the raw note
    assert got.loc[got["id"] == "c-1", ["time", "area", "nature_code"]].values.tolist() == [
        ["2025-03-03T02:10:00", "north", "WELFARE"]]
    assert "text" not in got.columns and "redacted_text" not in got.columns
    for path in (tmp_path / "out").rglob("*.parquet"):
        assert RAW_SNIPPET.encode() not in path.read_bytes()
    # a call without a time is evaluated at the run's fixed clock, and says so
    assert got.loc[got["id"] == "c-9", "time_source"].item() == "current_time"
    assert got.loc[got["id"] == "c-9", "evaluated_at"].item() == CLOCK.isoformat(timespec="seconds")


def test_a_folder_of_part_files_is_one_input(loaded: LoadedModel, tmp_path: Path) -> None:
    frame = calls_frame()
    write_input(frame.iloc[:5], tmp_path / "in" / "part-0.parquet")
    write_input(frame.iloc[5:], tmp_path / "in" / "part-1.parquet")
    (tmp_path / "in" / "_SUCCESS").write_text("")
    run(loaded, tmp_path / "in", tmp_path / "out")
    write_input(frame, tmp_path / "one.parquet")
    run(loaded, tmp_path / "one.parquet", tmp_path / "out1")
    pd.testing.assert_frame_equal(scored(tmp_path / "out"), scored(tmp_path / "out1"))


def test_scores_match_the_in_process_service(loaded: LoadedModel, tmp_path: Path) -> None:
    """Parity: the batch engine gives the API's scores, decisions and recommendation for the same notes."""
    frame = calls_frame()
    run(loaded, write_input(frame, tmp_path / "calls.csv"), tmp_path / "out")
    got = scored(tmp_path / "out").set_index("id")
    service = ClassificationService(load_policy(), model=loaded)
    for row in frame.itertuples():
        if row.id not in got.index:
            continue
        context = {k: v for k, v in {"time": row.time, "area": row.area}.items() if v}
        answer = service.classify([NoteInput(text=row.text, context=context)], batch=False, now=CLOCK).results[0]
        mine = got.loc[row.id]
        for name in LABELS:
            assert mine[f"score_{name}"] == pytest.approx(answer.labels[name].score, abs=1e-12)
            assert bool(mine[f"decision_{name}"]) == answer.labels[name].decision
        assert text_or_none(mine["recommendation"]) == answer.recommendation.primary
        assert mine["additional"] == ";".join(answer.recommendation.additional)
        assert text_or_none(mine["rule"]) == answer.recommendation.rule
        assert mine["flags"] == ";".join(answer.flags)


def test_an_interrupted_run_resumes_without_rescoring_finished_parts(loaded: LoadedModel, tmp_path: Path) -> None:
    src = write_input(sample_calls(60, seed=3, broken=4), tmp_path / "calls.parquet")
    first = run(loaded, src, tmp_path / "out", chunk_rows=10, stop_after_parts=2)
    assert first.interrupted and first.parts_scored == 2
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert not manifest["complete"] and sorted(manifest["parts"]) == ["00000", "00001"]
    written = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out" / "scored").glob("part-*.parquet")}

    rescored: list[int] = []
    second = run(loaded, src, tmp_path / "out", chunk_rows=10, on_part=lambda i, _: rescored.append(i))
    assert not second.interrupted
    assert second.parts_skipped == 2 and sorted(rescored) == [2, 3, 4, 5]
    for name, mtime in written.items():  # finished parts were not written again
        assert (tmp_path / "out" / "scored" / name).stat().st_mtime_ns == mtime
    assert second.read == 60 == second.scored + second.rejected

    run(loaded, src, tmp_path / "straight", chunk_rows=10)
    pd.testing.assert_frame_equal(scored(tmp_path / "out"), scored(tmp_path / "straight"))
    pd.testing.assert_frame_equal(rejects(tmp_path / "out"), rejects(tmp_path / "straight"))


def test_an_output_of_other_settings_is_refused(loaded: LoadedModel, tmp_path: Path) -> None:
    src = write_input(calls_frame(), tmp_path / "calls.csv")
    run(loaded, src, tmp_path / "out")
    with pytest.raises(BatchError, match="chunk_rows differ"):
        run(loaded, src, tmp_path / "out", chunk_rows=5)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("keep me")
    with pytest.raises(BatchError, match="not empty"):
        run(loaded, src, tmp_path / "other")
    run(loaded, src, tmp_path / "out", chunk_rows=5, overwrite=True)
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["settings"]["chunk_rows"] == 5


def test_malformed_records_are_rejects_not_failures(loaded: LoadedModel, tmp_path: Path) -> None:
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text('id,text,time\nb-1,"RP ADV SUBJ TALKING TO HIMSELF",2025-01-01T10:00:00\n'
                        'b-2,too,many,fields,here\nb-3,DOG LOOSE IN PARK NO BITES,2025-01-01T11:00:00\n')
    summary = run(loaded, csv_path, tmp_path / "out_csv")
    assert (summary.scored, summary.rejected) == (2, 1)
    assert rejects(tmp_path / "out_csv")["code"].tolist() == ["malformed_row"]
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"id": "j-1", "text": "DOG LOOSE IN PARK NO BITES"}\n{"id": "j-2", "text": \n[1, 2]\n'
                     '{"id": 17, "text": "THEFT OF BIKE FROM GARAGE LAST NIGHT"}\n')
    summary = run(loaded, jsonl, tmp_path / "out_jsonl")
    assert (summary.read, summary.scored, summary.rejected) == (4, 2, 2)
    assert sorted(scored(tmp_path / "out_jsonl")["id"]) == ["17", "j-1"]
    assert set(rejects(tmp_path / "out_jsonl")["reason"].str.extract(r": (.*)$")[0]) == {
        "not valid JSON (Expecting value)", "not a JSON object"}


@pytest.mark.slow
def test_a_process_pool_scores_the_same_as_one_process(loaded: LoadedModel, tmp_path: Path) -> None:
    src = write_input(sample_calls(400, seed=5, broken=6), tmp_path / "calls.jsonl")
    run(loaded, src, tmp_path / "one", chunk_rows=50, workers=1)
    run(loaded, src, tmp_path / "pool", chunk_rows=50, workers=2)
    pd.testing.assert_frame_equal(scored(tmp_path / "one"), scored(tmp_path / "pool"))
    pd.testing.assert_frame_equal(rejects(tmp_path / "one"), rejects(tmp_path / "pool"))


@pytest.mark.slow
def test_redacted_text_only_on_request(loaded: LoadedModel, tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["r-1"], "text": ["RP JOHN SMITH ADV BROTHER OFF MEDS CB 555-867-5309"],
                          "time": ["2025-01-01T10:00:00"]})
    run(loaded, write_input(frame, tmp_path / "calls.csv"), tmp_path / "out", redact=True)
    text = scored(tmp_path / "out")["redacted_text"].item()
    assert "[PHONE]" in text and "555-867-5309" not in text and "[NAME]" in text and "SMITH" not in text


# ----------------------------------------------------------------------------------------------- the CLI

runner = CliRunner()


def test_cli_scores_and_reports_the_counts(tiny_tfidf_bundle: Path, tmp_path: Path) -> None:
    src = write_input(calls_frame(), tmp_path / "calls.jsonl")
    result = runner.invoke(app, ["batch", "score", str(src), str(tmp_path / "out"), "--model", str(tiny_tfidf_bundle),
                                 "--no-progress", "--chunk-rows", "3"])
    assert result.exit_code == 0, result.output
    assert "10 calls read = 6 scored + 4 rejected" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["missing.csv"], "input missing.csv does not exist"),
    (["{src}", "--model", "no-such-alias", "--tracking-uri", "sqlite:///{tmp}/empty.db"], "cannot load model"),
    (["{src}", "--text-column", "narrative"], "has no column 'narrative'"),
    (["{src}", "--policy", "{tmp}/nope.yaml"], "policy file not found"),
    (["{src}", "--mapping", "{tmp}/nope.yaml"], "mapping file not found"),
])
def test_cli_start_up_errors_are_one_sentence(tiny_tfidf_bundle: Path, tmp_path: Path, args: list[str],
                                              message: str) -> None:
    src = write_input(calls_frame(), tmp_path / "calls.csv")
    argv = [a.format(src=src, tmp=tmp_path) for a in args]
    if "--model" not in argv:
        argv += ["--model", str(tiny_tfidf_bundle)]
    result = runner.invoke(app, ["batch", "score", argv[0], str(tmp_path / "out"), *argv[1:], "--no-progress"])
    assert result.exit_code == 1
    assert message in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in result.output


def test_mapping_reads_an_agency_export(loaded: LoadedModel, tmp_path: Path) -> None:
    exports = pytest.importorskip("divert.model.exports", reason="divert.model.exports is not there yet")
    from divert.serving.batch.io import ExportMapper

    export = pd.DataFrame({
        "IncidentNumber": ["24-1", "24-2", "24-3"],
        "CallReceived": ["03/01/2025 14:05:00", "03/02/2025 02:00:00", "not a time"],
        "Beat": ["north", "south", "east"],
        "NatureCode": ["welfare", "DVA", "NOISE"],
        "CallTakerNotes": ["RP ADV BROTHER OFF HIS MEDS", "DV IN PROGRESS HUSBAND HITTING WIFE", "LOUD MUSIC"],
    })
    src = write_input(export, tmp_path / "export.csv")
    mapping = exports.ExportMapping(id="IncidentNumber", time="CallReceived", area="Beat", nature_code="NatureCode",
                                    notes=["CallTakerNotes"])
    summary = run(loaded, src, tmp_path / "out", mapper=ExportMapper(mapping), mapping=mapping.model_dump(mode="json"))
    got = scored(tmp_path / "out")
    assert got["id"].tolist() == ["24-1", "24-2"]
    assert got["time"].tolist() == ["2025-03-01T14:05:00", "2025-03-02T02:00:00"]
    assert got["nature_code"].tolist() == ["WELFARE", "DVA"]
    rej = rejects(tmp_path / "out")
    assert rej["id"].tolist() == ["24-3"] and rej["code"].tolist() == ["bad_time"]
    assert summary.read == 3


def test_small_inputs_are_scored_in_one_process_large_ones_on_every_core() -> None:
    import os

    from divert.serving.batch.local import auto_workers

    assert auto_workers(30_000, 20_000) == 1
    assert auto_workers(1_000_000, 20_000) == (os.cpu_count() or 1)
    assert auto_workers(None, 20_000) == (os.cpu_count() or 1)  # size unknown


class _RandomScores:
    """A stand-in model: seeded random scores, so every combination of decisions and score ranges occurs. It has
    what the batch scorer calls: `scorer.raw_scores`, `calibrate` (identity here) and `threshold_vector`."""

    labels = LABELS
    threshold_vector = np.full(len(LABELS), 0.5)

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.scorer = self

    def raw_scores(self, texts: list[str]) -> np.ndarray:
        return self.rng.random((len(texts), len(LABELS)))

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        return raw


def test_the_policy_is_evaluated_once_per_situation_with_the_same_answers() -> None:
    """The batch scorer evaluates the policy once per `Policy.situation`; every call still gets exactly what
    `Policy.recommend` answers for it (hours with an overnight range, areas in other case, a missing area or
    time, score-range conditions, add-ons and fallbacks)."""
    policy = Policy.model_validate({
        "policy_version": "situations-1", "timezone": "America/Chicago", "unknown_area": "not_covered",
        "programs": [
            {"name": "crisis_team", "kind": "crisis_team", "areas": ["north", "Central"],
             "hours": {"daily": ["08:00-20:00"], "fri": ["08:00-20:00", "22:00-03:00"]}},
            {"name": "co_responder", "kind": "co_responder", "hours": {"mon": ["00:00-12:00"]}, "areas": ["south"]},
            {"name": "police", "kind": "police"},
            {"name": "ems", "kind": "ems", "hours": {"daily": ["06:00-18:00"]}},
            {"name": "ems_night", "kind": "ems"},
        ],
        "rules": [
            {"name": "bh_violent", "when": {"behavioral_health": True, "violence_risk": {"min_score": 0.7}},
             "route": ["co_responder", "police"]},
            {"name": "bh", "when": {"behavioral_health": True}, "route": ["crisis_team", "co_responder"]},
            {"name": "suicide", "when": {"suicide_risk": {"min_score": 0.3, "max_score": 0.9}},
             "route": ["crisis_team"]},
            {"name": "violence", "when": {"violence_risk": True}, "route": ["police"]},
        ],
        "add_ons": [{"name": "medical", "when": {"medical_emergency": True}, "add": ["ems", "ems_night"]},
                    {"name": "substance", "when": {"substance_use": {"min_score": 0.8}}, "add": ["co_responder"]}],
        "last_resort": "police",
    })
    rng = np.random.default_rng(3)
    n = 3000
    minutes = rng.integers(0, 7 * 24 * 60, n)
    times = [(datetime(2025, 3, 3) + timedelta(minutes=int(m))).isoformat() for m in minutes]
    times[::17] = [None] * len(times[::17])  # evaluated at the run's clock
    areas = rng.choice(np.array(["north", "NORTH", "central", "south", "east", None], dtype=object), n)
    calls = pd.DataFrame({"id": [f"s-{i}" for i in range(n)], "text": ["RP ADV"] * n, "time": times,
                          "area": areas, "nature_code": None, "row": np.arange(1, n + 1)})
    model = _RandomScores(seed=11)
    scorer = BatchScorer(model, policy, model_name="random", model_version="1", now=CLOCK)  # type: ignore[arg-type]
    got = scorer.score(calls).scored
    assert len(got) == n and len(scorer._recs) < n // 2  # situations repeat
    for i, row in enumerate(got.itertuples()):
        decisions = {name: bool(getattr(row, f"decision_{name}")) for name in LABELS}
        scores = {name: float(getattr(row, f"score_{name}")) for name in LABELS}
        context = {k: v for k, v in {"time": times[i], "area": areas[i]}.items() if v is not None}
        rec = policy.recommend(decisions, scores, context, thresholds=dict.fromkeys(LABELS, 0.5), now=CLOCK)
        mine = tuple(text_or_none(v) for v in (row.recommendation, row.recommendation_kind, row.rule))
        assert mine == (rec.primary, rec.primary_kind, rec.rule)
        assert row.additional == ";".join(rec.additional)
        assert row.fallbacks == ";".join(f"{f.program}:{f.reason}" for f in rec.fallbacks_applied)
        assert (row.evaluated_at, row.time_source) == (rec.evaluated_at, rec.time_source)
        assert row.flags == ";".join(name for name in LABELS if decisions[name])
