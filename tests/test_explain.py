"""Word-level explanations: offsets, exact TF-IDF contributions, keyword rules, Integrated Gradients, occlusion.

The transformer tests fine-tune a tiny model (MiniLM, max_length 32, 3 epochs on 80 synthetic notes in which one
made-up word alone sets `violence_risk`): tens of seconds on a 2-core CPU, so they are marked slow, like the
other training tests. The "no weapons" test trains a TF-IDF model on the generated corpus (seconds) and is
skipped when the corpus has not been generated.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from shared_texts import NEGATED_WEAPONS
from shared_texts import trigger_notes as shared_trigger_notes
from sklearn.feature_extraction.text import TfidfVectorizer

from divert.model.bundle import DivertModel, Manifest
from divert.model.calibration import Calibration
from divert.model.explain import (
    Explanation,
    ExplanationError,
    LabelExplanation,
    explain,
    remove_spans,
    word_spans,
)
from divert.model.inputs import NoteInput, Transcript, TranscriptSegment, parse_note
from divert.model.keywords import KeywordScorer
from divert.model.labels import LABEL_INDEX, LABELS
from divert.model.tfidf import TfidfScorer

CAD = "RP ADV SUBJ W/ KNIFE // 10-4 C/B; CALLER: he's 5'11\" (UNK) @ 12:30 -- NO WPNS!! #4 APT"
CORPUS_TRAIN = Path(__file__).resolve().parents[1] / "data" / "corpus" / "train.jsonl"

TRIGGER = "zorblax"  # a made-up word (several word pieces) that alone sets violence_risk in the tiny set
FILLER = ["caller", "reports", "neighbor", "loud", "music", "parking", "lot", "vehicle", "blocking", "driveway",
          "male", "female", "near", "store", "advised", "units", "area", "check", "door", "yard", "street"]


def transcript_text() -> str:
    note = NoteInput(transcript=Transcript(segments=[
        TranscriptSegment(speaker="call_taker", text="911, what's the address?  Does he have any weapons?", start=0),
        TranscriptSegment(speaker="caller", text="No -- no weapons... he's yelling (at me) W/ his brother!!", start=3),
        TranscriptSegment(speaker="unknown", text="[inaudible] 10-4, C/B 555-0100", start=9),
    ]))
    return parse_note(note).text


def identity_model(scorer: object, kind: str, name: str = "divert-test") -> DivertModel:
    manifest = Manifest(kind=kind, calibration=Calibration.identity(LABELS), thresholds=dict.fromkeys(LABELS, 0.5),
                        name=name)
    return DivertModel(scorer, manifest)  # type: ignore[arg-type]


def label(exp: Explanation, name: str) -> LabelExplanation:
    return next(lab for lab in exp.labels if lab.label == name)


def attribution(lab: LabelExplanation, word: str) -> float:
    return sum(w.attribution for w in lab.words if w.word.lower() == word.lower())


def assert_offsets_exact(exp: Explanation) -> None:
    expected = [(w.word, w.start, w.end) for w in word_spans(exp.text)]
    for lab in exp.labels:
        assert [(w.word, w.start, w.end) for w in lab.words] == expected
        for w in lab.words:
            assert exp.text[w.start : w.end] == w.word
        for rule in lab.rules:
            assert exp.text[rule.start : rule.end] == rule.text


# ------------------------------------------------------------------------------------------------ words


def test_word_spans_keep_cad_tokens_whole() -> None:
    words = [w.word for w in word_spans(CAD)]
    assert words == ["RP", "ADV", "SUBJ", "W/", "KNIFE", "10-4", "C/B", "CALLER", "he's", "5'11", "UNK", "12:30",
                     "NO", "WPNS", "#4", "APT"]


def test_word_spans_offsets_point_at_the_words() -> None:
    for text in (CAD, transcript_text(), "se quiere matar, está borracho"):
        for w in word_spans(text):
            assert text[w.start : w.end] == w.word


def test_remove_spans_deletes_characters_and_collapses_spaces() -> None:
    text = "SUBJ W/ KNIFE NO WPNS"
    spans = {w.word: (w.start, w.end) for w in word_spans(text)}
    assert remove_spans(text, [spans["KNIFE"]]) == "SUBJ W/ NO WPNS"
    assert remove_spans(text, [spans["SUBJ"], spans["WPNS"]]) == "W/ KNIFE NO"


# ------------------------------------------------------------------------------------------------ tf-idf


@pytest.fixture(scope="module")
def tiny_tfidf(tiny_tfidf_bundle: Path) -> DivertModel:
    return DivertModel.load(tiny_tfidf_bundle)


@pytest.mark.parametrize("text", [CAD, "SUBJ STATING HE WANTS TO KILL HIMSELF HAS A KNIFE", "caller: ok"])
def test_tfidf_contributions_add_up_to_the_logit(tiny_tfidf: DivertModel, text: str) -> None:
    exp = explain(tiny_tfidf, text)
    logits = tiny_tfidf.scorer.logits([exp.text])[0]  # type: ignore[attr-defined]
    assert exp.method == "exact"
    for j, lab in enumerate(exp.labels):
        total = sum(w.attribution for w in lab.words) + lab.unattributed + (lab.baseline_output or 0.0)
        assert total == pytest.approx(logits[j], abs=1e-9)
        assert lab.output == pytest.approx(logits[j], abs=1e-12)
        assert lab.baseline_output == pytest.approx(tiny_tfidf.scorer.intercept[j])  # type: ignore[attr-defined]
        assert lab.completeness_error is not None and lab.completeness_error < 1e-9


def test_tfidf_every_feature_is_traced_to_a_word(tiny_tfidf: DivertModel) -> None:
    exp = explain(tiny_tfidf, "DRUNK MALE FIGHTING WITH BOUNCER OUTSIDE BAR W/ KNIFE")
    assert all(lab.unattributed == 0.0 for lab in exp.labels)


def test_tfidf_scores_offsets_and_text(tiny_tfidf: DivertModel) -> None:
    for text in (CAD, transcript_text()):
        exp = explain(tiny_tfidf, text)
        assert exp.text == text
        assert_offsets_exact(exp)
        predicted = tiny_tfidf.predict([text])
        for j, lab in enumerate(exp.labels):
            assert lab.score == pytest.approx(predicted.scores[0, j])
            assert lab.decision == bool(predicted.decisions[0, j])


def _one_feature_model(analyzer: str, ngrams: tuple[int, int], term: str) -> DivertModel:
    """A TF-IDF scorer whose violence_risk logit is exactly the TF-IDF value of one `term`."""
    corpus = ["no weapons seen", "has a knife", "no knife here", "weapons and a knife"]
    pattern = {"token_pattern": r"(?u)\b[\w'/-]+\b"} if analyzer == "word" else {}
    vec = TfidfVectorizer(lowercase=True, analyzer=analyzer, ngram_range=ngrams, **pattern).fit(corpus)
    coef = np.zeros((len(LABELS), len(vec.vocabulary_)))
    coef[LABEL_INDEX["violence_risk"], vec.vocabulary_[term]] = 1.0
    scorer = TfidfScorer(LABELS, [(analyzer, vec)], coef, np.zeros(len(LABELS)))
    return identity_model(scorer, "tfidf")


def test_a_bigram_is_split_equally_over_its_two_words() -> None:
    model = _one_feature_model("word", (1, 2), "no weapons")
    lab = explain(model, "SUBJ NO WEAPONS", ["violence_risk"]).labels[0]
    assert attribution(lab, "NO") == pytest.approx(lab.output / 2)
    assert attribution(lab, "WEAPONS") == pytest.approx(lab.output / 2)
    assert attribution(lab, "SUBJ") == 0.0


def test_a_character_ngram_goes_to_the_word_it_was_cut_from() -> None:
    model = _one_feature_model("char_wb", (3, 4), "knif")
    lab = explain(model, "NO KNIFE, knife!", ["violence_risk"]).labels[0]
    assert lab.output > 0
    assert attribution(lab, "KNIFE") == pytest.approx(lab.output)
    assert attribution(lab, "NO") == 0.0


def test_unknown_label_and_wrong_method_are_input_errors(tiny_tfidf: DivertModel) -> None:
    with pytest.raises(ExplanationError) as unknown:
        explain(tiny_tfidf, "note", ["violence"])
    assert unknown.value.code == "unknown_label"
    with pytest.raises(ExplanationError) as wrong:
        explain(tiny_tfidf, "note", method="integrated_gradients")
    assert wrong.value.code == "method_unavailable"


def test_labels_asked_for_are_the_ones_explained(tiny_tfidf: DivertModel) -> None:
    exp = explain(tiny_tfidf, CAD, ["violence_risk", "suicide_risk"])
    assert [lab.label for lab in exp.labels] == ["violence_risk", "suicide_risk"]


def test_occlusion_is_the_logit_drop_of_deleting_each_word(tiny_tfidf: DivertModel) -> None:
    text = "2 SUBJ FIGHTING IN PARKING LOT ONE W/ BAT"
    exp = explain(tiny_tfidf, text, ["violence_risk"], method="occlusion")
    lab = exp.labels[0]
    assert exp.method == "occlusion" and lab.completeness_error is None
    assert_offsets_exact(exp)
    j = LABEL_INDEX["violence_risk"]
    for w in lab.words:
        without = tiny_tfidf.scorer.logits([remove_spans(text, [(w.start, w.end)])])[0, j]  # type: ignore[attr-defined]
        assert w.attribution == pytest.approx(lab.output - without)


# ------------------------------------------------------------------------------------------------ keywords


@pytest.fixture(scope="module")
def keywords_model() -> DivertModel:
    return identity_model(KeywordScorer(), "keywords", "divert-keywords")


def test_keywords_report_fired_and_negated_rules(keywords_model: DivertModel) -> None:
    exp = explain(keywords_model, "SUBJ W/ KNIFE, NO WPNS. threatening to kill himself")
    assert exp.method == "rules"
    violence = label(exp, "violence_risk")
    fired = {(r.rule, r.text, r.negated) for r in violence.rules}
    assert ("vr_weapon", "KNIFE", False) in fired
    assert ("vr_weapon", "WPNS", True) in fired
    assert ("vr_threat", "threatening", False) in fired
    assert attribution(violence, "KNIFE") > 0
    assert attribution(violence, "WPNS") == 0.0  # negated: it did not add to the score
    assert attribution(violence, "NO") == 0.0
    assert {r.rule for r in label(exp, "suicide_risk").rules} == {"sr_kill_self"}
    assert_offsets_exact(exp)


def test_keyword_attributions_add_up_to_the_noisy_or(keywords_model: DivertModel) -> None:
    for text in (CAD, transcript_text(), "drunk and threatening, has a gun, OD"):
        exp = explain(keywords_model, text)
        assert_offsets_exact(exp)
        for lab in exp.labels:
            assert lab.completeness_error is not None and lab.completeness_error < 1e-9
            expected = -np.log(1 - lab.raw_score) if lab.rules and lab.raw_score > 0.02 else 0.0
            assert lab.output == pytest.approx(expected)


# ------------------------------------------------------------------------------------------------ "no weapons"


@pytest.fixture(scope="module")
def corpus_tfidf() -> DivertModel:
    if not CORPUS_TRAIN.is_file():
        pytest.skip(f"{CORPUS_TRAIN} not generated (divert data generate)")
    from divert.training.config import TfidfConfig
    from divert.training.dataset import load_dataset
    from divert.training.train_tfidf import fit_tfidf

    train = load_dataset(CORPUS_TRAIN)
    scorer = fit_tfidf(train.texts, train.labels, TfidfConfig(), label_names=LABELS, seed=13)
    return identity_model(scorer, "tfidf", "divert-corpus-tfidf")


@pytest.mark.parametrize("text", NEGATED_WEAPONS)
def test_the_negation_cue_pushes_away_from_violence(corpus_tfidf: DivertModel, text: str) -> None:
    lab = explain(corpus_tfidf, text, ["violence_risk"]).labels[0]
    assert attribution(lab, "no") < 0


# ------------------------------------------------------------------------------------------------ transformer


def trigger_notes(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    return shared_trigger_notes(n, seed, trigger=TRIGGER, filler=FILLER)


@pytest.fixture(scope="session")
def trigger_transformer() -> DivertModel:
    from divert.training.config import TransformerConfig
    from divert.training.train_transformer import fit_transformer

    cfg = TransformerConfig(max_length=32, window_stride=16, batch_size=8, epochs=3, learning_rate=2e-4,
                            warmup_ratio=0.1, eval_batch_size=32, monitor="val_loss", patience=3)
    (train_x, train_y), (val_x, val_y) = trigger_notes(80, seed=1), trigger_notes(20, seed=2)
    scorer, _ = fit_transformer(train_x, train_y, val_x, val_y, cfg, labels=LABELS, seed=7)
    return identity_model(scorer, "transformer", "divert-trigger")


HELD_OUT = [
    f"male near store {TRIGGER} advised units check door",
    f"{TRIGGER} caller reports loud music parking lot",
    f"vehicle blocking driveway yard street female {TRIGGER}",
]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["integrated_gradients", "occlusion"])
def test_planted_trigger_gets_the_largest_attribution(trigger_transformer: DivertModel, method: str) -> None:
    for text in HELD_OUT:
        lab = explain(trigger_transformer, text, ["violence_risk"], method=method, n_steps=32).labels[0]
        top = max(lab.words, key=lambda w: w.attribution)
        assert top.word == TRIGGER, (method, text, [(w.word, round(w.attribution, 3)) for w in lab.words])
        assert top.attribution > 0


@pytest.mark.slow
def test_integrated_gradients_is_nearly_complete(trigger_transformer: DivertModel) -> None:
    exp = explain(trigger_transformer, HELD_OUT[0], method="integrated_gradients", n_steps=32)
    assert exp.baseline is not None and "[PAD]" in exp.baseline and exp.n_steps == 32
    for lab in exp.labels:
        assert lab.completeness_error is not None and lab.baseline_output is not None
        assert lab.completeness_error <= 0.05 * max(1.0, abs(lab.output - lab.baseline_output))


@pytest.mark.slow
def test_transformer_offsets_on_cad_text_and_transcripts(trigger_transformer: DivertModel) -> None:
    long_note = " ".join(FILLER * 3) + f" {TRIGGER}, W/ 10-4 C/B"  # several 32-token windows
    for text in (CAD, transcript_text(), long_note):
        for method in ("integrated_gradients", "occlusion"):
            exp = explain(trigger_transformer, text, method=method, n_steps=8)
            assert exp.text == text
            assert_offsets_exact(exp)
            predicted = trigger_transformer.predict([text])
            # float32 encoder: the explainer's own forward passes and `predict` agree to float32 precision
            assert [lab.score for lab in exp.labels] == pytest.approx(predicted.scores[0].tolist(), rel=1e-5)


@pytest.mark.slow
def test_long_note_is_explained_on_the_window_that_scored_it(trigger_transformer: DivertModel) -> None:
    text = " ".join(FILLER * 3) + f" {TRIGGER} " + " ".join(FILLER[:6])
    lab = explain(trigger_transformer, text, ["violence_risk"], method="integrated_gradients").labels[0]
    logit = trigger_transformer.scorer.logits([text])[0, LABEL_INDEX["violence_risk"]]  # type: ignore[attr-defined]
    assert lab.output == pytest.approx(logit, abs=1e-4)
    assert max(lab.words, key=lambda w: w.attribution).word == TRIGGER
    assert lab.words[0].attribution == 0.0  # "caller", only in the first window, which did not give the max
