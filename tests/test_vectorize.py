"""`divert.model.vectorize`: the per-word TF-IDF transform gives exactly scikit-learn's features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import tiny_records
from sklearn.feature_extraction.text import TfidfVectorizer

from divert.model.preprocess import preprocess
from divert.model.vectorize import MAX_CACHED_WORDS, FastTfidf
from divert.serving.batch.sample import corpus_notes

# Notes that stress the word splitting: unicode whitespace and case, repeated words and n-grams, one-letter
# words, words longer than the n-grams, speaker markers, punctuation, digits, accents, an empty note.
ODD = [
    "",
    "   ",
    "a",
    "aaaaaa aaaaaa aaaaaa",
    "İstanbul ÉCOLE straße ǅemal ﬁle",
    "x\ty\n\nz  w\u00a0v\u2028u\u3000t\x1cs",
    "CALLER: he has a KNIFE.\nCALL TAKER: is he armed?\nCALLER: no no no",
    "RP ADV SUBJ W/ KNIFE // NO WPNS SEEN; 10-4 @ 23:59 #4411 o'clock 'quoted' -- dash-word",
    "the the the the the",
    "emoji 🙂 and ⚠ signs, and caf\u0065\u0301 vs café",
]


def _texts() -> list[str]:
    notes = [str(r["text"]) for r in corpus_notes()[:1500]]
    return [preprocess(t) for t in notes] + [str(r["text"]) for r in tiny_records()] + ODD


def _identical(a: sp.spmatrix, b: sp.spmatrix) -> bool:
    return (type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
            and np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
            and np.array_equal(a.data, b.data))


VECTORIZERS = {
    # divert's own settings (training/train_tfidf.py)
    "char_wb_2_5": dict(lowercase=True, analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True),
    "word_1_2": dict(lowercase=True, ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                     token_pattern=r"(?u)\b[\w'/-]+\b"),
    # other settings the fast path covers
    "char_wb_1_3_cased_binary": dict(lowercase=False, analyzer="char_wb", ngram_range=(1, 3), binary=True),
    "char_wb_max_features": dict(analyzer="char_wb", ngram_range=(3, 4), max_features=500, norm="l1"),
    "word_1_1": dict(ngram_range=(1, 1)),
    "word_2_2_no_idf": dict(ngram_range=(2, 2), use_idf=False, sublinear_tf=True),
    "word_float32": dict(ngram_range=(1, 2), dtype=np.float32, strip_accents="unicode"),
    # not covered: these fall back to scikit-learn
    "char": dict(analyzer="char", ngram_range=(2, 3)),
    "word_stop_words": dict(stop_words="english"),
    "word_1_3": dict(ngram_range=(1, 3)),
}


@pytest.mark.parametrize("name", list(VECTORIZERS))
def test_fast_transform_is_bit_identical_to_sklearn(name: str) -> None:
    texts = _texts()
    vec = TfidfVectorizer(**VECTORIZERS[name]).fit(texts[::2])  # unseen words and n-grams in the other half
    fast = FastTfidf(vec)
    assert fast.supported == (name not in ("char", "word_stop_words", "word_1_3"))
    expected = vec.transform(texts)
    assert _identical(fast.transform(texts), expected)
    assert _identical(fast.transform(texts), expected)  # with the word cache filled
    for i in (0, 1, 2, len(texts) - 1):
        assert _identical(fast.transform(texts[i:i + 1]), vec.transform(texts[i:i + 1]))


def test_fast_transform_refills_a_full_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("divert.model.vectorize.MAX_CACHED_WORDS", 5)
    texts = _texts()[:200]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)).fit(texts)
    fast = FastTfidf(vec)
    assert _identical(fast.transform(texts), vec.transform(texts))
    assert len(fast._words) <= 5 < MAX_CACHED_WORDS


def test_tfidf_scorer_logits_do_not_depend_on_the_block_size(tiny_tfidf_bundle: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from divert.model.bundle import DivertModel

    model = DivertModel.load(tiny_tfidf_bundle)
    texts = _texts()[:300]
    reference = np.asarray(sp.hstack([vec.transform([preprocess(t) for t in texts])
                                      for _, vec in model.scorer.vectorizers], format="csr")
                           @ model.scorer.coef.T) + model.scorer.intercept[None, :]
    whole = model.scorer.logits([preprocess(t) for t in texts])
    monkeypatch.setattr("divert.model.tfidf.LOGIT_BLOCK", 7)
    blocked = model.scorer.logits([preprocess(t) for t in texts])
    assert np.array_equal(whole, reference)
    assert np.array_equal(blocked, reference)
