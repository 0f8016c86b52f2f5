"""Faithfulness and latency of `divert.model.explain` on a labelled test set (a benchmark, not a test).

For each note of `--data` on which the model flags a label (calibrated score >= threshold), the label's score is
re-computed after deleting k = 1..K words (characters removed, spaces collapsed: `explain.remove_spans`):
- `top`: the k words with the largest attribution for that label (the method under test);
- `random`: k words drawn at random (mean over `--seeds` draws);
- `keywords`: the k words a plain keyword list would pick, i.e. words inside a match of one of the label's
  `keyword_rules` patterns, negated or not (highest rule weight first, then text order). A note with fewer such
  words loses only those.
The deletion curve is the mean drop of the calibrated score (and of the raw logit) per k. The target: deleting
the top 3 words drops the flagged label's score at least twice as much as deleting 3 random words.

Latency: one explanation of one note (all labels, the method under test), warm, on `--latency-n` notes;
p50 and p95 wall-clock milliseconds, plus the process CPU time (robust to other load on a shared machine; torch
uses every core, so CPU time over the thread count approximates the wall time on an idle machine) and the load
average at the end of the run.

    python bench/explain_faithfulness.py --model champion --data data/corpus/test.jsonl --n 200
    python bench/explain_faithfulness.py --model path/to/bundle --method integrated_gradients --method occlusion
    python bench/explain_faithfulness.py --model path/to/bundle_torch --runtime onnx_int8   # the ONNX runtime

`--runtime onnx_int8|onnx_fp32` exports a PyTorch transformer to ONNX first (as training does) and measures the
exported model: what an ONNX-served model's /v1/explain does. An ONNX bundle given as `--model` is measured as
it is. `--threads` sets the ONNX Runtime / torch intra-op threads.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from divert.model.bundle import DivertModel
from divert.model.explain import WordSpan, default_method, explain, raw_logits, remove_spans, word_spans
from divert.model.keywords import KeywordScorer
from divert.model.preprocess import preprocess

STRATEGIES = ("top", "random", "keywords")


@dataclass
class Curves:
    """Per strategy, per k: the score drops of every (note, label) pair."""

    k_max: int
    score: dict[str, list[list[float]]] = field(default_factory=dict)
    logit: dict[str, list[list[float]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for s in STRATEGIES:
            self.score[s] = [[] for _ in range(self.k_max)]
            self.logit[s] = [[] for _ in range(self.k_max)]

    def add(self, strategy: str, k: int, score_drop: float, logit_drop: float) -> None:
        self.score[strategy][k - 1].append(score_drop)
        self.logit[strategy][k - 1].append(logit_drop)

    def means(self, which: dict[str, list[list[float]]]) -> dict[str, list[float]]:
        return {s: [float(np.mean(v)) if v else float("nan") for v in which[s]] for s in STRATEGIES}


# --------------------------------------------------------------------------------------------------- choosing words


def keyword_words(keywords: KeywordScorer, label: str, text: str, words: Sequence[WordSpan]) -> list[int]:
    """Indices of words covered by a match of `label`'s rules (negation ignored), heaviest rule first."""
    ranked: list[tuple[float, int]] = []
    for hit in keywords.hits(text):
        if hit.label != label:
            continue
        for i, w in enumerate(words):
            if w.start < hit.end and hit.start < w.end:
                ranked.append((-hit.weight, i))
    order: list[int] = []
    for _, i in sorted(ranked, key=lambda t: (t[0], words[t[1]].start)):
        if i not in order:
            order.append(i)
    return order


def without(text: str, words: Sequence[WordSpan], chosen: Sequence[int]) -> str:
    return remove_spans(text, [(words[i].start, words[i].end) for i in chosen])


# --------------------------------------------------------------------------------------------------- one pair


def pair_variants(text: str, words: list[WordSpan], ranking: list[int], keyword_rank: list[int], k_max: int,
                  seeds: int, rng: np.random.Generator) -> list[tuple[str, int, str]]:
    """(strategy, k, text without the chosen words) for every strategy, k and random draw."""
    out: list[tuple[str, int, str]] = []
    for k in range(1, k_max + 1):
        out.append(("top", k, without(text, words, ranking[:k])))
        out.append(("keywords", k, without(text, words, keyword_rank[:k])))
        for _ in range(seeds):
            chosen = rng.choice(len(words), size=min(k, len(words)), replace=False).tolist() if words else []
            out.append(("random", k, without(text, words, chosen)))
    return out


