"""Word-level explanations of the serving model's scores: which words of a call pushed each label up or down.

`explain(model, text)` returns, for every label (or the labels asked for), the calibrated score, threshold and
decision, and a signed attribution per word with character offsets into `Explanation.text`. Attributions are in
the space of the scorer's raw output (the logit of the raw score for `tfidf` and `transformer`), so they add up
when the method is additive; `completeness_error` says how far from exact they are.

Words (`word_spans`, used by every method and by the faithfulness benchmark) are runs of letters and digits
joined by inner `-` `/` `'` `&` `+` (and `.` `:` `,` between digits), with an optional leading `#` and trailing
`/`: `W/`, `10-4`, `C/B`, `Y/O`, `12:30`, `don't` are one word each. Punctuation that belongs to no word (`//`,
a colon after `CALLER`) gets no row; what a method attributes to it is reported as `unattributed`.

Methods (`Explanation.method`):
- `exact` (tfidf): each feature's contribution x_k * w_k to the logit. A word n-gram's contribution is split
  equally over its occurrences and then over the words it covers (a bigram gives half to each word); a
  character n-gram's goes to the word it was cut from (or `unattributed` for a punctuation-only chunk).
  sum(words) + unattributed + intercept == logit, up to float error.
- `rules` (keywords): the rules that fired, negated or not. The keyword score is a noisy-or, additive in
  -log(1 - score): a fired, non-negated rule contributes -log(1 - weight), split over its matches and the words
  each match covers. Negated matches contribute nothing and are listed with `negated: true`.
- `integrated_gradients` (transformer): Captum `IntegratedGradients` over the word embeddings (the output of the
  encoder's word-embedding layer, before position embeddings are added), `n_steps` Gauss-Legendre points. The
  baseline is the same window with every content token replaced by [PAD]: [CLS] [PAD] x n [SEP], with the same
  attention mask, so only the words differ between input and baseline. Token attributions are summed over the
  embedding dimension and then over the word pieces of each word. For a long text, each label is explained on
  the window that gave its (max-over-windows) logit; words outside it get 0. Completeness error:
  |sum(attributions) - (logit(window) - logit(baseline))|. `n_steps` defaults to 32 (completeness error p90
  about 0.01 logit on a corpus-trained MiniLM; 16 steps: about 0.2). Gradients are taken with respect to
  `inputs_embeds` (same attributions as `LayerIntegratedGradients` on the embedding layer) so that no hook is
  put on the served network, which other requests use concurrently.
- `occlusion` (any model; the transformer's default): the logit drop when one word is deleted (its characters
  removed, spaces collapsed), all variants scored in one batch. No completeness property (`completeness_error`
  is null). Texts of more than `max_words` words are refused (`too_many_words`): ask for IG instead.

Defaults (`DEFAULT_METHODS`): keywords `rules`, tfidf `exact`, transformer and onnx `occlusion`.

The ONNX runtime (`onnx`, `divert.model.onnx_runtime`) is explained by occlusion through the same `logits` call
as the PyTorch scorer: the note and all its variants go to the scorer in one call (int8 scores each window in its
own ONNX call, so every attribution is the exact difference of two logits the service returns). Integrated
Gradients needs gradients, hence the PyTorch runtime: explain an ONNX-served model's PyTorch bundle
(`artifacts/<run>/bundle_torch`) for it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
from pydantic import BaseModel, Field

from divert.model.calibration import logit, sigmoid
from divert.model.errors import InvalidInputError
from divert.model.preprocess import preprocess

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from divert.model.bundle import DivertModel
    from divert.model.keywords import KeywordScorer
    from divert.model.tfidf import TfidfScorer
    from divert.model.transformer import TextWindow, TransformerScorer

Method = Literal["exact", "rules", "integrated_gradients", "occlusion"]
METHODS: tuple[str, ...] = ("exact", "rules", "integrated_gradients", "occlusion")

# Chosen with `bench/explain_faithfulness.py` (results in bench/README.md). tfidf: `exact` is complete and at
# least as faithful as occlusion on the deletion curve. transformer: IG and occlusion tie on the deletion curve
# (top3/random3 8.5 vs 8.4); occlusion scores all labels with one forward pass per word, IG needs
# steps x labels forward and backward passes (2-4x slower on 2 CPU cores), so occlusion is the default.
DEFAULT_METHODS: dict[str, str] = {
    "keywords": "rules",
    "tfidf": "exact",
    "transformer": "occlusion",
    "onnx": "occlusion",
}
METHOD_KINDS: dict[str, tuple[str, ...]] = {
    "exact": ("tfidf",),
    "rules": ("keywords",),
    "integrated_gradients": ("transformer",),
}
DEFAULT_IG_STEPS = 32  # completeness error p90 ~0.01 logit on a corpus-trained MiniLM (16 steps: ~0.2)
MAX_IG_STEPS = 256
DEFAULT_OCCLUSION_MAX_WORDS = 400
IG_BASELINE = "[CLS] + [PAD] x n + [SEP]: every content token of the window replaced by [PAD], same attention mask"

_WORD = re.compile(r"#?\w+(?:(?:[-/'’&+]|(?<=\d)[.:,](?=\d))\w+)*(?:/(?!\S))?")
_SPACES = re.compile(r"[ \t]{2,}")


class ExplanationError(InvalidInputError):
    """An explanation that cannot be made as asked. Codes: `unknown_label`, `method_unavailable`,
    `invalid_n_steps`, `too_many_words` (an input problem: the API answers 422)."""


# --------------------------------------------------------------------------------------------------- results


class WordAttribution(BaseModel):
    word: str = Field(description="exactly text[start:end]")
    start: int = Field(description="character offset into the explained text (inclusive)")
    end: int = Field(description="character offset into the explained text (exclusive)")
    attribution: float = Field(description="> 0 pushes towards the label, < 0 away from it (raw-score logit units)")


class RuleFired(BaseModel):
    rule: str
    label: str
    start: int
    end: int
    text: str = Field(description="the matched text, text[start:end]")
    weight: float
    negated: bool = Field(description="a negation cue before the match cancelled it; it did not add to the score")


class LabelExplanation(BaseModel):
    label: str
    score: float = Field(description="calibrated score, as /v1/score returns it")
    raw_score: float = Field(description="the scorer's uncalibrated score")
    threshold: float
    decision: bool
    output: float = Field(description="the explained quantity (see Explanation.output_space) for this text")
    baseline_output: float | None = Field(description="the explained quantity at the baseline, if the method has one")
    completeness_error: float | None = Field(
        description="|sum(attributions) + unattributed - (output - baseline_output)|; null when the method has none"
    )
    unattributed: float = Field(description="attribution to text that belongs to no word (punctuation)")
    words: list[WordAttribution]
    rules: list[RuleFired] = Field(default_factory=list, description="keyword rules of this label that matched")


class Explanation(BaseModel):
    text: str = Field(description="the text the model read; every offset refers to it")
    model_name: str
    model_kind: str
    method: str
    method_description: str
    output_space: str = Field(description="what attributions add up to: 'logit' or 'neg_log_miss' (keywords)")
    baseline: str | None
    n_steps: int | None
    labels: list[LabelExplanation]


# --------------------------------------------------------------------------------------------------- words


@dataclass(frozen=True)
class WordSpan:
    word: str
    start: int
    end: int


def word_spans(text: str) -> list[WordSpan]:
    """The words of a text with their character offsets: the one segmentation every explanation uses."""
    return [WordSpan(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def remove_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """The text with the characters of `spans` deleted and the spaces left behind collapsed (then preprocessed)."""
    keep: list[str] = []
    pos = 0
    for start, end in sorted(spans):
        if start < pos:
            start = pos
        keep.append(text[pos:start])
        pos = max(pos, end)
    keep.append(text[pos:])
    return preprocess(_SPACES.sub(" ", "".join(keep)))


def _word_owner(text_length: int, words: Sequence[WordSpan]) -> np.ndarray:
    """For every character, the index of the word containing it, or -1."""
    owner = np.full(text_length, -1, dtype=np.int64)
    for i, w in enumerate(words):
        owner[w.start : w.end] = i
    return owner


def _words_in(owner: np.ndarray, start: int, end: int) -> list[int]:
    """Distinct words overlapping text[start:end], in order."""
    found = owner[start:end]
    found = found[found >= 0]
    return list(dict.fromkeys(found.tolist()))


# --------------------------------------------------------------------------------------------------- internal result


@dataclass
class _Attribution:
    """One method's answer for the selected labels: rows in label order of `label_index`."""

    words: np.ndarray  # (k, n_words)
    unattributed: np.ndarray  # (k,)
    output: np.ndarray  # (k,)
    baseline_output: np.ndarray | None  # (k,)
    completeness: bool
    rules: list[list[RuleFired]] = field(default_factory=list)
    raw: np.ndarray | None = None  # the raw scores of all labels, when the method computed them already

    def completeness_errors(self) -> list[float | None]:
        if not self.completeness or self.baseline_output is None:
            return [None] * len(self.output)
        total = self.words.sum(axis=1) + self.unattributed
        return [float(e) for e in np.abs(total - (self.output - self.baseline_output))]


