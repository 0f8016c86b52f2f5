"""The audit trail over HTTP: every classify and explain answer recorded with redacted text, the auditor API
(filters, review, stats, queue), roles, append-only routes, and both `audit_required` modes with the store down."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serving_fixtures import CALL_TIME, headers, make_settings

from divert.model.labels import LABELS
from divert.model.redact import keyed_hash
from divert.serving.app import create_app
from divert.serving.settings import SettingsError

CAD, AUD, ADMIN = headers("cad"), headers("auditor"), headers("admin")
HASH_KEY = "test-audit-hash-key-0123456789"
DOWN_URL = "postgresql://postgres@127.0.0.1:1/test"  # nothing listens on port 1: the store is down
PII_NOTE = {"text": "RP JOHN SMITH ADV BROTHER OFF HIS MEDS CB 608-555-0142 AT 1423 W ELM ST NO WPNS",
            "call_id": "call-7", "context": {"time": CALL_TIME}}
PII_VALUES = ("JOHN SMITH", "SMITH", "608-555-0142", "555-0142", "1423 W ELM")


def app_client(bundle: Path, **overrides: Any) -> TestClient:
    return TestClient(create_app(make_settings(bundle, **overrides)))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "audit.db"


@pytest.fixture
def client(tiny_tfidf_bundle: Path, db: Path) -> Iterator[TestClient]:
    with app_client(tiny_tfidf_bundle, audit_url=f"sqlite:///{db}") as c:
        yield c


def classify(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/v1/classify", json=body, headers=CAD)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def predictions(client: TestClient, **params: Any) -> dict[str, Any]:
    r = client.get("/v1/audit/predictions", params=params, headers=AUD)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def test_a_classify_answer_is_recorded_redacted_with_ids_and_scores(client: TestClient, db: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answer = classify(client, PII_NOTE)
    # deferred redaction (the default): the row is written before the answer; its text follows from the worker
    assert predictions(client)["total"] == 1
    assert client.app.state.audit.worker.wait_idle(10)  # type: ignore[attr-defined]
    page = predictions(client)
    assert page["total"] == 1
    rec = page["items"][0]
    assert rec["redaction_pending"] is False
    assert rec["request_id"] == answer["request_id"] and rec["key_id"] == "cad-key"
    assert rec["call_id"] == "call-7" and rec["endpoint"] == "classify"
    assert rec["model_version"] == answer["model_version"] and rec["policy_version"] == answer["policy_version"]
    assert rec["recommendation"] == answer["recommendation"]["primary"]
    assert rec["scores"] == {n: v["score"] for n, v in answer["labels"].items()}
    assert rec["flags"] == answer["flags"] and rec["latency_ms"] > 0
    assert "[NAME]" in rec["text_redacted"] and "[PHONE]" in rec["text_redacted"]
    assert "[ADDRESS]" in rec["text_redacted"] and "NO WPNS" in rec["text_redacted"]
    assert rec["text_hash"] == keyed_hash(PII_NOTE["text"], HASH_KEY)
    assert predictions(client, text_hash=rec["text_hash"])["total"] == 1
    # nothing of the planted PII anywhere: not in the database file, not in the logs, not the API key
    raw = b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())  # WAL mode
    for value in (*PII_VALUES, "test-key-cad"):
        assert value.encode() not in raw, value
        assert value not in caplog.text, value


def test_a_batch_is_one_row_per_note_and_explain_is_recorded(client: TestClient) -> None:
    notes = [{"text": "SUBJ STATING HE WANTS TO KILL HIMSELF HAS A KNIFE", "context": {"time": CALL_TIME}},
             {"text": "LOUD MUSIC NEXT DOOR NOISE COMPLAINT", "context": {"time": CALL_TIME}}]
    answer = client.post("/v1/classify", json={"notes": notes}, headers=CAD).json()
    r = client.post("/v1/explain", json={"text": "RP MARIA GARCIA SAYS SON HAS A KNIFE CB 608-555-0199"},
                    headers=AUD)
    assert r.status_code == 200, r.text
    explained = predictions(client, endpoint="explain")["items"]
    assert len(explained) == 1
    detail = client.get(f"/v1/audit/predictions/{explained[0]['id']}", headers=AUD).json()
    assert detail["explanation_source"] == "stored"
    expl = detail["explanation"]
    assert expl["text"] == detail["text_redacted"] and "MARIA" not in str(expl) and "0199" not in str(expl)
    for label in expl["labels"]:
        for w in label["words"]:
            assert expl["text"][w["start"]:w["end"]] == w["word"]
    batch = predictions(client, endpoint="classify")["items"]
    assert sorted(p["item_index"] for p in batch) == [0, 1]
    assert {p["request_id"] for p in batch} == {answer["request_id"]}
    # a classify answer's explanation is computed on the redacted text by the model that answered
    detail = client.get(f"/v1/audit/predictions/{batch[0]['id']}", headers=AUD).json()
    assert detail["explanation_source"] == "computed_on_redacted_text"
    assert detail["explanation"]["text"] == detail["text_redacted"]


def test_filters_review_and_stats(client: TestClient) -> None:
    classify(client, {"text": "SUBJ STATING HE WANTS TO KILL HIMSELF HAS A KNIFE", "context": {"time": CALL_TIME}})
    classify(client, {"text": "LOUD MUSIC NEXT DOOR NOISE COMPLAINT", "context": {"time": CALL_TIME}})
    suicidal = predictions(client, label="suicide_risk")["items"]
    assert len(suicidal) == 1 and "suicide_risk" in suicidal[0]["flags"]
    quiet = predictions(client, decision=False)["items"]
    assert len(quiet) == 1 and quiet[0]["flags"] == []
    assert predictions(client, recommendation="none")["items"] == quiet
    assert predictions(client, reviewed=True)["total"] == 0
    assert predictions(client, since="2100-01-01T00:00:00Z")["total"] == 0
    assert predictions(client, limit=1)["next_cursor"] is not None

    pid = quiet[0]["id"]
    bad = client.post(f"/v1/audit/predictions/{pid}/reviews", json={"verdict": "disagree"}, headers=AUD)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "labels"
    body = {"verdict": "disagree", "labels": {"behavioral_health": 1},
            "comment": "caller JOHN SMITH 608-555-0142 says neighbour is in crisis"}
    r = client.post(f"/v1/audit/predictions/{pid}/reviews", json=body, headers=AUD)
    assert r.status_code == 201, r.text
    review = r.json()
    assert review["labels"] == {n: int(n == "behavioral_health") for n in LABELS}
    assert "608-555-0142" not in review["comment"] and review["reviewer_key_id"] == "auditor-key"
    agree = client.post(f"/v1/audit/predictions/{suicidal[0]['id']}/reviews", json={"verdict": "agree"}, headers=AUD)
    assert agree.status_code == 201
    missing = client.post("/v1/audit/predictions/99999/reviews", json={"verdict": "agree"}, headers=AUD)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "prediction_not_found"
    assert predictions(client, reviewed=True)["total"] == 2

    stats = client.get("/v1/audit/stats", headers=AUD).json()
    assert stats["reviewed"] == 2 and stats["agreement_rate"] == 0.5
    assert stats["by_label"]["behavioral_health"]["agreement_rate"] == 0.5
    assert list(stats["by_model_version"]) == [suicidal[0]["model_version"]]


def test_the_queue_puts_uncertain_notes_first_and_spreads_calls(client: TestClient) -> None:
    for version in range(5):  # five versions of one uncertain-looking call
        classify(client, {"text": f"RP ADV BROTHER OFF HIS MEDS TALKING {'AGAIN ' * version}",
                          "call_id": "same-call", "context": {"time": CALL_TIME}})
    classify(client, {"text": "SUBJ STATING HE WANTS TO KILL HIMSELF HAS A KNIFE", "call_id": "other-1",
                      "context": {"time": CALL_TIME}})
    classify(client, {"text": "LOUD MUSIC NEXT DOOR NOISE COMPLAINT", "call_id": "other-2",
                      "context": {"time": CALL_TIME}})
    r = client.get("/v1/audit/queue", params={"limit": 7}, headers=AUD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["second_model"] is None and "disagreement term is skipped" in body["notes"][0]
    items = body["items"]
    assert len(items) == 7 and all(i["disagreement"] is None for i in items)
    calls = [i["prediction"]["call_id"] for i in items]
    assert len(set(calls[:3])) == 3  # one version of the repeated call, then the other calls
    assert [i["priority"] for i in items] == sorted((i["priority"] for i in items), reverse=True)
    assert items[3]["diversity_factor"] < 1


def test_the_queue_uses_a_second_model_when_configured(tiny_tfidf_bundle: Path, db: Path, tmp_path: Path) -> None:
    import json
    import shutil

    second = tmp_path / "second"
    shutil.copytree(tiny_tfidf_bundle, second)
    manifest = json.loads((second / "manifest.json").read_text())
    manifest["thresholds"] = {name: 0.05 for name in LABELS}  # decides differently: disagreement everywhere
    (second / "manifest.json").write_text(json.dumps(manifest))
    with app_client(tiny_tfidf_bundle, audit_url=f"sqlite:///{db}", review_second_model_ref=str(second)) as c:
        classify(c, {"text": "LOUD MUSIC NEXT DOOR NOISE COMPLAINT", "context": {"time": CALL_TIME}})
        body = c.get("/v1/audit/queue", headers=AUD).json()
    assert body["notes"] == [] and body["second_model"] == str(second)
    assert body["items"][0]["disagreement"] is not None and body["items"][0]["disagreement"] >= 0.5


def test_roles_and_no_update_or_delete_route(client: TestClient) -> None:
    classify(client, PII_NOTE)
    for key, status in ((None, 401), (CAD, 403), (ADMIN, 403), (AUD, 200)):
        r = client.get("/v1/audit/predictions", headers=key or {})
        assert r.status_code == status
    assert client.post("/v1/audit/predictions/1/reviews", json={"verdict": "agree"}, headers=CAD).status_code == 403
    paths = client.get("/openapi.json").json()["paths"]
    methods = {m.upper() for path, ops in paths.items() if path.startswith("/v1/audit") for m in ops}
    assert methods == {"GET", "POST"}
    for method in ("PUT", "PATCH", "DELETE"):
        assert client.request(method, "/v1/audit/predictions/1", headers=AUD).status_code == 405


@pytest.mark.parametrize("required", [True, False])
def test_store_down_refuses_or_answers_by_setting(tiny_tfidf_bundle: Path, required: bool) -> None:
    with app_client(tiny_tfidf_bundle, audit_url=DOWN_URL, audit_required=required) as c:
        r = c.post("/v1/classify", json=PII_NOTE, headers=CAD)
        ready = c.get("/readyz").json()
        explained = c.post("/v1/explain", json={"text": "RP ADV"}, headers=CAD)
    if required:  # never a prediction that was not recorded
        assert r.status_code == 503 and r.json()["error"]["code"] == "audit_unavailable"
        assert "labels" not in r.json() and explained.status_code == 503
        assert ready["checks"]["audit_store"]["ok"] is False
    else:
        assert r.status_code == 200 and r.json()["labels"] and explained.status_code == 200
        assert ready["checks"]["audit_store"]["ok"] is True
        assert "answering without recording" in ready["checks"]["audit_store"]["detail"]


def test_records_survive_a_restart_and_need_a_hash_key(tiny_tfidf_bundle: Path, db: Path) -> None:
    url = f"sqlite:///{db}"
    with app_client(tiny_tfidf_bundle, audit_url=url) as c:
        classify(c, PII_NOTE)
    with app_client(tiny_tfidf_bundle, audit_url=url) as c:
        assert predictions(c)["total"] == 1
    with pytest.raises(SettingsError, match="audit_hash_key"):
        create_app(make_settings(tiny_tfidf_bundle, audit_hash_key=None))
    with pytest.raises(SettingsError, match="at least 16"):
        create_app(make_settings(tiny_tfidf_bundle, audit_hash_key="short"))
