"""`AuditStore`: the audit trail in SQLAlchemy 2 (SQLite by default, PostgreSQL by URL), migrated by Alembic.

Append-only: `record` and `add_review` insert; nothing updates a recorded value. `fill_texts` writes the redacted
text of a prediction recorded with deferred redaction, once (only where it is still NULL). The only deletion is
`purge` (records older than N days, with their reviews), run by the admin command `divert audit purge`, never by
an HTTP route. A file SQLite store runs in WAL mode with `synchronous=NORMAL` (a commit does not wait for a disk
flush; an application crash loses nothing committed, a power cut may lose the last transactions).
Every database problem is raised as `AuditUnavailable`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, create_engine, delete, event, exists, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from divert.model.labels import LABELS
from divert.serving.audit.models import Prediction, Review

log = logging.getLogger("divert.serving.audit")

MIGRATIONS = Path(__file__).parent / "migrations"
MAX_PAGE = 500


class AuditUnavailable(RuntimeError):
    """The audit store cannot be reached or written. The message names the exception type, never data."""


@dataclass(frozen=True)
class PredictionFilter:
    """Filters of the auditor's list. `label` with `decision` (default true): predictions whose decision for that
    label is `decision`; `decision` alone: flagged with any label (true) or with none (false). `recommendation`
    "none" selects answers without a recommended program."""

    since: datetime | None = None
    until: datetime | None = None
    label: str | None = None
    decision: bool | None = None
    recommendation: str | None = None
    model_version: str | None = None
    reviewed: bool | None = None
    call_id: str | None = None
    text_hash: str | None = None
    endpoint: str | None = None


@dataclass(frozen=True)
class PurgeReport:
    cutoff: datetime
    predictions: int
    reviews: int
    dry_run: bool = False


@dataclass
class Page:
    items: list[Prediction]
    total: int
    next_cursor: int | None
    reviewed_ids: set[int] = field(default_factory=set)


def utc(value: datetime) -> datetime:
    """Aware UTC (SQLite gives naive datetimes back; a naive input is taken as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean the psycopg 3 driver (the one installed)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def flags_column(decisions: dict[str, bool]) -> str:
    flagged = sorted(name for name, on in decisions.items() if on)
    return "," + ",".join(flagged) + "," if flagged else ","


class AuditStore:
    def __init__(self, url: str, *, connect_timeout_s: int = 3) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": connect_timeout_s}
            if parsed.database in (None, "", ":memory:"):
                kwargs["poolclass"] = StaticPool  # one in-memory database shared by all threads
        elif self.dialect == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": connect_timeout_s}
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.dialect == "sqlite" and parsed.database not in (None, "", ":memory:"):
            event.listen(self.engine, "connect", _sqlite_wal)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._migrated = False
        self._migrate_lock = threading.Lock()
        self._last_migrate_attempt = 0.0

    def __repr__(self) -> str:
        return f"AuditStore({make_url(self.url).render_as_string(hide_password=True)!r})"

    # ------------------------------------------------------------------------------------ plumbing

    @contextmanager
    def session(self) -> Iterator[Session]:
        try:
            with self._sessions() as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise AuditUnavailable(f"audit store error: {type(exc).__name__}") from exc

    def migrate(self) -> None:
        """`alembic upgrade head` on this store (idempotent)."""
        from alembic import command
        from alembic.config import Config

        with self._migrate_lock:
            self._last_migrate_attempt = time.monotonic()
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            try:
                with self.engine.begin() as conn:
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
            except SQLAlchemyError as exc:
                raise AuditUnavailable(f"audit store migration failed: {type(exc).__name__}") from exc
            self._migrated = True

    def ensure_migrated(self, retry_after_s: float = 5.0) -> None:
        """Migrate if that has not succeeded yet (the store may have been down at start-up)."""
        if self._migrated:
            return
        if self._last_migrate_attempt and time.monotonic() - self._last_migrate_attempt < retry_after_s:
            raise AuditUnavailable("audit store not migrated yet (last attempt failed)")
        self.migrate()

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise AuditUnavailable(f"audit store unreachable: {type(exc).__name__}") from exc

    def dispose(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------------------------ writing

    def record(self, rows: Sequence[Prediction]) -> list[int]:
        """Insert the predictions of one request in one transaction; returns their ids."""
        self.ensure_migrated()
        with self.session() as session:
            session.add_all(rows)
            session.flush()
            return [row.id for row in rows]

    def fill_texts(self, rows: Sequence[tuple[int, str, dict[str, int]]]) -> int:
        """Write (prediction id, redacted text, redaction counts) where the text is still NULL, in one
        transaction; returns how many rows were filled."""
        if not rows:
            return 0
        self.ensure_migrated()
        stmt = (update(Prediction).where(Prediction.id == bindparam("pid"), Prediction.text_redacted.is_(None))
                .values(text_redacted=bindparam("txt"), redactions=bindparam("red")))
        params = [{"pid": pid, "txt": txt, "red": red} for pid, txt, red in rows]
        with self.session() as session:
            result = session.connection().execute(stmt, params)
            return int(result.rowcount or 0)

    def pending_texts(self) -> int:
        """Predictions whose redacted text is still NULL (pending, or lost by a server stopped before it)."""
        self.ensure_migrated()
        with self.session() as session:
            return int(session.scalar(select(func.count(Prediction.id)).where(Prediction.text_redacted.is_(None)))
                       or 0)

    def add_review(self, prediction_id: int, *, reviewer: str, verdict: str, labels: dict[str, int],
                   comment: str | None, now: datetime | None = None) -> Review | None:
        """A new review row; None when there is no such prediction."""
        self.ensure_migrated()
        with self.session() as session:
            if session.get(Prediction, prediction_id) is None:
                return None
            review = Review(prediction_id=prediction_id, created_at=now or datetime.now(UTC),
                            reviewer_key_id=reviewer, verdict=verdict, labels=labels, comment=comment)
            session.add(review)
            session.flush()
            return review

    def purge(self, older_than_days: int, *, now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
        """Delete predictions created more than `older_than_days` ago, and their reviews."""
        if older_than_days < 1:
            raise ValueError("older_than_days must be at least 1")
        self.ensure_migrated()
        cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
        old = select(Prediction.id).where(Prediction.created_at < cutoff)
        with self.session() as session:
            n_pred = session.scalar(select(func.count()).select_from(old.subquery())) or 0
            n_rev = session.scalar(select(func.count(Review.id)).where(Review.prediction_id.in_(old))) or 0
            if not dry_run:
                session.execute(delete(Review).where(Review.prediction_id.in_(old)))
                session.execute(delete(Prediction).where(Prediction.created_at < cutoff))
        return PurgeReport(cutoff=cutoff, predictions=int(n_pred), reviews=int(n_rev), dry_run=dry_run)

    # ------------------------------------------------------------------------------------ reading

    @staticmethod
    def _where(f: PredictionFilter) -> list[Any]:
        reviewed = exists().where(Review.prediction_id == Prediction.id)
        out: list[Any] = []
        if f.since is not None:
            out.append(Prediction.created_at >= f.since)
        if f.until is not None:
            out.append(Prediction.created_at < f.until)
        if f.label is not None:
            like = Prediction.flags.like(f"%,{f.label},%")
            out.append(like if f.decision in (None, True) else ~like)
        elif f.decision is not None:
            out.append(Prediction.flags != "," if f.decision else Prediction.flags == ",")
        if f.recommendation is not None:
            out.append(Prediction.recommendation.is_(None) if f.recommendation == "none"
                       else Prediction.recommendation == f.recommendation)
        for column, value in ((Prediction.model_version, f.model_version), (Prediction.call_id, f.call_id),
                              (Prediction.text_hash, f.text_hash), (Prediction.endpoint, f.endpoint)):
            if value is not None:
                out.append(column == value)
        if f.reviewed is not None:
            out.append(reviewed if f.reviewed else ~reviewed)
        return out

    def page(self, f: PredictionFilter, *, limit: int = 50, cursor: int | None = None) -> Page:
        """Newest first; `cursor` is the `next_cursor` of the previous page (ids below it)."""
        self.ensure_migrated()
        limit = max(1, min(limit, MAX_PAGE))
        where = self._where(f)
        with self.session() as session:
            total = session.scalar(select(func.count(Prediction.id)).where(*where)) or 0
            query = select(Prediction).where(*where)
            if cursor is not None:
                query = query.where(Prediction.id < cursor)
            items = list(session.scalars(query.order_by(Prediction.id.desc()).limit(limit + 1)))
            more = len(items) > limit
            items = items[:limit]
            ids = [p.id for p in items]
            reviewed = set(session.scalars(select(Review.prediction_id).where(Review.prediction_id.in_(ids))))
        return Page(items=items, total=int(total), next_cursor=items[-1].id if more else None,
                    reviewed_ids=reviewed)

    def get(self, prediction_id: int) -> tuple[Prediction, list[Review]] | None:
        self.ensure_migrated()
        with self.session() as session:
            pred = session.get(Prediction, prediction_id)
            if pred is None:
                return None
            reviews = list(session.scalars(select(Review).where(Review.prediction_id == prediction_id)
                                           .order_by(Review.id)))
        return pred, reviews

    def reviewed(self, f: PredictionFilter | None = None) -> list[tuple[Prediction, Review]]:
        """Every reviewed prediction (matching `f`) with its latest review, oldest first."""
        self.ensure_migrated()
        where = self._where(f or PredictionFilter())
        with self.session() as session:
            rows = session.execute(select(Prediction, Review).join(Review, Review.prediction_id == Prediction.id)
                                   .where(*where).order_by(Prediction.id, Review.id)).all()
        latest: dict[int, tuple[Prediction, Review]] = {}
        for pred, review in rows:
            latest[pred.id] = (pred, review)  # ordered by review id: the last one wins
        return list(latest.values())

    def unreviewed(self, *, limit: int = 2000, since: datetime | None = None) -> list[Prediction]:
        """The newest `limit` predictions without a review: the review queue's candidates."""
        self.ensure_migrated()
        where = self._where(PredictionFilter(reviewed=False, since=since))
        with self.session() as session:
            return list(session.scalars(select(Prediction).where(*where).order_by(Prediction.id.desc())
                                        .limit(limit)))

    def counts(self) -> tuple[int, int]:
        """(predictions, reviewed predictions)."""
        self.ensure_migrated()
        with self.session() as session:
            n = session.scalar(select(func.count(Prediction.id))) or 0
            r = session.scalar(select(func.count(func.distinct(Review.prediction_id)))) or 0
        return int(n), int(r)

    def stats(self, f: PredictionFilter | None = None) -> dict[str, Any]:
        """Agreement between the model's decisions and the reviewers' labels (latest review of each prediction),
        per label and per model version."""
        pairs = self.reviewed(f)
        total, reviewed_total = self.counts()

        def block(items: list[tuple[Prediction, Review]]) -> dict[str, Any]:
            per_label: dict[str, Any] = {}
            for name in LABELS:
                n = agree = fp = fn = 0
                for pred, review in items:
                    if name not in review.labels:
                        continue
                    model = bool(pred.decisions.get(name, False))
                    truth = bool(review.labels[name])
                    n += 1
                    agree += model == truth
                    fp += model and not truth
                    fn += truth and not model
                per_label[name] = {"reviewed": n, "agree": agree, "agreement_rate": agree / n if n else None,
                                   "false_positives": fp, "false_negatives": fn}
            verdicts = sum(review.verdict == "agree" for _, review in items)
            return {"reviewed": len(items), "agree_verdicts": verdicts,
                    "agreement_rate": verdicts / len(items) if items else None, "by_label": per_label}

        by_version: dict[str, list[tuple[Prediction, Review]]] = {}
        for pred, review in pairs:
            by_version.setdefault(pred.model_version, []).append((pred, review))
        return {"predictions": total, "reviewed_predictions": reviewed_total, **block(pairs),
                "by_model_version": {v: block(items) for v, items in sorted(by_version.items())}}
