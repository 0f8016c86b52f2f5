"""Batch scoring throughput: rows per second and peak memory of `divert batch score`, local and Spark.

    python bench/batch_scoring.py --model champion                          # 1,000,000 calls
    python bench/batch_scoring.py --model 3 --model 4 --rows 1000000 --transformer-rows 50000
    python bench/batch_scoring.py --model /tmp/tiny-bundle --rows 20000     # a quick try

For every model it generates N calls (`divert.serving.batch.sample`: bundled corpus notes with times, areas and
codes; a transformer or ONNX model gets `--transformer-rows` of them), then runs the real CLI in a child process
for each engine: `local` with one process, `local` with one process per core, and `spark --master local[2]`.
Wall time covers the whole command (model loading, Spark start-up and writing the Parquet included); peak memory is
the largest sum of resident memory over the command's whole process tree (driver, workers, the JVM), sampled every
0.1 s. Prints a table and writes bench/results/batch_scoring.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

RESULTS = Path(__file__).resolve().parent / "results"
TRANSFORMER_KINDS = ("transformer", "onnx")


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, int, int, str]:
    """(wall seconds, peak tree RSS bytes, exit code, last output lines)."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc = psutil.Process(child.pid)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    return wall, peak, child.returncode, "\n".join(out.strip().splitlines()[-3:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True, help="model ref (alias, version, URI or path)")
    ap.add_argument("--tracking-uri", default=None)
    ap.add_argument("--rows", type=int, default=1_000_000, help="calls for TF-IDF / keyword models")
    ap.add_argument("--transformer-rows", type=int, default=50_000, help="calls for transformer / ONNX models")
    ap.add_argument("--engines", default="local1,local,spark", help="comma list of local1, local, spark")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--chunk-rows", type=int, default=20_000)
    ap.add_argument("--out", type=Path, default=RESULTS / "batch_scoring.json")
    ap.add_argument("--keep", action="store_true", help="keep the generated input and outputs")
    args = ap.parse_args()

    from divert.model.pyfunc import load_model
    from divert.serving.batch.sample import sample_calls

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    divert = [sys.executable, "-m", "divert.cli.app"]
    work = Path(tempfile.mkdtemp(prefix="divert-bench-batch-"))
    rows_out: list[dict[str, Any]] = []
    inputs: dict[int, Path] = {}
    try:
        for ref in args.model:
            loaded = load_model(ref, tracking_uri=args.tracking_uri)
            kind = loaded.model.kind
            n = args.transformer_rows if kind in TRANSFORMER_KINDS else args.rows
            del loaded
            if n not in inputs:
                t = time.perf_counter()
                path = work / f"calls-{n}.parquet"
                sample_calls(n, seed=7, broken=n // 10_000).to_parquet(path, index=False, row_group_size=100_000)
                inputs[n] = path
                print(f"generated {n:,} calls in {time.perf_counter() - t:.1f} s: {path}", flush=True)
            for engine in args.engines.split(","):
                out = work / f"out-{engine}"
                cmd = [*divert, "batch", "score", str(inputs[n]), str(out), "--model", ref, "--no-progress",
                       "--overwrite", "--chunk-rows", str(args.chunk_rows)]
                if args.tracking_uri:
                    cmd += ["--tracking-uri", args.tracking_uri]
                if engine == "local1":
                    cmd += ["--workers", "1"]
                    label = "local, 1 process"
                elif engine == "local":
                    cmd += ["--workers", str(os.cpu_count() or 1)]
                    label = f"local, {os.cpu_count()} processes"
                elif engine == "spark":
                    cmd += ["--engine", "spark", "--master", args.master]
                    label = f"spark {args.master}"
                else:
                    raise SystemExit(f"unknown engine {engine!r}")
                wall, peak, code, tail = run_measured(cmd, env)
                manifest = json.loads((out / "manifest.json").read_text()) if (out / "manifest.json").is_file() else {}
                totals = manifest.get("totals", {})
                row = {"model": ref, "kind": kind, "engine": label, "rows": n, "exit_code": code,
                       "wall_s": round(wall, 2), "rows_per_s": round(n / wall, 1) if code == 0 else None,
                       "peak_rss_mib": round(peak / 2**20), "scored": totals.get("scored"),
                       "rejected": totals.get("rejected")}
                if code != 0:
                    row["error"] = tail
                rows_out.append(row)
                print(f"  {ref} ({kind}) {label}: {row['rows_per_s']} rows/s, peak {row['peak_rss_mib']} MiB"
                      + ("" if code == 0 else f"  FAILED: {tail}"), flush=True)
                if not args.keep:
                    shutil.rmtree(out, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    machine = {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
               "platform": platform.platform(), "python": platform.python_version(),
               "processor": platform.processor() or platform.machine()}
    print(f"\nmachine: {machine['cpus']} CPUs, {machine['memory_gib']} GiB, {machine['platform']}")
    print("| model | kind | engine | calls | rows/s | peak memory (MiB) | wall (s) |\n|---|---|---|---|---|---|---|")
    for r in rows_out:
        print(f"| {r['model']} | {r['kind']} | {r['engine']} | {r['rows']:,} | "
              f"{r['rows_per_s'] if r['rows_per_s'] is not None else 'failed'} | {r['peak_rss_mib']} | {r['wall_s']} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "command": " ".join(sys.argv), "results": rows_out},
                                   indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
