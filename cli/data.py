"""`divert data`: validate, generate and profile labeled datasets (thin over `divert.training`)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from divert.model.labels import LABELS

if TYPE_CHECKING:  # the dataset module pulls numpy/scipy/rapidfuzz: imported inside commands, `--help` stays fast
    from divert.training.dataset import RowProblem, SplitsReport

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Generate, validate and profile labeled datasets.")

MAX_PROBLEM_ROWS = 50

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def _fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


# ------------------------------------------------------------------------------------------------ validate


def _split_name(path: Path, taken: Mapping[str, Path]) -> str:
    name = path.stem
    return name if name not in taken else f"{path.parent.name}/{path.stem}"


def resolve_splits(paths: Sequence[Path]) -> dict[str, Path]:
    """Files and folders to {split name: file}; a folder contributes its `*.jsonl`/`*.csv` files."""
    from divert.training.dataset import DatasetError, discover_splits

    splits: dict[str, Path] = {}
    for path in paths:
        if path.is_dir():
            found = discover_splits(path)
            for file in found.values():
                splits[_split_name(file, splits)] = file
        elif not path.exists():
            raise DatasetError(f"file not found: {path}")
        else:
            splits[_split_name(path, splits)] = path
    return splits


def _pct(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:.1f}%"


def _files_table(report: SplitsReport) -> Table:
    table = Table(title="Files")
    for column in ("split", "path", "rows read", "ok", "rejected"):
        table.add_column(column, justify="right" if column not in ("split", "path") else "left")
    for name, r in report.reports.items():
        table.add_row(escape(name), escape(str(r.path)), str(r.rows_read), str(r.rows_ok), str(r.rows_rejected))
    return table


def _labels_table(report: SplitsReport) -> Table:
    table = Table(title="Prevalence per label (positives / known)")
    table.add_column("label")
    for name in report.stats:
        table.add_column(escape(name), justify="right")
    for label in LABELS:
        cells = [
            f"{_pct(s.prevalence[label])} ({s.positives[label]}/{s.known[label]})" for s in report.stats.values()
        ]
        table.add_row(label, *cells)
    table.add_row("rows", *[str(s.rows) for s in report.stats.values()], style="bold")
    return table


def _styles_table(report: SplitsReport) -> Table:
    table = Table(title="Rows per style")
    table.add_column("style")
    for name in report.stats:
        table.add_column(escape(name), justify="right")
    styles = sorted({style for s in report.stats.values() for style in s.styles})
    for style in styles:
        table.add_row(escape(style), *[str(s.styles.get(style, 0)) for s in report.stats.values()])
    return table


def _problems_table(problems: Sequence[RowProblem]) -> Table:
    shown = min(len(problems), MAX_PROBLEM_ROWS)
    table = Table(title=f"Problems (first {shown} of {len(problems)})")
    for column in ("split", "row", "id", "field", "code", "message"):
        table.add_column(column, justify="right" if column == "row" else "left", overflow="fold")
    for p in problems[:MAX_PROBLEM_ROWS]:
        table.add_row(
            escape(p.split or ""), str(p.row), escape(p.id or ""), escape(p.field), p.code, escape(p.message)
        )
    return table


def _codes_table(counts: Mapping[str, int]) -> Table:
    table = Table(title="Problems per code")
    table.add_column("code")
    table.add_column("count", justify="right")
    for code, count in counts.items():
        table.add_row(code, str(count))
    return table


def print_splits_report(report: SplitsReport) -> None:
    console.print(_files_table(report))
    console.print(_labels_table(report))
    console.print(_styles_table(report))
    problems = report.problems()
    if problems:
        console.print(_problems_table(problems))
        console.print(_codes_table(report.problem_counts()))
        console.print(f"[bold red]FAILED[/]: {len(problems)} problems")
    else:
        seconds = report.timings.get("duplicates_s", 0.0)
        console.print(f"[bold green]OK[/]: no problems (cross-split duplicate checks took {seconds:.1f}s)")


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="JSONL/CSV files, or folders of them (one split per file).")],
    text_column: Annotated[str, typer.Option("--text-column", help="Column/key holding the text.")] = "text",
    allow_unknown: Annotated[
        bool, typer.Option("--allow-unknown", help="Accept null / empty label values as unknown.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a machine-readable report.")] = False,
) -> None:
    """Validate dataset files: row problems, cross-split duplicates and group overlap. Exit 1 on problems."""
    from divert.training.dataset import DatasetError, validate_splits

    try:
        splits = resolve_splits(paths)
        report = validate_splits(splits, text_column=text_column, allow_unknown=allow_unknown)
    except DatasetError as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print_splits_report(report)
    raise typer.Exit(0 if report.ok else 1)


# ------------------------------------------------------------------------------------ generate and profile


def _plain(value: Any) -> Any:
    """Dataclasses, pydantic models and objects with `to_dict` as plain dicts; anything else unchanged."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    for method in ("to_dict", "model_dump"):
        if callable(getattr(value, method, None)):
            return getattr(value, method)()
    return value


