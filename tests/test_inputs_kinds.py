"""Every input kind end to end over HTTP (text, live transcript with revisions, NENA EIDO with several notes,
repeated snapshots and HTML), `?format=eido`, explain and audit for each kind, `divert classify --transcript /
--eido`, and a long call whose decisive sentence comes late (windowed scoring, tiny transformer)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from eido_fixtures import (
    NOTE_1,
    NOTE_2,
    NOTE_3,
    eido,
    example_with_notes,
    load_schema,
    note,
    required_members,
    several_notes_eido,
    validate_component,
)
from fastapi.testclient import TestClient
from serving_fixtures import CALL_TIME, headers, make_settings, wait_for_audit
from typer.testing import CliRunner

from divert.cli.app import app as cli_app
from divert.model.inputs import NoteInput, parse_note
from divert.model.labels import LABELS
from divert.serving.app import create_app

CAD, AUD = headers("cad"), headers("auditor")
THREAT = "SUBJ STATING HE WANTS TO KILL HIMSELF HAS A KNIFE"
STRIPPED = ("RP ADV BROTHER OFF HIS MEDS\nSUBJ STATING HE WANTS TO KILL HIMSELF & HAS A KNIFE\n"
            "NO OTHER WPNS\nRP <SISTER> ON SCENE")


@pytest.fixture
def client(tiny_tfidf_bundle: Path, tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(tiny_tfidf_bundle, audit_url=f"sqlite:///{tmp_path / 'audit.db'}",
                             max_eido_bytes=20_000)
    with TestClient(create_app(settings)) as c:
        yield c


def ok(client: TestClient, body: Any, path: str = "/v1/classify", **params: Any) -> dict[str, Any]:
    response = client.post(path, json=body, headers=CAD, params=params)
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


def refused(client: TestClient, body: Any, status: int = 422) -> dict[str, Any]:
    response = client.post("/v1/classify", json=body, headers=CAD)
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def scores(answer: dict[str, Any]) -> list[float]:
    return [answer["labels"][n]["score"] for n in LABELS]


# ------------------------------------------------------------------------------------------------ kinds


def test_text(client: TestClient) -> None:
    body = ok(client, {"text": THREAT, "call_id": "t-1", "context": {"time": CALL_TIME}})
    assert body["input"] == {"kind": "text", "chars": len(THREAT), "segments_used": None}
    assert "suicide_risk" in body["flags"]


def test_a_transcript_with_revisions_reads_as_its_rendered_text(client: TestClient) -> None:
    segments = [
        {"speaker": "call_taker", "text": "911 what is your emergency", "start": 0.0, "end": 1.8},
        {"speaker": "caller", "text": "my neighbor is playing loud music", "start": 2.0, "end": 4.0, "final": False},
        {"speaker": "call_taker", "text": "okay", "start": 4.2, "end": 4.5, "confidence": 0.9},
        {"speaker": "caller", "text": THREAT, "start": 2.0, "end": 4.1},  # the stream revises the caller at 2.0 s
    ]
    body = ok(client, {"transcript": {"segments": segments, "language": "en"}, "call_id": "tx-1"})
    rendered = f"CALL TAKER: 911 what is your emergency\nCALLER: {THREAT}\nCALL TAKER: okay"
    assert body["input"] == {"kind": "transcript", "chars": len(rendered), "segments_used": 3}
    assert scores(body) == scores(ok(client, {"text": rendered}))
    assert body["progress"]["segment"] == 2 and body["progress"]["elapsed_s"] == 4.5


def test_an_unlabelled_transcript_with_labels_in_the_text(client: TestClient) -> None:
    free = "call taker: is he armed? caller: yes he has a knife"
    body = ok(client, {"transcript": {"segments": [{"text": free, "start": 0.0}]}})
    assert scores(body) == scores(ok(client, {"text": "CALL TAKER: is he armed?\nCALLER: yes he has a knife"}))


def test_an_eido_with_several_notes_repeats_and_html(client: TestClient) -> None:
    body = ok(client, {"eido": several_notes_eido(), "context": {"time": CALL_TIME}})
    assert body["input"] == {"kind": "eido", "chars": len(STRIPPED), "segments_used": None, "notes_used": 3}
    assert body["call_id"] == "2025-000123"
    assert scores(body) == scores(ok(client, {"text": STRIPPED, "context": {"time": CALL_TIME}}))
    assert {"suicide_risk", "violence_risk"} <= set(body["flags"])
    assert body["progress"]["segment"] == 2 and body["progress"]["elapsed_s"] == 123.0


def test_repeated_eido_snapshots_are_versions_of_one_incident(client: TestClient) -> None:
    first = ok(client, {"eido": eido([NOTE_1])})
    again = ok(client, {"eido": eido([NOTE_1, copy.deepcopy(NOTE_1)])})  # the same snapshot, sent again
    grown = ok(client, {"eido": eido([NOTE_1, NOTE_2, NOTE_3])})
    assert [b["call_update"]["version"] for b in (first, again, grown)] == [1, 2, 3]
    assert again["call_update"]["flags_changed"] is False and scores(again) == scores(first)
    assert grown["call_update"]["flags_changed"] is True
    raised = {f["label"]: f for f in grown["progress"]["flags"]}
    assert raised["violence_risk"]["first_raised_version"] == 3
    assert raised["violence_risk"]["first_raised_segment"] == 2  # the third note
    assert raised["violence_risk"]["first_raised_s"] == 123.0


def test_an_eido_in_a_batch_beside_text(client: TestClient) -> None:
    body = ok(client, {"notes": [{"text": "LOUD MUSIC NEXT DOOR NOISE COMPLAINT"}, {"eido": example_with_notes()}]})
    assert [r["input"]["kind"] for r in body["results"]] == ["text", "eido"]
    assert body["results"][1]["call_id"] == "2025-000123"


@pytest.mark.parametrize(("body", "status", "code", "field", "pointer"), [
    ({"eido": {**example_with_notes(), "notesComponent": [{**example_with_notes()["notesComponent"][0],
                                                            "lastUpdateTimeStamp": "2025-01-15 10:31"}]}},
     422, "eido_invalid_value", "eido", "/notesComponent/0/lastUpdateTimeStamp"),
    ({"eido": {k: v for k, v in example_with_notes().items() if k != "agencyComponent"}},
     422, "eido_missing_field", "eido", "/agencyComponent"),
    ({"notes": [{"text": "RP ADV"}, {"eido": eido([{k: v for k, v in NOTE_1.items() if k != "$id"}])}]},
     422, "eido_missing_field", "notes[1].eido", "/notesComponent/0/$id"),
    ({"eido": eido([note(1, "2025-01-15T10:31:10-05:00", "<script>alert(1)</script>")])},
     422, "eido_no_notes", "eido", "/notesComponent"),
    ({"eido": ["not", "an", "object"]}, 422, "eido_invalid_type", "eido", ""),
    ({"eido": eido([note(1, "2025-01-15T10:31:10-05:00", "<p>" + "RP ADV " * 3000 + "</p>")])},
     413, "eido_too_large", "eido", ""),
    ({"text": "RP ADV", "eido": example_with_notes()}, 422, "conflicting_inputs", None, None),
    ({"text": "RP ADV", "transcript": {"segments": [{"text": "b"}]}}, 422, "both_text_and_transcript", None, None),
])
def test_a_broken_eido_gets_a_specific_error_with_its_pointer(client: TestClient, body: Any, status: int, code: str,
                                                              field: str | None, pointer: str | None) -> None:
    error = refused(client, body, status)
    assert (error["code"], error["field"], error["pointer"]) == (code, field, pointer)
    assert "<script" not in error["message"]


# ------------------------------------------------------------------------------------------------ format=eido


def test_format_eido_answers_with_schema_complete_components(client: TestClient) -> None:
    doc = load_schema()
    body = ok(client, {"eido": several_notes_eido()}, format="eido")
    assert set(body) == {"request_id", "model_version", "policy_version", "results"}
    [result] = body["results"]
    assert result["call_id"] == "2025-000123"
    [entry] = result["notesComponent"]
    assert required_members(doc, "NotesType") <= set(entry)
    validate_component(doc, "NotesType", entry)
    plain = ok(client, {"eido": several_notes_eido()})
    assert entry["divert"]["flags"] == plain["flags"]
    assert entry["divert"]["recommendation"]["primary"] == plain["recommendation"]["primary"]
    assert "violence_risk" in plain["flags"]
    [caution] = result["cautionComponent"]
    assert required_members(doc, "CautionType") <= set(caution)
    validate_component(doc, "CautionType", caution)
    assert entry["updatedByAgencyReference"] == {"$ref": "divert"}


def test_format_eido_for_a_batch_and_without_violence(client: TestClient) -> None:
    body = ok(client, {"notes": [{"text": "LOUD MUSIC NEXT DOOR NOISE COMPLAINT"}, {"text": THREAT}]},
              format="eido")
    calm, threat = body["results"]
    assert "cautionComponent" not in calm and len(threat["cautionComponent"]) == 1
    response = client.post("/v1/classify", json={"text": THREAT}, headers=CAD, params={"format": "xml"})
    assert response.status_code == 422
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == ("unsupported_format",
                                                                                     "query.format")


# ------------------------------------------------------------------------------------------------ explain, audit


def test_explain_reads_every_kind_like_classify(client: TestClient) -> None:
    for body, kind, text in (
            ({"eido": several_notes_eido()}, "eido", STRIPPED),
            ({"transcript": {"segments": [{"speaker": "caller", "text": THREAT}]}}, "transcript", f"CALLER: {THREAT}"),
            ({"text": THREAT}, "text", THREAT)):
        explained = ok(client, {**body, "labels": ["suicide_risk"]}, path="/v1/explain")
        assert (explained["input_kind"], explained["text"]) == (kind, text)
        classified = ok(client, body)
        assert explained["labels"][0]["score"] == pytest.approx(classified["labels"]["suicide_risk"]["score"])
    broken = client.post("/v1/explain", json={"eido": {**example_with_notes(), "eidoVersion": 1}}, headers=CAD)
    assert broken.status_code == 422
    assert (broken.json()["error"]["code"], broken.json()["error"]["pointer"]) == ("eido_invalid_type", "/eidoVersion")


PII_EIDO = eido([note(1, "2025-01-15T10:31:10-05:00",
                      "<p>RP JOHN SMITH CB 608-555-0142 ADV BROTHER OFF HIS MEDS</p><script>steal()</script>")])
PII_TRANSCRIPT = {"segments": [{"speaker": "caller", "text": "this is John Smith, call me at 608-555-0142, my brother "
                                                                "is off his meds", "start": 0.0, "end": 4.0}]}


def test_the_audit_stores_redacted_text_for_every_kind(client: TestClient) -> None:
    ok(client, {"eido": PII_EIDO})
    ok(client, {"transcript": PII_TRANSCRIPT, "call_id": "pii-tx"})
    ok(client, {"text": "RP JOHN SMITH CB 608-555-0142 ADV BROTHER OFF HIS MEDS"})
    ok(client, {"eido": PII_EIDO, "labels": ["behavioral_health"]}, path="/v1/explain")
    rows = wait_for_audit(client)
    kinds = sorted((row["endpoint"], row["input_kind"]) for row in rows)
    assert kinds == [("classify", "eido"), ("classify", "text"), ("classify", "transcript"), ("explain", "eido")]
    for row in rows:
        stored = row["text_redacted"]
        for secret in ("SMITH", "Smith", "608-555-0142", "steal", "<p>", "<script"):
            assert secret not in stored, (row["input_kind"], stored)
        assert "BROTHER" in stored.upper()


# ------------------------------------------------------------------------------------------------ CLI

runner = CliRunner()


def test_cli_classifies_a_transcript_and_an_eido_file(tiny_tfidf_bundle: Path, tmp_path: Path,
                                                      client: TestClient) -> None:
    transcript = {"segments": [{"speaker": "call_taker", "text": "what is going on", "start": 0.0, "end": 1.0},
                               {"speaker": "caller", "text": THREAT, "start": 1.5, "end": 4.0}]}
    (tmp_path / "t.json").write_text(json.dumps(transcript))
    (tmp_path / "e.json").write_text(json.dumps(several_notes_eido()))
    for option, name, body in (("--transcript", "t.json", {"transcript": transcript}),
                               ("--eido", "e.json", {"eido": several_notes_eido()})):
        result = runner.invoke(cli_app, ["classify", option, str(tmp_path / name), "--model", str(tiny_tfidf_bundle),
                                         "--time", CALL_TIME])
        assert result.exit_code == 0, result.output
        offline = json.loads(result.stdout)
        served = ok(client, {**body, "context": {"time": CALL_TIME}})
        assert offline["labels"] == served["labels"] and offline["input"] == served["input"]
        assert offline["recommendation"] == served["recommendation"]
    assert json.loads(runner.invoke(cli_app, ["classify", "--eido", str(tmp_path / "e.json"), "--model",
                                              str(tiny_tfidf_bundle)]).stdout)["call_id"] == "2025-000123"


def test_cli_names_the_problem_of_a_broken_eido_and_refuses_two_inputs(tiny_tfidf_bundle: Path,
                                                                       tmp_path: Path) -> None:
    broken = eido([{k: v for k, v in NOTE_1.items() if k != "lastUpdateTimeStamp"}])
    (tmp_path / "bad.json").write_text(json.dumps(broken))
    result = runner.invoke(cli_app, ["classify", "--eido", str(tmp_path / "bad.json"), "--model",
                                     str(tiny_tfidf_bundle)])
    assert result.exit_code == 1
    assert "/notesComponent/0/lastUpdateTimeStamp" in result.output and "eido_missing_field" in result.output
    (tmp_path / "notjson.json").write_text("{")
    result = runner.invoke(cli_app, ["classify", "--transcript", str(tmp_path / "notjson.json"), "--model",
                                     str(tiny_tfidf_bundle)])
    assert result.exit_code == 1 and "not valid JSON" in result.output
    result = runner.invoke(cli_app, ["classify", "RP ADV", "--eido", str(tmp_path / "bad.json"), "--model",
                                     str(tiny_tfidf_bundle)])
    assert result.exit_code == 1 and "not a note's text and --eido" in result.output


def test_cli_file_mode_reads_transcript_and_eido_records(tiny_tfidf_bundle: Path, tmp_path: Path) -> None:
    records = [{"text": THREAT, "call_id": "a"},
               {"transcript": {"segments": [{"speaker": "caller", "text": THREAT}]}, "call_id": "b"},
               {"eido": several_notes_eido()}]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = runner.invoke(cli_app, ["classify", "--file", str(path), "--model", str(tiny_tfidf_bundle),
                                     "--out", str(tmp_path / "out.jsonl"), "--no-progress"])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [o["input"]["kind"] for o in out] == ["text", "transcript", "eido"]
    assert out[2]["call_id"] == "2025-000123"


# ------------------------------------------------------------------------------------------------ long calls

FILLER = ["caller", "reports", "neighbor", "loud", "music", "parking", "lot", "vehicle", "blocking", "driveway",
          "male", "female", "near", "store", "advised", "units", "area", "check", "door", "yard", "street"]


def _synthetic(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Short filler notes; every other one holds "knife", which alone sets violence_risk."""
    rng = np.random.default_rng(seed)
    texts, labels = [], np.zeros((n, len(LABELS)))
    for i in range(n):
        words = [str(w) for w in rng.choice(FILLER, size=int(rng.integers(6, 12)))]
        if i % 2 == 0:
            words.insert(int(rng.integers(len(words) + 1)), "knife")
            labels[i, LABELS.index("violence_risk")] = 1.0
        texts.append(" ".join(words))
    return texts, labels


