"""`divert report diversion SCORED`: what a crisis team could have taken, when, where, and how many teams."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Reports on scored call histories.")


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@app.command("diversion")
def diversion(
    scored: Annotated[Path, typer.Argument(help="output of `divert batch score` (the folder) or its Parquet")],
    policy: Annotated[Path | None, typer.Option(help="policy YAML with a `planning` section (default: the "
                                                "packaged default)")] = None,
    out: Annotated[Path, typer.Option("--out", help="folder for report.html and the CSV tables")] = Path("report"),
) -> None:
    """Write a self-contained HTML report (plots embedded) and its tables as CSV."""
    from divert.model.errors import DivertError
    from divert.model.policy import load_policy
    from divert.serving.report.diversion import diversion_report
    from divert.serving.report.html import write_report

    try:
        report = diversion_report(scored, load_policy(policy))
        path = write_report(report, out)
    except DivertError as exc:
        _fail(exc.message)
    s = report.summary
    typer.echo(f"{s['calls scored']:,} calls; a crisis team could take {s['crisis team could take']:,}, "
               f"{s['outside the team' + chr(39) + 's hours']:,} of them outside its hours; "
               f"{s['hidden behavioral-health calls (text flags, code does not)']:,} hidden behavioral-health calls")
    typer.echo(f"report: {path}")