def format_value(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, tuple | list) and len(value) == 2 and all(isinstance(v, int | float) for v in value):
        return f"{format_value(value[0])} – {format_value(value[1])}"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


COMPARISON_HEADER = ("figure", "corpus", "real range", "inside")


def comparison_cells(row: Any) -> list[str]:
    """One reference comparison as (figure, corpus value, real range, inside): an object with `figure`, `value`,
    `low`, `high`, `inside` (divert.training.corpus.profile.ComparisonRow), a mapping or a 4-sequence."""
    if all(hasattr(row, a) for a in ("figure", "value", "low", "high", "inside")):
        return [str(row.figure), format_value(row.value), format_value((row.low, row.high)), format_value(row.inside)]
    values = list(_plain(row).values()) if isinstance(_plain(row), Mapping) else list(row)
    return [format_value(v) for v in values]


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *(line(r) for r in rows)])


def print_rows(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool = False) -> None:
    if markdown:
        typer.echo(_markdown(header, rows))
        return
    table = Table(title=escape(title))
    for i, column in enumerate(header):
        table.add_column(escape(column), justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*[escape(c) for c in row])
    console.print(table)


def _is_grid(value: Any) -> bool:
    """A mapping of mappings of scalars, e.g. {split: {label: count}}: printed as one table."""
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(isinstance(v, Mapping) and not any(isinstance(x, Mapping) for x in v.values()) for v in value.values())
    )


def print_summary(summary: Any, title: str = "Corpus") -> None:
    """A summary mapping: scalars in one table, each mapping in its own (a mapping of mappings as a grid)."""
    plain = _plain(summary)
    if not isinstance(plain, Mapping):
        console.print(escape(str(plain)))
        return
    scalars = [[str(k), format_value(v)] for k, v in plain.items() if not isinstance(v, Mapping)]
    if scalars:
        print_rows(title, ("figure", "value"), scalars)
    for key, value in plain.items():
        if _is_grid(value):
            columns = list(value)
            keys = list(dict.fromkeys(k for inner in value.values() for k in inner))
            rows = [[str(k), *(format_value(value[c].get(k, 0)) for c in columns)] for k in keys]
            print_rows(str(key), ("", *map(str, columns)), rows)
        elif isinstance(value, Mapping):
            print_rows(str(key), (str(key), "value"), [[str(k), format_value(v)] for k, v in value.items()])


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder for the corpus splits.")] = Path("data/corpus"),
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (default: the generator's).")] = None,
) -> None:
    """Generate the synthetic labeled corpus (train/validation/test/challenge JSONL) into OUT."""
    from divert.training.corpus.generate import generate_corpus

    kwargs: dict[str, Any] = {} if seed is None else {"seed": seed}
    try:
        summary = generate_corpus(out, **kwargs)
    except OSError as exc:
        _fail(f"cannot write corpus to {out}: {exc.strerror or exc}")
    print_summary(summary)
    console.print(f"wrote {escape(str(out))}")


@app.command()
def profile(
    file: Annotated[Path, typer.Argument(help="A JSONL/CSV dataset file.")],
    compare_reference: Annotated[
        bool, typer.Option("--compare-reference", help="Compare with the real-data reference ranges.")
    ] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a markdown table.")] = False,
) -> None:
    """Profile a dataset file's texts (length, case, abbreviations...), optionally against real-data ranges."""
    if not file.is_file():
        _fail(f"file not found: {file}" if not file.exists() else f"not a file: {file}")
    from divert.training.corpus.profile import REFERENCE_RANGES, compare_to_reference, profile_file

    try:
        figures = profile_file(file)
    except (OSError, ValueError, KeyError) as exc:
        _fail(f"cannot profile {file}: {exc}")
    if compare_reference:
        rows = [comparison_cells(r) for r in compare_to_reference(figures, REFERENCE_RANGES)]
        print_rows(f"{file} vs reference", COMPARISON_HEADER, rows, markdown)
    else:
        cells = [[str(k), format_value(v)] for k, v in _plain(figures).items()]
        print_rows(f"Profile of {file}", ("figure", "value"), cells, markdown)


