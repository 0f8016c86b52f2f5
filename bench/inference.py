"""Inference benchmark: every model side by side on the same notes and machine (a benchmark, not a test).

For each model given as NAME=REF (registry alias or version, `models:/` URI, bundle folder or MLflow model folder):
- test macro F1 (the bundle's thresholds) and batch throughput in process (`DivertModel.predict` on chunks of
  `--batch-size` notes, notes/s);
- single-note latency in process: one `predict([note])` per note, p50/p99 over `--n` notes, after a warm-up;
- model load time and the resident memory it adds, in a fresh process (import + `load_model`);
- over HTTP, against the real app (`uvicorn divert.serving.app:create_app --factory` in a subprocess, audit to a
  temporary SQLite file, one API key, the default settings: deferred redaction): cold start (process start to the
  first 200 from /readyz), single-note latency p50/p99 one request at a time (httpx, keep-alive), throughput and
  latency with `--concurrency` clients sending single notes, batch throughput (`{"notes": [...]}` of
  `--batch-size`), and the server's resident memory (psutil RSS, when ready and after the load). Throughputs
  are sustained ones: they run until the audit trail has caught up (the deferred-redaction backlog on /metrics
  is 0), so redaction off the request path is not counted as free; `*_answered` keys hold the rate of answers
  alone;
- with `--batching`, the concurrent single-note run again with micro-batching on (`DIVERT_BATCH_ENABLED`), to
  decide whether it helps.

`--derive-onnx NAME` exports the torch transformer NAME to ONNX int8 (as training does) and adds it as
`NAME_onnx_int8` with its parity figures, for a model trained with `transformer.runtime: torch`.

    python bench/inference.py --model keywords=artifacts/<run>/bundle --model tfidf=3 \\
        --model transformer_torch=artifacts/<run>/bundle_torch --model transformer_onnx_int8=champion

Prints a table and writes bench/results/inference.json with the machine it ran on. Targets (reported, never
asserted): transformer over HTTP p50 <= 12 ms and p99 <= 30 ms, >= 150 notes/s batched, RSS < 600 MB with ONNX
int8, cold start < 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TARGETS = {"http_p50_ms": 12.0, "http_p99_ms": 30.0, "batch_notes_per_s": 150.0, "rss_mb_onnx_int8": 600.0,
           "cold_start_s": 10.0}
CALL_TIME = "2026-11-24T14:05:00"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    ref: str


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": float(np.percentile(values_ms, 50)), "p99_ms": float(np.percentile(values_ms, 99)),
            "mean_ms": float(statistics.fmean(values_ms)), "n": len(values_ms)}


def machine() -> dict[str, Any]:
    model_name = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model_name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import psutil

    info: dict[str, Any] = {"cpu_count": os.cpu_count(), "cpu_model": model_name,
                            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
                            "platform": platform.platform(), "python": platform.python_version(),
                            "load_average_start": os.getloadavg()}
    for package in ("onnxruntime", "torch", "transformers", "fastapi", "uvicorn", "mlflow"):
        try:
            from importlib.metadata import version

            info[package] = version(package)
        except Exception:
            info[package] = None
    return info


# --------------------------------------------------------------------------------------------------- in process


def load_probe(ref: str, registered_model: str, tracking_uri: str | None) -> dict[str, Any]:
    """Run in a fresh interpreter: import time, load time and RSS of `load_model(ref)`."""
    import psutil

    process = psutil.Process()
    rss0 = process.memory_info().rss
    started = time.perf_counter()
    from divert.model.pyfunc import load_model

    imported = time.perf_counter()
    loaded = load_model(ref, registered_model=registered_model, tracking_uri=tracking_uri)
    done = time.perf_counter()
    loaded.model.predict(["RP ADV SUBJ IS CALM NOW NO WEAPONS"])
    return {"import_s": imported - started, "load_s": done - imported, "first_predict_s": time.perf_counter() - done,
            "rss_mb": process.memory_info().rss / 2**20, "rss_python_mb": rss0 / 2**20, "kind": loaded.model.kind,
            "heavy_modules": sorted(m for m in ("torch", "transformers", "mlflow", "onnxruntime", "spacy")
                                    if m in sys.modules)}


def probe_in_subprocess(spec: ModelSpec, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--probe", spec.ref, "--registered-model", args.registered_model]
    if args.tracking_uri:
        cmd += ["--tracking-uri", args.tracking_uri]
    out = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), check=False)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def in_process(model: Any, texts: list[str], labels: np.ndarray, args: argparse.Namespace) -> dict[str, Any]:
    from divert.training.evaluate import macro_f1

    for text in texts[:10]:
        model.predict([text])
    single = []
    for text in texts[: args.n]:
        started = time.perf_counter()
        model.predict([text])
        single.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    raw = []
    for lo in range(0, len(texts), args.batch_size):
        raw.append(model.raw_scores(texts[lo : lo + args.batch_size]))
        model.calibrate(raw[-1])  # what predict does besides scoring
    seconds = time.perf_counter() - started
    raw_scores = np.vstack(raw)
    decisions = model.calibrate(raw_scores) >= model.threshold_vector
    return {"single": percentiles(single), "batch_notes_per_s": len(texts) / seconds,
            "test_macro_f1": float(macro_f1(decisions, labels)), "test_notes": len(texts), "_raw": raw_scores}


# --------------------------------------------------------------------------------------------------- over HTTP


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIVERT_BATCH_")}
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """The real app under uvicorn in a subprocess, with its own audit database and one API key."""

    def __init__(self, spec: ModelSpec, args: argparse.Namespace, workdir: Path, *, batching: bool) -> None:
        from divert.serving.auth import hash_key

        self.key = secrets.token_urlsafe(24)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = child_env(
            DIVERT_MODEL_REF=spec.ref, DIVERT_REGISTERED_MODEL=args.registered_model,
            DIVERT_API_KEYS=json.dumps([{"id": "bench", "roles": ["cad", "auditor"], "sha256": hash_key(self.key)}]),
            DIVERT_AUDIT_URL=f"sqlite:///{workdir / f'audit-{spec.name}-{int(batching)}.db'}",
            DIVERT_AUDIT_HASH_KEY=secrets.token_urlsafe(32), DIVERT_MODEL_LOAD="background",
            DIVERT_CALL_CACHE_SIZE="0",
        )
        if args.tracking_uri:
            env["DIVERT_TRACKING_URI"] = args.tracking_uri
        if batching:
            env |= {"DIVERT_BATCH_ENABLED": "true", "DIVERT_BATCH_MAX_SIZE": str(args.batch_max_size),
                    "DIVERT_BATCH_MAX_WAIT_MS": str(args.batch_max_wait_ms)}
        self.log = (workdir / f"server-{spec.name}-{int(batching)}.log").open("w")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "divert.serving.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float) -> float:
        import httpx

        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}; see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200:
                    return time.perf_counter() - self.started
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"not ready after {timeout:.0f} s; see {self.log.name}")

    def rss_mb(self) -> float:
        import psutil

        process = psutil.Process(self.process.pid)
        return float(sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def note(text: str) -> dict[str, Any]:
    return {"text": text, "context": {"time": CALL_TIME}}


def sequential(client: Any, texts: list[str]) -> list[float]:
    times = []
    for text in texts:
        started = time.perf_counter()
        response = client.post("/v1/classify", json=note(text))
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return times


def concurrent(url: str, key: str, texts: list[str], concurrency: int) -> dict[str, Any]:
    import httpx

    local = threading.local()

    def one(text: str) -> float:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60)
        started = time.perf_counter()
        client.post("/v1/classify", json=note(text)).raise_for_status()
        return (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        times = list(pool.map(one, texts))
    seconds = time.perf_counter() - started
    return {**percentiles(times), "notes_per_s": len(texts) / seconds, "concurrency": concurrency}


def redaction_pending(client: Any) -> float:
    """The server's deferred-redaction backlog (`divert_audit_redaction_pending`; 0 when redaction is inline)."""
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("divert_audit_redaction_pending "):
            return float(line.split()[1])
    return 0.0


