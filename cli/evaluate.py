"""`divert eval ...`: checks of a trained model on any labeled file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from divert.model.bundle import DivertModel

app = typer.Typer(no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _model(ref: str, tracking_uri: str | None) -> DivertModel:
    from divert.model.errors import ModelArtifactError
    from divert.model.pyfunc import load_model

    try:
        return load_model(ref, tracking_uri=tracking_uri).model
    except ModelArtifactError as exc:
        err.print(f"[red]model error:[/red] {exc}")
        raise typer.Exit(2) from exc


@app.command("robustness")
def robustness_command(
    data: Annotated[list[Path], typer.Option("--data", help="labeled JSONL/CSV files whose texts are perturbed")] = [  # noqa: B006
        Path("data/corpus/test.jsonl"), Path("data/handwritten/notes.jsonl")],
    model: Annotated[str, typer.Option(help="alias, version, models:/ URI or local path")] = "champion",
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI")] = None,
    limit: Annotated[int, typer.Option(help="at most this many notes (seeded sample)")] = 2000,
    markdown: Annotated[bool, typer.Option(help="print markdown tables")] = False,
) -> None:
    """Decision flip rates under case, typo and abbreviation perturbations, and negation turn-on rates."""
    import numpy as np

    from divert.training.dataset import DatasetError, load_many
    from divert.training.robustness import flip_rates, negation_turn_on_rates

    try:
        ds = load_many([p for p in data if p.exists()] or data)
    except DatasetError as exc:
        err.print(f"[red]dataset error:[/red] {exc}")
        raise typer.Exit(2) from exc
    texts = ds.texts
    if len(texts) > limit:
        idx = np.random.default_rng(0).choice(len(texts), limit, replace=False)
        texts = [texts[i] for i in sorted(idx)]
    m = _model(model, tracking_uri)
    reports = flip_rates(m, texts)
    neg = negation_turn_on_rates(m, texts)
    if markdown:
        console.print(f"Flip rates of `{m.kind}` on {len(texts)} notes ({', '.join(str(p) for p in data)})\n", markup=False)
        console.print("| perturbation | notes changed | decisions flipped | worst label |\n|---|---|---|---|", markup=False)
        for r in reports:
            worst = max(r.flips_per_label, key=lambda k: r.flips_per_label[k])
            console.print(f"| {r.perturbation} | {r.notes_changed} | {r.flip_rate:.2%} | {worst} {r.flips_per_label[worst]:.2%} |",
                          markup=False)
        console.print("\n| negated mention appended | label turned on |\n|---|---|", markup=False)
        for label, rate in neg.items():
            console.print(f"| {label} | {rate:.2%} |", markup=False)
        return
    table = Table(title=f"decision flip rates ({m.kind}, {len(texts)} notes)")
    for col in ("perturbation", "notes changed", "decisions flipped", *m.labels):
        table.add_column(col)
    for r in reports:
        table.add_row(r.perturbation, str(r.notes_changed), f"{r.flip_rate:.2%}",
                      *[f"{r.flips_per_label[lab]:.2%}" for lab in m.labels])
    console.print(table)
    neg_table = Table(title="negated mention appended: share of off decisions turned on")
    neg_table.add_column("label")
    neg_table.add_column("turned on")
    for label, rate in neg.items():
        neg_table.add_row(label, f"{rate:.2%}")
    console.print(neg_table)


@app.command("paired")
def paired_command(
    model: Annotated[list[str], typer.Option("--model", "-m", help="two or more models (alias, version, URI, path); "
                                             "each is compared with the first")],
    data: Annotated[list[Path], typer.Option("--data", help="labeled files, one evaluation set each")] = [  # noqa: B006
        Path("data/corpus/test.jsonl"), Path("data/corpus/challenge.jsonl"), Path("data/handwritten")],
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI")] = None,
    samples: Annotated[int, typer.Option(help="bootstrap resamples")] = 1000,
) -> None:
    """Paired comparison on the same notes: macro F1 difference of each model against the first, with a 95%
    bootstrap interval of the difference (both models scored on the same resample each time)."""
    from divert.training.dataset import DatasetError, load_many
    from divert.training.evaluate import macro_f1, paired_bootstrap_macro_f1

    if len(model) < 2:
        err.print("[red]give at least two --model options[/red]")
        raise typer.Exit(2)
    models = {ref: _model(ref, tracking_uri) for ref in model}
    base_ref = model[0]
    console.print(f"Macro F1 difference against `{base_ref}` ({models[base_ref].kind}), paired bootstrap of "
                  f"{samples} row resamples\n", markup=False)
    console.print("| set | notes | model | macro F1 | difference (95% CI) | resamples not ahead |\n|---|---|---|---|---|---|",
                  markup=False)
    for path in data:
        files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
        try:
            ds = load_many(files)
        except DatasetError as exc:
            err.print(f"[red]dataset error:[/red] {exc}")
            raise typer.Exit(2) from exc
        decisions = {ref: m.predict(ds.texts).decisions for ref, m in models.items()}
        base = decisions[base_ref]
        console.print(f"| {path.stem} | {len(ds)} | {base_ref} | {macro_f1(base, ds.labels):.3f} | | |", markup=False)
        for ref in model[1:]:
            diff, (lo, hi), not_ahead = paired_bootstrap_macro_f1(decisions[ref], base, ds.labels, samples)
            console.print(f"| {path.stem} | {len(ds)} | {ref} | {macro_f1(decisions[ref], ds.labels):.3f} | "
                          f"{diff:+.3f} ({lo:+.3f} to {hi:+.3f}) | {not_ahead:.1%} |", markup=False)
