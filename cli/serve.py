"""`divert serve`, `divert classify` and `divert policy check`.

`classify` runs the same `ClassificationService` as the API, so a note gets the same flags, recommendation and
call-version changes offline as over HTTP. Heavy modules are imported inside the commands.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from divert.model.inputs import NoteInput
    from divert.serving.schemas import NoteResult
    from divert.serving.service import ClassificationService

CONTEXT_COLUMNS = ("caller_type", "channel", "time", "area", "nature_code")
OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
INPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

policy_app = typer.Typer(no_args_is_help=True, add_completion=False)


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


# ------------------------------------------------------------------------------------------------ serve


def serve(
    model: Annotated[str | None, typer.Option("--model", help="registry alias/version, models:/ URI or local path "
                                              "(default: DIVERT_MODEL_REF or 'champion')")] = None,
    host: Annotated[str | None, typer.Option(help="default: DIVERT_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="default: DIVERT_PORT or 8000")] = None,
    policy: Annotated[Path | None, typer.Option(help="policy YAML (default: DIVERT_POLICY_PATH or the packaged "
                                                "default)")] = None,
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI")] = None,
    dev_key: Annotated[bool, typer.Option("--dev-key", help="make a random key with every role for local use, "
                                          "and print it")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Start the HTTP API (uvicorn)."""
    import logging

    import uvicorn

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from divert.model.errors import DivertError
    from divert.serving.app import create_app
    from divert.serving.auth import dev_key_spec, generate_key
    from divert.serving.settings import SettingsError, load_settings

    given = {"model_ref": model, "host": host, "port": port, "policy_path": policy, "tracking_uri": tracking_uri}
    overrides: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    key = generate_key() if dev_key else None
    if key is not None:
        overrides |= {"api_keys": [dev_key_spec(key)], "allow_dev_keys": True}
    try:
        settings = load_settings(**overrides)
        app = create_app(settings)
    except (SettingsError, DivertError) as exc:
        _fail(str(exc))
    if key is not None:
        base = f"http://{settings.host}:{settings.port}"
        typer.echo(f"development API key (roles cad, auditor, admin; valid until this server stops):\n  {key}\n")
        typer.echo("try:\n  curl -s " + base + "/v1/classify -H 'X-API-Key: " + key + "' "
                   "-H 'Content-Type: application/json' \\\n    -d '{\"text\": \"RP ADV BROTHER OFF HIS MEDS TALKING "
                   "TO PEOPLE WHO ARENT THERE NO WPNS\", \"call_id\": \"demo-1\"}'\n")
        typer.echo(f"review console (log in with the key above): {base}/console\n"
                   f"API reference: {base}/docs\n")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level)


# --------------------------------------------------------------------------------------------- classify


