"""Perturbation robustness of the TF-IDF baseline trained on the bundled corpus (it trains in seconds).

Bounds are stated here and measured by `divert eval robustness` (README): case changes must flip nothing,
typos and abbreviation changes at most 3% of decisions. Negated mentions are the baseline's known weakness
(its unigrams outweigh the negation): appending "NO WEAPONS SEEN" turned `violence_risk` on for 3.3-4.4% of
the notes where it was off in our runs, "NOT SUICIDAL" and "NO ETOH OR DRUGS" about 7% and 2%. The bound below
keeps that from getting worse; the transformer's far tighter bounds are in tests/test_bundled_model.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from divert.model.bundle import DivertModel
from divert.model.labels import LABELS
from divert.training.robustness import (
    add_typos,
    contract_abbreviations,
    expand_abbreviations,
    flip_rates,
    negation_turn_on_rates,
)

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
MAX_FLIP_RATE = {"upper case": 0.0, "lower case": 0.0, "typos": 0.03, "abbreviations expanded": 0.03,
                 "abbreviations contracted": 0.03}
MAX_NEGATION_TURN_ON = {"violence_risk": 0.05}


@pytest.fixture(scope="module")
def corpus_model(tmp_path_factory: pytest.TempPathFactory) -> DivertModel:
    if not (CORPUS / "train.jsonl").is_file():
        pytest.skip("bundled corpus not generated")
    from divert.training.config import TrainConfig
    from divert.training.dataset import load_dataset
    from divert.training.pipeline import calibrate_and_threshold
    from divert.training.train_tfidf import fit_tfidf

    cfg = TrainConfig(model="tfidf")
    train = load_dataset(CORPUS / "train.jsonl")
    scorer = fit_tfidf(train.texts, train.labels, cfg.tfidf, label_names=LABELS, seed=cfg.seed)
    return calibrate_and_threshold(cfg, scorer, load_dataset(CORPUS / "validation.jsonl"), train.fingerprint())


@pytest.fixture(scope="module")
def test_texts() -> list[str]:
    from divert.training.dataset import load_dataset

    return load_dataset(CORPUS / "test.jsonl").texts[:800]


def test_perturbations_change_the_text() -> None:
    note = "RP ADV SUBJ W/ KNIFE, UNK WPNS, 45 YOM UNCONSCIOUS"
    assert expand_abbreviations(note) == "REPORTING PARTY ADVISES SUBJECT WITH KNIFE, UNKNOWN WEAPONS, 45 YEAR OLD MALE UNCONSCIOUS"
    assert contract_abbreviations(expand_abbreviations(note)) == "RP ADV SUBJ W/ KNIFE, UNK WPNS, 45 YOM UNCON"
    assert "UNCONCIOUS" in add_typos(note, seed=1)


@pytest.mark.slow
def test_decisions_survive_surface_changes(corpus_model: DivertModel, test_texts: list[str]) -> None:
    for report in flip_rates(corpus_model, test_texts):
        assert report.notes_changed > 0
        assert report.flip_rate <= MAX_FLIP_RATE[report.perturbation], report


@pytest.mark.slow
def test_negated_mentions_do_not_turn_labels_on(corpus_model: DivertModel, test_texts: list[str]) -> None:
    rates = negation_turn_on_rates(corpus_model, test_texts)
    assert set(rates) == {"violence_risk", "suicide_risk", "substance_use"}
    for label, bound in MAX_NEGATION_TURN_ON.items():
        assert rates[label] <= bound, (label, rates[label])