def score_pair(model: DivertModel, text: str, j: int, variants: list[tuple[str, int, str]],
               curves: Curves) -> None:
    texts = [text, *(v for _, _, v in variants)]
    logits = raw_logits(model, texts)[:, j]
    scores = model.calibrate(model.raw_scores(texts))[:, j]
    grouped: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for (strategy, k, _), s, lg in zip(variants, scores[1:], logits[1:], strict=True):
        grouped.setdefault((strategy, k), []).append((scores[0] - s, logits[0] - lg))
    for (strategy, k), drops in grouped.items():
        curves.add(strategy, k, float(np.mean([d[0] for d in drops])), float(np.mean([d[1] for d in drops])))


def deletion_curves(model: DivertModel, texts: list[str], method: str, k_max: int, seeds: int,
                    seed: int) -> tuple[Curves, int, int]:
    """Curves over every flagged (note, label) pair; returns them, the number of pairs and of notes."""
    keywords = KeywordScorer(model.labels)
    rng = np.random.default_rng(seed)
    curves = Curves(k_max)
    pairs = 0
    notes = 0
    predictions = model.predict(texts)
    for i, text in enumerate(texts):
        flagged = [j for j in range(len(model.labels)) if predictions.decisions[i, j]]
        if not flagged:
            continue
        notes += 1
        exp = explain(model, text, [model.labels[j] for j in flagged], method=method)
        words = word_spans(exp.text)
        for j, label_exp in zip(flagged, exp.labels, strict=True):
            ranking = sorted(range(len(words)), key=lambda w: (-label_exp.words[w].attribution, w))
            variants = pair_variants(exp.text, words, ranking, keyword_words(keywords, label_exp.label, exp.text, words),
                                     k_max, seeds, rng)
            score_pair(model, exp.text, j, variants, curves)
            pairs += 1
    return curves, pairs, notes


# --------------------------------------------------------------------------------------------------- latency


def latency_ms(model: DivertModel, texts: list[str], method: str, warmup: int = 3) -> dict[str, float]:
    for text in texts[:warmup]:
        explain(model, text, method=method)
    times: list[float] = []
    cpu: list[float] = []
    for text in texts:
        started, cpu_started = time.perf_counter(), time.process_time()
        explain(model, text, method=method)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95)),
            "mean_ms": float(statistics.fmean(times)), "n": len(times),
            "cpu_p50_ms": float(np.percentile(cpu, 50)), "cpu_p95_ms": float(np.percentile(cpu, 95)),
            "load_average_1m": os.getloadavg()[0]}


def completeness(model: DivertModel, texts: list[str], method: str) -> dict[str, float] | None:
    errors = [lab.completeness_error for t in texts for lab in explain(model, t, method=method).labels]
    known = [e for e in errors if e is not None]
    if not known:
        return None
    return {"median": float(np.median(known)), "max": float(np.max(known))}


# --------------------------------------------------------------------------------------------------- io


def read_texts(path: Path, seed: int) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rows))
    return [preprocess(str(rows[i]["text"])) for i in order]


def method_report(model: DivertModel, texts: list[str], method: str, args: argparse.Namespace) -> dict[str, Any]:
    decisions = model.predict(texts).decisions
    chosen = [t for t, row in zip(texts, decisions, strict=True) if bool(row.any())][: args.n]
    curves, pairs, notes = deletion_curves(model, chosen, method, args.k_max, args.seeds, args.seed)
    score = curves.means(curves.score)
    ratio = score["top"][2] / score["random"][2] if args.k_max >= 3 and score["random"][2] > 0 else float("nan")
    return {
        "method": method, "notes": notes, "pairs": pairs,
        "score_drop": score, "logit_drop": curves.means(curves.logit),
        "top3_over_random3": ratio, "target_met": bool(ratio >= 2.0),
        "latency": latency_ms(model, texts[: args.latency_n], method),
        "completeness_error": completeness(model, texts[: min(args.latency_n, 50)], method),
    }


