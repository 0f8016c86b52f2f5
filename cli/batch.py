"""`divert batch score INPUT OUTPUT`: score a call history with the registered model, locally or on Spark."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Score historical calls in bulk (CSV, Parquet, JSONL) into Parquet, locally or on Spark.")


class Engine(StrEnum):
    local = "local"
    spark = "spark"


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@app.command("score")
def score(
    input_path: Annotated[str, typer.Argument(metavar="INPUT", help="a .csv/.parquet/.jsonl file or a folder of "
                                              "part files (spark: anything Spark reads, e.g. s3a://...)")],
    output: Annotated[Path, typer.Argument(metavar="OUTPUT", help="output folder: scored/, rejects/, manifest.json")],
    engine: Annotated[Engine, typer.Option(help="local: embedded, resumable; spark: PySpark")] = Engine.local,
    master: Annotated[str, typer.Option(help="spark master URL")] = "local[*]",
    model: Annotated[str, typer.Option("--model", help="registry alias/version, models:/ URI or local path")] = (
        "champion"),
    registered_model: Annotated[str, typer.Option(help="registered model name")] = "divert",
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI")] = None,
    policy: Annotated[Path | None, typer.Option(help="policy YAML (default: the packaged default)")] = None,
    mapping: Annotated[Path | None, typer.Option(help="agency export mapping YAML (see `divert data import`); "
                                                 "default: columns id, text, time, area, nature_code")] = None,
    id_column: Annotated[str, typer.Option(help="without --mapping: the id column")] = "id",
    text_column: Annotated[str, typer.Option(help="without --mapping: the note column")] = "text",
    with_redacted_text: Annotated[bool, typer.Option("--with-redacted-text", help="add the note redacted of "
                                                     "personal data (raw text is never written)")] = False,
    chunk_rows: Annotated[int, typer.Option(min=1, help="local: calls per part file")] = 20_000,
    workers: Annotated[int | None, typer.Option(min=1, help="local: worker processes, one thread each (default: "
                                                "one per core; 1 for an input of at most two chunks)")] = None,
    partitions: Annotated[int | None, typer.Option(min=1, help="spark: partitions to score in (default: twice "
                                                   "the default parallelism)")] = None,
    max_chars: Annotated[int, typer.Option(min=1, help="longest note accepted (longer ones are rejects)")] = 20_000,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="start again in an OUTPUT that holds another "
                                            "run")] = False,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Score every call; an interrupted local run started again with the same arguments resumes."""
    from divert.model.errors import DivertError

    try:
        summary = _score(input_path, output, engine, master, model, registered_model, tracking_uri, policy, mapping,
                         id_column, text_column, with_redacted_text, chunk_rows, workers, partitions, max_chars,
                         overwrite, progress)
    except DivertError as exc:
        _fail(exc.message)
    if summary.interrupted:
        typer.secho(f"interrupted: {len(summary.manifest.parts)} parts are written ({summary.scored:,} calls "
                    f"scored); run the same command again to resume", fg=typer.colors.YELLOW, err=True)
        raise typer.Exit(130)
    t = summary.manifest.totals
    resumed = f", {summary.parts_skipped} parts from an earlier run" if summary.parts_skipped else ""
    typer.echo(f"{t.read:,} calls read = {t.scored:,} scored + {t.rejected:,} rejected{resumed}: {output}")
    if t.rejected:
        typer.echo(f"rejected calls and their reasons: {output / 'rejects'}")


def _score(input_path: str, output: Path, engine: Engine, master: str, model: str, registered_model: str,
           tracking_uri: str | None, policy_path: Path | None, mapping_path: Path | None, id_column: str,
           text_column: str, redact: bool, chunk_rows: int, workers: int | None, partitions: int | None,
           max_chars: int, overwrite: bool, progress: bool) -> Any:
    from divert.model.policy import load_policy
    from divert.model.pyfunc import load_model
    from divert.serving.batch.errors import BatchError
    from divert.serving.batch.io import DefaultColumns, ExportMapper, Mapper

    policy = load_policy(policy_path)
    mapper: Mapper
    mapping: dict[str, Any] | None = None
    if mapping_path is not None:
        export_mapper = ExportMapper.load(mapping_path)
        mapping = export_mapper.mapping.model_dump(mode="json")
        mapper = export_mapper
    else:
        mapper = DefaultColumns(id_column=id_column, text_column=text_column)
    if engine is Engine.local and "://" in input_path and not input_path.startswith("file://"):
        raise BatchError("input_not_found", f"the local engine reads local files; {input_path} needs --engine spark")
    if engine is Engine.spark:
        from divert.serving.batch.spark import spark_available

        missing = spark_available()
        if missing:
            raise BatchError("spark_unavailable", missing)
    elif not Path(input_path.removeprefix("file://")).exists():
        raise BatchError("input_not_found", f"input {input_path} does not exist")
    loaded = load_model(model, registered_model=registered_model, tracking_uri=tracking_uri)
    if engine is Engine.spark:
        from divert.serving.batch.spark import score_spark

        return score_spark(input_path, output, loaded=loaded, model_ref=model, policy=policy, mapper=mapper,
                           mapping=mapping, master=master, partitions=partitions, redact=redact, max_chars=max_chars,
                           overwrite=overwrite)
    from divert.serving.batch.local import score_local

    return score_local(Path(input_path.removeprefix("file://")), output, loaded=loaded, model_ref=model,
                       policy=policy, mapper=mapper, mapping=mapping, chunk_rows=chunk_rows,
                       workers=workers, redact=redact, max_chars=max_chars,
                       overwrite=overwrite, show_progress=progress)


@app.command("sample")
def sample(
    output: Annotated[Path, typer.Argument(help="a .csv, .parquet or .jsonl file to write")],
    rows: Annotated[int, typer.Option(min=1, help="calls to generate")] = 100_000,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    broken: Annotated[int, typer.Option(min=0, help="rows with an empty note or an unreadable time")] = 0,
) -> None:
    """Write a generated call history (bundled corpus notes with times, areas and nature codes) for demos."""
    from divert.serving.batch.sample import sample_calls

    frame = sample_calls(rows, seed=seed, broken=broken)
    suffix = output.suffix.lower()
    output.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(output, index=False)
    elif suffix in (".parquet", ".pq"):
        frame.to_parquet(output, index=False)
    elif suffix in (".jsonl", ".ndjson"):
        frame.to_json(output, orient="records", lines=True)
    else:
        _fail(f"{output}: use a .csv, .parquet or .jsonl file name")
    typer.echo(f"{rows:,} calls: {output}")
