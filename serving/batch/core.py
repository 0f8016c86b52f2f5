"""One chunk of calls -> scored rows and rejected rows, by the API's own code path.

For every call: `parse_text` (the API's parser and preprocessing, length and emptiness checks) and the policy's
reading of the call time -> `DivertModel.predict` on the valid ones together -> `Policy.recommend` per call.
A call that fails a check is a reject with the API's error code; it never stops the run. Raw note text is never
part of the output; `redact=True` adds the note redacted by `divert.model.redact`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import pandas as pd
import pyarrow as pa

from divert.model.bundle import DivertModel, Predictions
from divert.model.errors import InvalidInputError
from divert.model.inputs import DEFAULT_MAX_CHARS, parse_text
from divert.model.labels import LABELS
from divert.model.policy import Policy
from divert.model.preprocess import preprocess

# What a reader hands to the scorer: one row per call; `row` is the 1-based row number in the input.
CALL_COLUMNS: tuple[str, ...] = ("id", "text", "time", "area", "nature_code", "row")
PASSTHROUGH: tuple[str, ...] = ("time", "area", "nature_code")
REJECT_SCHEMA = pa.schema([("row", pa.int64()), ("id", pa.string()), ("code", pa.string()), ("reason", pa.string())])


def output_schema(labels: Sequence[str] = LABELS, *, with_redacted_text: bool = False) -> pa.Schema:
    """The Parquet schema of scored calls; every part file of a run has exactly this schema."""
    fields: list[tuple[str, pa.DataType]] = [("id", pa.string()), ("row", pa.int64())]
    fields += [(f"score_{name}", pa.float64()) for name in labels]
    fields += [(f"decision_{name}", pa.bool_()) for name in labels]
    fields += [
        ("flags", pa.string()),  # flagged labels, ';'-joined
        ("recommendation", pa.string()),  # primary program, null when no rule applies
        ("recommendation_kind", pa.string()),
        ("additional", pa.string()),  # add-on programs, ';'-joined
        ("rule", pa.string()),
        ("route", pa.string()),  # the matched rule's route, ';'-joined
        ("fallbacks", pa.string()),  # program:reason, ';'-joined
        ("time_source", pa.string()),
        ("evaluated_at", pa.string()),  # ISO-8601 in the policy's timezone
        ("time", pa.string()),
        ("area", pa.string()),
        ("nature_code", pa.string()),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("policy_version", pa.string()),
    ]
    if with_redacted_text:
        fields.append(("redacted_text", pa.string()))
    return pa.schema(fields)


def empty_rejects() -> pd.DataFrame:
    return REJECT_SCHEMA.empty_table().to_pandas()


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return value is pd.NA or value is pd.NaT


def _opt_str(value: Any) -> str | None:
    if _missing(value):
        return None
    text = str(value).strip()
    return text or None


@dataclass
class _Valid:
    """The calls of a chunk that passed the checks, in input order."""

    ids: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # what the model reads (preprocessed)
    contexts: list[dict[str, Any]] = field(default_factory=list)
    times: list[tuple[datetime, str]] = field(default_factory=list)  # Policy.call_time
    notes: list[str] = field(default_factory=list)  # parsed note text, for redaction (only with redact=True)


class _Rec(NamedTuple):
    """The columns of a recommendation that do not depend on the call time's text."""

    primary: str | None
    primary_kind: str | None
    additional: str
    rule: str | None
    route: str
    fallbacks: str


@dataclass(frozen=True)
class ScoredChunk:
    scored: pd.DataFrame
    rejects: pd.DataFrame