def wait_drained(client: Any, timeout_s: float = 300.0) -> float:
    """Seconds until every answered note is also redacted and stored in the audit trail."""
    started = time.perf_counter()
    while redaction_pending(client) > 0:
        if time.perf_counter() - started > timeout_s:
            raise RuntimeError(f"the audit redaction backlog did not drain in {timeout_s:.0f} s")
        time.sleep(0.01)
    return time.perf_counter() - started


def by_style(times_ms: Sequence[float], styles: Sequence[str]) -> dict[str, dict[str, float]]:
    """p50/p99 of the same measurements per input style (CAD notes are short, transcripts long)."""
    groups: dict[str, list[float]] = {}
    for t, style in zip(times_ms, styles, strict=False):
        groups.setdefault(style, []).append(t)
    return {style: {**percentiles(ts), "n": len(ts)} for style, ts in sorted(groups.items())}


def over_http(spec: ModelSpec, texts: list[str], args: argparse.Namespace, workdir: Path, *,
              batching: bool, styles: Sequence[str] = ()) -> dict[str, Any]:
    import httpx

    server = Server(spec, args, workdir, batching=batching)
    try:
        cold = server.wait_ready(args.ready_timeout)
        result: dict[str, Any] = {"cold_start_s": cold, "rss_ready_mb": server.rss_mb(), "batching": batching}
        with httpx.Client(base_url=server.url, headers={"X-API-Key": server.key}, timeout=60) as client:
            sequential(client, texts[:20])  # warm-up
            if not batching:
                single = sequential(client, texts[: args.n_http])
                result["single"] = percentiles(single)
                result["single_by_style"] = by_style(single, styles)
                started = time.perf_counter()
                sent = 0
                for lo in range(0, min(len(texts), args.n_http_batch), args.batch_size):
                    chunk = texts[lo : lo + args.batch_size]
                    client.post("/v1/classify", json={"notes": [note(t) for t in chunk]}).raise_for_status()
                    sent += len(chunk)
                answered = time.perf_counter() - started
                # sustained throughput counts the audit trail too: until the deferred redaction has caught up
                drained = wait_drained(client)
                result["batch_notes_per_s_answered"] = sent / answered
                result["batch_notes_per_s"] = sent / (answered + drained)
            wait_drained(client)
            started = time.perf_counter()
            conc = concurrent(server.url, server.key, texts[: args.n_http], args.concurrency)
            conc["notes_per_s_answered"] = conc["notes_per_s"]
            conc["notes_per_s"] = len(texts[: args.n_http]) / (time.perf_counter() - started + wait_drained(client))
            result["concurrent"] = conc
        result["rss_after_mb"] = server.rss_mb()
        return result
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------------- main


