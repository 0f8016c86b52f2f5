"""Side-by-side tables of several training runs (the README's model table comes from here)."""

from __future__ import annotations

from typing import Any


def _cell(rep: dict[str, Any] | None) -> str:
    if rep is None:
        return "-"
    lo, hi = rep["macro_f1_ci"]
    return f"{rep['macro_f1']:.3f} ({lo:.3f}-{hi:.3f})" if lo == lo else f"{rep['macro_f1']:.3f}"


def _label_cell(m: dict[str, Any] | None) -> str:
    if m is None:
        return "-"
    lo, hi = m.get("f1_ci", [float("nan"), float("nan")])
    return f"{m['f1']:.3f} ({lo:.2f}-{hi:.2f})" if lo == lo else f"{m['f1']:.3f}"


def comparison_markdown(runs: list[tuple[str, str, dict[str, dict[str, Any]]]]) -> str:
    """`runs`: (run id, model kind, reports by set). Macro F1 with 95% bootstrap intervals."""
    sets = [s for s in ("test", "challenge", "handwritten") if any(s in r for _, _, r in runs)]
    lines = ["Macro F1 (95% bootstrap CI)", "", "| model | " + " | ".join(sets) + " | run |",
             "|---|" + "---|" * len(sets) + "---|"]
    for run_id, kind, reports in runs:
        lines.append(f"| {kind} | " + " | ".join(_cell(reports.get(s)) for s in sets) + f" | {run_id[:8]} |")
    for set_name in sets:
        styles = sorted({st for _, _, r in runs for st in r.get(set_name, {}).get("slices", {}).get("style", {})})
        if len(styles) < 2:
            continue
        lines += ["", f"{set_name} set by input style: macro F1 (95% CI)", "",
                  "| model | " + " | ".join(styles) + " |", "|---|" + "---|" * len(styles)]
        for _, kind, reports in runs:
            by_style = reports.get(set_name, {}).get("slices", {}).get("style", {})
            lines.append(f"| {kind} | " + " | ".join(_cell(by_style.get(st)) for st in styles) + " |")
    labels = sorted({lab for _, _, r in runs for s in sets for lab in r.get(s, {}).get("labels", {})})
    for set_name in sets:
        lines += ["", f"{set_name} set: F1 per label (95% CI)", "", "| model | " + " | ".join(labels) + " |",
                  "|---|" + "---|" * len(labels)]
        for _, kind, reports in runs:
            per = reports.get(set_name, {}).get("labels", {})
            lines.append(f"| {kind} | " + " | ".join(_label_cell(per.get(lab)) for lab in labels) + " |")
    return "\n".join(lines) + "\n"