class BatchScorer:
    """Scores chunks of calls with one model under one policy.

    `now` is the clock for calls without a time (the API uses the current time; a batch run fixes it at the
    start of the run so a resumed run gives the same answers).
    """

    def __init__(self, model: DivertModel, policy: Policy, *, model_name: str, model_version: str,
                 now: datetime, max_chars: int = DEFAULT_MAX_CHARS, redact: bool = False) -> None:
        self.model = model
        self.policy = policy
        self.model_name = model_name
        self.model_version = model_version
        self.now = now
        self.max_chars = max_chars
        self.redact = redact
        self.schema = output_schema(model.labels, with_redacted_text=redact)
        self._routes = {rule.name: ";".join(rule.route) for rule in policy.rules}
        self._redactor: Any = None
        self._recs: dict[tuple[Any, ...], _Rec] = {}

    def _redact(self, texts: list[str]) -> list[str]:
        if self._redactor is None:
            from divert.model.redact import Redactor

            self._redactor = Redactor()
        return [r.text for r in self._redactor.redact_many(texts)]

    def score(self, calls: pd.DataFrame) -> ScoredChunk:
        """`calls` has the CALL_COLUMNS (missing optional ones are treated as empty)."""
        n = len(calls)
        col = {name: (calls[name].tolist() if name in calls.columns else [None] * n) for name in CALL_COLUMNS}
        rows = [int(r) if not _missing(r) else i + 1 for i, r in enumerate(col["row"])]
        rejects: list[dict[str, Any]] = []
        valid = _Valid()
        for i in range(n):
            call_id = _opt_str(col["id"][i])
            if call_id is None:
                rejects.append({"row": rows[i], "id": None, "code": "missing_id", "reason": "the call has no id"})
                continue
            raw = col["text"][i]
            raw = "" if _missing(raw) else str(raw)
            context = {k: v for k in PASSTHROUGH if (v := _opt_str(col[k][i])) is not None}
            try:
                parsed = parse_text(raw, max_chars=self.max_chars)
                when, source = self.policy.call_time(context, now=self.now)
            except InvalidInputError as exc:
                rejects.append({"row": rows[i], "id": call_id, "code": exc.code, "reason": exc.message})
                continue
            valid.ids.append(call_id)
            valid.rows.append(rows[i])
            # The model reads `preprocess(parsed.text)` (DivertModel.predict preprocesses what it is given).
            # `parsed.text` is `preprocess(raw)`: when that is the raw note itself, it is its own preprocessing.
            valid.texts.append(parsed.text if parsed.text == raw else preprocess(parsed.text))
            valid.contexts.append(context)
            valid.times.append((when, source))
            if self.redact:
                valid.notes.append(parsed.text)
        scored = self._scored(valid)
        rej = pd.DataFrame(rejects, columns=REJECT_SCHEMA.names) if rejects else empty_rejects()
        return ScoredChunk(scored=scored, rejects=rej.astype({"row": "int64"}))

    def _scored(self, valid: _Valid) -> pd.DataFrame:
        if not valid.ids:
            return self.schema.empty_table().to_pandas()
        n = len(valid.ids)
        # `valid.texts` are already what the scorer reads; the scorer, calibration and thresholds are the API that
        # every saved model's packaged code has (a worker process may run the model's own copy of `model/`)
        preds = Predictions(labels=self.model.labels, scores=self.model.calibrate(self.model.scorer.raw_scores(
            valid.texts)), thresholds=self.model.threshold_vector)
        labels = preds.labels
        thresholds = dict(zip(labels, preds.thresholds.tolist(), strict=True))
        decisions = preds.decisions
        out: dict[str, Any] = {"id": valid.ids, "row": valid.rows}
        for j, name in enumerate(labels):
            out[f"score_{name}"] = preds.scores[:, j].astype("float64")
        for j, name in enumerate(labels):
            out[f"decision_{name}"] = decisions[:, j].astype(bool)
        recs: dict[str, list[str | None]] = {k: [] for k in (
            "flags", "recommendation", "recommendation_kind", "additional", "rule", "route", "fallbacks",
            "time_source", "evaluated_at")}
        flags: dict[tuple[bool, ...], str] = {}
        for dec_row, score_row, context, (when, source) in zip(
                decisions.tolist(), preds.scores.tolist(), valid.contexts, valid.times, strict=True):
            key = tuple(dec_row)
            if key not in flags:
                flags[key] = ";".join(name for name, on in zip(labels, key, strict=True) if on)
            rec = self._recommend(labels, key, score_row, context, when, thresholds)
            recs["flags"].append(flags[key])
            recs["recommendation"].append(rec.primary)
            recs["recommendation_kind"].append(rec.primary_kind)
            recs["additional"].append(rec.additional)
            recs["rule"].append(rec.rule)
            recs["route"].append(rec.route)
            recs["fallbacks"].append(rec.fallbacks)
            recs["time_source"].append(source)
            # what `Policy.recommend` reports: the call time it evaluated the policy at
            recs["evaluated_at"].append(when.isoformat(timespec="seconds"))
        out |= recs
        for name in PASSTHROUGH:
            out[name] = [ctx.get(name) for ctx in valid.contexts]
        out["model_name"] = [self.model_name] * n
        out["model_version"] = [self.model_version] * n
        out["policy_version"] = [self.policy.policy_version] * n
        if self.redact:
            out["redacted_text"] = self._redact(valid.notes)
        return pd.DataFrame(out, columns=self.schema.names)

    def _recommend(self, labels: Sequence[str], decisions: tuple[bool, ...], scores: list[float],
                   context: dict[str, Any], when: datetime, thresholds: dict[str, float]) -> _Rec:
        """`Policy.recommend`'s answer, evaluated once per situation (`Policy.situation`) of the run."""
        dec = dict(zip(labels, decisions, strict=True))
        sco = dict(zip(labels, scores, strict=True))
        key = self.policy.situation(dec, sco, when, context.get("area"))
        rec = self._recs.get(key)
        if rec is None:
            full = self.policy.recommend(dec, sco, context, thresholds=thresholds, now=self.now)
            rec = _Rec(full.primary, full.primary_kind, ";".join(full.additional), full.rule,
                       self._routes.get(full.rule, "") if full.rule else "",
                       ";".join(f"{f.program}:{f.reason}" for f in full.fallbacks_applied))
            if len(self._recs) >= 100_000:
                self._recs.clear()
            self._recs[key] = rec
        return rec

    def to_table(self, scored: pd.DataFrame) -> pa.Table:
        return pa.Table.from_pandas(scored, schema=self.schema, preserve_index=False)


def rejects_table(rejects: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(rejects, schema=REJECT_SCHEMA, preserve_index=False)