def print_result(kind: str, k_max: int, result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{kind} · {result['method']} · {result['pairs']} flagged (note, label) pairs on "
                        f"{result['notes']} notes: mean score drop")
    table.add_column("words removed")
    for s in STRATEGIES:
        table.add_column(s, justify="right")
    for k in range(k_max):
        table.add_row(str(k + 1), *(f"{result['score_drop'][s][k]:.3f}" for s in STRATEGIES))
    console.print(table)
    lat = result["latency"]
    console.print(f"top3/random3 = {result['top3_over_random3']:.2f} (target >= 2: "
                  f"{'met' if result['target_met'] else 'NOT met'}); latency p50 {lat['p50_ms']:.1f} ms, "
                  f"p95 {lat['p95_ms']:.1f} ms over {lat['n']} notes (CPU time p50 {lat['cpu_p50_ms']:.1f} ms, "
                  f"load average {lat['load_average_1m']:.1f}); completeness error "
                  f"{result['completeness_error']}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--model", default="champion", help="registry alias, version, models:/ URI or bundle path")
    parser.add_argument("--registered-model", default="divert")
    parser.add_argument("--tracking-uri", default=None)
    parser.add_argument("--data", type=Path, default=Path("data/corpus/test.jsonl"))
    parser.add_argument("--n", type=int, default=200, help="notes with at least one flagged label")
    parser.add_argument("--k-max", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=5, help="random draws per (note, label, k)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-n", type=int, default=100, help="notes timed for latency")
    parser.add_argument("--method", action="append", default=None,
                        help="method(s) to measure (repeatable); default: the model's default method")
    parser.add_argument("--runtime", choices=["as-is", "onnx_int8", "onnx_fp32"], default="as-is",
                        help="export a PyTorch transformer to this ONNX runtime first and measure that")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (ONNX Runtime or torch)")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON results (default bench/results/explain_faithfulness_<kind>.json)")
    return parser.parse_args(argv)


def to_runtime(model: DivertModel, runtime: str, threads: int | None) -> DivertModel:
    """The model as the runtime asks: as given, or a torch transformer exported to ONNX int8/fp32."""
    if runtime == "as-is":
        return model
    import tempfile

    from divert.model.onnx_runtime import ExportOptions, OnnxScorer, export_onnx
    from divert.model.transformer import TransformerScorer

    if not isinstance(model.scorer, TransformerScorer):
        raise SystemExit(f"--runtime {runtime} needs a PyTorch transformer model, not a {model.kind!r} model")
    folder = Path(tempfile.mkdtemp(prefix="divert-explain-onnx-"))
    scorer = export_onnx(model.scorer, folder, ExportOptions(precision=runtime.removeprefix("onnx_")))
    if threads is not None:
        scorer = OnnxScorer.load(folder, intra_op_threads=threads)
    return DivertModel(scorer, model.manifest.model_copy(update={"kind": "onnx"}))


def main(argv: Sequence[str] | None = None) -> int:
    from divert.model.pyfunc import load_model

    args = parse_args(argv)
    if args.threads is not None:
        os.environ["DIVERT_ONNX_THREADS"] = str(args.threads)
    loaded = load_model(args.model, registered_model=args.registered_model, tracking_uri=args.tracking_uri)
    model = to_runtime(loaded.model, args.runtime, args.threads)
    if args.threads is not None and model.kind == "transformer":
        import torch

        torch.set_num_threads(args.threads)
    texts = read_texts(args.data, args.seed)
    methods = args.method or [default_method(model.kind)]
    report: dict[str, Any] = {
        "model": loaded.uri, "model_name": model.manifest.name, "model_kind": model.kind,
        "runtime": args.runtime if args.runtime != "as-is" else model.kind,
        "precision": getattr(model.scorer, "precision", None),
        "data": str(args.data), "k_max": args.k_max, "random_seeds": args.seeds,
        "machine": {"cpus": os.cpu_count(), "threads": args.threads, "platform": platform.platform(),
                    "python": platform.python_version()},
        "methods": [],
    }
    for method in methods:
        result = method_report(model, texts, method, args)
        print_result(model.kind, args.k_max, result)
        report["methods"].append(result)
    suffix = model.kind if model.kind != "onnx" else f"onnx_{getattr(model.scorer, 'precision', 'int8')}"
    out = args.out or Path("bench/results") / f"explain_faithfulness_{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
