"""Time to flag: how early in a call each model raises the correct flag, replaying transcripts segment by segment.

Each transcript of the split is replayed as a live call: the model scores the call after its first segment, after
its first two, ... (the same `parse_note` path as the API: overwrite rule, speaker markers, preprocessing), and
`divert.model.progressive` turns the per-prefix decisions into a timeline, exactly as the service does for a
call posted again and again with the same `call_id`. Per model and label:

- `median_s`: median seconds into the call (end of the segment) at which a positive call is first flagged, over
  the positive calls that are flagged at some point (`p90_s` the 90th percentile);
- `ever_flagged`: share of positive calls flagged at some point of the call;
- `withdrawn`: share of the flags raised on positive calls that were later withdrawn (the flag went off again
  as the call went on); `false_raise`: share of negative calls flagged at some point.

Data: the records of `data/corpus/<split>.jsonl` that carry `"transcript": {"segments": [...]}` (with start/end
seconds). When the split has none, the hand-written call transcripts (`data/handwritten/transcripts.jsonl`) are
used instead: labelled ones are cut at their `CALLER:` / `CALL TAKER:` turns, unlabelled ones at sentence ends,
and times are estimated from the words spoken (150 words a minute, as `source` says in the results).

    python bench/time_to_flag.py --model champion --split test
    python bench/time_to_flag.py --model path/to/tfidf-bundle --model path/to/transformer-bundle --markdown
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from divert.model.errors import InvalidInputError
from divert.model.inputs import NoteInput, Transcript, TranscriptSegment, parse_note
from divert.model.labels import LABELS
from divert.model.progressive import LabelOutcome, Point, outcomes, replay
from divert.model.pyfunc import LoadedModel, load_model

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
HANDWRITTEN = ROOT / "data" / "handwritten" / "transcripts.jsonl"
WORDS_PER_SECOND = 150 / 60
_TURN = re.compile(r"^(CALLER|CALL TAKER):\s*(.*)$")
_SENTENCE = re.compile(r"(?<=[.?!])\s+")


@dataclass(frozen=True)
class Call:
    id: str
    segments: list[TranscriptSegment]
    labels: dict[str, int]


# ------------------------------------------------------------------------------------------------ data


def _timed(turns: list[tuple[str, str]]) -> list[TranscriptSegment]:
    """Segments with times estimated from their words (a short pause between turns)."""
    out, clock = [], 0.0
    for speaker, text in turns:
        duration = max(1.0, len(text.split()) / WORDS_PER_SECOND)
        out.append(TranscriptSegment(speaker=speaker, text=text, start=round(clock, 2),
                                     end=round(clock + duration, 2)))
        clock += duration + 0.5
    return out


def segments_from_text(text: str) -> list[TranscriptSegment]:
    """A written transcript cut into segments: at speaker turns when labelled, else at sentence ends (about
    12 words at least per segment, as speech-to-text results come)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    turns: list[tuple[str, str]] = []
    if lines and all(_TURN.match(line) for line in lines):
        for line in lines:
            match = _TURN.match(line)
            assert match is not None
            turns.append(("caller" if match.group(1) == "CALLER" else "call_taker", match.group(2)))
        return _timed(turns)
    piece: list[str] = []
    for sentence in _SENTENCE.split(" ".join(lines)):
        piece.append(sentence)
        if len(" ".join(piece).split()) >= 12:
            turns.append(("unknown", " ".join(piece)))
            piece = []
    if piece:
        turns.append(("unknown", " ".join(piece)))
    return _timed(turns)


def _labels(record: dict[str, Any]) -> dict[str, int]:
    raw = record.get("labels") or {}
    return {name: int(raw[name]) for name in LABELS if raw.get(name) is not None}