# --------------------------------------------------------------------------------------------------- tfidf


def _lowered(text: str, lowercase: bool) -> tuple[str, np.ndarray | None]:
    """The text as the vectorizer sees it, and a map from its characters back to `text` when lengths differ."""
    if not lowercase:
        return text, None
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered, None
    pieces = [c.lower() for c in text]
    back = np.repeat(np.arange(len(text)), [len(p) for p in pieces])
    return "".join(pieces), back


def _to_text(back: np.ndarray | None, start: int, end: int) -> tuple[int, int]:
    if back is None or start >= end:
        return start, end
    return int(back[start]), int(back[end - 1]) + 1


def _word_ngram_occurrences(
    vec: TfidfVectorizer, lowered: str, back: np.ndarray | None, owner: np.ndarray
) -> dict[str, list[dict[int, float]]]:
    """term -> one {word index (-1: none): share} per occurrence, as `vec`'s word analyzer counts them."""
    pattern = re.compile(vec.token_pattern)
    group = 1 if pattern.groups == 1 else 0
    stop = vec.get_stop_words()
    tokens = [(m.group(group), m.span(group)) for m in pattern.finditer(lowered)]
    if stop:
        tokens = [t for t in tokens if t[0] not in stop]
    token_words = [_words_in(owner, *_to_text(back, *span)) or [-1] for _, span in tokens]
    lo, hi = vec.ngram_range
    found: dict[str, list[dict[int, float]]] = {}
    for n in range(lo, min(hi, len(tokens)) + 1):
        for i in range(len(tokens) - n + 1):
            share: dict[int, float] = {}
            for words in token_words[i : i + n]:
                for w in words:
                    share[w] = share.get(w, 0.0) + 1.0 / (n * len(words))
            found.setdefault(" ".join(t for t, _ in tokens[i : i + n]), []).append(share)
    return found


