"""The HTTP API on the tiny TF-IDF bundle: answers, call versions, health, metrics, every error code, auth,
reload, and score parity between HTTP, the in-process model and the MLflow pyfunc."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from serving_fixtures import (
    AUTH_FAILURES,
    BAD_BODIES,
    BAD_INPUTS,
    NOTES,
    STRICT_LIMITS,
    expected_primary,
    headers,
    make_settings,
    notes_with_time,
)

from divert.model.bundle import DivertModel
from divert.model.errors import ModelArtifactError
from divert.model.labels import LABELS
from divert.model.pyfunc import LoadedModel, load_model
from divert.serving.app import create_app
from divert.serving.auth import hash_key
from divert.serving.state import AppState, CheckResult

CAD = headers("cad")


@pytest.fixture
def client(tiny_tfidf_bundle: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tiny_tfidf_bundle))) as c:
        yield c


def state_of(client: TestClient) -> AppState:
    state: AppState = client.app.state.divert  # type: ignore[attr-defined]
    return state


def classify(client: TestClient, body: Any, **kwargs: Any) -> Any:
    response = client.post("/v1/classify", json=body, headers=kwargs.pop("headers", CAD), **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def retuned_bundle(tiny_tfidf_bundle: Path, tmp_path: Path) -> Path:
    """The tiny bundle with every threshold at 0.3: another model version with other decisions."""
    folder = tmp_path / "retuned"
    shutil.copytree(tiny_tfidf_bundle, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["thresholds"] = {name: 0.3 for name in LABELS}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


# ------------------------------------------------------------------------------------------ answers


def test_one_note_gets_labels_a_recommendation_and_ids(client: TestClient, tiny_tfidf_bundle: Path) -> None:
    note = notes_with_time()[1]
    response = client.post("/v1/classify", json=note, headers=CAD | {"X-Request-ID": "cad-req-17"})
    assert response.status_code == 200
    body = response.json()
    assert body["request_id"] == response.headers["X-Request-ID"] == "cad-req-17"
    assert body["model_version"].startswith(f"{tiny_tfidf_bundle.name}@local-")
    assert body["policy_version"] == body["recommendation"]["policy_version"] == "default-1"
    assert set(body["labels"]) == set(LABELS)
    for name, label in body["labels"].items():
        assert set(label) == {"score", "threshold", "decision"}
        assert label["decision"] == (label["score"] >= label["threshold"])
        assert (name in body["flags"]) == label["decision"]
    rec = body["recommendation"]
    assert rec["primary"] == expected_primary(set(body["flags"]))
    assert rec["reasons"], "a recommendation always says why"
    assert body["input"] == {"kind": "text", "chars": len(note["text"]), "segments_used": None}


def test_a_batch_answers_each_note_in_order_as_a_single_note_would(client: TestClient) -> None:
    notes = notes_with_time()
    body = classify(client, {"notes": notes})
    assert set(body) == {"request_id", "model_version", "policy_version", "results"}
    assert [r["index"] for r in body["results"]] == list(range(len(notes)))
    for note, result in zip(notes, body["results"], strict=True):
        alone = classify(client, {**note, "call_id": None})
        assert result["labels"] == alone["labels"]
        assert result["recommendation"] == alone["recommendation"]
        assert result["recommendation"]["primary"] == expected_primary(set(result["flags"]))


def test_a_transcript_is_classified_like_text(client: TestClient) -> None:
    transcript = {"segments": [{"speaker": "call_taker", "text": "911 what is your emergency", "start": 0},
                               {"speaker": "caller", "text": "he wants to kill himself, he has a knife", "start": 2}]}
    body = classify(client, {"transcript": transcript, "context": {"time": "2025-03-01T14:05:00"}})
    assert body["input"]["kind"] == "transcript"
    assert body["input"]["segments_used"] == 2


def test_versions_of_a_call_report_which_flags_changed(client: TestClient) -> None:
    first = "LOUD MUSIC NEXT DOOR NOISE COMPLAINT"
    second = first + " // UPDATE: SUBJ STATING HE WANTS TO KILL HIMSELF HAS A KNIFE"
    v1 = classify(client, {"text": first, "call_id": "call-77"})
    v2 = classify(client, {"text": second, "call_id": "call-77"})
    v3 = classify(client, {"text": second, "call_id": "call-77"})
    assert v1["call_update"] == {"call_id": "call-77", "version": 1, "previous_version_seen": False,
                                 "flags_changed": False, "changed": [], "recommendation_changed": False,
                                 "previous_primary": None}
    expected = [{"label": n, "previous": v1["labels"][n]["decision"], "current": v2["labels"][n]["decision"]}
                for n in LABELS if v1["labels"][n]["decision"] != v2["labels"][n]["decision"]]
    assert expected, "the update is meant to change the tiny model's flags"
    assert v2["call_update"]["version"] == 2
    assert v2["call_update"]["flags_changed"] is True
    assert v2["call_update"]["changed"] == expected
    assert v2["call_update"]["recommendation_changed"] == (
        v1["recommendation"]["primary"] != v2["recommendation"]["primary"])
    assert (v3["call_update"]["version"], v3["call_update"]["flags_changed"], v3["call_update"]["changed"]) == (
        3, False, [])
    assert classify(client, {"text": first})["call_update"] is None


def test_call_versions_are_kept_apart_per_api_key(tiny_tfidf_bundle: Path) -> None:
    settings = make_settings(tiny_tfidf_bundle)
    other = settings.model_copy(update={"api_keys": [*settings.api_keys, settings.api_keys[0].model_copy(
        update={"id": "cad-2", "sha256": hash_key("second-cad")})]})
    with TestClient(create_app(make_settings(tiny_tfidf_bundle, api_keys=other.api_keys))) as client:
        note = {"text": NOTES[0]["text"], "call_id": "shared-id"}
        assert classify(client, note)["call_update"]["version"] == 1
        assert classify(client, note, headers={"X-API-Key": "second-cad"})["call_update"]["version"] == 1
        assert classify(client, note)["call_update"]["version"] == 2


def test_a_refused_batch_records_no_call_version(client: TestClient) -> None:
    bad = {"notes": [{"text": NOTES[0]["text"], "call_id": "c-refused"}, {"text": "   "}]}
    assert client.post("/v1/classify", json=bad, headers=CAD).status_code == 422
    assert classify(client, {"text": NOTES[0]["text"], "call_id": "c-refused"})["call_update"]["version"] == 1


# ---------------------------------------------------------------------------------------- model info


def test_model_endpoint_describes_the_served_model(client: TestClient, tiny_tfidf_bundle: Path) -> None:
    response = client.get("/v1/model", headers=headers("auditor"))
    assert response.status_code == 200
    info = response.json()
    assert info["uri"] == str(tiny_tfidf_bundle)
    assert (info["kind"], info["version"], info["alias"], info["run_id"]) == ("tfidf", None, None, None)
    assert [label["name"] for label in info["labels"]] == list(LABELS)
    assert all(label["definition"] and label["threshold"] == 0.5 for label in info["labels"])
    assert info["policy_version"] == "default-1"
    assert info["limits"] == {"max_batch_size": 64, "max_note_chars": 20_000, "max_request_bytes": 1_000_000}
    assert info["model_version"] == classify(client, NOTES[0])["model_version"]


# ----------------------------------------------------------------------------------- health and ready


def test_health_and_readiness_when_loaded(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True
    assert ready.json()["checks"]["model"]["ok"] is True


def test_before_the_model_is_loaded_traffic_is_refused(tiny_tfidf_bundle: Path) -> None:
    client = TestClient(create_app(make_settings(tiny_tfidf_bundle)))  # no `with`: the lifespan has not run
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"ready": False, "checks": {"model": {"ok": False, "detail": "loading"},
                                                       "audit_store": {"ok": True, "detail": "sqlite"}}}
    refused = client.post("/v1/classify", json=NOTES[0], headers=CAD)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "model_not_loaded"
    assert client.get("/v1/model", headers=CAD).json()["error"]["code"] == "model_not_loaded"


def test_background_loading_answers_health_at_once_and_ready_after(tiny_tfidf_bundle: Path) -> None:
    release = threading.Event()

    def slow_loader(ref: str) -> LoadedModel:
        assert release.wait(timeout=30)
        return load_model(ref)

    app = create_app(make_settings(tiny_tfidf_bundle, model_load="background"), loader=slow_loader)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503
        assert client.post("/v1/classify", json=NOTES[0], headers=CAD).status_code == 503
        release.set()
        assert state_of(client).first_load_done.wait(timeout=30)
        assert client.get("/readyz").status_code == 200
        assert client.post("/v1/classify", json=NOTES[0], headers=CAD).status_code == 200


def test_a_failed_background_load_keeps_the_process_alive_and_not_ready(tiny_tfidf_bundle: Path) -> None:
    def broken(ref: str) -> LoadedModel:
        raise ModelArtifactError(f"no model at {ref}")

    app = create_app(make_settings(tiny_tfidf_bundle, model_load="background"), loader=broken)
    with TestClient(app) as client:
        assert state_of(client).first_load_done.wait(timeout=30)
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["model"]["detail"] == f"load failed: no model at {tiny_tfidf_bundle}"


def test_a_failed_blocking_load_stops_the_start(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, model_load="blocking"))  # an empty folder is not a model
    with pytest.raises(ModelArtifactError, match="neither a divert bundle"), TestClient(app):
        pass


def test_readiness_checks_can_be_added(client: TestClient) -> None:
    checks = state_of(client).readiness
    checks.add("search_index", lambda: CheckResult(False, "unreachable"))

    async def raising() -> CheckResult:
        raise ConnectionError("refused")

    checks.add("queue", raising)
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {
        "model": {"ok": True, "detail": ready.json()["checks"]["model"]["detail"]},
        "audit_store": {"ok": True, "detail": "sqlite"},
        "search_index": {"ok": False, "detail": "unreachable"},
        "queue": {"ok": False, "detail": "check failed: ConnectionError"},
    }
    with pytest.raises(ValueError, match="already registered"):
        checks.add("search_index", lambda: CheckResult(True))


# --------------------------------------------------------------------------------------------- metrics


def test_metrics_count_requests_latencies_labels_and_responses(client: TestClient) -> None:
    body = classify(client, {"notes": notes_with_time()[:2]})
    client.post("/v1/classify", json={"text": ""}, headers=CAD)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'divert_http_requests_total{method="POST",route="/v1/classify",status="200"} 1.0' in text
    assert 'divert_http_requests_total{method="POST",route="/v1/classify",status="422"} 1.0' in text
    assert 'divert_http_request_duration_seconds_count{method="POST",route="/v1/classify"} 2.0' in text
    assert "divert_notes_classified_total 2.0" in text
    flagged = sum(r["labels"]["behavioral_health"]["decision"] for r in body["results"])
    if flagged:
        assert f'divert_label_decisions_total{{decision="true",label="behavioral_health"}} {float(flagged)}' in text
    for result in body["results"]:
        assert f'divert_recommended_responses_total{{response="{result["recommendation"]["primary"] or "none"}"}}' in text
    assert 'divert_model_loaded 1.0' in text


# ------------------------------------------------------------------------------------------ bad input


@pytest.fixture
def strict_client(tiny_tfidf_bundle: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tiny_tfidf_bundle, **STRICT_LIMITS))) as c:
        yield c


@pytest.mark.parametrize(("body", "status", "code", "field"), [case[1:] for case in BAD_INPUTS],
                         ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_gets_a_specific_code(strict_client: TestClient, body: Any, status: int, code: str,
                                        field: str | None) -> None:
    response = strict_client.post("/v1/classify", json=body, headers=CAD)
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]
    assert response.json()["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.parametrize(("content", "content_type", "status", "code"), [case[1:] for case in BAD_BODIES],
                         ids=[case[0] for case in BAD_BODIES])
def test_bad_bodies_get_a_specific_code(strict_client: TestClient, content: bytes, content_type: str, status: int,
                                        code: str) -> None:
    response = strict_client.post("/v1/classify", content=content, headers=CAD | {"Content-Type": content_type})
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_a_streamed_body_over_the_limit_is_refused_while_reading(strict_client: TestClient) -> None:
    chunks = iter([b'{"text": "', b"X" * 3000, b"X" * 3000, b'"}'])  # no Content-Length: read and counted
    response = strict_client.post("/v1/classify", content=chunks, headers=CAD | {"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    metrics = strict_client.get("/metrics").text
    assert 'divert_http_requests_total{method="POST",route="/v1/classify",status="413"} 1.0' in metrics


def test_several_problems_are_all_listed(client: TestClient) -> None:
    response = client.post("/v1/classify", json={"notes": [{"text": 1}, {"text": 2, "extra": True}]}, headers=CAD)
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("not_text", "notes[0].text")
    assert {(d["code"], d["field"]) for d in error["details"]} == {
        ("not_text", "notes[0].text"), ("not_text", "notes[1].text"), ("unknown_field", "notes[1].extra")}


def test_unknown_routes_and_methods_use_the_error_body(client: TestClient) -> None:
    missing = client.get("/v1/nothing")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    wrong = client.get("/v1/classify", headers=CAD)
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (405, "method_not_allowed")


def test_an_unexpected_failure_is_a_500_without_the_note_in_logs(tiny_tfidf_bundle: Path,
                                                                  caplog: pytest.LogCaptureFixture,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(make_settings(tiny_tfidf_bundle))
    with TestClient(app) as client:  # the server sees no exception: it was answered
        def broken(texts: list[str]) -> None:
            raise RuntimeError(f"scorer crashed on {texts[0]}")

        monkeypatch.setattr(state_of(client).service.model.model, "predict", broken)
        with caplog.at_level(logging.INFO, logger="divert.serving"):
            response = client.post("/v1/classify", json={"text": "ZEBRA IN THE LOBBY"}, headers=CAD)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert response.json()["request_id"]
    logged = [r for r in caplog.records if r.name == "divert.serving"]
    assert any("internal error" in r.getMessage() and "RuntimeError" in r.getMessage() for r in logged)
    assert not [r for r in logged if "ZEBRA" in r.getMessage()]


def test_note_text_is_never_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    secret = "ZEBRA PATIENT SAYS HE WANTS TO KILL HIMSELF"
    with caplog.at_level(logging.DEBUG):
        classify(client, {"text": secret, "call_id": "log-1"})
        client.post("/v1/classify", json={"notes": [{"text": secret}, {"text": 7}]}, headers=CAD)
        client.post("/v1/classify", json={"text": secret, "oops": 1}, headers=CAD)
    assert caplog.records, "requests are logged"
    assert not [r for r in caplog.records if "ZEBRA" in r.getMessage()]


# ------------------------------------------------------------------------------------------------- auth


@pytest.mark.parametrize(("method", "path", "key", "status", "code"), AUTH_FAILURES)
def test_auth_failures(client: TestClient, method: str, path: str, key: str | None, status: int, code: str) -> None:
    response = client.request(method, path, json=NOTES[0] if path.endswith("classify") else None,
                              headers={"X-API-Key": key} if key else {})
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("APIKey")


# ------------------------------------------------------------------------------------------------ reload


def test_admin_reload_swaps_the_model(client: TestClient, retuned_bundle: Path) -> None:
    before = classify(client, NOTES[1])
    response = client.post("/v1/admin/reload", json={"model_ref": str(retuned_bundle)}, headers=headers("admin"))
    assert response.status_code == 200, response.text
    swap = response.json()
    assert swap["previous"]["model_version"] == before["model_version"]
    after = classify(client, NOTES[1])
    assert after["model_version"] == swap["current"]["model_version"] != before["model_version"]
    assert {label["threshold"] for label in after["labels"].values()} == {0.3}
    assert client.get("/v1/model", headers=CAD).json()["uri"] == str(retuned_bundle)


def test_reload_without_a_reference_reloads_the_configured_one(client: TestClient) -> None:
    response = client.post("/v1/admin/reload", headers=headers("admin"))
    assert response.status_code == 200
    assert response.json()["previous"]["model_version"] == response.json()["current"]["model_version"]


def test_the_old_model_serves_while_the_new_one_loads(tiny_tfidf_bundle: Path, retuned_bundle: Path) -> None:
    answers_during_load: list[dict[str, Any]] = []
    holder: dict[str, TestClient] = {}

    def loader(ref: str) -> LoadedModel:
        if ref == str(retuned_bundle):  # the reload: traffic keeps being answered by the current model
            answers_during_load.append(classify(holder["client"], NOTES[1]))
        return load_model(ref)

    with TestClient(create_app(make_settings(tiny_tfidf_bundle), loader=loader)) as client:
        holder["client"] = client
        before = classify(client, NOTES[1])
        reloaded = client.post("/v1/admin/reload", json={"model_ref": str(retuned_bundle)}, headers=headers("admin"))
        assert reloaded.status_code == 200
        assert [a["model_version"] for a in answers_during_load] == [before["model_version"]]
        assert classify(client, NOTES[1])["model_version"] == reloaded.json()["current"]["model_version"]


def test_a_failed_reload_keeps_the_current_model(client: TestClient, tmp_path: Path) -> None:
    before = classify(client, NOTES[0])["model_version"]
    empty = tmp_path / "empty"
    empty.mkdir()
    response = client.post("/v1/admin/reload", json={"model_ref": str(empty)}, headers=headers("admin"))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "reload_failed"
    assert error["message"].endswith(f"still serving {before}")
    assert classify(client, NOTES[0])["model_version"] == before


def test_one_reload_at_a_time(client: TestClient) -> None:
    lock = state_of(client).load_lock
    with lock:
        response = client.post("/v1/admin/reload", headers=headers("admin"))
    assert (response.status_code, response.json()["error"]["code"]) == (409, "reload_in_progress")


# ------------------------------------------------------------------------------------------------ parity


def test_http_scores_equal_the_model_and_the_pyfunc(client: TestClient, tiny_tfidf_bundle: Path,
                                                    tmp_path: Path) -> None:
    import mlflow
    import pandas as pd

    from divert.model.pyfunc import BUNDLE_ARTIFACT, DivertPyfunc

    notes = notes_with_time()
    texts = [n["text"] for n in notes]
    http = classify(client, {"notes": notes})["results"]
    http_scores = np.array([[r["labels"][n]["score"] for n in LABELS] for r in http])

    in_process = DivertModel.load(tiny_tfidf_bundle).predict(texts)
    np.testing.assert_allclose(http_scores, in_process.scores, rtol=0, atol=1e-12)
    assert [[r["labels"][n]["decision"] for n in LABELS] for r in http] == in_process.decisions.tolist()

    mlflow_dir = tmp_path / "pyfunc"
    mlflow.pyfunc.save_model(str(mlflow_dir), python_model=DivertPyfunc(),
                             artifacts={BUNDLE_ARTIFACT: str(tiny_tfidf_bundle)}, pip_requirements=["mlflow"])
    frame = mlflow.pyfunc.load_model(str(mlflow_dir)).predict(pd.DataFrame({"text": texts}))
    np.testing.assert_allclose(http_scores, frame[[f"score_{n}" for n in LABELS]].to_numpy(), rtol=0, atol=1e-12)

    # The API serving the MLflow folder answers the same.
    with TestClient(create_app(make_settings(mlflow_dir))) as from_mlflow:
        served = classify(from_mlflow, {"notes": notes})["results"]
    assert [r["labels"] for r in served] == [r["labels"] for r in http]


# ----------------------------------------------------------------------------------------------- openapi


def test_openapi_documents_the_versioned_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/classify", "/v1/model", "/v1/admin/reload", "/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
    classify_op = spec["paths"]["/v1/classify"]["post"]
    assert {"note", "batch", "transcript"} <= set(classify_op["requestBody"]["content"]["application/json"]["examples"])
    assert classify_op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorResponse")
    scheme = spec["components"]["securitySchemes"]["APIKeyHeader"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-API-Key")


# ---------------------------------------------------------------------------------------------- settings


def _key(key_id: str, role: str = "cad", secret: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": key_id, "roles": [role], "sha256": hash_key(secret or f"secret-{key_id}"), **extra}


@pytest.mark.parametrize(("overrides", "message"), [
    ({}, "no API keys configured"),
    ({"api_keys": [_key("a", dev=True)]}, "development keys ['a'] need allow_dev_keys=true"),
    ({"api_keys": [_key("a", dev=True)], "allow_dev_keys": True, "host": "0.0.0.0"},
     "only allowed on a loopback host, not '0.0.0.0'"),
    ({"api_keys": [{"id": "a", "roles": ["cad"], "sha256": "the-key-itself"}]},
     "api_keys.0.sha256: must be the 64-character sha256 hex digest"),
    ({"api_keys": [_key("a", role="superuser")]}, "api_keys.0.roles.0: Input should be 'cad', 'auditor' or 'admin'"),
    ({"api_keys": [_key("a"), _key("a", secret="other")]}, "api key id 'a' is configured twice"),
    ({"api_keys": [_key("a", secret="same"), _key("b", secret="same")]}, "api key 'b' has the same hash"),
    ({"api_keys": [_key("a")], "max_batch_size": 0}, "max_batch_size: Input should be greater than or equal to 1"),
    ({"api_keys": [_key("a")], "modle_ref": "champion"}, "modle_ref: Extra inputs are not permitted"),
])
def test_unsafe_or_invalid_settings_are_refused(monkeypatch: pytest.MonkeyPatch, overrides: dict[str, Any],
                                                message: str) -> None:
    from divert.serving.settings import SettingsError, load_settings

    monkeypatch.delenv("DIVERT_API_KEYS", raising=False)
    monkeypatch.delenv("DIVERT_API_KEYS_FILE", raising=False)
    with pytest.raises(SettingsError, match="invalid serving settings: ") as info:
        load_settings(**overrides)
    assert message in str(info.value)


def test_settings_come_from_the_environment_and_a_keys_file(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    from divert.serving.settings import SettingsError, load_settings

    keys_file = tmp_path / "keys.yaml"
    keys_file.write_text(f"- id: auditor-1\n  role: auditor\n  sha256: {hash_key('aud')}\n")
    monkeypatch.setenv("DIVERT_API_KEYS", json.dumps([_key("cad-1", secret="cad")]))
    monkeypatch.setenv("DIVERT_API_KEYS_FILE", str(keys_file))
    monkeypatch.setenv("DIVERT_MAX_BATCH_SIZE", "16")
    settings = load_settings(model_ref="3")
    assert [(k.id, k.roles) for k in settings.all_api_keys] == [("cad-1", ("cad",)), ("auditor-1", ("auditor",))]
    assert (settings.model_ref, settings.max_batch_size, settings.host, settings.port) == ("3", 16, "127.0.0.1", 8000)

    keys_file.write_text("- id: broken\n  roles: [cad]\n")
    with pytest.raises(SettingsError, match=r"api_keys_file .*keys.yaml: \[0\]: sha256: Field required"):
        load_settings()


def test_an_invalid_policy_stops_the_app_factory(tiny_tfidf_bundle: Path, tmp_path: Path) -> None:
    from divert.model.policy import DEFAULT_POLICY_PATH, PolicyError

    bad = tmp_path / "policy.yaml"
    bad.write_text(DEFAULT_POLICY_PATH.read_text().replace("last_resort: police", "last_resort: sheriff"))
    with pytest.raises(PolicyError, match="last_resort: unknown program 'sheriff'"):
        create_app(make_settings(tiny_tfidf_bundle, policy_path=bad))


# ------------------------------------------------------------------------------------------ call versions


def test_call_versions_are_bounded_least_recent_first() -> None:
    from divert.serving.call_versions import CallVersions

    calls = CallVersions(max_size=2, ttl_s=3600)
    for call_id in ("a", "b", "a", "c"):  # "b" is the least recently updated when "c" arrives
        calls.update(call_id, {"violence_risk": False}, None)
    assert len(calls) == 2
    assert calls.update("a", {"violence_risk": False}, None).version == 3
    assert calls.update("b", {"violence_risk": False}, None).version == 1


def test_call_versions_expire_after_the_ttl() -> None:
    from divert.serving.call_versions import CallVersions

    now = [0.0]
    calls = CallVersions(max_size=10, ttl_s=60, clock=lambda: now[0])
    calls.update("a", {"violence_risk": False}, "police")
    now[0] = 59.0
    kept = calls.update("a", {"violence_risk": True}, "police")
    assert (kept.version, kept.changed[0].label, kept.recommendation_changed) == (2, "violence_risk", False)
    now[0] = 59.0 + 61.0
    expired = calls.update("a", {"violence_risk": True}, "police")
    assert (expired.version, expired.previous_version_seen) == (1, False)


def test_call_versions_count_every_update_under_concurrency() -> None:
    from divert.serving.call_versions import CallVersions

    calls = CallVersions(max_size=10, ttl_s=3600)
    threads = [threading.Thread(target=lambda: [calls.update("a", {"x": True}, None) for _ in range(200)])
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls.update("a", {"x": True}, None).version == 8 * 200 + 1
