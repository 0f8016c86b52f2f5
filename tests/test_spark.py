"""The Spark engine on local[1]: same scores as the local engine and the API's code path, rejects, start-up errors."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from divert.model.inputs import NoteInput
from divert.model.labels import LABELS
from divert.model.policy import load_policy
from divert.model.pyfunc import LoadedModel, load_model
from divert.serving.batch.errors import BatchError
from divert.serving.batch.local import score_local
from divert.serving.service import ClassificationService

pytest.importorskip("pyspark", reason="PySpark is not installed (pip install -e '.[spark]')")
pytestmark = [pytest.mark.spark, pytest.mark.slow]

CLOCK = datetime.fromisoformat("2025-06-01T12:00:00+00:00")


def calls_csv(path: Path) -> Path:
    """Good calls, an empty note, a bad time, no id, a malformed line, a quoted note with a comma and newline."""
    path.write_text(
        "id,text,time,area,nature_code\n"
        "s-1,RP ADV BROTHER OFF HIS MEDS TALKING TO PEOPLE WHO ARENT THERE NO WPNS,2025-03-03T02:10:00,north,WELFARE\n"
        "s-2,SUBJ STATING HE WANTS TO KILL HIMSELF HAS A KNIFE,2025-03-04T14:00:00,south,SUICTHRT\n"
        "s-3,DV IN PROGRESS HUSBAND HITTING WIFE,2025-03-05T22:30:00,east,DVA\n"
        "s-4,   ,2025-03-08T10:00:00,north,SUSP\n"
        "s-5,MALE NOT BREATHING CPR IN PROGRESS,noonish,west,CARDIAC\n"
        ",HIGH ON METH PARANOID SAYS PEOPLE ARE CHASING HIM,2025-03-09T01:00:00,south,DRUGS\n"
        "s-7,too,many,fields,in,this,line\n"
        's-8,"woman screaming at cars, seems confused\nno weapons",2025-03-10T09:00:00,central,DISORD\n'
        "s-9,LOUD MUSIC NEXT DOOR NOISE COMPLAINT,,,\n"
    )
    return path


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.skip("no Java on this machine")
    from divert.serving.batch.spark import spark_session

    session = spark_session("local[1]", conf={"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "1"})
    yield session
    session.stop()


@pytest.fixture(scope="module")
def loaded(tiny_tfidf_bundle: Path) -> LoadedModel:
    return load_model(str(tiny_tfidf_bundle))


def frame(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values("id").reset_index(drop=True)


def test_spark_matches_local_and_the_service(spark: Any, loaded: LoadedModel, tmp_path: Path) -> None:
    from divert.serving.batch.spark import score_spark

    src = calls_csv(tmp_path / "calls.csv")
    policy = load_policy()
    on_spark = score_spark(str(src), tmp_path / "spark", loaded=loaded, model_ref="tiny", policy=policy,
                           clock=CLOCK, spark=spark, partitions=2)
    local = score_local(src, tmp_path / "local", loaded=loaded, model_ref="tiny", policy=policy, clock=CLOCK,
                        workers=1, chunk_rows=3, show_progress=False)
    # counts add up, and both engines agree on them
    assert on_spark.read == 9 == on_spark.scored + on_spark.rejected
    assert (on_spark.scored, on_spark.rejected) == (local.scored, local.rejected) == (5, 4)

    a, b = frame(tmp_path / "spark" / "scored"), frame(tmp_path / "local" / "scored")
    assert a["id"].tolist() == ["s-1", "s-2", "s-3", "s-8", "s-9"]
    same = [c for c in b.columns if c != "row"]  # Spark numbers records its own way
    pd.testing.assert_frame_equal(a[same], b[same])
    assert "text" not in a.columns

    ra = pd.read_parquet(tmp_path / "spark" / "rejects").sort_values("code").reset_index(drop=True)
    rb = pd.read_parquet(tmp_path / "local" / "rejects").sort_values("code").reset_index(drop=True)
    assert ra["code"].tolist() == rb["code"].tolist() == ["empty_text", "invalid_context_time", "malformed_row",
                                                          "missing_id"]
    assert ra.loc[ra["code"] != "malformed_row", "id"].tolist() == rb.loc[rb["code"] != "malformed_row",
                                                                          "id"].tolist()

    service = ClassificationService(policy, model=loaded)
    notes = {"s-1": ("RP ADV BROTHER OFF HIS MEDS TALKING TO PEOPLE WHO ARENT THERE NO WPNS",
                     {"time": "2025-03-03T02:10:00", "area": "north"}),
             "s-8": ("woman screaming at cars, seems confused\nno weapons",
                     {"time": "2025-03-10T09:00:00", "area": "central"})}
    for call_id, (text, context) in notes.items():
        answer = service.classify([NoteInput(text=text, context=context)], batch=False, now=CLOCK).results[0]
        row = a.set_index("id").loc[call_id]
        for name in LABELS:
            assert row[f"score_{name}"] == pytest.approx(answer.labels[name].score, abs=1e-12)
            assert bool(row[f"decision_{name}"]) == answer.labels[name].decision
        assert (None if pd.isna(row["recommendation"]) else row["recommendation"]) == answer.recommendation.primary


def test_a_single_row_group_parquet_is_spread_over_partitions(spark: Any, loaded: LoadedModel,
                                                              tmp_path: Path) -> None:
    from divert.serving.batch.sample import sample_calls
    from divert.serving.batch.spark import score_spark

    sample_calls(300, seed=2, broken=4).to_parquet(tmp_path / "calls.parquet", row_group_size=10_000)
    summary = score_spark(str(tmp_path / "calls.parquet"), tmp_path / "out", loaded=loaded, model_ref="tiny",
                          policy=load_policy(), clock=CLOCK, spark=spark, partitions=3)
    assert summary.read == 300 and summary.scored == 296 and summary.rejected == 4
    assert len(list((tmp_path / "out" / "scored").glob("part-*.parquet"))) >= 3  # one per partition
    assert frame(tmp_path / "out" / "scored")["id"].is_unique


def test_an_unreadable_input_is_one_sentence(spark: Any, loaded: LoadedModel, tmp_path: Path) -> None:
    from divert.serving.batch.spark import score_spark

    with pytest.raises(BatchError, match="does not exist"):
        score_spark(str(tmp_path / "nothing.csv"), tmp_path / "out", loaded=loaded, model_ref="tiny",
                    policy=load_policy(), spark=spark)
    with pytest.raises(BatchError, match="Spark cannot read"):
        score_spark("nofs://bucket/calls.parquet", tmp_path / "out2", loaded=loaded, model_ref="tiny", policy=load_policy(), spark=spark)


def test_no_java_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    from divert.serving.batch import spark as engine

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(engine.shutil, "which", lambda name: None)
    message = engine.spark_available()
    assert message is not None and message.startswith("the spark engine needs Java 17")
    with pytest.raises(BatchError, match="needs Java"):
        engine.spark_session("local[1]")
