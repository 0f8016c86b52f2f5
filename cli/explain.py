"""`divert explain TEXT`: the words that pushed each label up (green) or down (red), with the scores."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from divert.model.explain import Explanation, LabelExplanation

console = Console()
err = Console(stderr=True)

SHOWN = 0.05  # words with |attribution| below this share of the label's largest are left plain
STRONG = 0.5  # ... and those above it are bold


def highlighted(text: str, label: LabelExplanation) -> Text:
    """The text with each word coloured by its attribution: green towards the label, red away from it."""
    out = Text(text)
    largest = max((abs(w.attribution) for w in label.words), default=0.0)
    if largest <= 0:
        return out
    for w in label.words:
        share = abs(w.attribution) / largest
        if share < SHOWN:
            continue
        colour = "green" if w.attribution > 0 else "red"
        out.stylize(f"bold {colour}" if share >= STRONG else colour, w.start, w.end)
    return out


def _summary(label: LabelExplanation) -> str:
    flag = "[bold]FLAGGED[/bold]" if label.decision else "not flagged"
    error = "" if label.completeness_error is None else f", completeness error {label.completeness_error:.2g}"
    return (f"[bold]{label.label}[/bold]  score {label.score:.3f} (threshold {label.threshold:.3f}) {flag}  "
            f"raw {label.raw_score:.3f}{error}")


def _top(label: LabelExplanation, k: int = 3) -> str:
    ranked = sorted(label.words, key=lambda w: w.attribution, reverse=True)
    towards = [f"{w.word} {w.attribution:+.2f}" for w in ranked[:k] if w.attribution > 0]
    away = [f"{w.word} {w.attribution:+.2f}" for w in ranked[::-1][:k] if w.attribution < 0]
    return f"  towards: {', '.join(towards) or '-'}   away: {', '.join(away) or '-'}"


def print_explanation(explanation: Explanation) -> None:
    console.print(f"model {explanation.model_name} ({explanation.model_kind}), method {explanation.method}"
                  + (f", {explanation.n_steps} steps" if explanation.n_steps else ""))
    for label in explanation.labels:
        console.print(_summary(label))
        console.print(highlighted(explanation.text, label))
        console.print(_top(label), markup=False, highlight=False)
        for rule in label.rules:
            console.print(f"  rule {rule.rule} matched {rule.text!r} at {rule.start}-{rule.end}"
                          + (" (negated: not counted)" if rule.negated else ""), markup=False, highlight=False)


def explain_command(
    text: Annotated[str, typer.Argument(help="the note to explain (quote it)")],
    model: Annotated[str, typer.Option("--model", help="alias, version, models:/ URI or local path")] = "champion",
    label: Annotated[list[str] | None, typer.Option("--label", help="a label to explain (repeatable; default all)")] = None,
    method: Annotated[str | None, typer.Option(help="exact, rules, integrated_gradients or occlusion "
                                                    "(default: the model kind's)")] = None,
    n_steps: Annotated[int | None, typer.Option(help="Integrated Gradients steps (default 32)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the explanation as JSON")] = False,
    registered_model: Annotated[str, typer.Option(help="registered model name for aliases and versions")] = "divert",
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI")] = None,
) -> None:
    """Explain a model's scores for TEXT word by word (green: towards the label, red: away from it)."""
    from divert.model.errors import DivertError
    from divert.model.explain import DEFAULT_IG_STEPS, explain
    from divert.model.inputs import parse_text
    from divert.model.pyfunc import load_model

    try:
        loaded = load_model(model, registered_model=registered_model, tracking_uri=tracking_uri)
        result = explain(loaded.model, parse_text(text).text, label, method=method,
                         n_steps=n_steps or DEFAULT_IG_STEPS)
    except DivertError as exc:
        err.print(f"[red]{exc.code}:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    if as_json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
    else:
        print_explanation(result)


def register(app: typer.Typer) -> None:
    """Add `divert explain` to the root app."""
    app.command("explain")(explain_command)
