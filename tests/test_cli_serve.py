"""`divert classify` gives the service's (and the API's) answers offline; `divert policy check`; `divert serve`."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serving_fixtures import CALL_TIME, NOTES, headers, make_settings, notes_with_time
from typer.testing import CliRunner

from divert.cli.app import app
from divert.model.inputs import NoteInput
from divert.model.labels import LABELS
from divert.model.policy import DEFAULT_POLICY_PATH, load_policy
from divert.model.pyfunc import load_model
from divert.serving.app import create_app
from divert.serving.call_versions import CallVersions
from divert.serving.service import Classification, ClassificationService

runner = CliRunner()


def service_answers(bundle: Path, notes: list[dict[str, Any]]) -> Classification:
    service = ClassificationService(load_policy(), call_versions=CallVersions(100, 3600))
    service.swap_model(load_model(str(bundle)))
    return service.classify([NoteInput.model_validate(n) for n in notes])


def invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def test_text_mode_answers_like_the_service_and_the_api(tiny_tfidf_bundle: Path) -> None:
    note = notes_with_time()[1]
    result = invoke("classify", note["text"], "--model", str(tiny_tfidf_bundle), "--time", CALL_TIME,
                    "--call-id", note["call_id"])
    assert result.exit_code == 0, result.output
    offline = json.loads(result.stdout)
    expected = service_answers(tiny_tfidf_bundle, [note])
    assert offline["model_version"] == expected.model_version
    assert offline["labels"] == expected.results[0].model_dump(mode="json")["labels"]
    assert offline["recommendation"] == expected.results[0].recommendation.model_dump(mode="json")
    with TestClient(create_app(make_settings(tiny_tfidf_bundle))) as client:
        served = client.post("/v1/classify", json=note, headers=headers("cad")).json()
    assert {k: served[k] for k in ("model_version", "labels", "recommendation", "call_update", "input")} == {
        k: offline[k] for k in ("model_version", "labels", "recommendation", "call_update", "input")}


def write_csv(path: Path, rows: list[dict[str, Any]], text_column: str = "text") -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[text_column, "call_id", "time", "area"])
        writer.writeheader()
        for row in rows:
            writer.writerow({text_column: row["text"], "call_id": row.get("call_id", ""), "time": CALL_TIME,
                             "area": row.get("area", "")})
    return path


def test_file_mode_writes_the_services_answers_as_jsonl(tiny_tfidf_bundle: Path, tmp_path: Path) -> None:
    rows = [*NOTES, {"text": NOTES[0]["text"] + " // NOW HAS A KNIFE", "call_id": NOTES[0]["call_id"]}]
    notes_csv = write_csv(tmp_path / "notes.csv", rows, text_column="narrative")
    out = tmp_path / "results.jsonl"
    result = invoke("classify", "--file", str(notes_csv), "--text-column", "narrative", "--out", str(out),
                    "--model", str(tiny_tfidf_bundle), "--batch-size", "3")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    expected = service_answers(tiny_tfidf_bundle, [{**r, "context": {"time": CALL_TIME}} for r in rows])
    assert [r["row"] for r in records] == list(range(1, len(rows) + 1))
    for record, answer in zip(records, expected.results, strict=True):
        want = answer.model_dump(mode="json", exclude={"index"})
        assert {k: record[k] for k in want} == want
        assert record["model_version"] == expected.model_version
    assert records[-1]["call_update"]["version"] == 2  # the later row is the call's second version
    assert f"{len(rows)} notes classified, 0 invalid" in result.stderr


def test_file_mode_writes_csv_with_scores_and_decisions(tiny_tfidf_bundle: Path, tmp_path: Path) -> None:
    notes_csv = write_csv(tmp_path / "notes.csv", NOTES)
    out = tmp_path / "results.csv"
    result = invoke("classify", "-f", str(notes_csv), "-o", str(out), "--model", str(tiny_tfidf_bundle),
                    "--no-progress")
    assert result.exit_code == 0, result.output
    with out.open() as fh:
        written = list(csv.DictReader(fh))
    expected = service_answers(tiny_tfidf_bundle, notes_with_time())
    for row, answer in zip(written, expected.results, strict=True):
        assert [float(row[f"score_{n}"]) for n in LABELS] == [answer.labels[n].score for n in LABELS]
        assert [row[f"decision_{n}"] == "True" for n in LABELS] == [answer.labels[n].decision for n in LABELS]
        assert row["primary"] == (answer.recommendation.primary or "")
        assert row["reasons"] == " | ".join(answer.recommendation.reasons)


def test_jsonl_input_with_a_context_object(tiny_tfidf_bundle: Path, tmp_path: Path) -> None:
    notes_jsonl = tmp_path / "notes.jsonl"
    notes_jsonl.write_text("".join(json.dumps(n) + "\n" for n in notes_with_time()[:2]))
    result = invoke("classify", "-f", str(notes_jsonl), "--model", str(tiny_tfidf_bundle))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    expected = service_answers(tiny_tfidf_bundle, notes_with_time()[:2])
    assert [r["recommendation"] for r in records] == [a.recommendation.model_dump(mode="json")
                                                     for a in expected.results]


def test_an_invalid_row_stops_with_one_message_naming_file_row_and_column(tiny_tfidf_bundle: Path,
                                                                           tmp_path: Path) -> None:
    notes_csv = write_csv(tmp_path / "notes.csv", [NOTES[0], {"text": "   "}, NOTES[1]])
    result = invoke("classify", "-f", str(notes_csv), "--model", str(tiny_tfidf_bundle))
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"error: {notes_csv} row 2: column 'text': text is empty or only whitespace "
                                     "(empty_text)")


def test_skip_invalid_writes_the_error_and_goes_on(tiny_tfidf_bundle: Path, tmp_path: Path) -> None:
    notes_csv = write_csv(tmp_path / "notes.csv", [NOTES[0], {"text": "   "}, NOTES[1]])
    out = tmp_path / "out.jsonl"
    result = invoke("classify", "-f", str(notes_csv), "-o", str(out), "--skip-invalid",
                    "--model", str(tiny_tfidf_bundle))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [("error" in r) for r in records] == [False, True, False]
    assert records[1]["error"] == {"code": "empty_text", "message": "text is empty or only whitespace",
                                   "field": "text"}


@pytest.mark.parametrize(("args", "message"), [
    (["classify"], "give a note's text or --file"),
    (["classify", "x", "--file", "notes.csv"], "give a note's text or --file, not both"),
    (["classify", "x", "--out", "out.xlsx"], "--out out.xlsx: unknown format '.xlsx'; use one of .csv, .jsonl, "
                                             ".ndjson"),
    (["classify", "--file", "missing.csv"], "--file missing.csv: no such file"),
    (["classify", "   "], "the note: column 'text': text is empty or only whitespace (empty_text)"),
    (["classify", "x", "--time", "noonish"], "the note: field context.time: context.time 'noonish' is not an "
                                             "ISO-8601 time (invalid_context_time)"),
])
def test_classify_usage_errors_are_one_message(tiny_tfidf_bundle: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch, args: list[str],
                                               message: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(*args, "--model", str(tiny_tfidf_bundle))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {message}"


def test_a_model_that_cannot_be_loaded_is_one_message(tmp_path: Path) -> None:
    result = invoke("classify", "x", "--model", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {tmp_path} is neither a divert bundle")


def test_policy_check_accepts_a_valid_file() -> None:
    result = invoke("policy", "check", str(DEFAULT_POLICY_PATH))
    assert result.exit_code == 0
    assert result.stdout.startswith(f"ok: {DEFAULT_POLICY_PATH}: policy 'default' version default-1: 4 programs")


def test_policy_check_names_the_field_of_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text(DEFAULT_POLICY_PATH.read_text().replace("route: [police]", "route: [sheriff]"))
    result = invoke("policy", "check", str(bad))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {bad}: rules[4].route[0]: unknown program 'sheriff'")


def test_serve_dev_key_prints_a_working_key_and_a_curl_example(tiny_tfidf_bundle: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    started: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda served, **kw: started.update(app=served, **kw))
    monkeypatch.delenv("DIVERT_API_KEYS", raising=False)
    result = invoke("serve", "--model", str(tiny_tfidf_bundle), "--dev-key", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert (started["host"], started["port"]) == ("127.0.0.1", 8123)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("development API key (roles cad, auditor, admin")
    key = lines[1].strip()
    assert key.startswith("dvt_")
    assert f"curl -s http://127.0.0.1:8123/v1/classify -H 'X-API-Key: {key}'" in result.stdout
    assert "review console (log in with the key above): http://127.0.0.1:8123/console" in result.stdout
    with TestClient(started["app"]) as client:
        for path in ("/v1/model", "/v1/admin/reload"):
            method = "GET" if path.endswith("model") else "POST"
            assert client.request(method, path, headers={"X-API-Key": key}).status_code == 200


def test_serve_refuses_to_start_without_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIVERT_API_KEYS", raising=False)
    monkeypatch.delenv("DIVERT_API_KEYS_FILE", raising=False)
    result = invoke("serve")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: invalid serving settings: no API keys configured")
