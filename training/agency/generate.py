"""The bundled generated CAD export (`data/agency/`): a county's call history as an agency would export it.

Notes come from the training-corpus generator (`divert.training.corpus`: scenario families, `sample_scenario`,
`render_cad`; the challenge set's held-out families excluded), so the true labels are known; the nature code is drawn the way dispatchers code calls, with the
noise seen in real dispatch data: only a small share of behavioral-health calls get a mental-health code
(EDP, MNTL, MTLV, SUICIDE, SUICTHRT; about 1-2% of all calls), the rest are coded DISTURBANCE, WELFARE CHECK,
TRESPASS, DVA, SICK... and a few non-behavioral calls get a mental-health code by mistake.

Columns of `export.csv.gz`: IncidentNumber, CallReceived (`MM/DD/YYYY HH:MM:SS`), Beat, NatureCode, Priority,
CallTakerNotes (the first entry), Comments (later entries as `MM/DD/YY HH:MM:SS~TEXT` lines, newest first in some
rows), Disposition. Planted defects: rows without an id, without notes, with a bad time, re-exported duplicates,
and fake personal data (names, 555 phone numbers, dates of birth, addresses, e-mails, licence numbers) in some
notes. `truth.csv.gz` holds the true labels per IncidentNumber, for evaluation only (never for training).
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from divert.model.labels import LABELS
from divert.training.corpus.families import families
from divert.training.corpus.render_cad import make_agencies, render_cad
from divert.training.corpus.scenario import Family, Scenario, sample_scenario

DEFAULT_SEED = 1306
DEFAULT_ROWS = 25_000
EXPORT_FILE = "export.csv.gz"
TRUTH_FILE = "truth.csv.gz"
EXPORT_COLUMNS = ("IncidentNumber", "CallReceived", "Beat", "NatureCode", "Priority", "CallTakerNotes", "Comments",
                  "Disposition")
# Call mix of a whole dispatch centre (police-heavy PSAP rather than the fire/EMS pager mix of the profile).
FAMILY_SHARE = {"behavioral": 0.09, "police": 0.30, "medical": 0.31, "traffic": 0.12, "fire": 0.04, "alarm": 0.06,
                "hazard": 0.03, "service": 0.05}
BEATS = ("N1", "N2", "N3", "C1", "C2", "S1", "S2", "S3", "E1", "W1")
DISPOSITIONS = ("REPORT", "GOA", "ADVISED", "TRANSPORTED", "ARREST", "CANCELLED", "REFERRED", "UTL", "NO REPORT")

Weights = list[tuple[str, float]]

BY_CALL_TYPE: dict[str, Weights] = {
    "violence": [("DVA", 25), ("ASSAULT", 25), ("FIGHT", 12), ("THREATS", 10), ("SHOOT", 3), ("STABBING", 3),
                 ("ROBBERY", 5), ("DISTURBANCE", 12), ("WEAPON", 4)],
    "police": [("DISTURBANCE", 18), ("SUSP", 14), ("TRESPASS", 10), ("BURGLARY", 10), ("LARCENY", 10), ("NOISE", 8),
               ("VANDAL", 6), ("WELFARE CHECK", 10), ("PERMISS", 4), ("CIVIL", 5), ("PARKING", 5)],
    "intox": [("INTOX", 70), ("DISTURBANCE", 20), ("WELFARE CHECK", 10)],
    "overdose": [("OD", 70), ("PERUNCON", 15), ("SICK", 15)],
    "service": [("INFO", 30), ("STDBY", 15), ("CIVIL", 15), ("ANIMAL", 15), ("TROUBLE", 15), ("CITASST", 10)],
    "medical": [("SICK", 60), ("BLS", 20), ("ALS", 20)],
    "fall": [("FALL", 100)], "cardiac": [("CARDIAC", 70), ("CHESPAIN", 30)], "breathing": [("RESP", 100)],
    "unconscious": [("PERUNCON", 100)], "seizure": [("SEIZURE", 100)], "stroke": [("STROKE", 100)],
    "bleeding": [("HEMRG", 100)], "traffic": [("MVA", 80), ("THAZ", 20)], "traffic_inj": [("MVAINJY", 100)],
    "dui": [("DUI", 70), ("RECKDRV", 30)], "disabled": [("DISVEH", 70), ("VEHASST", 30)],
    "fire": [("FSTRU", 80), ("FAPT", 20)], "outside_fire": [("FBRUSH", 100)], "vehicle_fire": [("FVEH", 100)],
    "smoke": [("FSMOKE", 100)], "alarm": [("ALRF", 100)], "burg_alarm": [("ALRBA", 100)],
    "med_alarm": [("ALRMED", 100)], "co_alarm": [("ALRCO", 100)], "hazard": [("HAZ", 40), ("WIRES", 30),
                                                                             ("GASLEAK", 30)],
}
MH_CODES = frozenset({"EDP", "MNTL", "MTLV", "SUICIDE", "SUICTHRT"})

_FIRST = ("JOHN", "MARIA", "DAVID", "JENNIFER", "MICHAEL", "LINDA", "JAMES", "PATRICIA", "ROBERT", "ELIZABETH",
          "CARLOS", "AISHA", "KEVIN", "TANYA", "DEREK", "Rosa", "Brian", "Megan", "Luis", "Denise")
_LAST = ("SMITH", "GARCIA", "JOHNSON", "NGUYEN", "WILLIAMS", "MARTINEZ", "BROWN", "DAVIS", "LOPEZ", "WILSON",
         "ANDERSON", "THOMAS", "TAYLOR", "MOORE", "JACKSON", "Harper", "Okafor", "Lindqvist")
_STREETS = ("ELMWOOD", "KESTREL", "BIRCHFIELD", "MARROW", "QUILLAN", "TANAGER", "OSPREY", "WILLOWBROOK")
_SUFFIX = ("ST", "AVE", "RD", "DR", "LN", "CT", "BLVD", "WAY")


@dataclass
class GeneratedCall:
    row: dict[str, str]
    truth: dict[str, Any]


def _weighted(options: Weights, rng: random.Random) -> str:
    options = [(k, w) for k, w in options if w > 0]
    total = sum(w for _, w in options)
    x = rng.random() * total
    for key, w in options:
        x -= w
        if x <= 0:
            return key
    return options[-1][0]


def nature_code(scn: Scenario, rng: random.Random) -> str:
    """The code a dispatcher would pick, with realistic noise (most behavioral-health calls coded otherwise)."""
    labels = scn.labels
    first = scn.family.call_types[0]
    vio, si, sub, med = (labels["violence_risk"], labels["suicide_risk"], labels["substance_use"],
                         labels["medical_emergency"])
    if rng.random() < 0.025:  # a plain miscode: any common code
        return _weighted([("DISTURBANCE", 3), ("SUSP", 2), ("SICK", 2), ("TROUBLE", 2), ("INFO", 1),
                          ("WELFARE CHECK", 2), ("MVA", 1)], rng)
    if labels["behavioral_health"]:
        if si:
            return _weighted([("SUICTHRT", 8), ("SUICIDE", 6), ("WELFARE CHECK", 30), ("DISTURBANCE", 16),
                              ("TROUBLE", 8), ("SICK", 6 * med), ("HEMRG", 5 * med), ("PERUNCON", 4 * med),
                              ("DVA", 10 * vio), ("THREATS", 4 * vio), ("OD", 8 * sub), ("EDP", 3)], rng)
        if first in ("overdose", "intox"):
            return _weighted([("OD", 45 if first == "overdose" else 5), ("INTOX", 30), ("PERUNCON", 12 * med),
                              ("SICK", 10), ("WELFARE CHECK", 10), ("DISTURBANCE", 10)], rng)
        return _weighted([("EDP", 6), ("MNTL", 5), ("MTLV", 5 * vio), ("DISTURBANCE", 30), ("WELFARE CHECK", 22),
                          ("TRESPASS", 8), ("SUSP", 8), ("DVA", 14 * vio), ("ASSAULT", 6 * vio), ("THREATS", 5 * vio),
                          ("NOISE", 3), ("TROUBLE", 5), ("SICK", 3 + 6 * med), ("INTOX", 6 * sub),
                          ("FALL", 2 if first == "medical" else 0)], rng)
    code = _weighted(BY_CALL_TYPE.get(first, BY_CALL_TYPE["service"]), rng)
    if code in ("DISTURBANCE", "WELFARE CHECK", "SUSP", "TROUBLE") and rng.random() < 0.03:
        return _weighted([("EDP", 2), ("MNTL", 1)], rng)  # a mental-health code by mistake
    return code


def _pii(rng: random.Random) -> tuple[str, str]:
    """(note entry, the planted value)."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    phone = f"{rng.choice(('503', '971', '360'))}-555-{rng.randrange(100, 199):04d}"
    kind = rng.randrange(6)
    if kind == 0:
        return f"RP IS {first} {last} CB {phone}", f"{first} {last}|{phone}"
    if kind == 1:
        return f"CALLBACK {phone}", phone
    if kind == 2:
        dob = f"{rng.randrange(1, 13):02d}/{rng.randrange(1, 29):02d}/{rng.randrange(1950, 2005)}"
        return f"SUBJ DOB {dob}", dob
    if kind == 3:
        addr = f"{rng.randrange(100, 9999)} {rng.choice(_STREETS)} {rng.choice(_SUFFIX)}"
        return f"RP ADDR {addr}", addr
    if kind == 4:
        email = f"{first.lower()}.{last.lower()}{rng.randrange(10, 99)}@example.com"
        return f"RP EMAIL {email}", email
    lic = f"{rng.choice('ABCDEFGH')}{rng.randrange(1000000, 9999999)}"
    return f"SUBJ DL {lic}", lic


