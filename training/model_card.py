"""A model card generated from a training run's reports (logged as an MLflow artifact and kept in the bundle)."""

from __future__ import annotations

from typing import Any

from divert.model.labels import LABEL_DEFINITIONS

INTENDED_USE = (
    "A second opinion for 911 call-takers and dispatchers: it flags behavioral-health crises, suicide risk, "
    "substance use, violence risk and medical emergencies in CAD notes and call transcripts, and a community "
    "policy turns the flags into a recommended response (crisis team, co-responder, police, EMS). A person "
    "decides; the model never dispatches on its own."
)

LIMITS = (
    "Trained on generated notes (no labeled real 911 data could be used); the hand-written set, written by "
    "people and never used for training, thresholds or selection, is the closest estimate of real-text "
    "performance and should be watched, not the generated test set. Behavioral-health calls are oversampled "
    "compared with real dispatch (about 2%), so scores are calibrated to the corpus mix, not to a real "
    "centre's: recalibrate on local reviewed calls before relying on the numbers. English with some Spanish "
    "mixing only. Not validated for radio traffic, TTY or other languages."
)


def _fmt(x: Any) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def render(*, name: str, kind: str, config: dict[str, Any], data: dict[str, Any], thresholds: dict[str, float],
           threshold_rules: dict[str, str], reports: dict[str, dict[str, Any]]) -> str:
    lines = [f"# Model card: {name} ({kind})", "", "## Intended use", INTENDED_USE, "", "## Labels"]
    lines += [f"- `{d.name}`: {d.definition}" for d in LABEL_DEFINITIONS]
    lines += ["", "## Data", *[f"- {k}: {v}" for k, v in data.items()], "", "## Decision thresholds",
              "| label | threshold | rule |", "|---|---|---|"]
    lines += [f"| {k} | {v:.3f} | {threshold_rules.get(k, '')} |" for k, v in thresholds.items()]
    lines += ["", "## Metrics", "| set | n | macro F1 | 95% CI | macro PR-AUC |", "|---|---|---|---|---|"]
    for set_name, rep in reports.items():
        lo, hi = rep["macro_f1_ci"]
        lines.append(f"| {set_name} | {rep['n']} | {_fmt(rep['macro_f1'])} | {_fmt(lo)}-{_fmt(hi)} | {_fmt(rep['macro_pr_auc'])} |")
    for set_name, rep in reports.items():
        lines += ["", f"### {set_name}: per label", "| label | P | R | F1 | F1 95% CI | PR-AUC | ROC-AUC | Brier | ECE | pos |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for label, m in rep["labels"].items():
            lo, hi = m.get("f1_ci", [float("nan"), float("nan")])
            lines.append(f"| {label} | {_fmt(m['precision'])} | {_fmt(m['recall'])} | {_fmt(m['f1'])} | {_fmt(lo)}-{_fmt(hi)} | "
                         f"{_fmt(m['pr_auc'])} | {_fmt(m['roc_auc'])} | {_fmt(m['brier'])} | {_fmt(m['ece'])} | {int(m['positives'])} |")
        styles = rep.get("slices", {}).get("style", {})
        if styles:
            lines += ["", f"### {set_name}: by input style", "| style | n | macro F1 | 95% CI |", "|---|---|---|---|"]
            for style, s in styles.items():
                lo, hi = s["macro_f1_ci"]
                lines.append(f"| {style} | {s['n']} | {_fmt(s['macro_f1'])} | {_fmt(lo)}-{_fmt(hi)} |")
    lines += ["", "## Limits", LIMITS, "", "## Configuration", "```", *[f"{k}: {v}" for k, v in sorted(config.items())], "```"]
    return "\n".join(lines) + "\n"
