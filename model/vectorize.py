"""The fitted TF-IDF vectorizers' `transform`, computed per distinct word instead of per n-gram occurrence.

scikit-learn's `TfidfVectorizer.transform` looks up every n-gram of every note in a Python loop (a note of 500
characters has about 2,000 character n-grams), which makes the TF-IDF model score about a thousand notes a second.
The n-grams of a note are a function of its words, and notes share their words, so this module:

- `char_wb`: splits every (lower-cased) note into its words exactly as scikit-learn does, finds each distinct
  word's n-gram features once (scikit-learn's own `_char_wb_ngrams`, cached across calls), and counts them for
  all notes at once as a sparse product (notes x words) @ (words x features);
- `word`: tokenizes with the vectorizer's own tokenizer, looks each distinct token and each distinct pair of
  adjacent tokens (bigram) up once, and counts the occurrences with numpy.

The counts are integers, identical to scikit-learn's, in the same sorted CSR layout; the fitted vectorizer's own
`TfidfTransformer` then weights and normalises them, so the features are bit-identical to `vec.transform`
(tests/test_vectorize.py checks it). A vectorizer this does not cover (other analyzers, callables, stop words,
word n-grams longer than 2, non-`str` input) falls back to `vec.transform`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

# scikit-learn's `_VectorizerMixin._white_spaces`: whitespace runs are replaced before a char_wb note is split.
_WHITE_SPACES = re.compile(r"\s\s+")
# Words (char_wb) whose n-gram features are kept between calls; the cache is emptied when it is full.
MAX_CACHED_WORDS = 200_000
_INT32 = np.dtype(np.int32).itemsize


def _supported(vec: TfidfVectorizer) -> bool:
    if not hasattr(vec, "vocabulary_") or not hasattr(vec, "_tfidf"):
        return False
    if vec.input != "content" or callable(vec.analyzer) or vec.get_stop_words() is not None:
        return False
    if vec.analyzer == "char_wb":
        return hasattr(vec, "_char_wb_ngrams")
    if vec.analyzer == "word":
        min_n, max_n = vec.ngram_range
        return 1 <= min_n <= max_n <= 2
    return False


class FastTfidf:
    """`transform(texts)` equal to `vec.transform(texts)`, for one fitted vectorizer."""

    def __init__(self, vec: TfidfVectorizer) -> None:
        self.vec = vec
        self.supported = _supported(vec)
        self._words: dict[str, bytes] = {}

    def transform(self, texts: Sequence[str]) -> Any:
        if not self.supported or len(texts) == 0 or not all(isinstance(t, str) for t in texts):
            return self.vec.transform(texts)
        counts = self._char_wb_counts(texts) if self.vec.analyzer == "char_wb" else self._word_counts(texts)
        if self.vec.binary:
            counts.data.fill(1)
        return self.vec._tfidf.transform(counts, copy=False)

    # ----------------------------------------------------------------------------------------- counts

    def _counts(self, matrix: Any) -> Any:
        """scikit-learn's layout of a count matrix: duplicates summed, indices sorted, the vectorizer's dtype."""
        matrix.sum_duplicates()  # sums and sorts
        return matrix.astype(self.vec.dtype, copy=False)

    def _word_features(self, word: str) -> bytes:
        """The feature indices of the word's n-grams (repeats included), as int32 bytes (compact to cache)."""
        cached = self._words.get(word)
        if cached is None:
            vocab = self.vec.vocabulary_
            cached = np.array([idx for g in self.vec._char_wb_ngrams(word) if (idx := vocab.get(g)) is not None],
                              dtype=np.int32).tobytes()
            if len(self._words) >= MAX_CACHED_WORDS:
                self._words.clear()
            self._words[word] = cached
        return cached

    def _char_wb_counts(self, texts: Sequence[str]) -> Any:
        preprocess = self.vec.build_preprocessor()
        docs = [_WHITE_SPACES.sub(" ", preprocess(t)).split() for t in texts]
        n_features = len(self.vec.vocabulary_)
        ids: dict[str, int] = {}
        codes = np.fromiter((ids.setdefault(w, len(ids)) for w in chain.from_iterable(docs)), dtype=np.int64)
        doc_ptr = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum([len(d) for d in docs], out=doc_ptr[1:])
        # notes x distinct words, times distinct words x n-gram features = n-gram counts per note (the product
        # adds up repeated entries of either factor, and integer counts are exact in float64)
        notes = sp.csr_matrix((np.ones(len(codes)), codes, doc_ptr), shape=(len(docs), len(ids)))
        feats = [self._word_features(w) for w in ids]
        word_ptr = np.zeros(len(feats) + 1, dtype=np.int64)
        np.cumsum([len(f) for f in feats], out=word_ptr[1:])
        word_ptr //= _INT32
        grams = np.frombuffer(b"".join(feats), dtype=np.int32)
        words = sp.csr_matrix((np.ones(len(grams)), grams, word_ptr), shape=(len(feats), n_features))
        # A sparse product's indices come out unsorted; computed transposed, (words' @ notes')' , one CSR -> CSC
        # conversion (a linear pass that sorts) gives the counts' CSR with sorted indices.
        return self._counts((words.T.tocsr() @ notes.T.tocsr()).tocsc().T)

    def _word_counts(self, texts: Sequence[str]) -> Any:
        preprocess = self.vec.build_preprocessor()
        tokenize = self.vec.build_tokenizer()
        vocab = self.vec.vocabulary_
        min_n, max_n = self.vec.ngram_range
        docs = [tokenize(preprocess(t)) for t in texts]
        lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
        ids: dict[str, int] = {}
        codes = np.fromiter((ids.setdefault(w, len(ids)) for w in chain.from_iterable(docs)), dtype=np.int64)
        doc_of = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        if min_n == 1:
            token_feature = np.fromiter((vocab.get(w, -1) for w in ids), dtype=np.int64, count=len(ids))
            rows.append(doc_of)
            cols.append(token_feature[codes])
        if max_n == 2 and len(codes) > 1:
            same_doc = doc_of[:-1] == doc_of[1:]  # a bigram never spans two notes
            first = np.flatnonzero(same_doc)
            keys = codes[first] * len(ids) + codes[first + 1]
            pairs, which = np.unique(keys, return_inverse=True)
            words = list(ids)
            pair_feature = np.fromiter(
                (vocab.get(f"{words[k // len(ids)]} {words[k % len(ids)]}", -1) for k in pairs.tolist()),
                dtype=np.int64, count=len(pairs))
            rows.append(doc_of[first])
            cols.append(pair_feature[which])
        row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        known = col >= 0
        row, col = row[known], col[known]
        return self._counts(sp.csr_matrix((np.ones(len(col)), (row, col)), shape=(len(docs), len(vocab))))
