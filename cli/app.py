"""The `divert` command: a thin Typer layer over importable functions.

Each command group lives in its own module and imports heavy libraries inside the command, so `divert --help`
stays fast.
"""

from __future__ import annotations

import typer

from divert.cli import audit, batch, data, evaluate, explain, report, serve, train, up

app = typer.Typer(
    name="divert",
    no_args_is_help=True,
    add_completion=False,
    help="Behavioral-health and violence-risk flags for 911 calls, with a diversion recommendation.",
)
app.add_typer(data.app, name="data", help="Generate, validate and profile labeled datasets.")
app.add_typer(evaluate.app, name="eval", help="Robustness and other checks of a trained model.")
app.add_typer(audit.app, name="audit")
app.add_typer(audit.feedback_app, name="feedback")
app.add_typer(batch.app, name="batch")
app.add_typer(report.app, name="report")
train.register(app)
serve.register(app)
up.register(app)
explain.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
