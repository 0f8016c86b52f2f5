"""`POST /v1/explain` on the tiny TF-IDF bundle: text and transcripts, offsets, roles, errors, served model.

The app is built with `create_app`; the explain router is included here when the app does not include it yet,
so the test holds before and after the line that adds it to `create_app`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from serving_fixtures import headers, make_settings

from divert.model.bundle import DivertModel
from divert.model.explain import explain
from divert.model.labels import LABELS
from divert.serving import routes_explain
from divert.serving.app import create_app

TEXT = "RP ADV SUBJ W/ KNIFE // 10-4 C/B; NO WPNS!! talking to people who arent there"
TRANSCRIPT = {"segments": [
    {"speaker": "call_taker", "text": "911, does he have any weapons?", "start": 0.0},
    {"speaker": "caller", "text": "No -- no weapons; he's OFF HIS MEDS (again)...", "start": 2.5},
]}


def with_explain(app: FastAPI) -> FastAPI:
    paths = {route.path for route in app.routes if isinstance(route, APIRoute)}
    if "/v1/explain" not in paths:
        app.include_router(routes_explain.router)
    return app


@pytest.fixture
def client(tiny_tfidf_bundle: Path) -> Iterator[TestClient]:
    with TestClient(with_explain(create_app(make_settings(tiny_tfidf_bundle)))) as c:
        yield c


def post(client: TestClient, body: Any, role: str = "cad") -> Any:
    return client.post("/v1/explain", json=body, headers=headers(role))


def assert_offsets_exact(body: dict[str, Any]) -> None:
    text = body["text"]
    for lab in body["labels"]:
        assert lab["words"], lab["label"]
        for w in lab["words"]:
            assert text[w["start"] : w["end"]] == w["word"]


def test_a_note_is_explained_for_every_label(client: TestClient, tiny_tfidf_bundle: Path) -> None:
    response = post(client, {"text": TEXT, "call_id": "c-1"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"] == TEXT and body["call_id"] == "c-1" and body["input_kind"] == "text"
    assert body["method"] == "exact" and body["model_kind"] == "tfidf" and body["request_id"]
    assert [lab["label"] for lab in body["labels"]] == list(LABELS)
    assert_offsets_exact(body)
    direct = explain(DivertModel.load(tiny_tfidf_bundle), TEXT)
    for got, want in zip(body["labels"], direct.labels, strict=True):
        assert got["score"] == pytest.approx(want.score)
        assert got["completeness_error"] < 1e-9
        assert [w["attribution"] for w in got["words"]] == pytest.approx([w.attribution for w in want.words])


def test_a_transcript_is_explained_on_its_rendered_text(client: TestClient) -> None:
    response = post(client, {"transcript": TRANSCRIPT, "labels": ["behavioral_health"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["input_kind"] == "transcript"
    assert body["text"].startswith("CALL TAKER: 911, does he have any weapons?\nCALLER: No -- no weapons;")
    assert [lab["label"] for lab in body["labels"]] == ["behavioral_health"]
    assert_offsets_exact(body)


def test_auditors_may_explain_admins_only_may_not(client: TestClient) -> None:
    assert post(client, {"text": TEXT}, role="auditor").status_code == 200
    refused = post(client, {"text": TEXT}, role="admin")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "insufficient_role"
    missing = client.post("/v1/explain", json={"text": TEXT})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_api_key"


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"text": TEXT, "labels": ["violence"]}, "unknown_label", "labels"),
    ({"text": TEXT, "method": "integrated_gradients"}, "method_unavailable", "method"),
    ({"text": TEXT, "method": "shap"}, "invalid_value", "method"),
    ({"text": TEXT, "n_steps": 0}, "invalid_value", "n_steps"),
    ({"text": "   "}, "empty_text", "text"),
    ({"text": TEXT, "colour": "red"}, "unknown_field", "colour"),
    ({"labels": ["violence_risk"]}, "missing_text", None),
])
def test_bad_requests_get_a_specific_code(client: TestClient, body: Any, code: str, field: str | None) -> None:
    response = post(client, body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["field"] == field


def test_occlusion_can_be_asked_for(client: TestClient) -> None:
    body = post(client, {"text": TEXT, "method": "occlusion", "labels": ["violence_risk"]}).json()
    assert body["method"] == "occlusion" and body["labels"][0]["completeness_error"] is None
    assert_offsets_exact(body)


def test_the_served_model_is_the_one_explained(client: TestClient, tiny_tfidf_bundle: Path, tmp_path: Path) -> None:
    retuned = tmp_path / "retuned"
    shutil.copytree(tiny_tfidf_bundle, retuned)
    manifest = json.loads((retuned / "manifest.json").read_text())
    manifest["thresholds"] = dict.fromkeys(LABELS, 0.3)
    (retuned / "manifest.json").write_text(json.dumps(manifest))
    before = post(client, {"text": TEXT}).json()
    reload = client.post("/v1/admin/reload", json={"model_ref": str(retuned)}, headers=headers("admin"))
    assert reload.status_code == 200, reload.text
    after = post(client, {"text": TEXT}).json()
    served = client.get("/v1/model", headers=headers("cad")).json()
    assert {lab["threshold"] for lab in before["labels"]} == {0.5}
    assert {lab["threshold"] for lab in after["labels"]} == {0.3}
    assert after["model_version"] == served["model_version"] != before["model_version"]