def _char_wb_ngrams(chunk: str, lo: int, hi: int) -> list[tuple[str, int, int]]:
    """(gram, first, last+1) in `chunk` coordinates, exactly as sklearn's `_char_wb_ngrams` cuts them."""
    padded = f" {chunk} "
    out: list[tuple[str, int, int]] = []
    for n in range(lo, hi + 1):
        offset = 0
        while True:
            first = max(offset - 1, 0)
            last = min(offset + n - 1, len(chunk))
            out.append((padded[offset : offset + n], first, last))
            if offset + n >= len(padded):
                break
            offset += 1
        if offset == 0:
            break
    return out


def _char_wb_occurrences(
    vec: TfidfVectorizer, lowered: str, back: np.ndarray | None, owner: np.ndarray
) -> dict[str, list[dict[int, float]]]:
    """term -> one {word index: share} per occurrence: a character n-gram goes to the word it was cut from."""
    lo, hi = vec.ngram_range
    found: dict[str, list[dict[int, float]]] = {}
    for m in re.finditer(r"\S+", lowered):
        chunk_words = _words_in(owner, *_to_text(back, m.start(), m.end()))
        grams = _char_wb_ngrams(m.group(), lo, hi)
        if len(chunk_words) <= 1:  # the usual case: every n-gram of the chunk comes from its one word (or none)
            for gram, _, _ in grams:
                found.setdefault(gram, []).append({chunk_words[0] if chunk_words else -1: 1.0})
            continue
        for gram, first, last in grams:
            start, end = _to_text(back, m.start() + first, m.start() + last)
            words = _words_in(owner, start, end) or _nearest(chunk_words, owner, start)
            found.setdefault(gram, []).append({w: 1.0 / len(words) for w in words})
    return found


