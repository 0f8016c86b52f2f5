"""Finding the bundled export's true behavioral-health calls: nature codes alone, keyword rules, the weak-label
model, and the weak-label model after the top-ranked disagreements are reviewed.

    python bench/weak_labels.py                 # imports data/agency/export.csv.gz first (cached in .cache/)
    python bench/weak_labels.py --review-k 250 --review-k 1000

Steps (every model score is out-of-fold: no call is scored by a model that saw its own label):
1. `divert data import` of the bundled export (redacted, de-duplicated, labels from nature codes);
2. (a) codes alone: behavioral_health = 1 where the nature code says so (EDP, MNTL, MTLV, SUICIDE, SUICTHRT, OD);
   (b) keyword rules: the `keywords` baseline's behavioral_health score >= `--rules-threshold` (default 0.5);
   (a|b) their union;
3. (c) weak-label model: TF-IDF + logistic regression trained on the weak labels (codes, plus rules with weight
   0.6: a rule hit sets an unknown label to 1 but does not overturn a code's 0), 5-fold out-of-fold scores. The
   decision threshold is the best F1 against the *weak* labels of the known rows: no true label is used;
4. (d) the same after review: the top K rows of the label-error ranking (confident learning, behavioral_health)
   get their true label (a simulated reviewer), the model is refitted and scored out of fold again.
True labels come from `data/agency/truth.csv.gz` and are used for the metrics and the simulated review only.
Writes bench/results/weak_labels.json and prints the README table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BH = "behavioral_health"


def prf(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    tp = int((pred & truth).sum())
    fp = int((pred & ~truth).sum())
    fn = int((~pred & truth).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f1, 3), "flagged": int(pred.sum()),
            "true_positives": tp}


def best_f1_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The threshold with the best F1 against `labels` (NaN rows ignored)."""
    known = ~np.isnan(labels) & ~np.isnan(scores)
    s, y = scores[known], labels[known].astype(bool)
    best_t, best = 0.5, -1.0
    for t in np.unique(np.round(s, 3)):
        f1 = prf(s >= t, y)["f1"]
        if f1 > best:
            best_t, best = float(t), f1
    return best_t


