"""Agency CAD exports: every format, the mapping's error messages, the time-stamped note split and ordering."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from divert.model.exports import (
    ERROR_COLUMN,
    ExportMapping,
    ExportMappingError,
    ExportReadError,
    map_chunk,
    read_export,
    split_timestamped,
)

ROWS = [
    {"INC": "24-001", "TIME": "06/04/2012 16:40:00", "BEAT": "N1", "CODE": "edp", "NOTE": "RP ADV SON OFF MEDS",
     "LOG": "06/04/12 16:41:02~NO WPNS\n06/04/12 16:40:46~SUBJ YELLING AT CARS"},
    {"INC": "24-002", "TIME": "06/04/2012 17:00:00", "BEAT": "S2", "CODE": "MVA", "NOTE": "2 VEH NO INJ", "LOG": ""},
    {"INC": "", "TIME": "06/04/2012 17:05:00", "BEAT": "S2", "CODE": "MVA", "NOTE": "NO ID ROW", "LOG": ""},
    {"INC": "24-004", "TIME": "not a time", "BEAT": "E1", "CODE": "SICK", "NOTE": "BAD TIME ROW", "LOG": ""},
    {"INC": "24-005", "TIME": "06/04/2012 18:00:00", "BEAT": "E1", "CODE": "SICK", "NOTE": "", "LOG": ""},
]
MAPPING = {"id": "INC", "time": "TIME", "area": "BEAT", "nature_code": "CODE", "notes": ["NOTE"],
           "timestamped_notes": "LOG"}


def _mapping(**changes: object) -> ExportMapping:
    return ExportMapping.parse({**MAPPING, **changes})


def _all(path: Path, mapping: ExportMapping, chunk_rows: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    calls, rejects, read = [], [], 0
    for chunk in read_export(path, chunk_rows=chunk_rows, mapping=mapping):
        c, r = map_chunk(chunk, mapping, first_row=read + 1)
        read += len(chunk)
        calls.append(c)
        rejects.append(r)
        assert len(c) + len(r) == len(chunk)
    return pd.concat(calls, ignore_index=True), pd.concat(rejects, ignore_index=True)


def _check(calls: pd.DataFrame, rejects: pd.DataFrame) -> None:
    assert list(calls.columns) == ["id", "text", "time", "area", "nature_code", "row"]
    assert list(rejects.columns) == ["row", "id", "reason"]
    assert calls["id"].tolist() == ["24-001", "24-002"]
    first = calls.iloc[0]
    # call-taker note first (call time), then the log lines in time order although written newest first
    assert first["text"] == "RP ADV SON OFF MEDS\nSUBJ YELLING AT CARS\nNO WPNS"
    assert first["nature_code"] == "EDP" and first["area"] == "N1"
    assert pd.Timestamp(first["time"]) == pd.Timestamp("2012-06-04 16:40:00")
    assert calls["row"].tolist() == [1, 2]
    reasons = dict(zip(rejects["row"], rejects["reason"], strict=True))
    assert set(reasons) == {3, 4, 5}
    assert reasons[3].startswith("missing_id:") and "'INC'" in reasons[3]
    assert reasons[4].startswith("bad_time:") and "'TIME'" in reasons[4]
    assert reasons[5].startswith("empty_text:") and "'NOTE'" in reasons[5]


def test_csv_and_gzip_csv(tmp_path: Path) -> None:
    df = pd.DataFrame(ROWS)
    df.to_csv(tmp_path / "e.csv", index=False)
    _check(*_all(tmp_path / "e.csv", _mapping()))
    with gzip.open(tmp_path / "e.csv.gz", "wt", encoding="utf-8") as fh:
        df.to_csv(fh, index=False)
    _check(*_all(tmp_path / "e.csv.gz", _mapping(), chunk_rows=10))


def test_parquet_file_and_folder_of_parts(tmp_path: Path) -> None:
    df = pd.DataFrame(ROWS)
    df.to_parquet(tmp_path / "e.parquet", index=False)
    _check(*_all(tmp_path / "e.parquet", _mapping()))
    parts = tmp_path / "parts"
    parts.mkdir()
    df.iloc[:3].to_parquet(parts / "part-0000.parquet", index=False)
    df.iloc[3:].to_parquet(parts / "part-0001.parquet", index=False)
    (parts / "_SUCCESS").write_text("")
    _check(*_all(parts, _mapping()))


def test_jsonl_file_and_folder_and_bad_line(tmp_path: Path) -> None:
    lines = [json.dumps(r) for r in ROWS]
    (tmp_path / "e.jsonl").write_text("\n".join(lines) + "\n")
    _check(*_all(tmp_path / "e.jsonl", _mapping()))
    folder = tmp_path / "jl"
    folder.mkdir()
    (folder / "a.jsonl").write_text("\n".join(lines[:2]) + "\n")
    (folder / "b.jsonl").write_text("\n".join(lines[2:]) + "\n{not json\n")
    calls, rejects = _all(folder, _mapping(), chunk_rows=100)
    assert calls["id"].tolist() == ["24-001", "24-002"]
    assert len(rejects) == 4
    assert rejects.iloc[-1]["reason"].startswith("invalid_json:")


def test_eido_folder(tmp_path: Path) -> None:
    from tests.eido_fixtures import eido, note

    folder = tmp_path / "eido"
    folder.mkdir()
    notes = [note(2, "2025-01-15T10:31:45-05:00", "<p>NO WPNS SEEN</p>"),
             note(1, "2025-01-15T10:31:10-05:00", "RP ADV SUBJ PARANOID")]
    (folder / "a.json").write_text(json.dumps(eido(notes, incident_id="CAD-77", internal_code="MNTL")))
    (folder / "b.json").write_text(json.dumps({"messageKind": "Report"}))
    (folder / "c.json").write_text("{not json")
    mapping = ExportMapping.eido()
    calls, rejects = _all(folder, mapping)
    assert calls["id"].tolist() == ["CAD-77"]
    assert calls.iloc[0]["text"] == "RP ADV SUBJ PARANOID\nNO WPNS SEEN"
    assert calls.iloc[0]["nature_code"] == "MNTL"
    assert pd.Timestamp(calls.iloc[0]["time"]) == pd.Timestamp("2025-01-15 10:30:02")  # local time as written
    assert len(rejects) == 2
    assert rejects.iloc[0]["reason"].startswith("eido_") and "b.json" in rejects.iloc[0]["reason"]
    assert rejects.iloc[1]["reason"].startswith("invalid_json:")


def test_csv_row_with_wrong_field_count_is_rejected_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("INC,TIME,BEAT,CODE,NOTE,LOG\n24-1,06/04/2012 16:40:00,N1,EDP,OK NOTE,\n"
                    "24-2,06/04/2012 16:40:00,N1,EDP,TOO,MANY,FIELDS\n")
    calls, rejects = _all(path, _mapping())
    assert calls["id"].tolist() == ["24-1"]
    assert rejects["row"].tolist() == [2] and rejects.iloc[0]["reason"].startswith("malformed_row:")


def test_timestamped_split() -> None:
    cell = "06/04/12 16:40:46~RP ADV SUBJ YELLING\n06/04/12 16:41:02~NO WPNS 06/04/12 16:42:10~   \n"
    entries = split_timestamped(cell)
    assert entries == [(datetime(2012, 6, 4, 16, 40, 46), "RP ADV SUBJ YELLING"),
                       (datetime(2012, 6, 4, 16, 41, 2), "NO WPNS")]
    assert split_timestamped("HEADER TEXT 6/4/2012 9:05:00~LATER") == [
        (None, "HEADER TEXT"), (datetime(2012, 6, 4, 9, 5), "LATER")]
    with pytest.raises(ValueError, match="cannot parse time"):
        split_timestamped("13/45/12 16:40:46~X")


def test_several_note_columns_joined_in_time_order() -> None:
    mapping = ExportMapping.parse({"id": "id", "notes": [{"column": "a", "time": "ta"}, {"column": "b", "time": "tb"}],
                                   "joiner": " / "})
    df = pd.DataFrame([{"id": "1", "a": "SECOND", "ta": "2024-01-01 10:05:00", "b": "FIRST", "tb": "2024-01-01 10:00:00"}])
    calls, _ = map_chunk(df, mapping, first_row=0)
    assert calls.iloc[0]["text"] == "FIRST / SECOND" and calls.iloc[0]["row"] == 0


# ---------------------------------------------------------------------------------- mapping errors


def test_missing_column_error_names_the_column_and_field() -> None:
    df = pd.DataFrame(ROWS).drop(columns=["CODE"])
    with pytest.raises(ExportMappingError, match=r"no column 'CODE' \(mapping field nature_code\)") as info:
        map_chunk(df, _mapping(), first_row=1)
    assert "INC, TIME, BEAT" in str(info.value)
    df = pd.DataFrame(ROWS)
    with pytest.raises(ExportMappingError, match=r"'DispatchTime' \(mapping field notes\[0\].time\)"):
        map_chunk(df, _mapping(notes=[{"column": "NOTE", "time": "DispatchTime"}]), first_row=1)


@pytest.mark.parametrize(("raw", "needle"), [
    ({"time": "T", "notes": ["N"]}, "id: Field required"),
    ({"id": "I"}, "at least one note column"),
    ({"id": "I", "notes": ["N"], "nature_cod": "C"}, "nature_cod: Extra inputs are not permitted"),
    ({"id": "I", "notes": ["N"], "line_pattern": "(\\d+~"}, "line_pattern"),
    ({"id": "I", "notes": ["N"], "line_pattern": "\\d+~"}, "named group 'time'"),
    ({"id": "I", "notes": [{"colum": "N"}]}, "notes.0.colum"),
    ({"id": "I", "notes": ["N"], "format": "xlsx"}, "format"),
    ("just a string", "top level must be a mapping"),
])
def test_mapping_file_errors_name_the_field(raw: object, needle: str) -> None:
    with pytest.raises(ExportMappingError, match="mapping") as info:
        ExportMapping.parse(raw, source="mapping.yaml")
    assert needle in str(info.value)


def test_mapping_load_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("id: INC\nnotes: NOTE\ntimestamped_notes: LOG\n")
    mapping = ExportMapping.load(path)
    assert mapping.notes[0].column == "NOTE" and mapping.timestamped_notes == "LOG"
    with pytest.raises(ExportMappingError, match="not found"):
        ExportMapping.load(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("id: [unclosed\n")
    with pytest.raises(ExportMappingError, match="not valid YAML"):
        ExportMapping.load(tmp_path / "bad.yaml")


def test_unreadable_exports_raise_read_errors(tmp_path: Path) -> None:
    with pytest.raises(ExportReadError, match="not found"):
        list(read_export(tmp_path / "nope.csv", chunk_rows=10))
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(ExportReadError, match="unknown export format"):
        list(read_export(tmp_path / "x.xlsx", chunk_rows=10))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ExportReadError, match="empty CSV"):
        list(read_export(tmp_path / "empty.csv", chunk_rows=10))


def test_chunk_of_only_unreadable_rows_maps_to_rejects() -> None:
    df = pd.DataFrame([{ERROR_COLUMN: "invalid_json: line 1 of x.jsonl: Expecting value"}])
    calls, rejects = map_chunk(df, _mapping(), first_row=7)
    assert calls.empty and rejects["row"].tolist() == [7]
    assert rejects.iloc[0]["reason"].startswith("invalid_json:")
