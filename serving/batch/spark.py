"""The Spark batch engine: `mapInPandas` with the model loaded once per Python worker.

`local[*]` by default; any master URL (`spark://host:7077`, `yarn`, `k8s://...`, or a Databricks cluster's own
session) otherwise. The model bundle is shipped to the executors with `SparkContext.addFile`; each Python worker
loads it once (`spark_worker`, an importable module) and scores Arrow batches with the same `BatchScorer` as the
local engine, so the scores are the same. Bad records never fail the job: they are rows of `rejects/`.

Pitfalls handled here: the workers run the driver's Python (`PYSPARK_PYTHON`), so they import the same divert;
one torch / BLAS thread per worker (Spark already runs one worker per core); an input with fewer partitions than
cores (a single-row-group Parquet file) is repartitioned.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from divert.model.inputs import DEFAULT_MAX_CHARS
from divert.model.policy import Policy
from divert.model.pyfunc import LoadedModel
from divert.serving.batch.core import REJECT_SCHEMA, output_schema
from divert.serving.batch.errors import BatchError
from divert.serving.batch.io import FORMATS, DefaultColumns, Mapper, input_files
from divert.serving.batch.local import RunSummary, run_settings
from divert.serving.batch.manifest import (
    MANIFEST_NAME,
    REJECTS_DIR,
    SCORED_DIR,
    RunSettings,
    Totals,
    now_iso,
    prepare_output,
    save_manifest,
)
from divert.serving.batch.spark_worker import (
    CORRUPT_COLUMN,
    KIND_COLUMN,
    ROW_COLUMN,
    WorkerSpec,
    score_batches,
)

DEFAULT_MASTER = "local[*]"


def _is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def spark_available() -> str | None:
    """None when PySpark and Java are there; otherwise the sentence saying what is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "the spark engine needs PySpark: pip install 'divert[spark]'"
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").exists()) and shutil.which("java") is None:
        return ("the spark engine needs Java 17 or later and none was found: install a JDK (e.g. apt-get install "
                "openjdk-17-jre-headless) or set JAVA_HOME")
    return None


def spark_session(master: str = DEFAULT_MASTER, *, app_name: str = "divert-batch",
                  conf: dict[str, str] | None = None) -> Any:
    """A SparkSession whose Python workers run this interpreter (start-up problems: one BatchError)."""
    missing = spark_available()
    if missing:
        raise BatchError("spark_unavailable", missing)
    import warnings

    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName(app_name)
    settings = {"spark.sql.execution.arrow.pyspark.enabled": "true", "spark.ui.enabled": "false",
                "spark.sql.session.timeZone": "UTC", "spark.executorEnv.OMP_NUM_THREADS": "1",
                "spark.executorEnv.DIVERT_ONNX_THREADS": "1",
                "spark.executorEnv.PYSPARK_PYTHON": os.environ["PYSPARK_PYTHON"], **(conf or {})}
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: a bad master URL, no memory, a broken Java
        raise BatchError("spark_unavailable", f"Spark did not start with master {master!r}: "
                         f"{_first_line(exc)}") from exc
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("at ", "JVM stacktrace")):
            return line[:300]
    return type(exc).__name__


def _spark_type(dtype: Any) -> Any:
    import pyarrow as pa
    from pyspark.sql import types as T

    if pa.types.is_int64(dtype):
        return T.LongType()
    if pa.types.is_floating(dtype):
        return T.DoubleType()
    if pa.types.is_boolean(dtype):
        return T.BooleanType()
    return T.StringType()


def _read(spark: Any, path: str, fmt: str, columns: list[str] | None) -> Any:
    from pyspark.sql import types as T

    reader = spark.read
    if fmt == "csv":
        if columns:  # every column as text, plus the corrupt-record column for lines that do not parse
            schema = T.StructType([T.StructField(c, T.StringType()) for c in columns]
                                  + [T.StructField(CORRUPT_COLUMN, T.StringType())])
            reader = reader.schema(schema)
        return reader.options(header=True, mode="PERMISSIVE", multiLine=True, escape='"',
                              columnNameOfCorruptRecord=CORRUPT_COLUMN).csv(path)
    if fmt == "jsonl":
        return reader.options(mode="PERMISSIVE", columnNameOfCorruptRecord=CORRUPT_COLUMN,
                              primitivesAsString=True).json(path)
    return reader.parquet(path)


def _format_of(path: str) -> str:
    if _is_local(path):
        return FORMATS[input_files(Path(path.removeprefix("file://")))[0].suffix.lower()]
    suffix = Path(path.rstrip("/")).suffix.lower()
    if suffix not in FORMATS:
        raise BatchError("input_format", f"cannot tell the format of {path}; give a path ending in .csv, .parquet "
                         "or .jsonl")
    return FORMATS[suffix]