@pytest.mark.slow
def test_a_long_call_with_a_late_decisive_sentence_is_scored() -> None:
    """The transformer reads a long call in overlapping windows and keeps the maximum score per label
    (`divert.model.transformer`): a sentence near the end of a call longer than many windows still counts."""
    from divert.model.bundle import DivertModel, Manifest
    from divert.model.calibration import Calibration
    from divert.training.config import TransformerConfig
    from divert.training.train_transformer import fit_transformer

    cfg = TransformerConfig.model_validate({
        "max_length": 32, "window_stride": 16, "max_windows": 8, "batch_size": 8, "epochs": 2,
        "learning_rate": 3e-4, "warmup_ratio": 0.1, "eval_batch_size": 32, "monitor": "val_loss"})
    (train_x, train_y), (val_x, val_y) = _synthetic(60, 1), _synthetic(20, 2)
    scorer, _ = fit_transformer(train_x, train_y, val_x, val_y, cfg, labels=LABELS, seed=7)
    model = DivertModel(scorer, Manifest(kind="transformer", calibration=Calibration.identity(LABELS),
                                         thresholds=dict.fromkeys(LABELS, 0.5)))
    segments = [{"speaker": "call_taker" if i % 2 else "caller", "start": 4.0 * i, "end": 4.0 * i + 3.5,
                 "text": " ".join(FILLER[(i * 5) % 17:(i * 5) % 17 + 5])} for i in range(14)]
    late = [*segments, {"speaker": "caller", "text": "male near store knife", "start": 60.0, "end": 62.0},
            {"speaker": "call_taker", "text": "units advised", "start": 62.5, "end": 63.0}]
    with_knife = parse_note(NoteInput.model_validate({"transcript": {"segments": late}})).text
    without = parse_note(NoteInput.model_validate({"transcript": {"segments": segments}})).text
    assert with_knife.index("knife") > len(with_knife) * 0.8
    windows = scorer.text_windows(with_knife)
    assert len(windows) > 2 and "knife" not in with_knife[:windows[0].offsets[-2][1]]
    violence = LABELS.index("violence_risk")
    windowed = model.predict([with_knife]).scores[0, violence]
    assert windowed >= 0.5, "the late sentence is read and flags the call"
    assert windowed > model.predict([without]).scores[0, violence] + 0.2
    assert windowed > scorer.raw_scores([with_knife], max_windows=1)[0, violence] + 0.2  # head truncation misses it