def run_import(export: Path, mapping: Path, codes: Path, work: Path, fresh: bool) -> dict[str, Any]:
    from divert.model.exports import ExportMapping
    from divert.model.redact import Redactor
    from divert.training.agency.codes import CodeMap
    from divert.training.agency.importer import SUMMARY_FILE, import_export

    summary_path = work / SUMMARY_FILE
    stamp = f"{export.stat().st_size}:{export.stat().st_mtime_ns}"
    if not fresh and summary_path.is_file():
        cached = json.loads(summary_path.read_text())
        if cached.get("export_stamp") == stamp:
            print(f"reusing the import in {work} (--fresh to redo it)", file=sys.stderr)
            return dict(cached)
    started = time.perf_counter()
    summary = import_export(export, ExportMapping.load(mapping), work, code_map=CodeMap.load(codes),
                            redactor=Redactor().load(), workers=min(4, os.cpu_count() or 1),
                            progress=lambda n: print(f"\r  imported rows read: {n}", end="", file=sys.stderr))
    print(file=sys.stderr)
    out = {**summary.to_dict(), "export_stamp": stamp, "import_seconds": round(time.perf_counter() - started, 1)}
    summary_path.write_text(json.dumps(out, indent=1))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--export", type=Path, default=ROOT / "data/agency/export.csv.gz")
    ap.add_argument("--mapping", type=Path, default=ROOT / "data/agency/mapping.yaml")
    ap.add_argument("--codes", type=Path, default=ROOT / "data/agency/codes.yaml")
    ap.add_argument("--truth", type=Path, default=ROOT / "data/agency/truth.csv.gz")
    ap.add_argument("--work", type=Path, default=ROOT / ".cache/agency_import")
    ap.add_argument("--fresh", action="store_true", help="redo the import even if a cached one matches")
    ap.add_argument("--review-k", type=int, action="append", help="rows reviewed (repeatable; default 500)")
    ap.add_argument("--rules-weight", type=float, default=0.6)
    ap.add_argument("--rules-threshold", type=float, default=0.5)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/weak_labels.json")
    args = ap.parse_args(argv)
    review_ks = args.review_k or [500]

    from divert.model.labels import LABELS
    from divert.training.agency.review import features, flag_disagreements, oof_scores
    from divert.training.agency.weak import combine, rule_scores
    from divert.training.config import WeakSupervisionConfig
    from divert.training.dataset import load_dataset

    t0 = time.perf_counter()
    summary = run_import(args.export, args.mapping, args.codes, args.work, args.fresh)
    data = load_dataset(args.work / "calls.jsonl", allow_unknown=True)
    truth = pd.read_csv(args.truth, dtype={"IncidentNumber": str}).set_index("IncidentNumber")
    j = LABELS.index(BH)
    y_true = truth.loc[data.ids, BH].to_numpy().astype(bool)
    code_labels = data.labels
    rules = rule_scores(data.texts)
    results: dict[str, Any] = {}
    code_pred = code_labels[:, j] == 1
    rule_pred = rules[:, j] >= args.rules_threshold
    results["codes"] = prf(code_pred, y_true)
    results["rules"] = prf(rule_pred, y_true)
    results["codes_or_rules"] = prf(code_pred | rule_pred, y_true)

    weak_cfg = WeakSupervisionConfig(rules_weight=args.rules_weight)
    weak = combine(code_labels, weak_cfg, rules=rules)
    t_feat = time.perf_counter()
    X = features(data.texts)
    feat_s = time.perf_counter() - t_feat
    t_fit = time.perf_counter()
    scores = oof_scores(X, weak, folds=args.folds, label_indices=[j])
    fit_s = time.perf_counter() - t_fit
    thr = best_f1_threshold(scores[:, j], weak[:, j])
    results["weak_model"] = {**prf(scores[:, j] >= thr, y_true), "threshold": round(thr, 3)}

    flagged, cl_thresholds = flag_disagreements(code_labels, scores, hidden_labels=(BH,))  # as the report ranks
    bh_ranked = [f for f in flagged if f.label == BH]
    for k in review_ks:
        reviewed = weak.copy()
        top = [f.index for f in bh_ranked[:k]]
        reviewed[top, j] = y_true[top].astype(float)
        scores_k = oof_scores(X, reviewed, folds=args.folds, label_indices=[j])
        thr_k = best_f1_threshold(scores_k[:, j], reviewed[:, j])
        changed = int(sum(bool(weak[i, j] == 1) != bool(y_true[i]) or np.isnan(weak[i, j]) for i in top))
        results[f"weak_model_reviewed_{k}"] = {**prf(scores_k[:, j] >= thr_k, y_true), "threshold": round(thr_k, 3),
                                               "reviewed": len(top), "labels_changed_or_filled": changed,
                                               "reviewed_true_bh": int(y_true[top].sum())}

    known = ~np.isnan(weak[:, j])
    out = {
        "export": str(args.export.relative_to(ROOT)) if args.export.is_relative_to(ROOT) else str(args.export),
        "import": {k: summary[k] for k in ("read", "imported", "rejected", "duplicates", "adds_up")},
        "import_seconds": summary.get("import_seconds"),
        "calls": len(data), "true_bh_calls": int(y_true.sum()),
        "bh_label_from_codes": {"1": int((code_labels[:, j] == 1).sum()), "0": int((code_labels[:, j] == 0).sum()),
                                "unknown": int(np.isnan(code_labels[:, j]).sum())},
        "bh_weak_label": {"1": int((weak[:, j] == 1).sum()), "0": int((weak[:, j] == 0).sum()),
                          "unknown": int((~known).sum())},
        "confident_learning_thresholds": cl_thresholds.get(BH), "bh_flagged_for_review": len(bh_ranked),
        "methods": results, "features_seconds": round(feat_s, 1), "oof_fit_seconds": round(fit_s, 1),
        "total_seconds": round(time.perf_counter() - t0, 1), "cpu_count": os.cpu_count(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    names = {"codes": "(a) nature codes alone", "rules": f"(b) keyword rules (score >= {args.rules_threshold})",
             "codes_or_rules": "(a) or (b)", "weak_model": "(c) weak-label model (TF-IDF, out-of-fold)"}
    print(f"{len(data)} calls, {int(y_true.sum())} truly behavioral-health; behavioral_health from codes: "
          f"{out['bh_label_from_codes']}")
    print("\n| method | precision | recall | F1 | calls flagged |\n|---|---|---|---|---|")
    for key, m in results.items():
        name = names.get(key) or f"(d) weak-label model after reviewing the top {key.rsplit('_', 1)[-1]} rows"
        print(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['flagged']} |")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