def _nearest(chunk_words: list[int], owner: np.ndarray, position: int) -> list[int]:
    """The chunk's word closest to `position` (for an n-gram of padding and punctuation only), or [-1]."""
    if not chunk_words:
        return [-1]
    where = {w: np.flatnonzero(owner == w) for w in chunk_words}
    return [min(chunk_words, key=lambda w: int(np.abs(where[w] - position).min()))]


def _occurrences(vec: TfidfVectorizer, text: str, owner: np.ndarray) -> dict[str, list[dict[int, float]]]:
    if vec.analyzer not in ("word", "char_wb") or vec.tokenizer is not None or vec.preprocessor is not None \
            or vec.strip_accents is not None:
        raise ExplanationError(
            "method_unavailable", f"exact TF-IDF attribution supports word and char_wb analyzers without custom preprocessing; "
            f"got analyzer={vec.analyzer!r}: use method='occlusion'"
        )
    lowered, back = _lowered(text, bool(vec.lowercase))
    if vec.analyzer == "word":
        return _word_ngram_occurrences(vec, lowered, back, owner)
    return _char_wb_occurrences(vec, lowered, back, owner)


def _share_matrix(scorer: TfidfScorer, text: str, owner: np.ndarray, n_words: int,
                  columns: np.ndarray) -> np.ndarray:
    """(len(columns), n_words + 1): how each present feature's contribution divides over words (last: none)."""
    shares = np.zeros((len(columns), n_words + 1))
    row_of = {int(c): r for r, c in enumerate(columns)}
    base = 0
    for _, vec in scorer.vectorizers:
        vocabulary: dict[str, int] = vec.vocabulary_
        for term, occurrences in _occurrences(vec, text, owner).items():
            column = vocabulary.get(term)
            if column is None or base + column not in row_of:
                continue
            row = row_of[base + column]
            for occurrence in occurrences:
                for w, share in occurrence.items():
                    shares[row, w] += share / len(occurrences)
        base += len(vocabulary)
    unexplained = shares.sum(axis=1) == 0
    shares[unexplained, -1] = 1.0  # a feature not traced back to a word (should not happen): unattributed
    return shares


def explain_tfidf(model: DivertModel, text: str, label_index: Sequence[int],
                  words: Sequence[WordSpan]) -> _Attribution:
    scorer = cast("TfidfScorer", model.scorer)
    x = scorer.features([text]).tocsr()
    columns = x.indices
    shares = _share_matrix(scorer, text, _word_owner(len(text), words), len(words), columns)
    rows = np.asarray(label_index)
    contributions = (scorer.coef[rows][:, columns] * x.data[None, :]) @ shares  # (k, n_words + 1)
    logits = np.asarray(x @ scorer.coef.T)[0] + scorer.intercept  # what TfidfScorer.logits computes
    return _Attribution(words=contributions[:, :-1], unattributed=contributions[:, -1], output=logits[rows],
                        baseline_output=scorer.intercept[rows], completeness=True, raw=sigmoid(logits))


# --------------------------------------------------------------------------------------------------- keywords