def _read_rows(path: Path, fmt: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8", newline="") as fh:
        if fmt == "csv":
            return list(csv.DictReader(fh))
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                _fail(f"{path} line {line_no}: not valid JSON: {exc.msg}")
            if not isinstance(row, dict):
                _fail(f"{path} line {line_no}: each line must be a JSON object")
            rows.append(row)
    return rows


def _note_from_row(row: dict[str, Any], text_column: str) -> dict[str, Any]:
    context = row.get("context") if isinstance(row.get("context"), dict) else {
        k: row[k] for k in CONTEXT_COLUMNS if row.get(k) not in (None, "")}
    note: dict[str, Any] = {"context": context}
    for kind in ("transcript", "eido"):  # JSONL records may carry a transcript or an EIDO instead of text
        if row.get(text_column) in (None, "") and isinstance(row.get(kind), dict):
            note[kind] = row[kind]
    if not any(kind in note for kind in ("transcript", "eido")):
        note["text"] = row.get(text_column)
    if row.get("call_id") not in (None, ""):
        note["call_id"] = str(row["call_id"])
    return note


def _validate(service: ClassificationService, raw: dict[str, Any]) -> NoteInput | tuple[str, str, str | None]:
    """The note, or (code, message, field) naming what is wrong with it."""
    from pydantic import ValidationError

    from divert.model.errors import InvalidInputError
    from divert.model.inputs import NoteInput
    from divert.serving.errors import validation_details

    try:
        note = NoteInput.model_validate(raw)
        service.parse([note], batch=False)
    except ValidationError as exc:
        first = validation_details(exc.errors())[0]
        return first.code, first.message, first.field
    except InvalidInputError as exc:
        return exc.code, exc.message, exc.field
    return note


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _csv_row(row_no: int, res: NoteResult | None, versions: tuple[str, str], error: tuple[str, str] | None,
             ) -> dict[str, Any]:
    from divert.model.labels import LABELS

    out: dict[str, Any] = {"row": row_no, "model_version": versions[0], "policy_version": versions[1]}
    if res is None:
        return out | {"error_code": error[0] if error else "", "error_message": error[1] if error else ""}
    rec = res.recommendation
    update = res.call_update
    out |= {
        "call_id": res.call_id or "", "flags": ";".join(res.flags), "primary": rec.primary or "",
        "additional": ";".join(rec.additional), "rule": rec.rule or "", "reasons": " | ".join(rec.reasons),
        "fallbacks": ";".join(f"{f.program}:{f.reason}" for f in rec.fallbacks_applied),
        "call_version": update.version if update else "",
        "flags_changed": update.flags_changed if update else "",
        "changed": ";".join(c.label for c in update.changed) if update else "",
    }
    for name in LABELS:
        out[f"score_{name}"] = res.labels[name].score
        out[f"decision_{name}"] = res.labels[name].decision
    return out


def _csv_columns() -> list[str]:
    from divert.model.labels import LABELS

    return ["row", "call_id", "model_version", "policy_version", "flags", "primary", "additional", "rule",
            "reasons", "fallbacks", "call_version", "flags_changed", "changed",
            *(f"{kind}_{name}" for name in LABELS for kind in ("score", "decision")), "error_code", "error_message"]


class _Writer:
    """CSV or JSONL, to a file or stdout; one record per note, in input order."""

    def __init__(self, out: Path | None, fmt: str) -> None:
        self.fmt = fmt
        self.fh = out.open("w", encoding="utf-8", newline="") if out else sys.stdout
        self.csv = csv.DictWriter(self.fh, fieldnames=_csv_columns(), extrasaction="raise") if fmt == "csv" else None
        if self.csv:
            self.csv.writeheader()

    def write(self, row_no: int, res: NoteResult | None, versions: tuple[str, str],
              error: tuple[str, str, str | None] | None = None) -> None:
        if self.csv is not None:
            self.csv.writerow(_csv_row(row_no, res, versions, error[:2] if error else None))
            return
        record: dict[str, Any] = {"row": row_no, "model_version": versions[0], "policy_version": versions[1]}
        if res is not None:
            record |= res.model_dump(mode="json", exclude={"index"})
        elif error:
            record["error"] = {"code": error[0], "message": error[1], "field": error[2]}
        self.fh.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self.fh is not sys.stdout:
            self.fh.close()


def _build_service(model: str, registered_model: str, tracking_uri: str | None, policy: Path | None,
                   max_chars: int, max_eido_bytes: int | None = None) -> ClassificationService:
    from divert.model.eido import DEFAULT_MAX_EIDO_BYTES
    from divert.model.policy import load_policy
    from divert.model.pyfunc import load_model
    from divert.serving.call_versions import CallVersions
    from divert.serving.service import ClassificationService

    service = ClassificationService(load_policy(policy), max_note_chars=max_chars,
                                    max_eido_bytes=max_eido_bytes or DEFAULT_MAX_EIDO_BYTES,
                                    call_versions=CallVersions(max_size=1_000_000, ttl_s=float("inf")))
    service.swap_model(load_model(model, registered_model=registered_model, tracking_uri=tracking_uri))
    return service


def classify(
    text: Annotated[str | None, typer.Argument(help="one note's text (or use --file, --transcript, --eido)")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="notes as .csv or .jsonl (a JSONL record may "
                                              "hold a `transcript` or an `eido` object instead of text)")] = None,
    transcript: Annotated[Path | None, typer.Option("--transcript", help="one live transcript as JSON: "
                                                    "{\"segments\": [{\"speaker\", \"text\", \"start\", "
                                                    "\"end\"}, ...]}")] = None,
    eido: Annotated[Path | None, typer.Option("--eido", help="one NENA EIDO incident (JSON)")] = None,
    text_column: Annotated[str, typer.Option(help="column (or JSONL key) holding the note text")] = "text",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="results as .csv or .jsonl (format from the "
                                             "extension); default: JSON on stdout")] = None,
    model: Annotated[str, typer.Option("--model", help="registry alias/version, models:/ URI or local path")] = (
        "champion"),
    registered_model: Annotated[str, typer.Option(help="registered model name")] = "divert",
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI")] = None,
    policy: Annotated[Path | None, typer.Option(help="policy YAML (default: the packaged default)")] = None,
    call_id: Annotated[str | None, typer.Option(help="one note: the call id (an EIDO's internalIncidentId otherwise)")] = None,
    time: Annotated[str | None, typer.Option(help="one note: call time, ISO-8601")] = None,
    area: Annotated[str | None, typer.Option(help="one note: the call's area")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="notes per model call")] = 64,
    max_chars: Annotated[int, typer.Option(min=1, help="longest note accepted")] = 20_000,
    max_eido_bytes: Annotated[int | None, typer.Option(min=1024, help="largest EIDO accepted (bytes; default "
                                                       "1,000,000)")] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="write invalid rows with their error "
                                               "instead of stopping")] = False,
    progress: Annotated[bool, typer.Option(help="show a progress bar (file mode)")] = True,
) -> None:
    """Classify one note, or a file of notes, offline: the same answers as `POST /v1/classify`."""
    from divert.model.errors import DivertError

    given = [name for name, value in (("a note's text", text), ("--file", file), ("--transcript", transcript),
                                      ("--eido", eido)) if value is not None]
    if not given:  # (--transcript FILE.json and --eido FILE.json are in --help)
        _fail("give a note's text or --file")
    if given == ["a note's text", "--file"]:
        _fail("give a note's text or --file, not both")
    if len(given) > 1:
        _fail(f"give one of a note's text, --file, --transcript or --eido, not {' and '.join(given)}")
    single: dict[str, Any] | None = None
    if transcript is not None:
        body = _read_json(transcript, "--transcript")
        single = {"transcript": body.get("transcript", body) if isinstance(body, dict) else body}
    elif eido is not None:
        single = {"eido": _read_json(eido, "--eido")}
    out_fmt = _format_of(out, OUTPUT_FORMATS, "--out") if out is not None else "jsonl"
    rows: list[dict[str, Any]] = []
    if file is not None:
        if not file.is_file():
            _fail(f"--file {file}: no such file")
        rows = _read_rows(file, _format_of(file, INPUT_FORMATS, "--file"))
        if rows and not any(key in r for r in rows for key in (text_column, "transcript", "eido")):
            _fail(f"{file}: no column {text_column!r}; columns are {', '.join(map(str, rows[0]))} "
                  "(choose one with --text-column)")
    try:
        service = _build_service(model, registered_model, tracking_uri, policy, max_chars, max_eido_bytes)
        if file is None:
            context = {k: v for k, v in {"time": time, "area": area}.items() if v is not None}
            source = single if single is not None else {"text": text}
            raw = {**source, "context": context} | ({"call_id": call_id} if call_id is not None else {})
            _classify_text(service, raw, out, out_fmt)
        else:
            _classify_file(service, file, rows, text_column, out, out_fmt, batch_size=batch_size,
                           skip_invalid=skip_invalid, show_progress=progress)
    except DivertError as exc:
        _fail(exc.message)


