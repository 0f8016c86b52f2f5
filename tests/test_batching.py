"""Micro-batching of concurrent requests: every caller gets its own rows, equal to unbatched scoring; errors
reach every caller of the failing batch; nothing is lost across a model swap or a shutdown."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from divert.model.bundle import DivertModel, Predictions
from divert.serving.batching import BatchSettings, MicroBatcher

NOTES = [
    "RP ADV BROTHER OFF HIS MEDS TALKING TO PEOPLE WHO ARENT THERE NO WPNS",
    "SUBJ STATING HE WANTS TO KILL HIMSELF HAS A KNIFE",
    "DV IN PROGRESS HUSBAND HITTING WIFE",
    "MALE NOT BREATHING CPR IN PROGRESS",
    "LOUD MUSIC NEXT DOOR NOISE COMPLAINT",
    "caller says her son is threatening suicide, took pills, hard to wake",
    "INTOX MALE PASSED OUT AT BUS STOP UNRESPONSIVE",
    "2 SUBJ FIGHTING IN PARKING LOT ONE W/ BAT",
]


class Recording:
    """Wraps a model: records each `predict` call's texts; optionally blocks the first call until released."""

    def __init__(self, model: DivertModel, *, hold_first: bool = False) -> None:
        self.model = model
        self.calls: list[list[str]] = []
        self.release = threading.Event()
        self.entered = threading.Event()
        if not hold_first:
            self.release.set()
        self._lock = threading.Lock()

    def predict(self, texts: Sequence[str]) -> Predictions:
        with self._lock:
            self.calls.append(list(texts))
        self.entered.set()
        self.release.wait(10)
        return self.model.predict(texts)


@pytest.fixture(scope="module")
def model(tiny_tfidf_bundle: Path) -> DivertModel:
    return DivertModel.load(tiny_tfidf_bundle)


def test_settings_are_off_by_default_and_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert MicroBatcher.from_settings(BatchSettings()) is None
    monkeypatch.setenv("DIVERT_BATCH_ENABLED", "true")
    monkeypatch.setenv("DIVERT_BATCH_MAX_SIZE", "4")
    monkeypatch.setenv("DIVERT_BATCH_MAX_WAIT_MS", "0")
    batcher = MicroBatcher.from_settings(BatchSettings())
    assert batcher is not None and batcher.max_size == 4 and batcher.max_wait_s == 0
    batcher.close()
    monkeypatch.setenv("DIVERT_BATCH_MAX_SIZE", "0")
    with pytest.raises(ValueError, match="max_size"):
        BatchSettings()