def explain_keywords(model: DivertModel, text: str, label_index: Sequence[int],
                     words: Sequence[WordSpan]) -> _Attribution:
    from divert.model.keywords import FLOOR

    scorer = cast("KeywordScorer", model.scorer)
    owner = _word_owner(len(text), words)
    hits = scorer.hits(text)
    k = len(label_index)
    attribution = np.zeros((k, len(words)))
    unattributed = np.zeros(k)
    rules: list[list[RuleFired]] = []
    raw = model.raw_scores([text])[0]
    for row, j in enumerate(label_index):
        label = model.labels[j]
        mine = [h for h in hits if h.label == label]
        rules.append([RuleFired(rule=h.rule, label=h.label, start=h.start, end=h.end, text=text[h.start:h.end],
                                weight=h.weight, negated=h.negated) for h in mine])
        counted: dict[str, list[tuple[int, int]]] = {}
        weight_of: dict[str, float] = {}
        for h in mine:
            if not h.negated:
                counted.setdefault(h.rule, []).append((h.start, h.end))
                weight_of[h.rule] = h.weight
        for rule, spans in counted.items():
            per_match = -math.log(1.0 - min(weight_of[rule], 1 - 1e-12)) / len(spans)
            for start, end in spans:
                hit_words = _words_in(owner, start, end)
                if not hit_words:
                    unattributed[row] += per_match
                for w in hit_words:
                    attribution[row, w] += per_match / len(hit_words)
    output = np.array([-math.log(1.0 - min(raw[j], 1 - 1e-12)) if raw[j] > FLOOR else 0.0 for j in label_index])
    return _Attribution(words=attribution, unattributed=unattributed, output=output,
                        baseline_output=np.zeros(k), completeness=True, rules=rules)


# --------------------------------------------------------------------------------------------------- occlusion


def raw_logits(model: DivertModel, texts: Sequence[str]) -> np.ndarray:
    """The scorer's logits for already-preprocessed texts (exact for tfidf/transformer, logit(raw) otherwise)."""
    scorer_logits = getattr(model.scorer, "logits", None)
    if callable(scorer_logits):
        return np.asarray(scorer_logits(list(texts)), dtype=np.float64)
    return np.asarray(logit(model.scorer.raw_scores(list(texts))), dtype=np.float64)


def explain_occlusion(model: DivertModel, text: str, label_index: Sequence[int], words: Sequence[WordSpan],
                      *, max_words: int = DEFAULT_OCCLUSION_MAX_WORDS) -> _Attribution:
    """Attribution of a word = logit(text) - logit(text without that word); all variants scored in one call."""
    if len(words) > max_words:
        hint = ("integrated_gradients needs the PyTorch runtime: explain this model's PyTorch bundle, or send "
                "a shorter text") if model.kind == "onnx" else "use integrated_gradients for long texts"
        raise ExplanationError("too_many_words", f"the text has {len(words)} words; occlusion explains at most "
                               f"{max_words}: {hint}", field="method")
    variants = [text, *(remove_spans(text, [(w.start, w.end)]) for w in words)]
    all_logits = raw_logits(model, variants)  # (1 + n_words, L)
    logits = all_logits[:, np.asarray(label_index)]
    output = logits[0]
    exact = callable(getattr(model.scorer, "logits", None))  # then raw scores are sigmoid(logits), as scored
    return _Attribution(words=(output[None, :] - logits[1:]).T, unattributed=np.zeros(len(label_index)),
                        output=output, baseline_output=None, completeness=False,
                        raw=sigmoid(all_logits[0]) if exact else None)


# --------------------------------------------------------------------------------------------------- transformer