def load_calls(split: str, corpus: Path, limit: int | None) -> tuple[list[Call], str]:
    """The split's transcript records, or the hand-written transcripts when it has none; and where they came from."""
    calls: list[Call] = []
    path = corpus / f"{split}.jsonl"
    if path.is_file():
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                transcript = record.get("transcript")
                if isinstance(transcript, dict) and transcript.get("segments"):
                    segs = Transcript.model_validate(transcript).segments
                    calls.append(Call(str(record.get("id")), segs, _labels(record)))
    source = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} (transcript records)"
    if not calls:
        with HANDWRITTEN.open(encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                calls.append(Call(str(record["id"]), segments_from_text(record["text"]), _labels(record)))
        source = (f"{HANDWRITTEN.relative_to(ROOT)} ({split} split has no transcript records; segments cut at "
                  f"turns/sentences, times estimated at 150 words/min)")
    return (calls[:limit] if limit else calls), source


# ------------------------------------------------------------------------------------------------ replay


def prefixes(call: Call) -> Iterator[tuple[str, Point]]:
    """The text the service would read after each segment, with the point (segment index, seconds) it ends at."""
    for k in range(1, len(call.segments) + 1):
        try:
            parsed = parse_note(NoteInput(transcript=Transcript(segments=call.segments[:k])))
        except (InvalidInputError, ValueError):  # an empty prefix (a segment of only whitespace so far): nothing to score yet
            continue
        yield parsed.text, Point(decisions={}, position=k - 1, elapsed_s=parsed.elapsed_s)


def replay_calls(loaded: LoadedModel, calls: Sequence[Call], batch_size: int) -> tuple[list[dict[str, LabelOutcome]],
                                                                                       int, float]:
    """Each call's label outcomes; the number of prefixes scored and the seconds it took."""
    plans = [list(prefixes(call)) for call in calls]
    texts = [text for plan in plans for text, _ in plan]
    started = time.perf_counter()
    decisions = np.zeros((0, len(loaded.model.labels)), dtype=bool)
    chunks = [loaded.model.predict(texts[i:i + batch_size]).decisions for i in range(0, len(texts), batch_size)]
    if chunks:
        decisions = np.vstack(chunks)
    seconds = time.perf_counter() - started
    out, row = [], 0
    for plan in plans:
        points = []
        for _, point in plan:
            points.append(Point(decisions=dict(zip(loaded.model.labels, decisions[row].tolist(), strict=True)),
                                position=point.position, elapsed_s=point.elapsed_s))
            row += 1
        out.append(outcomes(replay(points)))
    return out, len(texts), seconds


def summarise(calls: Sequence[Call], results: Sequence[dict[str, LabelOutcome]]) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for name in LABELS:
        pos = [r[name] for c, r in zip(calls, results, strict=True) if c.labels.get(name) == 1 and name in r]
        neg = [r[name] for c, r in zip(calls, results, strict=True) if c.labels.get(name) == 0 and name in r]
        flagged = [o for o in pos if o.ever_raised]
        times = sorted(o.first_raised_s for o in flagged if o.first_raised_s is not None)
        table[name] = {
            "positives": len(pos), "negatives": len(neg),
            "ever_flagged": len(flagged) / len(pos) if pos else None,
            "median_s": statistics.median(times) if times else None,
            "p90_s": float(np.percentile(times, 90)) if times else None,
            "withdrawn": sum(o.withdrawn_later for o in flagged) / len(flagged) if flagged else None,
            "flagged_at_end": sum(o.raised_at_end for o in pos) / len(pos) if pos else None,
            "false_raise": sum(o.ever_raised for o in neg) / len(neg) if neg else None,
        }
    return table


# ------------------------------------------------------------------------------------------------ output


def _fmt(value: Any, pct: bool = False, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}%" if pct else f"{value:.1f}{unit}"


COLUMNS = ("label", "positives", "median s to flag", "p90 s", "ever flagged", "withdrawn later", "flagged at end",
           "false raise")


def rows(table: dict[str, dict[str, Any]]) -> list[list[str]]:
    return [[name, str(t["positives"]), _fmt(t["median_s"]), _fmt(t["p90_s"]), _fmt(t["ever_flagged"], True),
             _fmt(t["withdrawn"], True), _fmt(t["flagged_at_end"], True), _fmt(t["false_raise"], True)]
            for name, t in table.items()]


def print_table(model: str, table: dict[str, dict[str, Any]], markdown: bool) -> None:
    body = rows(table)
    if markdown:
        print(f"\n**{model}**\n")
        print("| " + " | ".join(COLUMNS) + " |")
        print("|" + "---|" * len(COLUMNS))
        for r in body:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(c), *(len(r[i]) for r in body)) for i, c in enumerate(COLUMNS)]
    print(f"\n{model}")
    print("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)))
    for r in body:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))


def model_tag(loaded: LoadedModel) -> str:
    """A file-name-safe name of the model: `<kind>` plus its registry version or local folder name."""
    where = f"v{loaded.version}" if loaded.version else Path(loaded.uri).name
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{loaded.model.kind}-{where}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True,
                        help="registry alias/version, models:/ URI or local bundle path (repeat for several)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "corpus")
    parser.add_argument("--limit", type=int, default=None, help="first N calls only")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--registered-model", default="divert")
    parser.add_argument("--tracking-uri", default=None)
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables (for the README)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    calls, source = load_calls(args.split, args.corpus, args.limit)
    if not calls:
        print("no transcripts to replay", file=sys.stderr)
        return 1
    n_segments = sum(len(c.segments) for c in calls)
    print(f"{len(calls)} calls, {n_segments} segments, from {source}")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for ref in args.model:
        loaded = load_model(ref, registered_model=args.registered_model, tracking_uri=args.tracking_uri)
        results, n_prefixes, seconds = replay_calls(loaded, calls, args.batch_size)
        table = summarise(calls, results)
        tag = model_tag(loaded)
        print_table(f"{tag} ({ref}): {n_prefixes} prefixes scored in {seconds:.1f} s", table, args.markdown)
        out = args.out_dir / f"time_to_flag_{tag}.json"
        out.write_text(json.dumps({
            "model": {"ref": ref, "kind": loaded.model.kind, "name": loaded.name, "version": loaded.version,
                      "uri": loaded.uri},
            "split": args.split, "source": source, "calls": len(calls), "segments": n_segments,
            "prefixes_scored": n_prefixes, "scoring_seconds": round(seconds, 2),
            "machine": {"platform": platform.platform(), "python": platform.python_version()},
            "labels": table,
        }, indent=2) + "\n")
        print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
