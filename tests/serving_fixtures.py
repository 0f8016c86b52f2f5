"""Helpers shared by the serving tests: API keys per role, settings, and an MLflow registry with a tiny model."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from divert.serving.auth import hash_key
from divert.serving.settings import ServingSettings

KEYS: dict[str, str] = {"cad": "test-key-cad", "auditor": "test-key-auditor", "admin": "test-key-admin"}

# A fixed call time keeps the policy's answers independent of the clock.
CALL_TIME = "2025-03-01T14:05:00"

NOTES: list[dict[str, Any]] = [
    {"text": "RP ADV BROTHER OFF HIS MEDS TALKING TO PEOPLE WHO ARENT THERE NO WPNS", "call_id": "n-1"},
    {"text": "SUBJ STATING HE WANTS TO KILL HIMSELF HAS A KNIFE", "call_id": "n-2"},
    {"text": "DV IN PROGRESS HUSBAND HITTING WIFE", "call_id": "n-3"},
    {"text": "MALE NOT BREATHING CPR IN PROGRESS", "call_id": "n-4"},
    {"text": "LOUD MUSIC NEXT DOOR NOISE COMPLAINT", "call_id": "n-5"},
    {"text": "caller says her son is threatening suicide, took pills, hard to wake", "call_id": "n-6"},
]


# Small limits, so that each limit can be crossed cheaply.
STRICT_LIMITS: dict[str, int] = {"max_note_chars": 200, "max_batch_size": len(NOTES), "max_request_bytes": 4096}

OK_NOTE = {"text": "MALE NOT BREATHING CPR IN PROGRESS"}

# (name, JSON body, status, code, field) for every kind of bad input, under STRICT_LIMITS.
BAD_INPUTS: list[tuple[str, Any, int, str, str | None]] = [
    ("empty text", {"text": ""}, 422, "empty_text", "text"),
    ("whitespace", {"text": " \n\t "}, 422, "empty_text", "text"),
    ("empty text in a batch", {"notes": [OK_NOTE, {"text": "  "}]}, 422, "empty_text", "notes[1].text"),
    ("oversize note", {"text": "X" * 201}, 422, "text_too_long", "text"),
    ("oversize note in a batch", {"notes": [OK_NOTE, OK_NOTE, {"text": "X" * 201}]}, 422, "text_too_long",
     "notes[2].text"),
    ("too many notes", {"notes": [OK_NOTE] * (len(NOTES) + 1)}, 422, "too_many_notes", "notes"),
    ("empty batch", {"notes": []}, 422, "empty_batch", "notes"),
    ("number as text", {"text": 42}, 422, "not_text", "text"),
    ("list as text in a batch", {"notes": [OK_NOTE, {"text": ["a"]}]}, 422, "not_text", "notes[1].text"),
    ("note that is not an object", {"notes": [OK_NOTE, "just text"]}, 422, "invalid_type", "notes[1]"),
    ("text and transcript", {"notes": [{"text": "a", "transcript": {"segments": [{"text": "b"}]}}]}, 422,
     "both_text_and_transcript", "notes[0]"),
    ("neither text nor transcript", {"notes": [{"call_id": "x"}]}, 422, "missing_text", "notes[0]"),
    ("unknown field", {"text": "a", "priority": 1}, 422, "unknown_field", "priority"),
    ("unknown field beside notes", {"notes": [OK_NOTE], "priority": 1}, 422, "unknown_field", "priority"),
    ("call id too long", {"text": "a", "call_id": "c" * 129}, 422, "value_too_long", "call_id"),
    ("unreadable call time", {"notes": [{"text": "a", "context": {"time": "noonish"}}]}, 422,
     "invalid_context_time", "notes[0].context.time"),
    ("a list body", [OK_NOTE], 422, "invalid_body", None),
    ("a string body", "RP ADV", 422, "invalid_body", None),
]

# (name, raw body, content type, status, code) for bodies that are not JSON objects at all.
BAD_BODIES: list[tuple[str, bytes, str, int, str]] = [
    ("malformed json", b'{"text": "RP ADV', "application/json", 422, "malformed_json"),
    ("no body", b"", "application/json", 422, "invalid_body"),
    ("not json", b'{"text": "RP ADV"}', "text/plain", 415, "unsupported_media_type"),
    ("request too large", json.dumps({"text": "X" * 5000}).encode(), "application/json", 413, "request_too_large"),
]

# (method, path, key, status, code) for every kind of auth failure.
AUTH_FAILURES: list[tuple[str, str, str | None, int, str]] = [
    ("POST", "/v1/classify", None, 401, "missing_api_key"),
    ("POST", "/v1/classify", "not-a-key", 401, "invalid_api_key"),
    ("POST", "/v1/classify", KEYS["auditor"], 403, "insufficient_role"),
    ("POST", "/v1/classify", KEYS["admin"], 403, "insufficient_role"),
    ("GET", "/v1/model", None, 401, "missing_api_key"),
    ("POST", "/v1/admin/reload", KEYS["cad"], 403, "insufficient_role"),
    ("POST", "/v1/admin/reload", "not-a-key", 401, "invalid_api_key"),
]


def notes_with_time(notes: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    return [{**n, "context": {"time": CALL_TIME, **n.get("context", {})}} for n in (notes or NOTES)]


def headers(role: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[role]}


def make_settings(model_ref: str | Path, **overrides: Any) -> ServingSettings:
    """Settings with one key per role; the model loads before the app takes traffic unless overridden."""
    keys = [{"id": f"{role}-key", "roles": [role], "sha256": hash_key(key)} for role, key in KEYS.items()]
    base: dict[str, Any] = {"model_ref": str(model_ref), "api_keys": keys, "model_load": "blocking",
                            "audit_url": "sqlite://", "audit_hash_key": "test-audit-hash-key-0123456789",
                            # a child process per app would cost each test a spaCy start-up; the process mode has
                            # its own tests (test_redaction_worker.py)
                            "audit_redaction_worker": "thread"}
    return ServingSettings(**(base | overrides))


def expected_primary(flags: set[str]) -> str | None:
    """The default policy written out by hand, as the issue states it."""
    mental = bool(flags & {"behavioral_health", "suicide_risk"})
    violence = "violence_risk" in flags
    if mental:
        return "co_responder" if violence else "crisis_team"
    if violence:
        return "police"
    return "ems" if "medical_emergency" in flags else None


def register_bundle(bundle: Path, tmp: Path, *, alias: str = "champion", name: str = "divert") -> str:
    """Log `bundle` as a divert pyfunc to a fresh SQLite MLflow store under `tmp`, register it and set `alias`.

    Returns the tracking URI. This is what the training pipeline does, written out so that the serving tests
    do not depend on it.
    """
    import mlflow
    from mlflow import MlflowClient

    from divert.model.pyfunc import BUNDLE_ARTIFACT, DivertPyfunc, package_code

    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    # A store per `tmp`, with its artifacts beside it (not in the working directory).
    experiment = mlflow.get_experiment_by_name("serving-tests")
    experiment_id = experiment.experiment_id if experiment else mlflow.create_experiment(
        "serving-tests", artifact_location=(tmp / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment_id):
        info = mlflow.pyfunc.log_model(name="model", python_model=DivertPyfunc(),
                                       artifacts={BUNDLE_ARTIFACT: str(bundle)},
                                       code_paths=[str(package_code(tmp / "code"))], pip_requirements=["mlflow"])
    version = mlflow.register_model(info.model_uri, name)
    MlflowClient().set_registered_model_alias(name, alias, version.version)
    return uri


def wait_for_audit(client: Any, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    """The recorded predictions once deferred redaction has filled in every text (newest first). `client` is a
    TestClient or an httpx client of the app."""
    deadline = time.monotonic() + timeout_s
    while True:
        r = client.get("/v1/audit/predictions", params={"limit": 500}, headers=headers("auditor"))
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        if not any(item["redaction_pending"] for item in items):
            return items
        assert time.monotonic() < deadline, "deferred redaction did not finish"
        time.sleep(0.02)