def _ig_window(scorer: TransformerScorer, window: TextWindow, targets: Sequence[int],
               n_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IG over one window's word embeddings for `targets`: (token attributions (k, seq), logit, baseline logit)."""
    import torch
    from captum.attr import IntegratedGradients

    pad_id = int(scorer.tokenizer.pad_token_id or 0)
    ids = torch.tensor([window.input_ids], device=scorer.device)
    baseline_ids = torch.full_like(ids, pad_id)
    baseline_ids[0, 0], baseline_ids[0, -1] = ids[0, 0], ids[0, -1]
    k = len(targets)
    mask = torch.ones((k, ids.shape[1]), dtype=torch.long, device=scorer.device)
    was_training = scorer.network.training
    scorer.network.eval()
    try:
        with torch.no_grad():
            embeds = scorer.embedding_layer(ids).expand(k, -1, -1).contiguous()
            baseline = scorer.embedding_layer(baseline_ids).expand(k, -1, -1).contiguous()
            ends = scorer.logits_from_embeddings(torch.cat([embeds[:1], baseline[:1]]), mask[:2])
        ig = IntegratedGradients(scorer.logits_from_embeddings)
        attributions = ig.attribute(embeds, baselines=baseline, target=list(targets), additional_forward_args=(mask,),
                                    n_steps=n_steps, method="gausslegendre", internal_batch_size=min(k * n_steps, 128))
    finally:
        scorer.network.train(was_training)
    picked = ends[:, list(targets)].double().cpu().numpy()
    return attributions.sum(dim=-1).detach().double().cpu().numpy(), picked[0], picked[1]


def explain_transformer(model: DivertModel, text: str, label_index: Sequence[int], words: Sequence[WordSpan],
                        *, n_steps: int = DEFAULT_IG_STEPS) -> _Attribution:
    """Integrated Gradients per label on the window that gave the label's logit (see the module docstring)."""
    scorer = cast("TransformerScorer", model.scorer)
    windows = scorer.text_windows(text)
    per_window = scorer.window_logits(text)  # (n_windows, L); the text's logit is the max over windows
    best = per_window.argmax(axis=0)
    owner = _word_owner(len(text), words)
    k = len(label_index)
    attribution, unattributed = np.zeros((k, len(words))), np.zeros(k)
    output, baseline_output = np.zeros(k), np.zeros(k)
    for w_index in sorted({int(best[j]) for j in label_index}):
        rows = [r for r, j in enumerate(label_index) if int(best[j]) == w_index]
        tokens, out, base = _ig_window(scorer, windows[w_index], [label_index[r] for r in rows], n_steps)
        for i, row in enumerate(rows):
            output[row], baseline_output[row] = out[i], base[i]
            _merge_tokens(tokens[i], windows[w_index].offsets, owner, attribution[row], unattributed, row)
    return _Attribution(words=attribution, unattributed=unattributed, output=output,
                        baseline_output=baseline_output, completeness=True, raw=sigmoid(per_window.max(axis=0)))


def _merge_tokens(tokens: np.ndarray, offsets: Sequence[tuple[int, int]], owner: np.ndarray,
                  word_row: np.ndarray, unattributed: np.ndarray, row: int) -> None:
    """Add word-piece attributions to the word containing each piece; special tokens and punctuation aside."""
    for value, (start, end) in zip(tokens, offsets, strict=True):
        hit = _words_in(owner, start, end)
        if hit:
            word_row[hit[0]] += value
        else:
            unattributed[row] += value


# --------------------------------------------------------------------------------------------------- entry point


def default_method(kind: str) -> str:
    return DEFAULT_METHODS.get(kind, "occlusion")


def _check_method(kind: str, method: str) -> None:
    if method not in METHODS:
        raise ExplanationError("method_unavailable", f"unknown method {method!r}; known: {list(METHODS)}",
                               field="method")
    allowed = METHOD_KINDS.get(method)
    if allowed is not None and kind not in allowed:
        raise ExplanationError("method_unavailable",
                               f"method {method!r} explains {'/'.join(allowed)} models, not a {kind!r} model",
                               field="method")


def _label_index(model: DivertModel, labels: Sequence[str] | None) -> list[int]:
    if not labels:
        return list(range(len(model.labels)))
    unknown = [name for name in labels if name not in model.labels]
    if unknown:
        raise ExplanationError("unknown_label", f"unknown labels {unknown}; known: {list(model.labels)}",
                               field="labels")
    return [model.labels.index(name) for name in dict.fromkeys(labels)]


_DESCRIPTIONS: dict[str, str] = {
    "exact": "exact TF-IDF term contributions x_k*w_k to the logit, mapped to the words they come from; "
             "baseline_output is the intercept",
    "rules": "keyword rules that matched; a non-negated rule adds -log(1 - weight) to -log(1 - raw score), "
             "split over the words it matched",
    "integrated_gradients": "Integrated Gradients (Captum) over the word embeddings, Gauss-Legendre steps, "
                            "word pieces summed into words",
    "occlusion": "logit(text) - logit(text with the word deleted), one word at a time",
}


def explain(model: DivertModel, text: str, labels: Sequence[str] | None = None, *, method: str | None = None,
            n_steps: int = DEFAULT_IG_STEPS, max_words: int = DEFAULT_OCCLUSION_MAX_WORDS) -> Explanation:
    """Explain `model`'s scores for `text` (preprocessed first; offsets refer to `Explanation.text`)."""
    text = preprocess(text)
    method = method or default_method(model.kind)
    _check_method(model.kind, method)
    if not 1 <= n_steps <= MAX_IG_STEPS:
        raise ExplanationError("invalid_n_steps", f"n_steps must be between 1 and {MAX_IG_STEPS}", field="n_steps")
    label_index = _label_index(model, labels)
    words = word_spans(text)
    result = _run(model, text, label_index, words, method, n_steps, max_words)
    return Explanation(
        text=text, model_name=model.manifest.name, model_kind=model.kind, method=method,
        method_description=_DESCRIPTIONS[method],
        output_space="neg_log_miss" if method == "rules" else "logit",
        baseline=IG_BASELINE if method == "integrated_gradients" else
        ("no rule fired" if method == "rules" else ("no features (intercept)" if method == "exact" else None)),
        n_steps=n_steps if method == "integrated_gradients" else None,
        labels=_label_explanations(model, text, label_index, words, result),
    )


def _run(model: DivertModel, text: str, label_index: list[int], words: list[WordSpan], method: str,
         n_steps: int, max_words: int) -> _Attribution:
    if method == "exact":
        return explain_tfidf(model, text, label_index, words)
    if method == "rules":
        return explain_keywords(model, text, label_index, words)
    if method == "integrated_gradients":
        return explain_transformer(model, text, label_index, words, n_steps=n_steps)
    return explain_occlusion(model, text, label_index, words, max_words=max_words)


def _label_explanations(model: DivertModel, text: str, label_index: list[int], words: list[WordSpan],
                        result: _Attribution) -> list[LabelExplanation]:
    raw = model.raw_scores([text]) if result.raw is None else result.raw[None, :]
    calibrated = model.calibrate(raw)[0]
    thresholds = model.threshold_vector
    errors = result.completeness_errors()
    out: list[LabelExplanation] = []
    for row, j in enumerate(label_index):
        out.append(LabelExplanation(
            label=model.labels[j], score=float(calibrated[j]), raw_score=float(raw[0, j]),
            threshold=float(thresholds[j]), decision=bool(calibrated[j] >= thresholds[j]),
            output=float(result.output[row]),
            baseline_output=None if result.baseline_output is None else float(result.baseline_output[row]),
            completeness_error=errors[row], unattributed=float(result.unattributed[row]),
            words=[WordAttribution(word=w.word, start=w.start, end=w.end, attribution=float(result.words[row, i]))
                   for i, w in enumerate(words)],
            rules=result.rules[row] if result.rules else [],
        ))
    return out


def top_words(label: LabelExplanation, k: int) -> list[WordAttribution]:
    """The k words with the largest positive attribution (ties: first in the text)."""
    ranked = sorted(enumerate(label.words), key=lambda iw: (-iw[1].attribution, iw[0]))
    return [w for _, w in ranked[:k] if w.attribution > 0]


def as_dict(explanation: Explanation) -> dict[str, Any]:
    return explanation.model_dump(mode="json")