def _read_json(path: Path, option: str) -> Any:
    if not path.is_file():
        _fail(f"{option} {path}: no such file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        _fail(f"{option} {path}: not valid JSON: {exc}")


def _format_of(path: Path, formats: dict[str, str], option: str) -> str:
    fmt = formats.get(path.suffix.lower())
    if fmt is None:
        _fail(f"{option} {path}: unknown format {path.suffix!r}; use one of {', '.join(formats)}")
    return fmt


def _problem(where: str, problem: tuple[str, str, str | None], text_column: str) -> str:
    code, message, field = problem
    if field == "text":
        field = f"column {text_column!r}"
    elif field:
        field = f"field {field}"
    return f"{where}: {field + ': ' if field else ''}{message} ({code})"


def _classify_text(service: ClassificationService, raw: dict[str, Any], out: Path | None, out_fmt: str) -> None:
    from divert.serving.service import model_version

    note = _validate(service, raw)
    if isinstance(note, tuple):
        _fail(_problem("the note", note, "text"))
    answer = service.classify([note], batch=False)
    if out is None:  # the API's answer to one note, pretty-printed
        body = {"model_version": answer.model_version, "policy_version": answer.policy_version,
                **answer.results[0].model_dump(mode="json")}
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
        return
    writer = _Writer(out, out_fmt)
    try:
        writer.write(1, answer.results[0], (model_version(answer.model), answer.policy_version))
    finally:
        writer.close()


def _classify_file(service: ClassificationService, file: Path, rows: list[dict[str, Any]], text_column: str,
                   out: Path | None, out_fmt: str, *, batch_size: int, skip_invalid: bool,
                   show_progress: bool) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from divert.serving.service import model_version

    unit = "row" if file.suffix.lower() == ".csv" else "record"
    checked: list[tuple[int, NoteInput | tuple[str, str, str | None]]] = []
    for row_no, row in enumerate(rows, start=1):
        outcome = _validate(service, _note_from_row(row, text_column))
        if isinstance(outcome, tuple) and not skip_invalid:
            _fail(_problem(f"{file} {unit} {row_no}", outcome, text_column))
        checked.append((row_no, outcome))
    versions = (model_version(service.model), service.policy.policy_version)
    writer = _Writer(out, out_fmt)
    invalid = 0
    bar = Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn(), console=Console(stderr=True), disable=not show_progress)
    try:
        with bar:
            task = bar.add_task(f"classifying {file.name}", total=len(checked))
            for chunk in _chunks(checked, batch_size):
                valid = [(n, note) for n, note in chunk if not isinstance(note, tuple)]
                results = {}
                if valid:
                    answer = service.classify([note for _, note in valid])
                    results = dict(zip([n for n, _ in valid], answer.results, strict=True))
                for row_no, note in chunk:
                    if isinstance(note, tuple):
                        invalid += 1
                        writer.write(row_no, None, versions, note)
                    else:
                        writer.write(row_no, results[row_no], versions)
                bar.advance(task, len(chunk))
    finally:
        writer.close()
    if out is not None:
        typer.secho(f"{len(checked) - invalid} notes classified, {invalid} invalid: {out}", err=True)


# --------------------------------------------------------------------------------------------- policy


@policy_app.command("check")
def policy_check(file: Annotated[Path, typer.Argument(help="policy YAML file")]) -> None:
    """Validate a diversion policy file, as the server does at start-up."""
    from divert.model.policy import PolicyError, load_policy

    try:
        policy = load_policy(file)
    except PolicyError as exc:
        _fail(exc.message)
    counts = ", ".join(f"{len(items)} {name}{'' if len(items) == 1 else 's'}" for name, items in
                       (("program", policy.programs), ("rule", policy.rules), ("add-on", policy.add_ons)))
    typer.echo(f"ok: {file}: policy {policy.name!r} version {policy.policy_version}: {counts}, "
               f"timezone {policy.timezone}")


def register(app: typer.Typer) -> None:
    """Add `serve`, `classify` and `policy` to the root app."""
    app.command("serve")(serve)
    app.command("classify")(classify)
    app.add_typer(policy_app, name="policy", help="Check diversion policy files.")