_SPLIT = re.compile(r"\s*(?:\n| / |//| - )\s*")


def _entries(text: str) -> list[str]:
    return [p for p in (s.strip() for s in _SPLIT.split(text)) if p]


def _family_pool(seed: int) -> tuple[list[Family], list[float]]:
    # the challenge set's scenario families stay out: the export must not leak the held-out kinds of call into
    # training, or the challenge set would no longer measure unseen scenarios
    fams = [f for f in families() if not f.holdout]
    per_cf = Counter(f.call_family for f in fams)
    weights = [FAMILY_SHARE.get(f.call_family, 0.0) * f.weight / per_cf[f.call_family] for f in fams]
    return fams, weights


def generate_calls(n_rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> list[GeneratedCall]:
    rng = random.Random(f"agency-export:{seed}")
    fams, weights = _family_pool(seed)
    agencies = make_agencies(random.Random(f"{seed}:agencies"), n=6)
    start = datetime(2023, 1, 1)
    out: list[GeneratedCall] = []
    n_unique = round(n_rows / 1.01)
    for i in range(n_unique):
        fam = rng.choices(fams, weights)[0]
        scn = sample_scenario(fam, rng)
        text = render_cad(scn, rng, agencies[rng.randrange(len(agencies))]).text
        received = start + timedelta(seconds=rng.randrange(0, 730 * 86400))
        parts = _entries(text) if rng.random() < 0.6 else [text]
        planted: list[str] = []
        if rng.random() < 0.10:
            entry, value = _pii(rng)
            parts.insert(rng.randrange(1, len(parts) + 1), entry)
            planted.append(value)
        t = received + timedelta(seconds=rng.randrange(20, 120))
        stamped = []
        for p in parts[1:]:
            t += timedelta(seconds=rng.randrange(15, 400))
            stamped.append(f"{t:%m/%d/%y %H:%M:%S}~{p}")
        if rng.random() < 0.15:
            stamped.reverse()  # some CAD systems export the newest comment first
        incident = f"{received:%Y}-{i + 1:07d}"
        row = {"IncidentNumber": incident, "CallReceived": f"{received:%m/%d/%Y %H:%M:%S}",
               "Beat": rng.choice(BEATS), "NatureCode": nature_code(scn, rng), "Priority": str(rng.randrange(1, 5)),
               "CallTakerNotes": parts[0], "Comments": "\n".join(stamped),
               "Disposition": rng.choice(DISPOSITIONS)}
        defect = rng.random()
        if defect < 0.003:
            row["IncidentNumber"] = ""
        elif defect < 0.006:
            row["CallTakerNotes"], row["Comments"] = "", ""
        elif defect < 0.008:
            row["CallReceived"] = "99/99/2024 25:61:00"
        truth = {"IncidentNumber": incident, "family": fam.id, "call_family": fam.call_family,
                 **{name: int(scn.labels[name]) for name in LABELS}, "pii": " | ".join(planted)}
        out.append(GeneratedCall(row, truth))
    # re-exported rows: exact copies of earlier rows
    while len(out) < n_rows:
        src = out[rng.randrange(len(out))]
        out.insert(rng.randrange(len(out)), GeneratedCall(dict(src.row), {**src.truth, "duplicate": 1}))
    return out


def write_export(out_dir: Path | str, n_rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Write `export.csv.gz` and `truth.csv.gz` into `out_dir` (byte-identical for the same seed)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    calls = generate_calls(n_rows, seed)
    truth_cols = ["IncidentNumber", "family", "call_family", *LABELS, "pii"]
    for name, cols, rows in ((EXPORT_FILE, list(EXPORT_COLUMNS), [c.row for c in calls]),
                             (TRUTH_FILE, truth_cols, [c.truth for c in calls if not c.truth.get("duplicate")])):
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        with (out_dir / name).open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(buf.getvalue().encode("utf-8"))
    bh = [c for c in calls if c.truth["behavioral_health"] and not c.truth.get("duplicate")]
    unique = [c for c in calls if not c.truth.get("duplicate")]
    mh = sum(c.row["NatureCode"] in MH_CODES for c in unique)
    return {"rows": len(calls), "unique_calls": len(unique), "behavioral_health_calls": len(bh),
            "mental_health_coded": mh, "mental_health_coded_share": round(mh / len(unique), 4),
            "bh_calls_with_mh_code": sum(c.row["NatureCode"] in MH_CODES for c in bh),
            "planted_pii_rows": sum(bool(c.truth["pii"]) for c in unique)}


if __name__ == "__main__":  # pragma: no cover
    import json
    import sys

    print(json.dumps(write_export(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("data/agency")), indent=1))
