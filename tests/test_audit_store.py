"""The audit store on SQLite and PostgreSQL: migrations, append-only records, filters, pagination, reviews,
statistics, export and purge. PostgreSQL tests need 127.0.0.1:5432 (database `test`, trust auth)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from divert.model.labels import LABELS
from divert.serving.audit.export import export_feedback
from divert.serving.audit.models import Prediction
from divert.serving.audit.store import AuditStore, AuditUnavailable, PredictionFilter, flags_column
from divert.training.dataset import load_dataset

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PG_USERS = ("postgres", "root")


def postgres_url() -> str:
    """A reachable PostgreSQL URL, or skip with the reason."""
    problems = []
    for user in PG_USERS:
        url = f"postgresql+psycopg://{user}@127.0.0.1:5432/test"
        try:
            with create_engine(url, connect_args={"connect_timeout": 2}).connect() as conn:
                conn.execute(text("SELECT 1"))
            return url
        except Exception as exc:
            problems.append(f"{user}: {type(exc).__name__}")
    pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432 database test ({'; '.join(problems)})")


def drop_audit_tables(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in ("audit_reviews", "audit_predictions", "audit_alembic_version"):
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditStore]:
    url = f"sqlite:///{tmp_path / 'audit.db'}" if request.param == "sqlite" else postgres_url()
    if request.param == "postgres":
        drop_audit_tables(url)
    s = AuditStore(url)
    s.migrate()
    yield s
    s.dispose()
    if request.param == "postgres":
        drop_audit_tables(url)


def pred(i: int, *, scores: dict[str, float] | None = None, call_id: str | None = None, model: str = "m@1",
         created: datetime = NOW, recommendation: str | None = None) -> Prediction:
    scores = scores or {name: 0.1 for name in LABELS}
    decisions = {n: s >= 0.5 for n, s in scores.items()}
    return Prediction(request_id=f"r{i}", item_index=0, endpoint="classify", created_at=created, key_id="cad-key",
                      call_id=call_id, model_name="m", model_version=model, policy_version="p1", input_kind="text",
                      text_redacted=f"NOTE {i} RP [NAME] ADV", text_hash=f"{i:064x}", redactions={"NAME": 1},
                      scores=scores, thresholds={n: 0.5 for n in LABELS}, decisions=decisions,
                      flags=flags_column(decisions), recommendation=recommendation, recommendation_detail=None,
                      explanation=None, latency_ms=1.0)


def flagged(*labels: str) -> dict[str, float]:
    return {name: 0.9 if name in labels else 0.1 for name in LABELS}


def test_migrations_create_the_tables_and_are_idempotent(store: AuditStore) -> None:
    store.migrate()
    tables = set(inspect(store.engine).get_table_names())
    assert {"audit_predictions", "audit_reviews", "audit_alembic_version"} <= tables
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM audit_alembic_version")).scalar() == "0002"


def test_record_get_and_filters(store: AuditStore) -> None:
    ids = store.record([
        pred(1, scores=flagged("violence_risk"), recommendation="police", created=NOW - timedelta(days=2)),
        pred(2, scores=flagged("behavioral_health"), recommendation="crisis_team", call_id="c1"),
        pred(3, model="m@2"),
    ])
    assert len(ids) == 3
    got = store.get(ids[0])
    assert got is not None
    p, reviews = got
    assert p.decisions["violence_risk"] is True and reviews == []
    assert store.get(99999) is None

    def ids_of(**kw: object) -> list[int]:
        return [p.id for p in store.page(PredictionFilter(**kw)).items]  # type: ignore[arg-type]

    assert ids_of(label="violence_risk") == [ids[0]]
    assert ids_of(label="violence_risk", decision=False) == [ids[2], ids[1]]
    assert ids_of(decision=False) == [ids[2]]
    assert ids_of(recommendation="crisis_team") == [ids[1]]
    assert ids_of(recommendation="none") == [ids[2]]
    assert ids_of(model_version="m@2") == [ids[2]]
    assert ids_of(since=NOW - timedelta(hours=1)) == [ids[2], ids[1]]
    assert ids_of(until=NOW - timedelta(days=1)) == [ids[0]]
    assert ids_of(call_id="c1") == [ids[1]]
    store.add_review(ids[1], reviewer="aud", verdict="agree", labels={n: 0 for n in LABELS}, comment=None)
    assert ids_of(reviewed=True) == [ids[1]]
    assert ids_of(reviewed=False) == [ids[2], ids[0]]


def test_pages_follow_the_cursor(store: AuditStore) -> None:
    ids = store.record([pred(i) for i in range(7)])
    seen: list[int] = []
    cursor = None
    while True:
        page = store.page(PredictionFilter(), limit=3, cursor=cursor)
        assert page.total == 7
        seen += [p.id for p in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)


def test_reviews_are_new_rows_and_stats_use_the_latest(store: AuditStore) -> None:
    a, b = store.record([pred(1, scores=flagged("violence_risk")), pred(2, model="m@2")])
    assert store.add_review(12345, reviewer="aud", verdict="agree", labels={}, comment=None) is None
    wrong = {n: 0 for n in LABELS}
    store.add_review(a, reviewer="aud", verdict="disagree", labels=wrong, comment="no weapon")
    store.add_review(a, reviewer="aud2", verdict="agree", labels=wrong | {"violence_risk": 1}, comment=None)
    store.add_review(b, reviewer="aud", verdict="disagree", labels=wrong | {"suicide_risk": 1}, comment=None)
    got = store.get(a)
    assert got is not None and [r.verdict for r in got[1]] == ["disagree", "agree"]
    stats = store.stats()
    assert stats["predictions"] == 2 and stats["reviewed"] == 2 and stats["agreement_rate"] == 0.5
    assert stats["by_label"]["violence_risk"]["agreement_rate"] == 1.0
    assert stats["by_label"]["suicide_risk"] == {"reviewed": 2, "agree": 1, "agreement_rate": 0.5,
                                                 "false_positives": 0, "false_negatives": 1}
    assert stats["by_model_version"]["m@1"]["agreement_rate"] == 1.0
    assert stats["by_model_version"]["m@2"]["by_label"]["suicide_risk"]["agreement_rate"] == 0.0


def test_export_writes_a_valid_dataset_with_the_corrected_labels(store: AuditStore, tmp_path: Path) -> None:
    a, b, _ = store.record([pred(1, call_id="c1"), pred(2, call_id="c1"), pred(3)])
    store.add_review(a, reviewer="aud", verdict="disagree", labels={n: int(n == "violence_risk") for n in LABELS},
                     comment=None)
    store.add_review(b, reviewer="aud", verdict="agree", labels={n: 0 for n in LABELS}, comment=None)
    out = tmp_path / "feedback.jsonl"
    assert export_feedback(store, out) == (2, 0)
    data = load_dataset(out)
    assert data.ids == [f"feedback-{a}", f"feedback-{b}"]
    assert data.labels[0].tolist() == [float(n == "violence_risk") for n in LABELS]
    assert data.groups[0] == data.groups[1]  # versions of one call stay in one group
    assert data.meta[0]["source"] == "feedback" and data.texts[0] == "NOTE 1 RP [NAME] ADV"


def test_purge_deletes_old_records_and_their_reviews_only(store: AuditStore) -> None:
    old, new = store.record([pred(1, created=NOW - timedelta(days=40)), pred(2, created=NOW - timedelta(days=5))])
    store.add_review(old, reviewer="aud", verdict="agree", labels={}, comment=None)
    store.add_review(new, reviewer="aud", verdict="agree", labels={}, comment=None)
    dry = store.purge(30, now=NOW, dry_run=True)
    assert (dry.predictions, dry.reviews) == (1, 1)
    assert store.get(old) is not None
    report = store.purge(30, now=NOW)
    assert (report.predictions, report.reviews) == (1, 1)
    assert store.get(old) is None and store.get(new) is not None
    with pytest.raises(ValueError):
        store.purge(0)


def test_an_unreachable_store_raises_audit_unavailable() -> None:
    store = AuditStore("postgresql://postgres@127.0.0.1:1/test", connect_timeout_s=1)
    with pytest.raises(AuditUnavailable, match="OperationalError"):
        store.ping()
    with pytest.raises(AuditUnavailable):
        store.record([pred(1)])