def score_spark(
    input_path: str,
    output: Path,
    *,
    loaded: LoadedModel,
    model_ref: str,
    policy: Policy,
    mapper: Mapper | None = None,
    mapping: dict[str, Any] | None = None,
    master: str = DEFAULT_MASTER,
    partitions: int | None = None,
    redact: bool = False,
    max_chars: int = DEFAULT_MAX_CHARS,
    overwrite: bool = False,
    clock: datetime | None = None,
    spark: Any = None,
) -> RunSummary:
    """Score INPUT with Spark into OUTPUT (`scored/`, `rejects/`, `manifest.json`), all or nothing."""
    mapper = mapper or DefaultColumns()
    fmt = _format_of(input_path)
    local_input = Path(input_path.removeprefix("file://")) if _is_local(input_path) else None
    if local_input is not None:
        settings = run_settings("spark", local_input, loaded, policy, chunk_rows=0, mapping=mapping, redact=redact,
                                max_chars=max_chars)
    else:
        from divert.serving.batch.local import model_version_of
        from divert.serving.batch.manifest import sha256_text

        settings = RunSettings(engine="spark", input=input_path, input_files=[], mapping=mapping, chunk_rows=0,
                               model_name=loaded.name, model_version=model_version_of(loaded), model_uri=loaded.uri,
                               policy_version=policy.policy_version,
                               policy_sha256=sha256_text(policy.model_dump_json()), with_redacted_text=redact,
                               max_chars=max_chars)
    manifest = prepare_output(output, settings, model_ref=model_ref, clock=clock or datetime.now(policy.tz),
                              overwrite=overwrite)
    if manifest.complete:
        return RunSummary(output=output, manifest=manifest, parts_scored=0, parts_skipped=len(manifest.parts))
    columns = None
    if isinstance(mapper, DefaultColumns) and local_input is not None:
        from divert.serving.batch.io import _first_columns

        files = input_files(local_input)
        columns = _first_columns(files, fmt)
        mapper.columns_ok(columns, files[0])
    own = spark is None
    spark = spark or spark_session(master)
    try:
        return _run(spark, input_path, fmt, columns, output, manifest, loaded, policy, mapper, partitions, redact,
                    max_chars)
    finally:
        if own:
            spark.stop()


def _run(spark: Any, input_path: str, fmt: str, columns: list[str] | None, output: Path, manifest: Any,
         loaded: LoadedModel, policy: Policy, mapper: Mapper, partitions: int | None, redact: bool,
         max_chars: int) -> RunSummary:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    try:
        raw = _read(spark, input_path, fmt, columns)
        raw_columns = raw.columns
    except Exception as exc:  # AnalysisException, or the JVM's own (no file system for a scheme, no access)
        raise BatchError("input_unreadable", f"Spark cannot read {input_path}: {_first_line(exc)}") from exc
    if isinstance(mapper, DefaultColumns):
        mapper.columns_ok([c for c in raw_columns if c != CORRUPT_COLUMN], Path(input_path))
    # every input column as text (the local engine reads them so too); a timestamp as ISO-8601, an instant
    # (TimestampType) with its UTC offset, a local time (TimestampNTZType) without one
    def as_text(name: str) -> Any:
        kind = raw.schema[name].dataType
        if isinstance(kind, T.TimestampNTZType):
            return F.date_format(F.col(f"`{name}`"), "yyyy-MM-dd'T'HH:mm:ss")
        if isinstance(kind, T.TimestampType):
            return F.date_format(F.col(f"`{name}`"), "yyyy-MM-dd'T'HH:mm:ssXXX")
        return F.col(f"`{name}`").cast("string")

    raw = raw.select([as_text(c).alias(c) for c in raw_columns])
    raw = raw.withColumn(ROW_COLUMN, F.monotonically_increasing_id() + 1)
    wanted = partitions or max(spark.sparkContext.defaultParallelism * 2, 2)
    if raw.rdd.getNumPartitions() < wanted:
        raw = raw.repartition(wanted)

    out_schema = output_schema(loaded.model.labels, with_redacted_text=redact)
    fields = [(f.name, f.type) for f in out_schema] + [(f.name, f.type) for f in REJECT_SCHEMA
                                                       if f.name not in out_schema.names]
    columns_out = [*(name for name, _ in fields), KIND_COLUMN]
    spark_schema = T.StructType([T.StructField(n, _spark_type(t)) for n, t in fields]
                                + [T.StructField(KIND_COLUMN, T.StringType())])

    with tempfile.TemporaryDirectory(prefix="divert-spark-model-") as tmp:
        bundle = loaded.model.save(Path(tmp) / "divert-bundle")
        spark.sparkContext.addFile(str(bundle), recursive=True)
        spec = WorkerSpec(bundle_name=bundle.name, policy_json=policy.model_dump_json(), model_name=loaded.name,
                          model_version=manifest.settings.model_version, clock=manifest.clock, max_chars=max_chars,
                          redact=redact, mapper=mapper, columns=tuple(columns_out))
        result = raw.mapInPandas(partial(score_batches, spec=spec), schema=spark_schema)
        result = result.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            counts = {r[KIND_COLUMN]: r["count"] for r in result.groupBy(KIND_COLUMN).count().collect()}
            scored = result.where(F.col(KIND_COLUMN) == "scored").select(*out_schema.names)
            rejects = result.where(F.col(KIND_COLUMN) == "reject").select(*REJECT_SCHEMA.names)
            scored.write.mode("overwrite").parquet(str(output / SCORED_DIR))
            rejects.write.mode("overwrite").parquet(str(output / REJECTS_DIR))
            read = raw.count()
        finally:
            result.unpersist()
    manifest.totals = Totals(read=int(read), scored=int(counts.get("scored", 0)),
                             rejected=int(counts.get("reject", 0)))
    manifest.complete = True
    manifest.finished_at = now_iso()
    save_manifest(output, manifest)
    assert (output / MANIFEST_NAME).is_file()
    return RunSummary(output=output, manifest=manifest, parts_scored=1, parts_skipped=0)