def derive_onnx(spec: ModelSpec, model: Any, texts: list[str], workdir: Path,
                reference_raw: np.ndarray) -> tuple[ModelSpec, dict[str, Any]]:
    from divert.model.bundle import DivertModel
    from divert.model.onnx_runtime import ExportOptions, export_onnx, parity

    started = time.perf_counter()
    scorer = export_onnx(model.scorer, workdir / f"{spec.name}-onnx-scorer", ExportOptions(precision="int8"))
    onnx_model = DivertModel(scorer, model.manifest.model_copy(update={"kind": "onnx"}))
    seconds = time.perf_counter() - started
    folder = onnx_model.save(workdir / f"{spec.name}_onnx_int8")
    check = parity(model, onnx_model, texts, reference_raw=reference_raw)
    return ModelSpec(f"{spec.name}_onnx_int8", str(folder)), {"export_s": seconds, **check.model_dump()}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from divert.model.preprocess import preprocess
    from divert.model.pyfunc import load_model
    from divert.training.dataset import load_dataset

    dataset = load_dataset(args.data)
    order = np.random.default_rng(args.seed).permutation(len(dataset))
    if args.limit:
        order = order[: args.limit]
    texts = [preprocess(dataset.texts[i]) for i in order]
    labels = dataset.labels[order]
    styles = [str(dataset.meta[i].get("style", "unknown")) for i in order]
    specs = [ModelSpec(*item.split("=", 1)) for item in args.model]
    report: dict[str, Any] = {"machine": machine(), "data": str(args.data), "targets": TARGETS, "settings": {
        k: v for k, v in vars(args).items() if k not in ("probe",)}, "models": {}}
    workdir = Path(tempfile.mkdtemp(prefix="divert-bench-"))
    queue = list(specs)
    while queue:
        spec = queue.pop(0)
        print(f"[{spec.name}] {spec.ref}", file=sys.stderr, flush=True)
        entry: dict[str, Any] = {"ref": spec.ref}
        loaded = load_model(spec.ref, registered_model=args.registered_model, tracking_uri=args.tracking_uri)
        entry["kind"] = loaded.model.kind
        entry["precision"] = getattr(loaded.model.scorer, "precision", "fp32" if loaded.model.kind == "transformer"
                                     else None)
        entry["in_process"] = in_process(loaded.model, texts, labels, args)
        raw = entry["in_process"].pop("_raw")
        if spec.name in (args.derive_onnx or []):
            derived, entry["derived_onnx_parity"] = derive_onnx(spec, loaded.model, texts, workdir, raw)
            queue.insert(0, derived)
        del loaded
        entry["load"] = probe_in_subprocess(spec, args)
        if not args.no_http:
            entry["http"] = over_http(spec, texts, args, workdir, batching=False, styles=styles)
            if args.batching and entry["kind"] in ("transformer", "onnx"):
                entry["http_batching"] = over_http(spec, texts, args, workdir, batching=True)
        report["models"][spec.name] = entry
    report["machine"]["load_average_end"] = os.getloadavg()
    report["workdir"] = str(workdir)  # server logs, audit databases, derived ONNX bundles
    return report


