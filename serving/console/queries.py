"""Read-only queries the console needs beyond `AuditStore`'s: the values offered in the filters, prediction volume
over time, and calibration of scores against reviewers' labels. Aggregation is done in Python over a few
columns, so the same code runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from divert.model.labels import LABELS
from divert.serving.audit.models import Prediction
from divert.serving.audit.store import AuditStore, PredictionFilter, utc

CALIBRATION_BINS = 10
NO_RECOMMENDATION = "none"


@dataclass(frozen=True)
class FilterChoices:
    model_versions: list[str]
    recommendations: list[str]


def filter_choices(store: AuditStore) -> FilterChoices:
    """The model versions and recommendations that occur in the store, for the filter menus."""
    store.ensure_migrated()
    with store.session() as session:
        versions = sorted(v for v in session.scalars(select(Prediction.model_version).distinct()) if v)
        recs = sorted(r for r in session.scalars(select(Prediction.recommendation).distinct()) if r)
    return FilterChoices(model_versions=versions, recommendations=[*recs, NO_RECOMMENDATION])


def bucket_of(moment: datetime, hourly: bool) -> str:
    moment = utc(moment)
    return moment.strftime("%Y-%m-%d %H:00") if hourly else moment.strftime("%Y-%m-%d")


def volume(store: AuditStore, since: datetime, until: datetime) -> dict[str, Any]:
    """Predictions per time bucket (hour when the range is at most 2 days, else day), per flagged label and per
    recommendation. Buckets without predictions are included, so the charts have an even time axis."""
    store.ensure_migrated()
    since, until = utc(since), utc(until)
    hourly = until - since <= timedelta(days=2)
    where = AuditStore._where(PredictionFilter(since=since, until=until))
    with store.session() as session:
        rows = session.execute(select(Prediction.created_at, Prediction.flags, Prediction.recommendation)
                               .where(*where)).all()
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    start = since.replace(minute=0, second=0, microsecond=0)
    if not hourly:
        start = start.replace(hour=0)
    buckets: list[str] = []
    moment = start
    while moment < until and len(buckets) < 2000:
        buckets.append(bucket_of(moment, hourly))
        moment += step
    by_label: dict[str, Counter[str]] = {name: Counter() for name in LABELS}
    by_rec: dict[str, Counter[str]] = {}
    total: Counter[str] = Counter()
    for created, flags, rec in rows:
        bucket = bucket_of(created, hourly)
        total[bucket] += 1
        for name in (f for f in flags.split(",") if f):
            by_label.setdefault(name, Counter())[bucket] += 1
        by_rec.setdefault(rec or NO_RECOMMENDATION, Counter())[bucket] += 1
    return {
        "granularity": "hour" if hourly else "day",
        "buckets": buckets,
        "total": [total[b] for b in buckets],
        "count": sum(total.values()),
        "by_label": {name: [c[b] for b in buckets] for name, c in by_label.items()},
        "by_label_total": {name: sum(c.values()) for name, c in by_label.items()},
        "by_recommendation": {name: [c[b] for b in buckets] for name, c in sorted(by_rec.items())},
        "by_recommendation_total": {name: sum(c.values()) for name, c in sorted(by_rec.items())},
    }


def calibration(store: AuditStore, f: PredictionFilter | None = None,
                bins: int = CALIBRATION_BINS) -> dict[str, Any]:
    """Per label, reviewed predictions in equal-width score bins: how many, their mean score, and the share the
    reviewer (latest review) labelled positive. A calibrated model has share close to mean score in every bin."""
    pairs = store.reviewed(f)
    out: dict[str, Any] = {"bins": bins, "reviewed": len(pairs), "labels": {}}
    for name in LABELS:
        n = [0] * bins
        score_sum = [0.0] * bins
        positive = [0] * bins
        for pred, review in pairs:
            if name not in review.labels or name not in pred.scores:
                continue
            score = float(pred.scores[name])
            i = min(int(score * bins), bins - 1) if score >= 0 else 0
            n[i] += 1
            score_sum[i] += score
            positive[i] += int(bool(review.labels[name]))
        out["labels"][name] = [
            {"bin": i, "low": i / bins, "high": (i + 1) / bins, "n": n[i],
             "mean_score": score_sum[i] / n[i] if n[i] else None,
             "positive_rate": positive[i] / n[i] if n[i] else None}
            for i in range(bins)]
    return out
