"""`divert data`: validate, generate and profile labeled datasets (thin over `divert.training`)."""

from __future__ import annotations

import dataclasses
import json
import math
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
