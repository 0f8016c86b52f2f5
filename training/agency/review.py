"""Where the nature codes and the text disagree: out-of-fold scores, a ranked label-error list, hidden
behavioral-health calls per nature code, and loading the ranked rows into the audit store for review.

Out-of-fold scores (`oof_scores`): the rows are split into K folds; for each fold a TF-IDF + logistic regression
per label is fitted on the *known* labels of the other folds and scores the fold, so no row is scored by a model
that saw its own (possibly wrong) label. Confident learning (Northcutt et al., 2021) then flags a row whose given
label is 0 when its score for 1 reaches the label's threshold t1 (the mean score of the rows labeled 1), and a
row labeled 1 when its score for 0 (1 - score) reaches t0 (the mean of 1 - score over rows labeled 0). A row whose
behavioral_health label is unknown (the code says nothing: DISTURBANCE, WELFARE CHECK...) or 0 and whose score
reaches t1 is a "hidden" behavioral-health call. Rows are ranked by how far the score is past the threshold.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from divert.model.labels import LABELS
from divert.training.config import TfidfConfig
from divert.training.dataset import Dataset
from divert.training.train_tfidf import build_vectorizers

BH = "behavioral_health"
RANKED_FILE = "label_errors.csv"
HIDDEN_FILE = "hidden_bh_by_code.csv"
REPORT_FILE = "label_errors.md"
RANKED_COLUMNS = ("rank", "id", "row", "nature_code", "label", "given", "score", "threshold", "margin", "kind",
                  "text")


def features(texts: list[str], cfg: TfidfConfig | None = None) -> sp.csr_matrix:
    """TF-IDF word and character n-grams (the `tfidf` model's features), fitted on these texts (unsupervised)."""
    cfg = cfg or TfidfConfig()
    return sp.hstack([vec.fit_transform(texts) for _, vec in build_vectorizers(cfg)], format="csr")


def oof_scores(X: sp.csr_matrix, labels: np.ndarray, *, folds: int = 5, seed: int = 13, C: float = 4.0,
               label_indices: list[int] | None = None) -> np.ndarray:
    """(n, L) out-of-fold probabilities (NaN for labels not computed or with one class only)."""
    n = X.shape[0]
    out = np.full(labels.shape, np.nan)
    kf = KFold(n_splits=folds, shuffle=True, random_state=seed)
    for j in label_indices if label_indices is not None else range(labels.shape[1]):
        y = labels[:, j]
        known = ~np.isnan(y)
        if len(np.unique(y[known])) < 2:
            continue
        for train_idx, test_idx in kf.split(np.arange(n)):
            fit = train_idx[known[train_idx]]
            if len(np.unique(y[fit])) < 2:
                continue
            clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, solver="liblinear",
                                     random_state=seed)
            clf.fit(X[fit], y[fit].astype(int))
            out[test_idx, j] = clf.predict_proba(X[test_idx])[:, 1]
    return out


@dataclass
class Flagged:
    index: int
    label: str
    given: float  # 1, 0 or NaN (unknown)
    score: float
    threshold: float
    kind: str

    @property
    def margin(self) -> float:
        """How far past the threshold (in the direction of the disagreement)."""
        return self.score - self.threshold if self.kind != "code_1_text_0" else (1 - self.score) - self.threshold


def flag_disagreements(labels: np.ndarray, scores: np.ndarray, *, hidden_labels: tuple[str, ...] = (BH,)
                       ) -> tuple[list[Flagged], dict[str, dict[str, float]]]:
    """Confident-learning flags per label (see the module docstring), most confident first, and the thresholds."""
    flagged: list[Flagged] = []
    thresholds: dict[str, dict[str, float]] = {}
    for j, name in enumerate(LABELS):
        s, y = scores[:, j], labels[:, j]
        ok = ~np.isnan(s)
        pos, neg = ok & (y == 1), ok & (y == 0)
        if not pos.any() or not neg.any():
            continue
        t1, t0 = float(s[pos].mean()), float((1 - s[neg]).mean())
        thresholds[name] = {"t1": t1, "t0": t0}
        for i in np.flatnonzero(neg & (s >= t1)):
            flagged.append(Flagged(int(i), name, 0.0, float(s[i]), t1, "code_0_text_1"))
        for i in np.flatnonzero(pos & (1 - s >= t0)):
            flagged.append(Flagged(int(i), name, 1.0, float(s[i]), t0, "code_1_text_0"))
        if name in hidden_labels:
            for i in np.flatnonzero(ok & np.isnan(y) & (s >= t1)):
                flagged.append(Flagged(int(i), name, math.nan, float(s[i]), t1, "unknown_text_1"))
    flagged.sort(key=lambda f: -f.margin)
    return flagged, thresholds


