"""classify -> review -> `divert feedback export` -> `divert data validate` -> training includes the corrected
labels; and `divert audit purge` / `stats` on the same store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import tiny_records, write_jsonl
from fastapi.testclient import TestClient
from serving_fixtures import CALL_TIME, headers, make_settings
from sqlalchemy import update
from typer.testing import CliRunner

from divert.cli.app import app as cli
from divert.model.labels import LABELS
from divert.serving.app import create_app
from divert.serving.audit.models import Prediction
from divert.serving.audit.store import AuditStore
from divert.training.config import TrainConfig

runner = CliRunner()
NOTE = "RP JOHN SMITH ADV NEIGHBOR PACING IN DRIVEWAY MUTTERING CB 608-555-0142"


@pytest.mark.slow
def test_classify_review_export_validate_train(tiny_tfidf_bundle: Path, tmp_path: Path) -> None:
    from divert.training.pipeline import load_splits, train

    url = f"sqlite:///{tmp_path / 'audit.db'}"
    with TestClient(create_app(make_settings(tiny_tfidf_bundle, audit_url=url))) as client:
        answer = client.post("/v1/classify", json={"text": NOTE, "call_id": "c-1", "context": {"time": CALL_TIME}},
                             headers=headers("cad")).json()
        pid = client.get("/v1/audit/predictions", headers=headers("auditor")).json()["items"][0]["id"]
        corrected = {name: int(not answer["labels"][name]["decision"]) if name == "behavioral_health"
                     else int(answer["labels"][name]["decision"]) for name in LABELS}
        r = client.post(f"/v1/audit/predictions/{pid}/reviews", headers=headers("auditor"),
                        json={"verdict": "disagree", "labels": {"behavioral_health": corrected["behavioral_health"]}})
        assert r.status_code == 201, r.text

    out = tmp_path / "feedback.jsonl"
    result = runner.invoke(cli, ["feedback", "export", "--out", str(out), "--audit-url", url])
    assert result.exit_code == 0, result.output
    assert "wrote 1 reviewed predictions" in result.output
    exported = out.read_text()
    assert "JOHN SMITH" not in exported and "555-0142" not in exported and "[NAME]" in exported

    result = runner.invoke(cli, ["data", "validate", str(out)])
    assert result.exit_code == 0, result.output

    corpus = {name: write_jsonl(tmp_path / "corpus" / f"{name}.jsonl", tiny_records())
              for name in ("train", "validation", "test")}
    cfg = TrainConfig.model_validate({
        "name": "tiny-feedback", "model": "tfidf", "bootstrap_samples": 20,
        "data": {"train": [str(corpus["train"]), str(out)], "validation": str(corpus["validation"]),
                 "test": str(corpus["test"]), "challenge": None, "handwritten": []},
        "tfidf": {"min_df": 1, "char_ngrams": [3, 4]},
        "tracking": {"tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "experiment": "feedback",
                     "artifact_location": (tmp_path / "mlartifacts").as_uri(), "register_model": False},
        "gate": {"floors": {"test_macro_f1": 0.0}, "compare_on": ["test_macro_f1"]},
        "output_dir": str(tmp_path / "artifacts"),
    })
    splits = load_splits(cfg)
    row = splits.train.ids.index(f"feedback-{pid}")
    assert splits.train.labels[row].tolist() == [float(corrected[n]) for n in LABELS]
    trained = train(cfg, show_progress=False)
    assert trained.bundle_dir.exists() and "test_macro_f1" in trained.metrics


def test_purge_and_stats_commands(tiny_tfidf_bundle: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    with TestClient(create_app(make_settings(tiny_tfidf_bundle, audit_url=url))) as client:
        for text in ("LOUD MUSIC NEXT DOOR", "DV IN PROGRESS HUSBAND HITTING WIFE"):
            assert client.post("/v1/classify", json={"text": text}, headers=headers("cad")).status_code == 200
    store = AuditStore(url)
    with store.engine.begin() as conn:  # age one record, as time would
        conn.execute(update(Prediction).where(Prediction.id == 1)
                     .values(created_at=datetime.now(UTC) - timedelta(days=100)))
    store.dispose()
    dry = runner.invoke(cli, ["audit", "purge", "--older-than-days", "90", "--dry-run", "--audit-url", url])
    assert dry.exit_code == 0 and dry.output.startswith("would delete 1 predictions and 0 reviews"), dry.output
    done = runner.invoke(cli, ["audit", "purge", "--older-than-days", "90", "--audit-url", url])
    assert done.exit_code == 0 and done.output.startswith("deleted 1 predictions and 0 reviews"), done.output
    again = runner.invoke(cli, ["audit", "purge", "--older-than-days", "90", "--audit-url", url])
    assert again.output.startswith("deleted 0 predictions")
    stats = runner.invoke(cli, ["audit", "stats", "--audit-url", url])
    assert stats.exit_code == 0 and '"predictions": 1' in stats.output
    refused = runner.invoke(cli, ["audit", "purge", "--older-than-days", "0", "--audit-url", url])
    assert refused.exit_code != 0
