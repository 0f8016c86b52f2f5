"""Behaviour of the bundled model: the default transformer trained on the bundled corpus (tests/bundled_model.py).

These are the checks that a tiny model cannot make meaningful: negated mentions, speaker turns in transcripts,
surface changes of the same note, and where explanations put the weight. Bounds are stated here; the measured
rates are in the README (`divert eval robustness`).
"""

from __future__ import annotations

import pytest
from bundled_model import CORPUS, bundled_transformer_dir
from shared_texts import NEGATED_WEAPONS

from divert.model.bundle import DivertModel
from divert.model.explain import explain
from divert.model.inputs import parse_text
from divert.model.labels import LABELS
from divert.training.robustness import flip_rates, negation_turn_on_rates

pytestmark = pytest.mark.slow

MAX_FLIP_RATE = {"upper case": 0.0, "lower case": 0.0, "typos": 0.03, "abbreviations expanded": 0.03,
                 "abbreviations contracted": 0.03}
# Share of notes where the label was off that an appended negated mention ("NO WEAPONS SEEN", "NOT SUICIDAL",
# "NO ETOH OR DRUGS") turns on. Two trainings of the default config measured violence 0.3% and under 2%,
# substance 0%, suicide 3.6% and 8.1%: "suicidal" still pulls some notes over the recall-first suicide threshold,
# and by how much varies between training runs, so its bound is the widest (README).
MAX_NEGATION_TURN_ON = {"violence_risk": 0.02, "suicide_risk": 0.10, "substance_use": 0.03}


@pytest.fixture(scope="session")
def bundled() -> DivertModel:
    if not (CORPUS / "train.jsonl").is_file():
        pytest.fail("the bundled corpus is missing: data/corpus/train.jsonl")
    return DivertModel.load(bundled_transformer_dir())


@pytest.fixture(scope="session")
def test_texts() -> list[str]:
    from divert.training.dataset import load_dataset

    return load_dataset(CORPUS / "test.jsonl").texts[:600]


def decisions(model: DivertModel, text: str) -> dict[str, bool]:
    preds = model.predict([parse_text(text).text])
    return {name: bool(values["decision"]) for name, values in preds.row(0).items()}


def test_surface_changes_keep_decisions(bundled: DivertModel, test_texts: list[str]) -> None:
    for report in flip_rates(bundled, test_texts):
        assert report.notes_changed > 0
        assert report.flip_rate <= MAX_FLIP_RATE[report.perturbation], report


def test_negated_mentions_do_not_turn_labels_on(bundled: DivertModel, test_texts: list[str]) -> None:
    rates = negation_turn_on_rates(bundled, test_texts)
    assert set(rates) == set(MAX_NEGATION_TURN_ON)
    for label, rate in rates.items():
        assert rate <= MAX_NEGATION_TURN_ON[label], (label, rate)


# A call-taker's question is not evidence; the caller's answer is. Written as a CAD integration would send a
# transcript flattened to text, with speaker labels in several spellings (preprocessing canonicalises them).
QUESTION_ANSWERED_NO = {
    "violence_risk": [
        "call taker: is he armed? caller: no, nothing",
        "CALL TAKER: Does he have any weapons on him?\nCALLER: No. No weapons, he's just sitting on the curb crying.",
        "Dispatcher: any guns or knives in the house? Caller: no, none at all",
    ],
    "medical_emergency": [
        "call taker: is he breathing? caller: yes he's breathing fine, he's just upset and yelling",
        "CALL TAKER: Is she awake and breathing?\nCALLER: Yes, she's awake, she's talking to me.",
    ],
    "suicide_risk": [
        "call taker: has he talked about hurting himself? caller: no, never, he's just really confused",
    ],
}
QUESTION_ANSWERED_YES = {
    "violence_risk": [
        "call taker: is he armed? caller: yes he has a knife",
        "CALL TAKER: Does he have any weapons?\nCALLER: Yes, he's got a gun, he's waving it at people.",
    ],
    "medical_emergency": [
        "call taker: is he breathing? caller: no he's not breathing, he's blue",
    ],
    "suicide_risk": [
        "call taker: has he talked about hurting himself? caller: yes, he said he wants to kill himself tonight",
    ],
}


@pytest.mark.parametrize(("label", "text"), [(lab, t) for lab, ts in QUESTION_ANSWERED_NO.items() for t in ts])
def test_a_question_answered_no_does_not_flag(bundled: DivertModel, label: str, text: str) -> None:
    assert not decisions(bundled, text)[label]


@pytest.mark.parametrize(("label", "text"), [(lab, t) for lab, ts in QUESTION_ANSWERED_YES.items() for t in ts])
def test_a_question_answered_yes_flags(bundled: DivertModel, label: str, text: str) -> None:
    assert decisions(bundled, text)[label]


@pytest.mark.parametrize("text", NEGATED_WEAPONS)
def test_no_weapons_gets_no_positive_attribution_for_violence(bundled: DivertModel, text: str) -> None:
    exp = explain(bundled, text, ["violence_risk"])
    lab = exp.labels[0]
    negated = [w for w in lab.words if w.word.lower() in {"no", "weapons"}]
    assert [w.word.lower() for w in negated] == ["no", "weapons"]
    assert sum(w.attribution for w in negated) <= 0, [(w.word, round(w.attribution, 3)) for w in lab.words]


def test_a_late_decisive_sentence_in_a_long_call_is_found(bundled: DivertModel) -> None:
    filler = ("CALL TAKER: okay what's the address\nCALLER: it's the apartments on fifth, building c\n"
              "CALL TAKER: and what's going on there\nCALLER: my neighbor, he's been really loud all week, "
              "banging on walls, playing music at night, we've asked him to stop a lot of times\n") * 8
    late = "CALLER: and now he's outside my door with a gun saying he's going to shoot me"
    text = parse_text(filler + late).text
    assert len(text.split()) > 300
    assert not decisions(bundled, filler)["violence_risk"]
    assert decisions(bundled, text)["violence_risk"]


def test_every_label_is_learned(bundled: DivertModel) -> None:
    assert bundled.labels == tuple(LABELS)
    assert bundled.kind in {"transformer", "onnx"}
