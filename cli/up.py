"""`divert up`: make sure a champion exists (train and promote the default model if not), then serve it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from divert.cli.serve import serve
from divert.cli.train import DEFAULT_CONFIG, _load, print_result, run_training

if TYPE_CHECKING:
    from divert.training.config import TrainConfig

console = Console(stderr=True)


def ensure_champion(cfg: TrainConfig) -> str:
    """Return the champion's version, training and promoting the config's model first when there is none."""
    import mlflow

    from divert.training.registry import champion_version, promote

    if cfg.tracking.tracking_uri:
        mlflow.set_tracking_uri(cfg.tracking.tracking_uri)
    name = cfg.tracking.registered_model
    version = champion_version(name)
    if version is not None:
        console.print(f"champion: {name} version {version} (registry {mlflow.get_tracking_uri()})")
        return version
    console.print(f"[bold]no champion registered for '{name}': training the default model ({cfg.model}) on the "
                  f"bundled corpus[/bold]")
    result = run_training(cfg)
    print_result(result)
    if result.model_version is None:
        console.print("[red]the trained model did not pass the config's metric floors; nothing to serve[/red]")
        raise typer.Exit(1)
    promoted = promote(name, version=result.model_version, compare_on=cfg.gate.compare_on)
    console.print(f"promoted version {promoted.version} to champion")
    return promoted.version


def up_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="training config used when no champion exists")] = DEFAULT_CONFIG,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
) -> None:
    """Train and promote the default model if none is registered, then serve it with a local API key."""
    cfg = _load(config, [])
    ensure_champion(cfg)
    serve(model="champion", host=host, port=port, policy=None, tracking_uri=cfg.tracking.tracking_uri,
          dev_key=True, log_level="info")


def register(app: typer.Typer) -> None:
    app.command("up")(up_command)
