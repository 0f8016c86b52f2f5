"""`divert audit ...` (admin commands on the audit store) and `divert feedback export`.

The store is named by `--audit-url` (default: `DIVERT_AUDIT_URL`, else `sqlite:///divert-audit.db`, as the
server). `audit purge` is the only way records are ever deleted; it is not an HTTP route.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from divert.serving.audit.store import AuditStore

DEFAULT_URL = "sqlite:///divert-audit.db"

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Admin commands on the audit store: migrate, stats, purge, hash.")
feedback_app = typer.Typer(no_args_is_help=True, add_completion=False,
                           help="Reviewed predictions as training data.")

AuditUrl = Annotated[str, typer.Option("--audit-url", envvar="DIVERT_AUDIT_URL",
                                       help="SQLAlchemy URL of the audit store")]


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _store(url: str) -> AuditStore:
    from divert.serving.audit.store import AuditStore, AuditUnavailable

    store = AuditStore(url)
    try:
        store.migrate()
    except AuditUnavailable as exc:
        _fail(f"{store!r}: {exc}")
    return store


@app.command("migrate")
def migrate(audit_url: AuditUrl = DEFAULT_URL) -> None:
    """Create or upgrade the audit tables (`alembic upgrade head`); the server also does it at start-up."""
    store = _store(audit_url)
    typer.echo(f"ok: {store!r} is at the latest schema")


@app.command("stats")
def stats(audit_url: AuditUrl = DEFAULT_URL) -> None:
    """Agreement of the model with reviewers, per label and per model version (JSON)."""
    from divert.serving.audit.store import AuditUnavailable

    try:
        result = _store(audit_url).stats()
    except AuditUnavailable as exc:
        _fail(str(exc))
    typer.echo(json.dumps(result, indent=2))


@app.command("purge")
def purge(
    older_than_days: Annotated[int, typer.Option("--older-than-days", min=1, envvar="DIVERT_RETENTION_DAYS",
                                                 help="delete records created more than N days ago "
                                                      "(default: DIVERT_RETENTION_DAYS)")],
    audit_url: AuditUrl = DEFAULT_URL,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count, delete nothing")] = False,
) -> None:
    """Delete predictions older than the retention period, with their reviews, and report the counts."""
    from divert.serving.audit.store import AuditUnavailable

    try:
        report = _store(audit_url).purge(older_than_days, dry_run=dry_run)
    except AuditUnavailable as exc:
        _fail(str(exc))
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb} {report.predictions} predictions and {report.reviews} reviews created before "
               f"{report.cutoff.isoformat(timespec='seconds')}")


@app.command("hash")
def hash_text(
    text: Annotated[str | None, typer.Argument(help="the note text (default: read stdin)")] = None,
    key: Annotated[str, typer.Option("--key", envvar="DIVERT_AUDIT_HASH_KEY", help="the audit hash key",
                                     show_default=False)] = "",
) -> None:
    """The keyed hash of a CAD note, to find its record (`GET /v1/audit/predictions?text_hash=...`)."""
    from divert.model.inputs import parse_text
    from divert.model.redact import keyed_hash

    if not key:
        _fail("no key: set DIVERT_AUDIT_HASH_KEY or pass --key")
    raw = text if text is not None else sys.stdin.read()
    typer.echo(keyed_hash(parse_text(raw).text, key))


@feedback_app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="the dataset to write (.jsonl)")],
    audit_url: AuditUrl = DEFAULT_URL,
) -> None:
    """Write reviewed predictions as a labeled dataset (redacted text, reviewers' labels) in the training
    format: `divert data validate` accepts it and training takes it as one more `data.train` file."""
    from divert.serving.audit.export import export_feedback
    from divert.serving.audit.store import AuditUnavailable

    if out.suffix.lower() not in (".jsonl", ".ndjson"):
        _fail(f"--out {out}: write a .jsonl file")
    try:
        n, pending = export_feedback(_store(audit_url), out)
    except AuditUnavailable as exc:
        _fail(str(exc))
    typer.echo(f"wrote {n} reviewed predictions to {out}")
    if pending:
        typer.echo(f"left out {pending} reviewed predictions whose redacted text is still pending (deferred "
                   "redaction not finished, or lost when the server stopped)")