def test_concurrent_callers_each_get_their_own_rows(model: DivertModel) -> None:
    expected = model.predict(NOTES).scores
    batcher = MicroBatcher(max_size=8, max_wait_ms=20)
    recorder = Recording(model)
    requests = [[NOTES[i % len(NOTES)]] for i in range(64)] + [NOTES[:3], NOTES[5:8]]
    try:
        with ThreadPoolExecutor(max_workers=24) as pool:
            answers = list(pool.map(lambda texts: batcher.predict(recorder, texts), requests))  # type: ignore[arg-type]
    finally:
        batcher.close()
    for texts, answer in zip(requests, answers, strict=True):
        rows = [NOTES.index(t) for t in texts]
        assert answer.scores.shape == (len(texts), len(model.labels))
        np.testing.assert_allclose(answer.scores, expected[rows], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(answer.thresholds, model.threshold_vector)
    scored = sorted(t for call in recorder.calls for t in call)
    assert scored == sorted(t for texts in requests for t in texts)  # every note scored exactly once
    assert all(len(call) <= 8 for call in recorder.calls)
    assert batcher.notes == len(scored) and batcher.batches == len(recorder.calls)


def test_requests_arriving_while_a_batch_is_scored_form_the_next_batch(model: DivertModel) -> None:
    batcher = MicroBatcher(max_size=16, max_wait_ms=0)
    recorder = Recording(model, hold_first=True)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            first = pool.submit(batcher.predict, recorder, [NOTES[0]])  # type: ignore[arg-type]
            assert recorder.entered.wait(10)
            rest = [pool.submit(batcher.predict, recorder, [n]) for n in NOTES[1:6]]  # type: ignore[arg-type]
            while batcher._queue.qsize() < 5:  # all five waiting behind the held batch
                threading.Event().wait(0.005)
            recorder.release.set()
            answers = [first.result(10)] + [f.result(10) for f in rest]
    finally:
        batcher.close()
    assert recorder.calls == [[NOTES[0]], NOTES[1:6]]
    for note, answer in zip(NOTES[:6], answers, strict=True):
        np.testing.assert_allclose(answer.scores, model.predict([note]).scores, atol=1e-12)


def test_an_error_reaches_every_caller_of_the_batch_and_the_worker_goes_on(model: DivertModel) -> None:
    class Broken:
        def predict(self, texts: Sequence[str]) -> Predictions:
            raise RuntimeError("scorer exploded")

    batcher = MicroBatcher(max_size=8, max_wait_ms=30)
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            futures = [pool.submit(batcher.predict, Broken(), [n]) for n in NOTES[:4]]  # type: ignore[arg-type]
            for f in futures:
                with pytest.raises(RuntimeError, match="scorer exploded"):
                    f.result(10)
        after = batcher.predict(model, [NOTES[1]])
        np.testing.assert_allclose(after.scores, model.predict([NOTES[1]]).scores, atol=1e-12)
    finally:
        batcher.close()


def test_requests_for_different_models_are_scored_by_their_own_model(model: DivertModel) -> None:
    old, new = Recording(model), Recording(model)
    batcher = MicroBatcher(max_size=16, max_wait_ms=50)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(batcher.predict, old if i % 2 else new, [NOTES[i]])  # type: ignore[arg-type]
                       for i in range(8)]
            for f in futures:
                f.result(10)
    finally:
        batcher.close()
    assert sorted(t for c in old.calls for t in c) == sorted(NOTES[i] for i in range(1, 8, 2))
    assert sorted(t for c in new.calls for t in c) == sorted(NOTES[i] for i in range(0, 8, 2))


def test_a_request_larger_than_a_batch_is_never_split(model: DivertModel) -> None:
    recorder = Recording(model)
    batcher = MicroBatcher(max_size=2, max_wait_ms=20)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            big = pool.submit(batcher.predict, recorder, NOTES)  # type: ignore[arg-type]
            small = [pool.submit(batcher.predict, recorder, [n]) for n in NOTES[:3]]  # type: ignore[arg-type]
            assert big.result(10).scores.shape[0] == len(NOTES)
            for f in small:
                assert f.result(10).scores.shape[0] == 1
    finally:
        batcher.close()
    assert NOTES in recorder.calls
    assert all(len(c) <= 2 for c in recorder.calls if c != NOTES)


def test_after_close_callers_are_scored_directly(model: DivertModel) -> None:
    batcher = MicroBatcher(max_size=4, max_wait_ms=1)
    batcher.close()
    batcher.close()  # idempotent
    answer = batcher.predict(model, NOTES[:2])
    np.testing.assert_allclose(answer.scores, model.predict(NOTES[:2]).scores, atol=1e-12)


def test_the_service_scores_single_notes_through_the_batcher(model: DivertModel) -> None:
    from divert.model.inputs import NoteInput
    from divert.model.policy import load_policy
    from divert.model.pyfunc import LoadedModel
    from divert.serving.service import ClassificationService

    loaded = LoadedModel(model=model, uri="tiny", name="tiny")
    plain = ClassificationService(load_policy(None), model=loaded)
    batched = ClassificationService(load_policy(None), model=loaded)
    batched.batcher = MicroBatcher(max_size=8, max_wait_ms=5)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda t: batched.classify([NoteInput(text=t)], batch=False), NOTES))
        assert batched.batcher.notes == len(NOTES)
    finally:
        batched.batcher.close()
    for note, answer in zip(NOTES, answers, strict=True):
        want = plain.classify([NoteInput(text=note)], batch=False).results[0]
        got = answer.results[0]
        assert got.flags == want.flags and got.recommendation == want.recommendation
        assert {k: v.score for k, v in got.labels.items()} == pytest.approx({k: v.score for k, v in want.labels.items()})