def hidden_by_code(data: Dataset, labels: np.ndarray, scores: np.ndarray, threshold: float) -> list[dict[str, Any]]:
    """Per nature code: calls, calls whose code does not say behavioral health but whose text does (score at or
    above `threshold`), and that share; most hidden first."""
    j = LABELS.index(BH)
    calls: Counter[str] = Counter()
    hidden: Counter[str] = Counter()
    for i, meta in enumerate(data.meta):
        code = str(meta.get("nature_code") or "(none)")
        calls[code] += 1
        if labels[i, j] != 1 and not math.isnan(scores[i, j]) and scores[i, j] >= threshold:
            hidden[code] += 1
    rows = [{"nature_code": c, "calls": n, "hidden_bh": hidden[c], "share": round(hidden[c] / n, 4)}
            for c, n in calls.items()]
    return sorted(rows, key=lambda r: (-r["hidden_bh"], r["nature_code"]))


@dataclass
class LabelErrorReport:
    flagged: list[Flagged]
    thresholds: dict[str, dict[str, float]]
    hidden: list[dict[str, Any]]
    files: dict[str, Path]


def _excerpt(text: str, n: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


def write_report(data: Dataset, labels: np.ndarray, scores: np.ndarray, out: Path | str, *, top: int = 30
                 ) -> LabelErrorReport:
    """`label_errors.csv` (every flagged row, ranked), `hidden_bh_by_code.csv` and `label_errors.md`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    flagged, thresholds = flag_disagreements(labels, scores)
    t1 = thresholds.get(BH, {}).get("t1", 0.5)
    hidden = hidden_by_code(data, labels, scores, t1)
    files = {"ranked": out / RANKED_FILE, "hidden": out / HIDDEN_FILE, "markdown": out / REPORT_FILE}
    with files["ranked"].open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(RANKED_COLUMNS)
        for rank, f in enumerate(flagged, start=1):
            meta = data.meta[f.index]
            w.writerow([rank, data.ids[f.index], meta.get("row", ""), meta.get("nature_code") or "", f.label,
                        "unknown" if math.isnan(f.given) else int(f.given), round(f.score, 4),
                        round(f.threshold, 4), round(f.margin, 4), f.kind, _excerpt(data.texts[f.index], 300)])
    with files["hidden"].open("w", encoding="utf-8", newline="") as fh:
        dw = csv.DictWriter(fh, fieldnames=["nature_code", "calls", "hidden_bh", "share"])
        dw.writeheader()
        dw.writerows(hidden)
    kinds = Counter((f.label, f.kind) for f in flagged)
    lines = ["# Where the nature codes and the text disagree", "",
             f"{len(data)} calls; out-of-fold TF-IDF scores; confident-learning thresholds per label.", "",
             "| label | t1 | t0 | code 0, text 1 | code 1, text 0 | unknown, text 1 |", "|---|---|---|---|---|---|"]
    for name, t in thresholds.items():
        lines.append(f"| {name} | {t['t1']:.3f} | {t['t0']:.3f} | {kinds[(name, 'code_0_text_1')]} | "
                     f"{kinds[(name, 'code_1_text_0')]} | {kinds[(name, 'unknown_text_1')] or ''} |")
    lines += ["", f"## Hidden behavioral-health calls per nature code (score >= t1 = {t1:.3f}, code does not say BH)",
              "", "| nature code | calls | hidden BH | share |", "|---|---|---|---|"]
    lines += [f"| {r['nature_code']} | {r['calls']} | {r['hidden_bh']} | {100 * r['share']:.1f}% |"
              for r in hidden[:20] if r["hidden_bh"]]
    lines += ["", f"## Top {top} rows to review (texts are redacted)", "",
              "| rank | id | code | label | given | score | kind | text |", "|---|---|---|---|---|---|---|---|"]
    for rank, f in enumerate(flagged[:top], start=1):
        given = "?" if math.isnan(f.given) else str(int(f.given))
        text = _excerpt(data.texts[f.index]).replace("|", "\\|")
        lines.append(f"| {rank} | {data.ids[f.index]} | {data.meta[f.index].get('nature_code') or ''} | {f.label} "
                     f"| {given} | {f.score:.2f} | {f.kind} | {text} |")
    files["markdown"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return LabelErrorReport(flagged, thresholds, hidden, files)


# ------------------------------------------------------------------------------------------ review queue


def review_items(data: Dataset, scores: np.ndarray, ranked: list[Flagged], *, limit: int = 500,
                 thresholds: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """The top `limit` ranked rows (one per call, best first) as review items: the fields of an audit
    prediction (`divert data label-errors --audit-url` records them with `AuditStore.record`). Texts are the
    imported, already redacted texts. `detail` carries `{"source": "agency_import", "review_rank": r, ...}`.

    The review queue (`serving/audit/queue.py`, `review_boost`) puts items whose detail says `agency_import`
    before the service's own predictions, in `review_rank` order.
    """
    thresholds = thresholds or dict.fromkeys(LABELS, 0.5)
    seen: set[int] = set()
    items: list[dict[str, Any]] = []
    for f in ranked:
        if f.index in seen:
            continue
        seen.add(f.index)
        s = {name: (0.0 if math.isnan(v) else float(v)) for name, v in zip(LABELS, scores[f.index], strict=True)}
        meta = data.meta[f.index]
        items.append({
            "call_id": str(data.ids[f.index]), "text": data.texts[f.index], "scores": s, "thresholds": thresholds,
            "decisions": {name: bool(v >= thresholds[name]) for name, v in s.items()},
            "redactions": dict(meta.get("redactions") or {}),
            "detail": {"source": "agency_import", "review_rank": len(items) + 1, "label": f.label, "kind": f.kind,
                       "nature_code": meta.get("nature_code"), "row": meta.get("row"),
                       "given": None if math.isnan(f.given) else int(f.given), "score": round(f.score, 4)},
        })
        if len(items) >= limit:
            break
    return items


def summary_json(report: LabelErrorReport) -> str:
    kinds = Counter(f"{f.label}:{f.kind}" for f in report.flagged)
    return json.dumps({"flagged": len(report.flagged), "by_kind": dict(kinds), "thresholds": report.thresholds,
                       "files": {k: str(v) for k, v in report.files.items()}}, indent=1)


@dataclass
class Analysis:
    data: Dataset
    labels: np.ndarray  # the weak labels the scores were fitted on (data.labels: the codes' labels)
    scores: np.ndarray  # out-of-fold
    report: LabelErrorReport


def analyse(calls: Path | str, out: Path | str, *, weak: Any = None, folds: int = 5, seed: int = 13,
            labels: tuple[str, ...] = LABELS, tfidf: TfidfConfig | None = None) -> Analysis:
    """Load an imported `calls.jsonl`, combine its weak labels (`weak`: a `WeakSupervisionConfig`, default: the
    nature-code labels alone), score every row out of fold and write the label-error report into `out`."""
    from divert.training.agency.weak import weak_labels
    from divert.training.config import WeakSupervisionConfig
    from divert.training.dataset import load_dataset

    data = load_dataset(calls, allow_unknown=True)
    y = weak_labels(data, weak or WeakSupervisionConfig())
    X = features(data.texts, tfidf)
    scores = oof_scores(X, y, folds=folds, seed=seed, label_indices=[LABELS.index(n) for n in labels])
    # disagreements are judged against what the codes say (data.labels), not against the combined weak labels:
    # a rule hit on a call coded MVA ("SUICIDE DOORS") is a code-0/text-1 disagreement for a person to check
    return Analysis(data, y, scores, write_report(data, data.labels, scores, out))
