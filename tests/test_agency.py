"""Agency onboarding: nature-code map, import (redaction, de-duplication, counts), weak labels, masked unknowns in
loss and metrics, the label-error report and loading review items into the audit store."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from divert.model.exports import ExportMapping
from divert.model.labels import LABELS
from divert.model.redact import Redactor
from divert.training.agency.codes import CodeMap, CodeMapError
from divert.training.agency.importer import import_export
from divert.training.agency.review import flag_disagreements, hidden_by_code, review_items
from divert.training.agency.weak import combine, rule_scores
from divert.training.config import TfidfConfig, TrainConfig, WeakSupervisionConfig
from divert.training.dataset import Dataset, read_dataset

BH = LABELS.index("behavioral_health")

# Fake personal data planted in the export; none of it may reach an imported file.
PII = ["503-555-0142", "maria.lopez77@example.com", "04/12/1987", "4411 KESTREL AVE", "123-45-6789",
       "(971) 555-0100", "D4455667"]


def _export(tmp_path: Path) -> tuple[Path, ExportMapping]:
    rows = [
        ("24-1", "01/02/2024 10:00:00", "N1", "EDP", "RP ADV SON OFF HIS MEDS, HEARING VOICES",
         "01/02/24 10:01:00~CB 503-555-0142\n01/02/24 10:02:00~NO WPNS"),
        ("24-2", "01/02/2024 11:00:00", "S1", "DISTURBANCE", "SUBJ YELLING AT CARS, PARANOID",
         "01/02/24 11:03:00~RP EMAIL maria.lopez77@example.com"),
        ("24-3", "01/02/2024 12:00:00", "S1", "MVA", "2 VEH NO INJ BLOCKING LANE", ""),
        ("24-4", "01/02/2024 13:00:00", "E1", "FSTRU", "SMOKE SHOWING FROM GARAGE", "01/02/24 13:05:00~SUBJ DOB 04/12/1987"),
        ("24-3", "01/02/2024 12:00:00", "S1", "MVA", "2 VEH NO INJ BLOCKING LANE", ""),       # re-exported row
        ("24-6", "01/02/2024 14:00:00", "S2", "MVA", "2 veh no inj blocking lane", ""),       # same text, new id
        ("", "01/02/2024 15:00:00", "N2", "SICK", "RP AT 4411 KESTREL AVE SICK", ""),          # no id
        ("24-8", "503-555-0142", "N2", "SICK", "SSN 123-45-6789 FEVER", ""),                 # bad time (PII in it)
        ("24-9", "01/02/2024 16:00:00", "N3", "XYZZY", "CALLER AT (971) 555-0100 ASKS ABOUT PERMIT", ""),
        ("24-10", "01/02/2024 17:00:00", "N3", "WELFARE CHECK", "", ""),                      # no notes
        ("24-11", "01/02/2024 18:00:00", "N3", "DUI", "DRIVER DL D4455667 SWERVING", ""),
    ]
    path = tmp_path / "export.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["INC", "TIME", "BEAT", "CODE", "NOTE", "LOG"])
        w.writerows(rows)
    mapping = ExportMapping.parse({"id": "INC", "time": "TIME", "area": "BEAT", "nature_code": "CODE",
                                   "notes": ["NOTE"], "timestamped_notes": "LOG"})
    return path, mapping


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    tmp = tmp_path_factory.mktemp("agency")
    export, mapping = _export(tmp)
    summary = import_export(export, mapping, tmp / "out", redactor=Redactor(), chunk_rows=3)
    return tmp / "out", summary


# ---------------------------------------------------------------------------------------------- code map


def test_code_map_sets_one_zero_or_unknown() -> None:
    codes = CodeMap.default()
    edp = codes.labels_dict("edp")
    assert edp["behavioral_health"] == 1 and edp["violence_risk"] is None
    assert codes.labels_dict("SUICTHRT")["suicide_risk"] == 1
    assert codes.labels_dict("MTLV")["violence_risk"] == 1
    assert codes.labels_dict("OD")["substance_use"] == 1
    assert codes.labels_dict("FSTRU")["behavioral_health"] == 0
    # a disturbance may be a hidden crisis: unknown, not 0
    assert all(v is None for v in codes.labels_dict("DISTURBANCE").values())
    assert codes.is_mapped("DISTURBANCE") and not codes.is_mapped("XYZZY")
    assert all(math.isnan(v) for v in codes.labels_for("XYZZY"))


def test_agency_overrides_and_aliases(tmp_path: Path) -> None:
    path = tmp_path / "agency.yaml"
    path.write_text("codes:\n  FSTRU: {behavioral_health: unknown}\n  '415': {violence_risk: 1}\n"
                    "aliases:\n  '10-96X': EDP\n")
    codes = CodeMap.load(path)
    assert codes.labels_dict("FSTRU")["behavioral_health"] is None
    assert codes.labels_dict("415")["violence_risk"] == 1
    assert codes.labels_dict("10-96x")["behavioral_health"] == 1


@pytest.mark.parametrize(("text", "needle"), [
    ("codes:\n  EDP: {behavioural_health: 1}\n", "code 'EDP': 'behavioural_health' is not a label"),
    ("codes:\n  EDP: {behavioral_health: 2}\n", "code 'EDP': label 'behavioral_health': must be 1, 0 or unknown"),
    ("aliases:\n  X1: NOPE\n", "alias 'X1' points to code 'NOPE', which is not mapped"),
    ("groups:\n  a: {labels: {suicide_risk: 1}, codes: [ZZ]}\n  b: {labels: {suicide_risk: 0}, codes: [ZZ]}\n",
     "code 'ZZ' is in group 'a' and group 'b'"),
    ("groups:\n  a: {codes: [ZZ]}\n", "group 'a': needs 'labels' and 'codes'"),
    ("codez: {}\n", "unknown key(s) ['codez']"),
])
def test_code_map_errors_name_the_code_and_label(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CodeMapError) as info:
        CodeMap.load(path)
    assert needle in str(info.value) and str(path) in str(info.value)


# ---------------------------------------------------------------------------------------------- import


def test_counts_add_up_and_every_row_is_accounted_for(imported: tuple[Path, object]) -> None:
    out, _ = imported
    s = json.loads((out / "summary.json").read_text())
    assert s["read"] == 11
    assert s["read"] == s["imported"] + s["rejected"] + s["duplicates"] and s["adds_up"]
    assert s["duplicates_by_kind"] == {"same_id": 1, "same_text": 1}
    assert s["rejects_by_reason"] == {"missing_id": 1, "bad_time": 1, "empty_text": 1}
    rejects = pd.read_csv(out / "rejects.csv")
    dups = pd.read_csv(out / "duplicates.csv")
    calls = [json.loads(line) for line in (out / "calls.jsonl").read_text().splitlines()]
    rows = sorted([c["meta"]["row"] for c in calls] + rejects["row"].tolist() + dups["row"].tolist())
    assert rows == list(range(1, 12))
    assert s["unmapped_codes"] == {"XYZZY": 1}


def test_imported_file_is_the_training_format_with_meta(imported: tuple[Path, object]) -> None:
    out, _ = imported
    dataset, report = read_dataset(out / "calls.jsonl", allow_unknown=True)
    assert report.ok, report.summary()
    first = dataset.meta[0]
    assert first["nature_code"] == "EDP" and first["area"] == "N1" and first["time"] == "2024-01-02T10:00:00"
    assert dataset.labels[0, BH] == 1
    disturbance = dataset.ids.index("24-2")
    assert np.isnan(dataset.labels[disturbance]).all()  # unknown, not 0
    assert dataset.texts[0].startswith("RP ADV SON OFF HIS MEDS, HEARING VOICES\nCB [PHONE]")
    # without --allow-unknown the validator refuses null labels: they are not silently read as 0
    _, strict = read_dataset(out / "calls.jsonl")
    assert not strict.ok and "null (unknown)" in strict.problems[0].message


def test_pii_never_reaches_the_imported_files(imported: tuple[Path, object]) -> None:
    out, _ = imported
    written = "".join(p.read_text() for p in out.iterdir() if p.is_file())
    assert "[PHONE]" in written and "[EMAIL]" in written and "[DOB]" in written
    for value in PII:
        assert value not in written, value


def test_cli_import_prints_counts_and_names_mapping_errors(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from divert.cli.app import app

    export, _ = _export(tmp_path)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("id: INC\ntime: TIME\nnature_code: NatureCode\nnotes: [NOTE]\n")
    runner = CliRunner()
    result = runner.invoke(app, ["data", "import", str(export), "--mapping", str(mapping), "--out",
                                 str(tmp_path / "o"), "--workers", "1"])
    assert result.exit_code == 2
    assert "no column 'NatureCode' (mapping field nature_code)" in " ".join(result.output.split())
    codes = tmp_path / "c.yaml"
    codes.write_text("codes:\n  EDP: {behavioural_health: 1}\n")
    mapping.write_text("id: INC\ntime: TIME\nnature_code: CODE\nnotes: [NOTE]\n")
    result = runner.invoke(app, ["data", "import", str(export), "--mapping", str(mapping), "--codes", str(codes),
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "code 'EDP'" in " ".join(result.output.split())


# ---------------------------------------------------------------------------------------------- weak labels


def test_combine_weights_votes_and_keeps_unknown() -> None:
    nan = math.nan
    codes = np.array([[1.0], [0.0], [nan], [nan], [0.0]])
    rules = np.array([[0.0], [0.9], [0.9], [0.1], [0.0]])
    champ = np.array([[0.5], [0.5], [0.5], [0.02], [0.95]])
    cfg = WeakSupervisionConfig(rules_weight=0.6, champion_weight=0.7)
    out = combine(codes, cfg, rules=rules, champion=champ)[:, 0]
    assert out[0] == 1            # code 1
    assert np.isnan(out[1])       # code 0 (1.0) against a rule (0.6): net 0.4 < 0.5, unknown
    assert out[2] == 1            # unknown code, rule hit
    assert out[3] == 0            # unknown code, champion confidently 0
    assert np.isnan(out[4])       # code 0 against a confident champion: 1.0 - 0.7 = 0.3
    only_codes = combine(codes, WeakSupervisionConfig(), rules=rules, champion=champ)[:, 0]
    assert np.array_equal(np.isnan(only_codes), np.isnan(codes[:, 0]))


def test_pipeline_adds_weak_files_to_train_with_unknowns(imported: tuple[Path, object], tmp_path: Path) -> None:
    from divert.training.pipeline import load_splits
    from tests.conftest import tiny_records, write_jsonl

    out, _ = imported
    tiny = write_jsonl(tmp_path / "tiny.jsonl", tiny_records())
    cfg = TrainConfig.model_validate({
        "model": "tfidf", "data": {"train": [str(tiny)], "validation": str(tiny), "test": None, "challenge": None,
                                   "handwritten": []},
        "weak": {"files": [str(out / "calls.jsonl")], "rules_weight": 0.6}})
    splits = load_splits(cfg)
    weak_rows = [i for i, m in enumerate(splits.train.meta) if m.get("source") == "agency_import"]
    assert weak_rows and len(splits.train) == len(tiny_records()) + len(weak_rows)
    labels = splits.train.labels[weak_rows]
    assert np.isnan(labels).any()                          # unknowns stay unknown
    ids = [splits.train.ids[i] for i in weak_rows]
    assert labels[ids.index("24-2"), BH] == 1    # DISTURBANCE: unknown from the code, the rule (PARANOID) votes 1
    assert labels[ids.index("24-1"), BH] == 1    # EDP
    assert labels[ids.index("24-3"), BH] == 0    # MVA
    assert "24-11" not in ids or np.isnan(labels[ids.index("24-11"), BH])  # DUI says nothing about BH


# ---------------------------------------------------------------------------------------------- masked unknowns


def test_masked_unknowns_are_not_negatives_in_the_loss() -> None:
    from divert.training.train_transformer import masked_bce

    logits = torch.tensor([[2.0, -1.0], [3.0, 0.5]])
    targets = torch.tensor([[1.0, float("nan")], [float("nan"), 0.0]])
    loss = masked_bce(logits, targets)
    known = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor([2.0, 0.5]), torch.tensor([1.0, 0.0]))
    assert torch.isclose(loss, known)
    as_zero = masked_bce(logits, torch.nan_to_num(targets, nan=0.0))
    assert not torch.isclose(loss, as_zero)
    moved = masked_bce(logits + torch.tensor([[0.0, 5.0], [-7.0, 0.0]]), targets)  # only unknown cells move
    assert torch.isclose(loss, moved)


def test_masked_unknowns_are_not_negatives_in_metrics_or_tfidf_fit() -> None:
    from divert.training.evaluate import label_metrics
    from divert.training.train_tfidf import fit_tfidf

    scores = np.array([0.9, 0.8, 0.2, 0.9, 0.9])
    y = np.array([1.0, 1.0, 0.0, np.nan, np.nan])
    m = label_metrics(scores, y, 0.5)
    assert m["precision"] == 1.0 and m["recall"] == 1.0
    assert label_metrics(scores, np.nan_to_num(y), 0.5)["precision"] < 1.0

    texts = ["subject hearing voices", "psych crisis", "car crash no injuries", "alarm sounding",
             "hearing voices again", "psych subject yelling"]
    labels = np.full((6, len(LABELS)), 0.0)
    labels[:, BH] = [1, 1, 0, 0, np.nan, np.nan]
    cfg = TfidfConfig(min_df=1, char_ngrams=None)
    masked = fit_tfidf(texts, labels, cfg, label_names=LABELS, seed=0)
    zeros = fit_tfidf(texts, np.nan_to_num(labels), cfg, label_names=LABELS, seed=0)
    known_only = fit_tfidf(texts[:4], labels[:4], cfg, label_names=LABELS, seed=0)
    probe = ["hearing voices psych"]
    # the unknown rows are left out of the fit (not fitted as negatives): same weights as fitting the known rows
    # on the same vocabulary would give a higher score than fitting them as 0
    assert masked.raw_scores(probe)[0, BH] > zeros.raw_scores(probe)[0, BH]
    assert known_only.raw_scores(probe)[0, BH] > 0.5


# ---------------------------------------------------------------------------------------------- report & review


def _toy() -> tuple[Dataset, np.ndarray, np.ndarray]:
    n = 8
    labels = np.full((n, len(LABELS)), np.nan)
    labels[:, BH] = [1, 1, 1, 0, 0, 0, np.nan, np.nan]
    scores = np.full((n, len(LABELS)), np.nan)
    scores[:, BH] = [0.9, 0.8, 0.1, 0.1, 0.2, 0.95, 0.97, 0.05]
    meta = [{"nature_code": c, "row": i + 1} for i, c in
            enumerate(["EDP", "EDP", "EDP", "MVA", "MVA", "MVA", "DISTURBANCE", "DISTURBANCE"])]
    data = Dataset([f"c{i}" for i in range(n)], [f"note {i}" for i in range(n)], labels, [""] * n, meta)
    return data, labels, scores


def test_confident_learning_flags_and_hidden_calls_per_code() -> None:
    data, labels, scores = _toy()
    flagged, thresholds = flag_disagreements(labels, scores)
    t1 = thresholds["behavioral_health"]["t1"]
    assert t1 == pytest.approx(0.6)
    kinds = {(data.ids[f.index], f.kind) for f in flagged}
    assert kinds == {("c5", "code_0_text_1"), ("c2", "code_1_text_0"), ("c6", "unknown_text_1")}
    assert [data.ids[f.index] for f in flagged] == ["c6", "c5", "c2"]  # furthest past its threshold first
    hidden = {r["nature_code"]: r for r in hidden_by_code(data, labels, scores, t1)}
    assert hidden["DISTURBANCE"]["hidden_bh"] == 1 and hidden["MVA"]["hidden_bh"] == 1
    assert hidden["EDP"]["hidden_bh"] == 0


def test_review_items_go_into_the_audit_store_newest_first(tmp_path: Path) -> None:
    from divert.cli.data import load_review_items
    from divert.serving.audit.store import AuditStore

    data, labels, scores = _toy()
    flagged, _ = flag_disagreements(labels, scores)
    items = review_items(data, scores, flagged, limit=2)
    assert [i["detail"]["review_rank"] for i in items] == [1, 2]
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    ids = load_review_items(items, url, hash_key="k")
    store = AuditStore(url)
    unreviewed = store.unreviewed(limit=10)
    assert [p.id for p in unreviewed] == ids  # rank 1 is the newest: the queue reads the newest first
    assert unreviewed[0].recommendation_detail["source"] == "agency_import"
    assert unreviewed[0].endpoint == "import" and unreviewed[0].call_id == items[0]["call_id"]
    store.dispose()


def test_rule_scores_vote_for_behavioral_health() -> None:
    scores = rule_scores(["SUBJ HEARING VOICES, OFF HIS MEDS", "2 VEH MVA NO INJ"])
    assert scores[0, BH] >= 0.8 > scores[1, BH]


def test_cli_label_errors_writes_the_report_and_review_items(imported: tuple[Path, object], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from divert.cli.app import app
    from divert.serving.audit.store import AuditStore

    out, _ = imported
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    runner = CliRunner()
    args = ["data", "label-errors", str(out / "calls.jsonl"), "--out", str(tmp_path / "report"), "--folds", "2",
            "--label", "behavioral_health", "--audit-url", url]
    monkeypatch.delenv("DIVERT_AUDIT_HASH_KEY", raising=False)
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "DIVERT_AUDIT_HASH_KEY" in result.output
    monkeypatch.setenv("DIVERT_AUDIT_HASH_KEY", "test-key")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    for name in ("label_errors.csv", "label_errors.md", "hidden_bh_by_code.csv"):
        assert (tmp_path / "report" / name).is_file()
    ranked = pd.read_csv(tmp_path / "report" / "label_errors.csv")
    store = AuditStore(url)
    assert len(ranked) >= 1 and store.counts()[0] == ranked["id"].nunique()
    store.dispose()
    result = runner.invoke(app, ["data", "label-errors", str(out / "calls.jsonl"), "--label", "behavioural"])
    assert result.exit_code == 2 and "unknown label(s) behavioural" in result.output


@pytest.mark.slow
def test_import_to_registered_challenger(imported: tuple[Path, object], tmp_path: Path) -> None:
    """The walk-through in small: an imported export with weak labels trains a TF-IDF model that is registered as
    `challenger`, and its training data holds the agency rows with their unknown labels masked, not zeroed."""
    from divert.training.pipeline import train
    from tests.conftest import tiny_records, write_jsonl

    out, _ = imported
    corpus = write_jsonl(tmp_path / "tiny.jsonl", tiny_records())
    cfg = TrainConfig.model_validate({
        "name": "tiny-agency", "model": "tfidf", "bootstrap_samples": 20,
        "data": {"train": [str(corpus)], "validation": str(corpus), "test": str(corpus), "challenge": None,
                 "handwritten": []},
        "tfidf": {"min_df": 1, "char_ngrams": [3, 4]},
        "weak": {"files": [str(out / "calls.jsonl")], "rules_weight": 0.6},
        "tracking": {"tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "experiment": "tiny-agency",
                     "artifact_location": (tmp_path / "mlartifacts").as_uri()},
        "gate": {"floors": {"test_macro_f1": 0.0}, "compare_on": ["test_macro_f1"]},
        "output_dir": str(tmp_path / "artifacts")})
    result = train(cfg, show_progress=False)
    assert result.model_version == "1" and result.alias == "challenger"
    from divert.training.agency.weak import load_weak

    weak_rows = len(load_weak(cfg.weak))
    assert weak_rows > 0
    card = (result.output_dir / "model_card.md").read_text()
    assert f"- train rows: {len(tiny_records()) + weak_rows}" in card
    assert "rules_weight: 0.6" in (result.output_dir / "config.yaml").read_text()  # the weighting is logged


def test_cli_imports_a_folder_of_eido_incidents(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from divert.cli.app import app
    from tests.eido_fixtures import eido, note

    folder = tmp_path / "eido"
    folder.mkdir()
    for k, (code, text) in enumerate([("MNTL", "RP ADV SUBJ PARANOID CB 503-555-0142"), ("MVA", "2 VEH NO INJ")]):
        notes = [note(1, "2025-01-15T10:31:10-05:00", f"<p>{text}</p>")]
        (folder / f"{k}.json").write_text(json.dumps(eido(notes, incident_id=f"E-{k}", internal_code=code)))
    result = CliRunner().invoke(app, ["data", "import", str(folder), "--mapping", "eido", "--out",
                                      str(tmp_path / "out"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    calls = [json.loads(line) for line in (tmp_path / "out" / "calls.jsonl").read_text().splitlines()]
    assert [c["id"] for c in calls] == ["E-0", "E-1"]
    assert calls[0]["labels"]["behavioral_health"] == 1 and calls[1]["labels"]["behavioral_health"] == 0
    assert "503-555-0142" not in calls[0]["text"] and "[PHONE]" in calls[0]["text"]