def fmt(value: Any, pattern: str = "{:.1f}") -> str:
    return "-" if value is None else pattern.format(value)


def print_table(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    m = report["machine"]
    table = Table(title=f"Inference on {m['cpu_count']} x {m['cpu_model']} ({m['memory_gb']} GiB), "
                        f"load average {m['load_average_start'][0]:.1f} -> {m['load_average_end'][0]:.1f}")
    columns = ["model", "kind", "test macro F1", "load s", "cold start s", "RSS MB", "in-proc p50/p99 ms",
               "batch notes/s", "HTTP p50/p99 ms", "HTTP batch notes/s", f"HTTP x{report['settings']['concurrency']} "
               "notes/s (p99 ms)", "same, micro-batched"]
    for c in columns:
        table.add_column(c, justify="left" if c in ("model", "kind") else "right")
    for name, e in report["models"].items():
        ip, http, mb = e["in_process"], e.get("http", {}), e.get("http_batching", {})
        kind = e["kind"] + (f" {e['precision']}" if e.get("precision") else "")
        conc = http.get("concurrent", {})
        mbc = mb.get("concurrent", {})
        table.add_row(
            name, kind, f"{ip['test_macro_f1']:.3f}", fmt(e["load"].get("load_s"), "{:.2f}"),
            fmt(http.get("cold_start_s")), fmt(http.get("rss_after_mb"), "{:.0f}"),
            f"{ip['single']['p50_ms']:.1f} / {ip['single']['p99_ms']:.1f}", f"{ip['batch_notes_per_s']:.0f}",
            f"{http['single']['p50_ms']:.1f} / {http['single']['p99_ms']:.1f}" if "single" in http else "-",
            fmt(http.get("batch_notes_per_s"), "{:.0f}"),
            f"{conc['notes_per_s']:.0f} ({conc['p99_ms']:.0f})" if conc else "-",
            f"{mbc['notes_per_s']:.0f} ({mbc['p99_ms']:.0f})" if mbc else "-",
        )
    Console(width=max(Console().width, 220)).print(table)
    for name, e in report["models"].items():
        for style, p in e.get("http", {}).get("single_by_style", {}).items():
            print(f"{name}: HTTP one note, {style} ({p['n']} notes): p50 {p['p50_ms']:.1f} ms, p99 {p['p99_ms']:.1f} ms")
    for name, e in report["models"].items():
        if "derived_onnx_parity" in e:
            p = e["derived_onnx_parity"]
            print(f"{name} -> ONNX int8: max |score diff| {p['max_abs_score_diff']:.4f}, p99 "
                  f"{p['p99_abs_score_diff']:.4f}, decisions agree {p['decision_agreement']:.4%} "
                  f"({'passes' if p['passed'] else 'FAILS'} the 0.01 / 99.5% parity targets)")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--model", action="append", default=[], metavar="NAME=REF",
                        help="a model to measure (repeatable): registry alias/version, models:/ URI or folder")
    parser.add_argument("--derive-onnx", action="append", metavar="NAME",
                        help="also export the torch transformer NAME to ONNX int8 and measure it")
    parser.add_argument("--registered-model", default="divert")
    parser.add_argument("--tracking-uri", default=None)
    parser.add_argument("--data", type=Path, default=Path("data/corpus/test.jsonl"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="use only this many notes (quick runs; F1 on them)")
    parser.add_argument("--n", type=int, default=300, help="notes timed one at a time in process")
    parser.add_argument("--n-http", type=int, default=300, help="notes sent one request each over HTTP")
    parser.add_argument("--n-http-batch", type=int, default=640, help="notes sent in batch requests over HTTP")
    parser.add_argument("--batch-size", type=int, default=64, help="notes per batch (in process and HTTP)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--batching", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure the transformers with API micro-batching on")
    parser.add_argument("--batch-max-size", type=int, default=16)
    parser.add_argument("--batch-max-wait-ms", type=float, default=2.0)
    parser.add_argument("--no-http", action="store_true", help="in-process figures only")
    parser.add_argument("--ready-timeout", type=float, default=180.0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/inference.json"))
    parser.add_argument("--probe", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.probe:
        if not args.model:
            parser.error("give at least one --model NAME=REF")
        if any("=" not in m for m in args.model):
            parser.error("--model takes NAME=REF")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = parse_args(argv)
    if args.probe:
        print(json.dumps(load_probe(args.probe, args.registered_model, args.tracking_uri)))
        return 0
    report = run(args)
    print_table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {args.out} (server logs and derived models in {report['workdir']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
