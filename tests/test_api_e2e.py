"""End to end: a tiny model trained (or logged) and registered in MLflow as `champion`, served by uvicorn on a
real socket, classified over HTTP; the policy's recommendations, every bad-input code and every auth failure
checked, and a newly promoted model swapped in with `POST /v1/admin/reload`."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import tiny_records, write_jsonl
from fastapi import FastAPI
from serving_fixtures import (
    AUTH_FAILURES,
    BAD_BODIES,
    BAD_INPUTS,
    STRICT_LIMITS,
    expected_primary,
    headers,
    make_settings,
    notes_with_time,
    register_bundle,
)

from divert.serving.app import create_app

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _restore_tracking_uri() -> Iterator[None]:
    """These tests point MLflow at their own stores; later tests get the previous URI back."""
    import mlflow

    before = mlflow.get_tracking_uri()
    yield
    mlflow.set_tracking_uri(before)


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn on a free local port; yields the base URL once it is ready."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # up to a minute for the start and the model load
            if server.started and httpx.get(f"{base}/readyz").status_code == 200:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the server did not become ready")
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def exercise_api(http: httpx.Client) -> dict[str, Any]:
    """Classify a batch and walk every error path; returns the batch answer."""
    notes = notes_with_time()
    response = http.post("/v1/classify", json={"notes": notes}, headers=headers("cad"))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert len(answer["results"]) == len(notes)
    primaries = set()
    for result in answer["results"]:
        assert result["recommendation"]["primary"] == expected_primary(set(result["flags"]))
        assert result["recommendation"]["reasons"]
        primaries.add(result["recommendation"]["primary"])
    assert len(primaries) >= 2, f"the tiny model should send these notes to different responses: {primaries}"

    for name, body, status, code, field in BAD_INPUTS:
        bad = http.post("/v1/classify", json=body, headers=headers("cad"))
        assert (bad.status_code, bad.json()["error"]["code"], bad.json()["error"]["field"]) == (status, code, field), name
    for name, content, content_type, status, code in BAD_BODIES:
        bad = http.post("/v1/classify", content=content, headers=headers("cad") | {"Content-Type": content_type})
        assert (bad.status_code, bad.json()["error"]["code"]) == (status, code), name
    for method, path, key, status, code in AUTH_FAILURES:
        refused = http.request(method, path, json=notes[0] if path.endswith("classify") else None,
                               headers={"X-API-Key": key} if key else {})
        assert (refused.status_code, refused.json()["error"]["code"]) == (status, code), (method, path, key)

    metrics = http.get("/metrics").text
    assert 'divert_http_requests_total{method="POST",route="/v1/classify",status="200"} 1.0' in metrics
    return answer


def test_logged_bundle_registered_served_and_reloaded(tiny_tfidf_bundle: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the training pipeline: the tiny bundle logged as a pyfunc, registered and aliased by hand."""
    import json

    from mlflow import MlflowClient

    monkeypatch.chdir(tmp_path)
    uri = register_bundle(tiny_tfidf_bundle, tmp_path)
    app = create_app(make_settings("champion", tracking_uri=uri, model_load="background", **STRICT_LIMITS))
    with running(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        info = http.get("/v1/model", headers=headers("auditor")).json()
        assert (info["name"], info["version"], info["alias"]) == ("divert", "1", "champion")
        answer = exercise_api(http)
        assert answer["model_version"] == "divert/1"

        # A newly promoted model (other thresholds) is picked up by a reload of the alias.
        retuned = tmp_path / "retuned"
        shutil.copytree(tiny_tfidf_bundle, retuned)
        manifest = json.loads((retuned / "manifest.json").read_text())
        manifest["thresholds"] = dict.fromkeys(manifest["thresholds"], 0.3)
        (retuned / "manifest.json").write_text(json.dumps(manifest))
        register_bundle(retuned, tmp_path)  # version 2, now champion
        assert str(MlflowClient(uri).get_model_version_by_alias("divert", "champion").version) == "2"
        reloaded = http.post("/v1/admin/reload", headers=headers("admin"))
        assert reloaded.status_code == 200, reloaded.text
        assert (reloaded.json()["previous"]["version"], reloaded.json()["current"]["version"]) == ("1", "2")
        after = http.post("/v1/classify", json=notes_with_time()[0], headers=headers("cad")).json()
        assert after["model_version"] == "divert/2"
        assert {label["threshold"] for label in after["labels"].values()} == {0.3}


def test_trained_registered_promoted_and_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the training pipeline: train a tiny TF-IDF model, register it, promote it, serve `champion`."""
    pipeline = pytest.importorskip("divert.training.pipeline")
    import mlflow

    from divert.training.config import TrainConfig
    from divert.training.registry import promote

    monkeypatch.chdir(tmp_path)
    corpus = {name: write_jsonl(tmp_path / "corpus" / f"{name}.jsonl", tiny_records())
              for name in ("train", "validation", "test", "challenge")}
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = TrainConfig.model_validate({
        "name": "e2e", "model": "tfidf", "bootstrap_samples": 0,
        "data": {"train": [str(corpus["train"])], "validation": str(corpus["validation"]),
                 "test": str(corpus["test"]), "challenge": str(corpus["challenge"]), "handwritten": []},
        "tfidf": {"min_df": 1, "char_ngrams": [3, 4]},
        "tracking": {"tracking_uri": uri, "experiment": "e2e"},
        "gate": {"floors": {"test_macro_f1": 0.0}, "compare_on": ["test_macro_f1"]},
        "output_dir": str(tmp_path / "artifacts"),
    })
    result = pipeline.train(cfg, show_progress=False)
    assert result.model_version is not None, "the tiny model passes its floors and is registered"
    mlflow.set_tracking_uri(uri)
    assert promote("divert", compare_on=["test_macro_f1"]).promoted

    app = create_app(make_settings("champion", tracking_uri=uri, **STRICT_LIMITS))
    with running(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        info = http.get("/v1/model", headers=headers("cad")).json()
        assert (info["version"], info["alias"], info["run_id"]) == (result.model_version, "champion", result.run_id)
        assert info["metrics"], "the model endpoint reports the run's metrics"
        answer = exercise_api(http)
        assert answer["model_version"] == f"divert/{result.model_version}"


def test_loading_a_registered_model_leaves_sys_path_as_it_was(tiny_tfidf_bundle: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow prepends the model's packaged code to sys.path; spawned batch workers inherit sys.path, and there
    the packaged copy of `divert.model` would meet this installation's `divert.serving`."""
    import sys

    from divert.model.pyfunc import load_model

    monkeypatch.chdir(tmp_path)
    uri = register_bundle(tiny_tfidf_bundle, tmp_path)
    before = list(sys.path)
    loaded = load_model("champion", tracking_uri=uri)
    assert loaded.version == "1"
    assert sys.path == before
