"""Markdown tables for the data card (data/README.md), computed from the written corpus files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from divert.model.labels import LABELS
from divert.training.corpus.generate import SPLIT_FILES
from divert.training.corpus.profile import (
    STYLE_REFERENCE_RANGES,
    TRANSCRIPT_STYLES,
    compare_to_reference,
    comparison_markdown,
    profile_texts,
    profile_transcripts,
)


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

    head = ("| split | records | families | " + " | ".join(LABELS)
            + " | cad | prose | transcript_clean | transcript_asr | es-en |")
    parts += [head, "|" + "---|" * (8 + len(LABELS))]
    for name, recs in [*splits.items(), ("all", all_recs)]:
        n = len(recs)
        fams = len({r["group"] for r in recs})
        pos = [sum(r["labels"][lab] for r in recs) for lab in LABELS]
        styles = Counter(r["meta"]["style"] for r in recs)
        es = sum(r["meta"]["language_mix"] == "es-en" for r in recs)
        cells = " | ".join(f"{p} ({100 * p / n:.1f}%)" for p in pos)
        parts.append(f"| {name} | {n} | {fams} | {cells} | {styles['cad']} | {styles['prose']} | "
                     f"{styles['transcript_clean']} | {styles['transcript_asr']} | {es} |")

    parts += ["", "| split | transcripts | families | clean | asr | clean unlabeled | asr unlabeled | es-en | "
              "words p50 | words p95 | seconds p50 |", "|" + "---|" * 11]
    for name, recs in [*splits.items(), ("all", all_recs)]:
        calls = [r for r in recs if r["meta"]["style"] in TRANSCRIPT_STYLES]
        if not calls:
            continue
        by = Counter((r["meta"]["style"], bool(r["meta"].get("speaker_labels"))) for r in calls)
        words = sorted(len(r["text"].split()) for r in calls)
        secs = sorted(r["transcript"]["segments"][-1]["end"] for r in calls)
        es = sum(r["meta"]["language_mix"] == "es-en" for r in calls)
        parts.append(
            f"| {name} | {len(calls)} | {len({r['group'] for r in calls})} | "
            f"{by[('transcript_clean', True)] + by[('transcript_clean', False)]} | "
            f"{by[('transcript_asr', True)] + by[('transcript_asr', False)]} | {by[('transcript_clean', False)]} | "
            f"{by[('transcript_asr', False)]} | {es} | {words[len(words) // 2]} | {words[int(0.95 * (len(words) - 1))]} | "
            f"{secs[len(secs) // 2]:.0f} |")

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


def transcript_style_table(corpus_dir: Path) -> str:
    """Each transcript style of all four files against its real ranges, then the figures without a range."""
    splits = load_splits(corpus_dir)
    parts: list[str] = []
    extra = ("words_p5", "words_p25", "words_p50", "words_p75", "words_p95", "filler_share", "fillers_per_100_words",
             "repeats_per_100_words", "okay_per_100_words", "question_share", "no_punct_share", "lower_share",
             "sir_maam_share", "digit_share", "speaker_label_share", "spanish_share", "digit_number_share")
    profiles = {}
    for style, ranges in STYLE_REFERENCE_RANGES.items():
        texts = [r["text"] for recs in splits.values() for r in recs if r["meta"]["style"] == style]
        profiles[style] = profile_transcripts(texts)
        parts += [f"`{style}` ({len(texts)} calls)", "", comparison_markdown(compare_to_reference(profiles[style], ranges)), ""]
    parts += ["| figure | " + " | ".join(profiles) + " |", "|---|" + "---|" * len(profiles)]
    for name in extra:
        parts.append(f"| {name} | " + " | ".join(f"{p[name]:.2f}" for p in profiles.values()) + " |")
    return "\n".join(parts)


if __name__ == "__main__":  # pragma: no cover
    import sys

    d = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("data/corpus")
    print(corpus_tables(d))
    print()
    print(style_table(d))
    print()
    print(transcript_style_table(d))