# ------------------------------------------------------------------------------------ agency CAD exports


@app.command("import")
def import_export_cmd(
    export: Annotated[Path, typer.Argument(help="CSV[.gz], Parquet, JSONL (file or folder of parts) or a folder of "
                                                "EIDO .json files.")],
    mapping: Annotated[Path, typer.Option("--mapping", help="YAML naming the id, time, area, nature-code and note "
                                                            "columns (model/exports.py); 'eido' for a folder of "
                                                            "EIDO incidents.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for calls.jsonl, rejects.csv, duplicates.csv, "
                                                    "summary.json.")] = Path("data/agency/imported"),
    codes: Annotated[list[Path] | None, typer.Option("--codes", help="Agency nature-code map(s) applied on top of "
                                                                      "the default APCO map.")] = None,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", min=1, help="Rows read at a time.")] = 5000,
    workers: Annotated[int, typer.Option("--workers", min=0, help="Processes redacting notes (0: CPU cores, "
                                                                  "at most 4).")] = 0,
) -> None:
    """Import an agency CAD export: redact PII, de-duplicate, label from nature codes (unknown where the code says
    nothing), write the training format. Every rejected row goes to rejects.csv with its reason."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from divert.model.exports import ExportMapping, ExportMappingError, ExportReadError
    from divert.model.redact import Redactor
    from divert.training.agency.codes import CodeMap, CodeMapError
    from divert.training.agency.importer import import_export

    try:
        spec = ExportMapping.eido() if str(mapping) == "eido" else ExportMapping.load(mapping)
        code_map = CodeMap.load(*(codes or []))
    except (ExportMappingError, CodeMapError) as exc:
        _fail(str(exc))
    with Progress(TextColumn("[bold]importing"), BarColumn(), TextColumn("{task.completed} rows read"),
                  TimeElapsedColumn(), console=err_console) as progress:
        task = progress.add_task("import", total=None)
        try:
            summary = import_export(export, spec, out, code_map=code_map, redactor=Redactor().load(),
                                    chunk_rows=chunk_rows, workers=workers or min(4, os.cpu_count() or 1),
                                    progress=lambda n: progress.update(task, completed=n))
        except (ExportMappingError, ExportReadError) as exc:
            _fail(str(exc))
        except OSError as exc:
            _fail(f"cannot write to {out}: {exc.strerror or exc}")
    rows = [["read", str(summary.read)], ["imported", str(summary.imported)], ["rejected", str(summary.rejected)],
            ["duplicates", str(summary.duplicates)],
            ["read = imported + rejected + duplicates", "yes" if summary.adds_up else "NO"]]
    rows += [[f"rejected: {k}", str(v)] for k, v in sorted(summary.rejects_by_reason.items())]
    rows += [[f"duplicates: {k}", str(v)] for k, v in sorted(summary.duplicates_by_kind.items())]
    rows += [[f"redacted {k}", str(v)] for k, v in sorted(summary.redactions.items())]
    print_rows("Import", ("figure", "value"), rows)
    labels = [[name, str(summary.positive_labels[name]), str(summary.known_labels[name]),
               str(summary.imported - summary.known_labels[name])] for name in LABELS]
    print_rows("Labels from nature codes", ("label", "set to 1", "known (1 or 0)", "unknown"), labels)
    if summary.unmapped_codes:
        top = list(summary.unmapped_codes.items())[:15]
        console.print("[yellow]codes the map does not know (all labels unknown; add them with --codes):[/] "
                      + escape(", ".join(f"{c} ({n})" for c, n in top)))
    console.print(f"wrote {escape(str(out))}/calls.jsonl, rejects.csv, duplicates.csv, summary.json")
    if not summary.adds_up:
        _fail("the counts do not add up (a bug): see summary.json", code=1)


@app.command("label-errors")
def label_errors_cmd(
    calls: Annotated[Path, typer.Argument(help="calls.jsonl written by `divert data import`.")],
    out: Annotated[Path | None, typer.Option("--out", help="Report folder (default: beside CALLS, report/).")] = None,
    rules_weight: Annotated[float, typer.Option("--rules-weight", min=0.0, help="Weight of the keyword rules' "
                                                                             "votes (0: codes alone).")] = 0.6,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Folds of the out-of-fold scores.")] = 5,
    label: Annotated[list[str] | None, typer.Option("--label", help="Only these labels (default: all).")] = None,
    audit_url: Annotated[str | None, typer.Option("--audit-url", help="Also load the top ranked rows into this "
                                                                      "audit store as review items.")] = None,
    review_limit: Annotated[int, typer.Option("--review-limit", min=1, help="Rows loaded for review.")] = 500,
) -> None:
    """Rank likely label errors (nature code and text disagree, out-of-fold confident learning) and count hidden
    behavioral-health calls per nature code; writes label_errors.csv/.md and hidden_bh_by_code.csv."""
    from divert.training.agency.review import analyse, review_items
    from divert.training.config import WeakSupervisionConfig
    from divert.training.dataset import DatasetError

    unknown = sorted(set(label or []) - set(LABELS))
    if unknown:
        _fail(f"unknown label(s) {', '.join(unknown)}; labels are {', '.join(LABELS)}")
    out = out or calls.parent / "report"
    try:
        result = analyse(calls, out, weak=WeakSupervisionConfig(rules_weight=rules_weight), folds=folds,
                         labels=tuple(label) if label else LABELS)
    except DatasetError as exc:
        _fail(str(exc))
    report = result.report
    hidden = [[r["nature_code"], str(r["calls"]), str(r["hidden_bh"]), _pct(r["share"])]
              for r in report.hidden[:15] if r["hidden_bh"]]
    print_rows("Hidden behavioral-health calls per nature code", ("code", "calls", "hidden BH", "share"), hidden)
    console.print(f"{len(report.flagged)} rows flagged; wrote {escape(str(report.files['ranked']))}, "
                  f"{escape(str(report.files['markdown']))}, {escape(str(report.files['hidden']))}")
    if audit_url:
        key = os.environ.get("DIVERT_AUDIT_HASH_KEY")
        if not key:
            _fail("set DIVERT_AUDIT_HASH_KEY (the audit store's keyed-hash secret) to load review items")
        from divert.serving.audit.store import AuditUnavailable

        items = review_items(result.data, result.scores, report.flagged, limit=review_limit)
        try:
            ids = load_review_items(items, audit_url, hash_key=key)
        except AuditUnavailable as exc:
            _fail(str(exc))
        console.print(f"loaded {len(ids)} review items into the audit store (endpoint 'import', "
                      f"recommendation_detail.review_rank 1..{len(ids)})")


def load_review_items(items: Sequence[Mapping[str, Any]], audit_url: str, *, hash_key: str,
                      model_version: str = "weak-labels-oof") -> list[int]:
    """Record review items (`divert.training.agency.review.review_items`) in the audit store as unreviewed
    predictions (endpoint `import`, key id `agency-import`); returns their ids, best-ranked first. The best-ranked
    item is inserted last, so it is the newest: the queue reads the newest unreviewed predictions."""
    from datetime import UTC, datetime

    from divert.model.redact import keyed_hash
    from divert.serving.audit.models import Prediction
    from divert.serving.audit.store import AuditStore, flags_column

    now = datetime.now(UTC)
    rows = [Prediction(
        request_id=f"agency-import-{item['call_id']}"[:64], item_index=0, endpoint="import", created_at=now,
        key_id="agency-import", call_id=str(item["call_id"])[:128], model_name="divert-weak-labels",
        model_version=model_version, policy_version=None, input_kind="text", text_redacted=item["text"],
        text_hash=keyed_hash(item["text"], hash_key), redactions=item["redactions"], scores=item["scores"],
        thresholds=item["thresholds"], decisions=item["decisions"], flags=flags_column(item["decisions"]),
        recommendation=None, recommendation_detail=item["detail"], explanation=None, latency_ms=None)
        for item in items]
    store = AuditStore(audit_url)
    try:
        store.migrate()
        ids = store.record(list(reversed(rows)))
    finally:
        store.dispose()
    return list(reversed(ids))
