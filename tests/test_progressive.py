"""Progressive calls: the same call posted again as it grows. When each flag first crossed its threshold (version,
segment, seconds into the call), whether a flag raised earlier was withdrawn, and a refused answer (audit store
down, recording required) that leaves the call's history as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serving_fixtures import headers, make_settings

from divert.model.progressive import CallTimeline, Point, outcomes, replay
from divert.serving.app import create_app
from divert.serving.audit.store import AuditUnavailable
from divert.serving.call_versions import CallVersions

CAD = headers("cad")

# ------------------------------------------------------------------------------------------------ pure logic


def _points(*flags: set[str], seconds: list[float] | None = None) -> list[Point]:
    labels = ("violence_risk", "suicide_risk")
    return [Point(decisions={n: n in on for n in labels}, position=i, elapsed_s=(seconds or [])[i] if seconds else None)
            for i, on in enumerate(flags)]


def test_first_crossing_is_remembered_and_a_withdrawal_reported() -> None:
    timeline = replay(_points(set(), {"violence_risk"}, {"violence_risk", "suicide_risk"}, {"suicide_risk"},
                              seconds=[2.0, 5.5, 9.0, 12.0]))
    progress = timeline.progress()
    assert (progress.version, progress.segment, progress.elapsed_s) == (4, 3, 12.0)
    by_label = {f.label: f for f in progress.flags}
    violence, suicide = by_label["violence_risk"], by_label["suicide_risk"]
    assert (violence.first_raised_version, violence.first_raised_segment, violence.first_raised_s) == (2, 1, 5.5)
    assert (violence.raised, violence.withdrawn, violence.times_withdrawn) == (False, True, 1)
    assert (violence.withdrawn_version, violence.withdrawn_segment, violence.withdrawn_s) == (4, 3, 12.0)
    assert (suicide.first_raised_segment, suicide.raised, suicide.withdrawn) == (2, True, False)
    assert suicide.withdrawn_version is None


def test_a_flag_raised_again_keeps_its_first_crossing() -> None:
    timeline = replay(_points({"violence_risk"}, set(), {"violence_risk"}, seconds=[1.0, 2.0, 3.0]))
    [violence] = timeline.progress().flags
    assert (violence.first_raised_s, violence.raised, violence.withdrawn, violence.times_withdrawn) == (1.0, True,
                                                                                                       False, 1)
    assert outcomes(timeline)["violence_risk"].withdrawn_later is True


def test_labels_never_raised_are_not_listed_and_outcomes_cover_them() -> None:
    timeline = replay(_points(set(), set()))
    assert timeline.progress().flags == []
    assert outcomes(timeline)["suicide_risk"].ever_raised is False
    assert CallTimeline().progress().version == 0


def test_call_versions_track_the_timeline_per_call() -> None:
    calls = CallVersions(max_size=10, ttl_s=3600)
    calls.track("a", {"violence_risk": False}, None, position=0, elapsed_s=2.0)
    update, progress = calls.track("a", {"violence_risk": True}, "police", position=3, elapsed_s=9.5)
    assert (update.version, update.flags_changed) == (2, True)
    assert [(f.label, f.first_raised_segment, f.first_raised_s) for f in progress.flags] == [("violence_risk", 3, 9.5)]
    _, other = calls.track("b", {"violence_risk": True}, "police")
    assert (other.version, other.flags[0].first_raised_version) == (1, 1)
    assert calls.update("a", {"violence_risk": False}, None).version == 3  # the old entry point still works


# ------------------------------------------------------------------------------------------------ over HTTP

SEGMENTS: list[dict[str, Any]] = [
    {"speaker": "call_taker", "text": "911 what is the address of your emergency", "start": 0.0, "end": 2.5},
    {"speaker": "caller", "text": "22 main street it is my brother", "start": 3.0, "end": 5.5},
    {"speaker": "call_taker", "text": "okay what is going on", "start": 6.0, "end": 7.0},
    {"speaker": "caller", "text": "SUBJ STATING HE WANTS TO KILL HIMSELF HAS A KNIFE", "start": 7.5, "end": 10.0},
    {"speaker": "call_taker", "text": "is anyone hurt", "start": 10.5, "end": 11.5},
    {"speaker": "caller", "text": "no not yet", "start": 12.0, "end": 13.0},
]
# The stream revises the caller from 7.5 s on: what was heard as a threat was a noise complaint.
REVISION = {"speaker": "caller", "text": "LOUD MUSIC NEXT DOOR NOISE COMPLAINT", "start": 7.5, "end": 10.0}
WATCHED = ("suicide_risk", "violence_risk")


@pytest.fixture
def client(tiny_tfidf_bundle: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tiny_tfidf_bundle))) as c:
        yield c


def post(client: TestClient, segments: list[dict[str, Any]], call_id: str = "live-1") -> dict[str, Any]:
    response = client.post("/v1/classify", json={"call_id": call_id, "transcript": {"segments": segments}},
                           headers=CAD)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def watched(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["label"]: f for f in body["progress"]["flags"] if f["label"] in WATCHED}


def test_a_growing_transcript_reports_when_each_flag_first_crossed(client: TestClient) -> None:
    v1 = post(client, SEGMENTS[:2])
    assert watched(v1) == {}
    assert (v1["progress"]["version"], v1["progress"]["segment"], v1["progress"]["elapsed_s"]) == (1, 1, 5.5)

    v2 = post(client, SEGMENTS[:4])
    assert set(WATCHED) <= set(v2["flags"]), "the tiny model flags the caller's threat"
    for label, flag in watched(v2).items():
        assert (flag["first_raised_version"], flag["first_raised_segment"], flag["first_raised_s"]) == (2, 3, 10.0), label
        assert (flag["raised"], flag["withdrawn"]) == (True, False)
    assert v2["call_update"]["flags_changed"] is True

    v3 = post(client, SEGMENTS)
    assert v3["input"]["segments_used"] == 6
    for flag in watched(v3).values():  # still the first crossing, not this version
        assert (flag["first_raised_version"], flag["first_raised_segment"], flag["first_raised_s"]) == (2, 3, 10.0)

    # The revision replaces the caller's segments from 7.5 s on: the flags raised earlier are withdrawn.
    v4 = post(client, [*SEGMENTS, REVISION])
    assert v4["input"]["segments_used"] == 5
    assert not set(WATCHED) & set(v4["flags"])
    for flag in watched(v4).values():
        assert (flag["raised"], flag["withdrawn"], flag["times_withdrawn"]) == (False, True, 1)
        assert (flag["first_raised_segment"], flag["first_raised_s"]) == (3, 10.0)
        assert (flag["withdrawn_version"], flag["withdrawn_segment"], flag["withdrawn_s"]) == (4, 4, 11.5)


def test_progress_is_null_without_a_call_id(client: TestClient) -> None:
    response = client.post("/v1/classify", json={"transcript": {"segments": SEGMENTS}}, headers=CAD)
    assert response.json()["progress"] is None and response.json()["call_update"] is None


def test_a_text_call_reports_versions_without_segments(client: TestClient) -> None:
    for text in ("LOUD MUSIC NEXT DOOR NOISE COMPLAINT", "SUBJ STATING HE WANTS TO KILL HIMSELF HAS A KNIFE"):
        body = client.post("/v1/classify", json={"text": text, "call_id": "cad-5"}, headers=CAD).json()
    flag = watched(body)["suicide_risk"]
    assert (flag["first_raised_version"], flag["first_raised_segment"], flag["first_raised_s"]) == (2, None, None)


def test_a_refused_answer_does_not_advance_the_call(tiny_tfidf_bundle: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tiny_tfidf_bundle, audit_url=f"sqlite:///{tmp_path / 'audit.db'}", audit_required=True)
    with TestClient(create_app(settings)) as c:
        store = c.app.state.audit.store  # type: ignore[attr-defined]
        assert post(c, SEGMENTS[:2], call_id="down-1")["call_update"]["version"] == 1

        def down(rows: Any) -> None:
            raise AuditUnavailable("the audit store is down")

        with monkeypatch.context() as patch:
            patch.setattr(store, "record", down)
            refused = c.post("/v1/classify", json={"call_id": "down-1", "transcript": {"segments": SEGMENTS[:4]}},
                             headers=CAD)
            assert (refused.status_code, refused.json()["error"]["code"]) == (503, "audit_unavailable")
            batch = c.post("/v1/classify", json={"notes": [{"call_id": "down-1", "text": "DV IN PROGRESS"}]},
                           headers=CAD)
            assert batch.status_code == 503

        again = post(c, SEGMENTS[:4], call_id="down-1")
    assert again["call_update"]["version"] == 2, "the refused answers left no version behind"
    assert again["call_update"]["previous_version_seen"] is True
    for flag in watched(again).values():
        assert flag["first_raised_version"] == 2


# ------------------------------------------------------------------------------------------------ the benchmark


def _bench() -> Any:
    import importlib.util
    import sys

    if "time_to_flag" in sys.modules:
        return sys.modules["time_to_flag"]
    path = Path(__file__).resolve().parents[1] / "bench" / "time_to_flag.py"
    spec = importlib.util.spec_from_file_location("time_to_flag", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["time_to_flag"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_time_to_flag_replays_transcripts_and_writes_its_table(tiny_tfidf_bundle: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from divert.model.labels import LABELS

    positive = {n: int(n in WATCHED) for n in LABELS}
    records = [
        {"id": "c1", "text": "x", "labels": positive, "transcript": {"segments": SEGMENTS}},
        {"id": "c2", "text": "x", "labels": dict.fromkeys(LABELS, 0),
         "transcript": {"segments": [*SEGMENTS[:3], REVISION]}},
        {"id": "cad", "text": "DV IN PROGRESS", "labels": dict.fromkeys(LABELS, 0)},  # not a transcript: skipped
    ]
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    bench = _bench()
    assert bench.main(["--model", str(tiny_tfidf_bundle), "--corpus", str(tmp_path), "--out-dir",
                       str(tmp_path / "out"), "--markdown"]) == 0
    [written] = (tmp_path / "out").glob("time_to_flag_tfidf-*.json")
    result = json.loads(written.read_text())
    assert (result["calls"], result["segments"], result["prefixes_scored"]) == (2, 10, 10)
    for label in WATCHED:  # raised when the caller's threat is heard: segment 3, which ends 10 s into the call
        row = result["labels"][label]
        assert (row["positives"], row["ever_flagged"], row["median_s"], row["withdrawn"]) == (1, 1.0, 10.0, 0.0)
        assert row["false_raise"] == 0.0
    assert "| suicide_risk | 1 | 10.0 |" in capsys.readouterr().out


def test_time_to_flag_cuts_written_transcripts_into_timed_segments() -> None:
    bench = _bench()
    labelled = bench.segments_from_text("CALL TAKER: 911 what is the address\nCALLER: 22 main street he has a gun")
    assert [(s.speaker, s.text) for s in labelled] == [("call_taker", "911 what is the address"),
                                                       ("caller", "22 main street he has a gun")]
    assert labelled[0].start == 0.0 and labelled[1].start is not None and labelled[1].start > labelled[0].end
    unlabelled = bench.segments_from_text("911 what's your emergency. " * 3 + "my son took pills and he won't wake up.")
    assert len(unlabelled) >= 2 and all(s.speaker == "unknown" for s in unlabelled)
