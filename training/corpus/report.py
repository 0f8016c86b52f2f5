"""Markdown tables for the data card (data/README.md), computed from the written corpus files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from divert.model.labels import LABELS
from divert.training.corpus.generate import SPLIT_FILES
from divert.training.corpus.profile import compare_to_reference, comparison_markdown, profile_texts


def load_splits(corpus_dir: Path) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for name, fname in SPLIT_FILES.items():
        lines = (Path(corpus_dir) / fname).read_text(encoding="utf-8").splitlines()
        out[name] = [json.loads(line) for line in lines if line.strip()]
    return out


def corpus_tables(corpus_dir: Path) -> str:
    splits = load_splits(corpus_dir)
    all_recs = [r for recs in splits.values() for r in recs]
    parts: list[str] = []

    head = "| split | notes | families | " + " | ".join(LABELS) + " | cad | prose | es-en |"
    parts += [head, "|" + "---|" * (6 + len(LABELS))]
    for name, recs in [*splits.items(), ("all", all_recs)]:
        n = len(recs)
        fams = len({r["group"] for r in recs})
        pos = [sum(r["labels"][lab] for r in recs) for lab in LABELS]
        styles = Counter(r["meta"]["style"] for r in recs)
        es = sum(r["meta"]["language_mix"] == "es-en" for r in recs)
        cells = " | ".join(f"{p} ({100 * p / n:.1f}%)" for p in pos)
        parts.append(f"| {name} | {n} | {fams} | {cells} | {styles['cad']} | {styles['prose']} | {es} |")

    parts += ["", "| labels (bh si sub vio med) | notes |", "|---|---|"]
    combos = Counter(" ".join(str(r["labels"][lab]) for lab in LABELS) for r in all_recs)
    for combo, n in sorted(combos.items()):
        parts.append(f"| {combo} | {n} |")

    parts += ["", "| hard case | notes | families |", "|---|---|---|"]
    hc = Counter(str(r["meta"]["hard_case"]) for r in all_recs)
    for case, n in sorted(hc.items()):
        fams = len({r["group"] for r in all_recs if str(r["meta"]["hard_case"]) == case})
        parts.append(f"| {case} | {n} | {fams} |")

    parts += ["", "| call family | notes | families |", "|---|---|---|"]
    cf = Counter(r["meta"]["call_family"] for r in all_recs)
    for fam, n in sorted(cf.items()):
        fams = len({r["group"] for r in all_recs if r["meta"]["call_family"] == fam})
        parts.append(f"| {fam} | {n} | {fams} |")

    parts += ["", "| caller type | notes |", "|---|---|"]
    for ct, n in sorted(Counter(r["meta"]["caller_type"] for r in all_recs).items()):
        parts.append(f"| {ct} | {n} |")
    return "\n".join(parts)


def style_table(corpus_dir: Path) -> str:
    splits = load_splits(corpus_dir)
    texts = [r["text"] for recs in splits.values() for r in recs if r["meta"]["style"] in ("cad", "prose")]
    return comparison_markdown(compare_to_reference(profile_texts(texts)))


if __name__ == "__main__":  # pragma: no cover
    import sys

    d = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("data/corpus")
    print(corpus_tables(d))
    print()
    print(style_table(d))
