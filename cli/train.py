"""`divert train`, `divert promote` and `divert compare`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err = Console(stderr=True)

DEFAULT_CONFIG = Path("training/configs/default.yaml")


def _overrides(pairs: list[str]) -> dict[str, Any]:
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"--set expects key=value, got {pair!r}")
        out[key] = yaml.safe_load(value)
    return out


def _load(config: Path, sets: list[str]) -> Any:
    from divert.training.config import ConfigError, load_config

    try:
        return load_config(config, _overrides(sets))
    except ConfigError as exc:
        err.print(f"[red]config error:[/red] {exc}")
        raise typer.Exit(2) from exc


def run_training(cfg: Any, show_progress: bool = True) -> Any:
    """Train with clean error reporting: a bad dataset or an interrupt ends with a message, not a traceback."""
    from divert.training.dataset import DatasetError
    from divert.training.pipeline import train

    try:
        return train(cfg, show_progress=show_progress)
    except DatasetError as exc:
        err.print(f"[red]dataset error:[/red] {exc}")
        raise typer.Exit(2) from exc
    except KeyboardInterrupt:
        err.print("[yellow]interrupted: the run is marked KILLED and nothing was registered[/yellow]")
        raise typer.Exit(130) from None


def print_result(result: Any) -> None:
    table = Table(title=f"run {result.run_id}")
    for col in ("set", "n", "macro F1", "95% CI", "macro PR-AUC"):
        table.add_column(col)
    for name, rep in result.reports.items():
        lo, hi = rep["macro_f1_ci"]
        ci = f"{lo:.3f}-{hi:.3f}" if lo == lo else "-"
        table.add_row(name, str(rep["n"]), f"{rep['macro_f1']:.3f}", ci, f"{rep['macro_pr_auc']:.3f}")
    console.print(table)
    console.print(f"gate: {'passed' if result.gate.passed else 'refused'} ({'; '.join(result.gate.reasons)})")
    if result.model_version:
        console.print(f"registered version {result.model_version} as '{result.alias}'")
    console.print(f"outputs: {result.output_dir}")


def train_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML training config")] = DEFAULT_CONFIG,
    set_: Annotated[list[str], typer.Option("--set", help="override a config value, e.g. transformer.epochs=1")] = [],  # noqa: B006
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
) -> None:
    """Train one model (keywords, tfidf or transformer), evaluate it, log it to MLflow and gate it into the registry."""
    cfg = _load(config, set_)
    print_result(run_training(cfg, progress))


def promote_command(
    version: Annotated[str | None, typer.Option(help="model version (default: the 'challenger' alias)")] = None,
    config: Annotated[Path, typer.Option("--config", "-c", help="config naming the gate metrics and tracking store")] = DEFAULT_CONFIG,
    force: Annotated[bool, typer.Option(help="promote even if it does not beat the champion")] = False,
    reason: Annotated[str | None, typer.Option(help="why (required with --force; logged on the version)")] = None,
) -> None:
    """Move the `champion` alias to a version only if it beats the current champion on the gate metrics."""
    import mlflow

    from divert.training.registry import PromotionError, promote

    cfg = _load(config, [])
    if cfg.tracking.tracking_uri:
        mlflow.set_tracking_uri(cfg.tracking.tracking_uri)
    try:
        result = promote(cfg.tracking.registered_model, version=version, compare_on=cfg.gate.compare_on,
                         min_improvement=cfg.gate.min_improvement, force=force, reason=reason)
    except PromotionError as exc:
        err.print(f"[red]promotion error:[/red] {exc}")
        raise typer.Exit(2) from exc
    for line in result.reasons:
        console.print(f"  {line}")
    if result.promoted:
        console.print(f"[green]version {result.version} is now champion[/green] (was {result.previous or 'none'})")
    else:
        console.print(f"[yellow]version {result.version} not promoted[/yellow]")
        raise typer.Exit(1)


def compare_command(
    config: Annotated[list[Path], typer.Option("--config", "-c", help="configs to train and compare, in order")],
    set_: Annotated[list[str], typer.Option("--set", help="override applied to every config")] = [],  # noqa: B006
    out: Annotated[Path | None, typer.Option(help="also write the markdown tables here")] = None,
) -> None:
    """Train several configs on the same data and print the comparison tables (markdown)."""
    from divert.training.compare import comparison_markdown

    cfgs = [_load(c, set_) for c in config]
    results = [(cfg, run_training(cfg)) for cfg in cfgs]
    text = comparison_markdown([(r.run_id, cfg.model, r.reports) for cfg, r in results])
    console.print(text, markup=False, highlight=False)
    if out:
        out.write_text(text)


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("promote")(promote_command)
    app.command("compare")(compare_command)
