"""Recall and precision of `divert.model.redact.Redactor` per PII type, on synthetic notes with planted PII.

`data/pii_eval.jsonl` holds one note per line: `{"id", "style", "text", "spans": [{"type", "start", "end"}],
"keep": [...]}`; every value in it is invented (phone numbers are 555 numbers). `keep` lists dispatch jargon in the
note that must survive redaction (RP, SUBJ, ETOH, W/M, unit ids, 10-codes, ages).

- recall (per type): share of planted spans fully covered by redacted spans of any type (a phone number redacted
  as [ID] is still not stored);
- typed recall: the same, counting only spans redacted with the planted type;
- precision (per predicted type): share of redacted spans that overlap a planted span;
- jargon kept: share of `keep` words still in the redacted text.

    python bench/redaction_recall.py                     # prints the table (and --json FILE to save it)
    python bench/redaction_recall.py --write-eval        # regenerates data/pii_eval.jsonl (seeded)
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from divert.model.redact import PII_TYPES, Redactor

ROOT = Path(__file__).resolve().parents[1]
EVAL_PATH = ROOT / "data" / "pii_eval.jsonl"

# Invented values only. Names are common given names and surnames; no note describes a real person.
FIRST = ["John", "Maria", "Darnell", "Emily", "Jose", "Aisha", "Kevin", "Linda", "Tyrone", "Megan", "Carlos",
         "Priya", "Robert", "Keisha", "Brian", "Nicole", "Hector", "Susan", "Dmitri", "Rosa", "Gary", "Tamika",
         "Wei", "Fatima", "Derek", "Carmen", "Samuel", "Olga", "Marcus", "Heather", "Luis", "Brenda"]
LAST = ["Smith", "Garcia", "Okafor", "Johnson", "Nguyen", "Hernandez", "Williams", "Patel", "Brown", "Kowalski",
        "Martinez", "Washington", "Lee", "Anderson", "Ramirez", "Thompson", "Jackson", "Murphy", "Castillo",
        "Robinson", "Fischer", "Lopez", "Baker", "Delgado", "Reyes", "Sullivan", "Coleman", "Petrov"]
STREETS = ["Elm", "Oak", "Maple", "Main", "Cedar", "Lincoln", "Washington", "Park", "Hillcrest", "Lakeview",
           "Pine", "Sunset", "River", "Martin Luther King", "5th", "23rd", "Orchard", "Willow Creek"]
SUFFIXES = ["St", "Ave", "Rd", "Blvd", "Dr", "Ln", "Ct", "Way", "Pl", "Street", "Avenue", "Drive"]
DIRS = ["", "", "", "N ", "S ", "E ", "W "]
UNITS = ["", "", "", " Apt 4B", " Apt 12", " Unit 3", " #210", " Lot 17"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DOMAINS = ["example.com", "example.org", "mail.example.net", "test.example"]


def _name(r: random.Random) -> str:
    return f"{r.choice(FIRST)} {r.choice(LAST)}"


def _phone(r: random.Random) -> str:
    tail = f"{r.randint(100, 199):04d}"  # 555-0100 .. 555-0199: reserved for fiction
    area = r.randint(201, 989)
    return r.choice([f"{area}-555-{tail}", f"({area}) 555-{tail}", f"{area}.555.{tail}", f"555-{tail}",
                     f"{area} 555 {tail}", f"1-{area}-555-{tail}"])


def _email(r: random.Random, name: str) -> str:
    first, last = name.lower().split(" ", 1)
    user = r.choice([f"{first}.{last}", f"{first[0]}{last}{r.randint(1, 99)}", f"{first}_{last}"])
    return f"{user.replace(' ', '')}@{r.choice(DOMAINS)}"


def _address(r: random.Random) -> str:
    return f"{r.randint(10, 9899)} {r.choice(DIRS)}{r.choice(STREETS)} {r.choice(SUFFIXES)}{r.choice(UNITS)}"


def _dob(r: random.Random) -> str:
    y, m, d = r.randint(1940, 2008), r.randint(1, 12), r.randint(1, 28)
    return r.choice([f"{m}/{d}/{y}", f"{m:02d}/{d:02d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{MONTHS[m - 1]} {d} {y}",
                     f"{m:02d}-{d:02d}-{str(y)[2:]}"])


def _id(r: random.Random) -> tuple[str, str]:
    """(cue, number): the cue stays, the number is the planted span."""
    kind = r.choice(["ssn", "dl", "mrn", "id", "plate", "oln"])
    if kind == "ssn":
        return r.choice(["SSN ", "SSN: ", "SS# "]), f"{r.randint(100, 899)}-{r.randint(10, 99)}-{r.randint(1000, 9999)}"
    if kind == "dl":
        return r.choice(["DL# ", "DL ", "DRIVERS LICENSE "]), f"{r.choice('ABCDEFGHJK')}{r.randint(1000000, 9999999)}"
    if kind == "mrn":
        return "MRN ", f"{r.randint(10000000, 99999999)}"
    if kind == "plate":
        return "PLATE ", f"{r.choice(['ABC', 'XKZ', 'MTR', 'GHW'])}{r.randint(1000, 9999)}"
    if kind == "oln":
        return "OLN ", f"{r.randint(100, 999)}{r.randint(100000, 999999)}"
    return "STATE ID ", f"{r.randint(10, 99)}-{r.randint(100000, 999999)}"


# Templates: {NAME}, {NAME2}, {PHONE}, {EMAIL}, {ADDRESS}, {DOB}, {IDCUE}{ID}. Jargon listed in `keep`.
TEMPLATES: list[tuple[str, str, list[str]]] = [
    ("cad", "RP {NAME} ADV BROTHER OFF HIS MEDS TALKING TO PEOPLE WHO ARENT THERE NO WPNS CB {PHONE}", ["RP", "NO WPNS"]),
    ("cad", "NAME: {NAME} DOB {DOB} 45 YOM ETOH UNABLE TO WALK AT {ADDRESS}", ["45 YOM", "ETOH"]),
    ("cad", "SUBJ ID'D AS {NAME} {IDCUE}{ID} W/M 30S YELLING AT TRAFFIC E12 ENRT 10-4", ["SUBJ", "W/M", "E12", "10-4"]),
    ("cad", "RP IS {NAME} AT {ADDRESS} SON THREATENING SUICIDE HAS KNIFE C/B {PHONE}", ["RP", "C/B"]),
    ("cad", "CALLER {NAME} STATES HUSBAND {NAME2} HITTING HER DV IN PROGRESS {ADDRESS}", ["DV IN PROGRESS"]),
    ("cad", "PT {NAME} 62 YOF DOB {DOB} FELL HIT HEAD M7 ENRT", ["62 YOF", "M7"]),
    ("cad", "WELFARE CHECK ON {NAME} {ADDRESS} NOT ANSWERING PHONE PER DAUGHTER {PHONE}", ["WELFARE CHECK"]),
    ("cad", "SUSP {NAME} B/M 20S RED HOODIE FLED ON FOOT {IDCUE}{ID} 10-32 ADV", ["B/M", "10-32"]),
    ("cad", "RP {NAME} REQ CB REF NEIGHBOR {NAME2} THREATENING W/ BAT {ADDRESS}", ["RP", "REQ CB"]),
    ("cad", "OD AT {ADDRESS} NARCAN GIVEN PT IS {NAME} DOB {DOB} E4 M2 ENRT", ["NARCAN", "E4", "M2"]),
    ("cad", "MOTHER {NAME} ADV SON OFF MEDS PARANOID EMAIL ON FILE {EMAIL} CB {PHONE}", ["ADV", "CB"]),
    ("cad", "SUBJ {NAME} {IDCUE}{ID} ETOH REFUSING TO LEAVE STORE MGR REQ TRESPASS", ["SUBJ", "ETOH"]),
    ("cad", "2 VEH MVA NB HWY 9 NO INJ DRIVER {NAME} {IDCUE}{ID}", ["2 VEH MVA NB HWY 9"]),
    ("cad", "SUICIDAL TEXT FROM {EMAIL} TO CRISIS LINE RP {NAME} AT {ADDRESS}", ["RP"]),
    ("prose", "Caller {NAME} says her son is threatening suicide and took pills. Call back at {PHONE}.", []),
    ("prose", "My name is {NAME}, I live at {ADDRESS} and my neighbor is screaming at cars.", []),
    ("prose", "Reporting party {NAME} (DOB {DOB}) states her brother {NAME2} has a gun and is drunk.", []),
    ("prose", "Welfare check requested by {NAME} for an elderly man at {ADDRESS}; reach her at {EMAIL}.", []),
    ("prose", "Patient identified as {NAME}, {IDCUE}{ID}, found unresponsive near the bus stop.", []),
    ("prose", "The caller, {NAME}, reports a man yelling in the lobby of {ADDRESS}. Phone {PHONE}.", []),
    ("prose", "{NAME} called again about her husband, DOB {DOB}, who is off his medication.", []),
    ("prose", "Contact {NAME} at {PHONE} or {EMAIL} about the follow-up visit.", []),
]

NO_PII: list[tuple[str, list[str]]] = [
    ("RP ADV SUBJ IS CALM NOW, NO WEAPONS, NOT SUICIDAL E12 CLR", ["RP", "ADV", "SUBJ", "E12"]),
    ("2 VEH MVA NB HWY 9 NO INJ BLOCKING LANE", ["2 VEH MVA NB HWY 9"]),
    ("45 YOM ON MAIN ST ETOH UNABLE TO STAND", ["45 YOM", "ETOH"]),
    ("W/M 40S SHOUTING AT CARS 10-4 M7 ENRT", ["W/M", "10-4", "M7"]),
    ("LIFT ASSIST 82 YOM FELL NO INJURY C/B", ["82 YOM", "C/B"]),
    ("SUBJ STATING HE WANTS TO KILL HIMSELF HAS A KNIFE", ["SUBJ"]),
    ("DV IN PROGRESS HUSBAND HITTING WIFE 10-33", ["DV", "10-33"]),
    ("SON THREATENING SUICIDE RP ADV NO WPNS", ["SON", "RP", "ADV"]),
    ("caller says her son is threatening suicide, took pills, hard to wake", ["son"]),
    ("BURGLARY ALARM REAR DOOR OPER 44 E21 ENRT", ["E21"]),
    ("SEIZURE 30 YOM ON THE GROUND SHAKING M12 10-8", ["30 YOM", "M12", "10-8"]),
    ("PT ETOH B/F 50S AMS REFUSING TRANSPORT", ["PT", "ETOH", "B/F"]),
]


def build_eval_set(seed: int = 7, per_template: int = 7) -> list[dict[str, Any]]:
    r = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for t_index, (style, template, keep) in enumerate(TEMPLATES):
        for k in range(per_template):
            name = _name(r)
            cue, number = _id(r)
            values = {"NAME": name, "NAME2": _name(r), "PHONE": _phone(r), "EMAIL": _email(r, name),
                      "ADDRESS": _address(r), "DOB": _dob(r), "IDCUE": cue, "ID": number}
            text, spans = _fill(template, values, upper=style == "cad")
            rows.append({"id": f"pii-{t_index:02d}-{k}", "style": style, "text": text, "spans": spans,
                         "keep": keep})
    for i, (text, keep) in enumerate(NO_PII):
        rows.append({"id": f"nopii-{i:02d}", "style": "cad" if text.isupper() else "prose", "text": text,
                     "spans": [], "keep": keep})
    return rows


def _fill(template: str, values: dict[str, str], *, upper: bool) -> tuple[str, list[dict[str, Any]]]:
    out = ""
    spans = []
    pos = 0
    for m in _SLOT.finditer(template):
        out += template[pos:m.start()]
        slot = m.group(1)
        value = values[slot].upper() if upper else values[slot]
        kind = {"NAME2": "NAME", "IDCUE": None}.get(slot, slot)
        if kind is not None:
            spans.append({"type": kind, "start": len(out), "end": len(out) + len(value)})
        out += value
        pos = m.end()
    out += template[pos:]
    return out, spans


_SLOT = re.compile(r"\{([A-Z0-9]+)\}")


def load_eval_set(path: Path = EVAL_PATH) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(redactor: Redactor, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    planted = {t: 0 for t in PII_TYPES}
    covered = {t: 0 for t in PII_TYPES}
    typed = {t: 0 for t in PII_TYPES}
    predicted = {t: 0 for t in PII_TYPES}
    true_pred = {t: 0 for t in PII_TYPES}
    keep_total = keep_ok = 0
    misses: list[dict[str, str]] = []
    false_positives: list[dict[str, str]] = []
    started = time.perf_counter()
    for row in rows:
        text = row["text"]
        result = redactor.redact(text)
        mask = [""] * len(text)
        for kind, s, e in result.spans:
            for i in range(s, e):
                mask[i] = kind
        for span in row["spans"]:
            kind, s, e = span["type"], span["start"], span["end"]
            planted[kind] += 1
            if all(mask[i] for i in range(s, e)):
                covered[kind] += 1
                typed[kind] += all(mask[i] == kind for i in range(s, e))
            else:
                misses.append({"id": row["id"], "type": kind, "value": text[s:e]})
        for kind, s, e in result.spans:
            predicted[kind] += 1
            if any(s < p["end"] and e > p["start"] for p in row["spans"]):
                true_pred[kind] += 1
            else:
                false_positives.append({"id": row["id"], "type": kind, "value": text[s:e]})
        for word in row.get("keep", []):
            keep_total += 1
            keep_ok += word in result.text
    elapsed = time.perf_counter() - started
    per_type = {t: {"planted": planted[t], "recall": _ratio(covered[t], planted[t]),
                    "typed_recall": _ratio(typed[t], planted[t]), "predicted": predicted[t],
                    "precision": _ratio(true_pred[t], predicted[t])} for t in PII_TYPES}
    return {"notes": len(rows), "per_type": per_type, "jargon_kept": _ratio(keep_ok, keep_total),
            "ms_per_note": 1000 * elapsed / max(len(rows), 1), "misses": misses, "false_positives": false_positives}


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_report(report: dict[str, Any], *, show_errors: int = 0) -> None:
    print(f"{report['notes']} notes, {report['ms_per_note']:.1f} ms/note")
    print(f"{'type':8} {'planted':>7} {'recall':>7} {'typed':>7} {'predicted':>9} {'precision':>9}")
    for kind, row in report["per_type"].items():
        print(f"{kind:8} {row['planted']:>7} {_fmt(row['recall']):>7} {_fmt(row['typed_recall']):>7} "
              f"{row['predicted']:>9} {_fmt(row['precision']):>9}")
    print(f"jargon kept: {_fmt(report['jargon_kept'])}")
    for title, key in (("missed", "misses"), ("false positives", "false_positives")):
        if show_errors and report[key]:
            print(f"{title} (first {show_errors}):")
            for item in report[key][:show_errors]:
                print(f"  {item['id']} {item['type']}: {item['value']!r}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=EVAL_PATH)
    parser.add_argument("--write-eval", action="store_true", help="regenerate --data from the templates (seeded)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-ner", action="store_true", help="patterns only (no spaCy)")
    parser.add_argument("--errors", type=int, default=10, help="print this many misses and false positives")
    parser.add_argument("--json", type=Path, default=None, help="also write the report as JSON")
    args = parser.parse_args(argv)
    if args.write_eval:
        rows = build_eval_set(args.seed)
        args.data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        print(f"wrote {len(rows)} notes to {args.data}", file=sys.stderr)
    report = evaluate(Redactor(use_ner=not args.no_ner).load(), load_eval_set(args.data))
    print_report(report, show_errors=args.errors)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
