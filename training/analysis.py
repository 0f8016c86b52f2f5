"""Library code behind the notebooks in `notebooks/`: every table and plot they show is computed here.

The notebooks only call these functions and display what they return, so everything they show is tested
(tests/test_analysis.py) and executed on a tiny model by tests/test_notebooks.py.

- Parameters: `NotebookSettings` reads `DIVERT_NB_*` environment variables; the defaults work from the project
  root or from `notebooks/` after `bash scripts/up.sh` (relative paths are resolved against the project root).
- Corpus (01): `load_corpus`, `prevalence_table`, `cooccurrence`, `style_summary`, `distinctive_terms`,
  `examples_per_label`.
- Errors (02): `load_eval_sets`, `score_sets`, `worst_errors`, `explain_errors`, `confusion_by_label`,
  `confusion_by_slice`.
- Runs (03): `search_runs`, `gate_metrics`, `runs_summary`, `calibration_summary`, `label_metric_table`,
  `latency_table`, `registered_versions`, `measure_latency`.

Slices and fairness (04) live in `divert.training.fairness`.
"""

from __future__ import annotations

import ast
import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from divert.model.labels import LABELS
from divert.training.dataset import Dataset, discover_splits, load_many, read_dataset
from divert.training.evaluate import label_metrics, length_bucket

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from divert.model.bundle import DivertModel
    from divert.model.pyfunc import LoadedModel

UNKNOWN = "unknown"
ERROR_SLICES: tuple[str, ...] = ("style", "caller_type", "channel", "language_mix", "length_bucket", "family")
HANDWRITTEN = "handwritten"
DEFAULT_GATE_METRICS = ("test_macro_f1", "challenge_macro_f1")
CALIBRATION_METRICS = ("ece", "brier")


class AnalysisError(ValueError):
    """An analysis that cannot run as asked (missing data file, no runs, unknown set); the message says why."""


# --------------------------------------------------------------------------------------------------- parameters


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: the working directory) whose pyproject.toml names the
    divert project; else the checkout this module is installed from (an editable install); else `start`."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents, Path(__file__).resolve().parents[1]):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and 'name = "divert"' in pyproject.read_text(errors="ignore"):
            return folder
    return start


def _resolve_uri(uri: str, root: Path) -> str:
    """A relative SQLite or plain-path tracking URI made absolute against `root`; others unchanged."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return f"sqlite:///{(root / uri.removeprefix('sqlite:///')).resolve()}"
    if "://" not in uri and not uri.startswith("/"):
        return str((root / uri).resolve())
    return uri


class NotebookSettings(BaseSettings):
    """What the notebooks read, from `DIVERT_NB_<FIELD>` environment variables (e.g. `DIVERT_NB_MODEL_REF`)."""

    model_config = SettingsConfigDict(env_prefix="DIVERT_NB_", extra="ignore")

    tracking_uri: str = Field(default="sqlite:///mlflow.db", description="MLflow tracking URI")
    experiment: str = Field(default="divert", description="MLflow experiment of the training runs")
    registered_model: str = Field(default="divert", description="registered model name")
    model_ref: str = Field(default="models:/divert@champion",
                           description="model to analyse: alias, version, models:/ URI or local path")
    data_dir: Path = Field(default=Path("data/corpus"), description="folder of the split files (train, test, ...)")
    handwritten_dir: Path | None = Field(default=Path("data/handwritten"),
                                         description="folder of the hand-written set's JSONL files")
    sets: str = Field(default="test,challenge,handwritten",
                      description="comma-separated evaluation sets: split names in data_dir, or 'handwritten'")
    max_rows: int | None = Field(default=None, ge=1, description="seeded sample of at most this many rows per set")
    tolerance: float = Field(default=0.10, ge=0, le=1, description="largest acceptable absolute gap in a slice")
    bootstrap: int = Field(default=1000, ge=0, description="bootstrap resamples for intervals")
    min_count: int = Field(default=20, ge=1, description="fewer positives (negatives) than this: a small slice")
    top_k: int = Field(default=5, ge=1, description="rows per label and set in the error tables (each explained)")
    latency_notes: int = Field(default=50, ge=0, description="notes timed per model in 03 (0: no timing)")
    seed: int = 0

    def resolved(self, root: Path | None = None) -> NotebookSettings:
        """A copy with relative paths and SQLite URIs made absolute against the project root."""
        root = root or find_project_root()
        ref = self.model_ref
        if not ref.startswith("models:/") and ("/" in ref or ref.startswith(".")) and not Path(ref).is_absolute():
            ref = str((root / ref).resolve())
        return self.model_copy(update={
            "tracking_uri": _resolve_uri(self.tracking_uri, root),
            "model_ref": ref,
            "data_dir": self.data_dir if self.data_dir.is_absolute() else (root / self.data_dir).resolve(),
            "handwritten_dir": None if self.handwritten_dir is None or str(self.handwritten_dir) in ("", ".")
            else self.handwritten_dir if self.handwritten_dir.is_absolute() else (root / self.handwritten_dir).resolve(),
        })

    @property
    def set_names(self) -> list[str]:
        return [s.strip() for s in self.sets.split(",") if s.strip()]

    def table(self) -> pd.DataFrame:
        """The settings as a two-column table, with the environment variable that sets each."""
        rows = [{"parameter": name, "value": str(getattr(self, name)), "env": f"DIVERT_NB_{name.upper()}"}
                for name in type(self).model_fields]
        return pd.DataFrame(rows).set_index("parameter")


def load_settings(root: Path | None = None) -> NotebookSettings:
    """The notebooks' parameters: environment variables over the defaults, paths resolved."""
    return NotebookSettings().resolved(root)


# --------------------------------------------------------------------------------------------------- slices


def _meta_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return UNKNOWN
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


def slice_values(data: Dataset, key: str) -> list[str]:
    """Each row's value for a slice: `length_bucket` (from the text) or any `meta` key; missing is "unknown",
    a list or object is its JSON."""
    if key == "length_bucket":
        return [length_bucket(t) for t in data.texts]
    return [_meta_value(m.get(key)) for m in data.meta]


# --------------------------------------------------------------------------------------------------- corpus (01)


@dataclass
class Corpus:
    """The splits of a corpus folder (valid rows only) and every row that was rejected, with the reason."""

    splits: dict[str, Dataset]
    problems: pd.DataFrame

    def main(self) -> Dataset:
        """The training split, or the first split when there is none named `train`."""
        if not self.splits:
            raise AnalysisError("the corpus has no splits")
        return self.splits["train"] if "train" in self.splits else next(iter(self.splits.values()))


def load_corpus(data_dir: Path | str) -> Corpus:
    """Read every split file of a folder; rows with problems are listed in `problems`, never dropped silently."""
    splits: dict[str, Dataset] = {}
    problems: list[dict[str, Any]] = []
    for name, path in discover_splits(data_dir).items():
        dataset, report = read_dataset(path, allow_unknown=True)
        splits[name] = dataset
        problems += [p.to_dict() | {"split": name} for p in report.problems]
    columns = ["split", "row", "id", "field", "code", "message"]
    return Corpus(splits, pd.DataFrame(problems, columns=columns))


def load_handwritten(settings: NotebookSettings) -> Dataset | None:
    """The hand-written set (every JSONL file of handwritten_dir), or None when the folder is not there."""
    folder = settings.handwritten_dir
    files = sorted(folder.glob("*.jsonl")) if folder is not None and folder.is_dir() else []
    return load_many(files, allow_unknown=True) if files else None


def prevalence_table(splits: Mapping[str, Dataset]) -> pd.DataFrame:
    """Rows and share of positives per label (over rows where the label is known), one row per split."""
    rows = [{"split": name, "rows": len(ds), **ds.prevalence()} for name, ds in splits.items()]
    return pd.DataFrame(rows, columns=["split", "rows", *LABELS]).set_index("split")


def positives_table(splits: Mapping[str, Dataset]) -> pd.DataFrame:
    """Positive counts per label, one row per split."""
    rows = [{"split": name, "rows": len(ds), **ds.positives()} for name, ds in splits.items()]
    return pd.DataFrame(rows, columns=["split", "rows", *LABELS]).set_index("split")


def cooccurrence(data: Dataset, normalize: Literal["count", "conditional", "jaccard"] = "count") -> pd.DataFrame:
    """Label co-occurrence over rows where both labels are known.

    `count`: rows with both labels on. `conditional`: P(column on | row label on). `jaccard`: both / either.
    """
    known = ~np.isnan(data.labels)
    on = np.nan_to_num(data.labels, nan=0.0) > 0.5
    n = len(LABELS)
    out = np.full((n, n), np.nan)
    for a in range(n):
        for b in range(n):
            both_known = known[:, a] & known[:, b]
            both = int((on[:, a] & on[:, b] & both_known).sum())
            if normalize == "count":
                out[a, b] = both
            elif normalize == "conditional":
                base = int((on[:, a] & both_known).sum())
                out[a, b] = both / base if base else np.nan
            else:
                either = int(((on[:, a] | on[:, b]) & both_known).sum())
                out[a, b] = both / either if either else np.nan
    return pd.DataFrame(out, index=list(LABELS), columns=list(LABELS))


def _words(text: str) -> list[str]:
    return text.split()


def style_summary(data: Dataset) -> pd.DataFrame:
    """Per input style (any `meta.style` value): notes, share, length in words and characters, vocabulary size
    (distinct lower-cased word tokens) and type-token ratio."""
    from sklearn.feature_extraction.text import CountVectorizer

    styles = data.styles()
    rows = []
    for style in sorted(set(styles)):
        texts = [t for t, s in zip(data.texts, styles, strict=True) if s == style]
        words = np.array([len(_words(t)) for t in texts])
        chars = np.array([len(t) for t in texts])
        counts = CountVectorizer(lowercase=True).fit_transform(texts) if any(t.strip() for t in texts) else None
        vocabulary = int(counts.shape[1]) if counts is not None else 0
        tokens = int(counts.sum()) if counts is not None else 0
        rows.append({
            "style": style, "notes": len(texts), "share": len(texts) / len(data),
            "words_mean": float(words.mean()), "words_median": float(np.median(words)),
            "words_p90": float(np.percentile(words, 90)), "chars_mean": float(chars.mean()),
            "vocabulary": vocabulary, "type_token_ratio": vocabulary / tokens if tokens else float("nan"),
        })
    columns = ["style", "notes", "share", "words_mean", "words_median", "words_p90", "chars_mean", "vocabulary",
               "type_token_ratio"]
    return pd.DataFrame(rows, columns=columns).set_index("style")


def style_prevalence(data: Dataset) -> pd.DataFrame:
    """Share of positives per label within each input style."""
    styles = data.styles()
    rows = []
    for style in sorted(set(styles)):
        part = data.subset([i for i, s in enumerate(styles) if s == style])
        rows.append({"style": style, "notes": len(part), **part.prevalence()})
    return pd.DataFrame(rows, columns=["style", "notes", *LABELS]).set_index("style")


def distinctive_terms(data: Dataset, k: int = 15, min_count: int = 5, stop_words: str | None = "english"
                      ) -> pd.DataFrame:
    """For each style, the k words most over-represented against the other styles (smoothed log ratio of
    per-token rates), among words seen at least `min_count` times in that style; `stop_words` ("english":
    scikit-learn's list, None: keep every word) are left out."""
    from sklearn.feature_extraction.text import CountVectorizer

    styles = np.array(data.styles())
    if len(data) == 0 or not any(t.strip() for t in data.texts):
        return pd.DataFrame(columns=["style", "rank", "term", "count", "log_ratio"])
    vectorizer = CountVectorizer(lowercase=True, stop_words=stop_words)
    counts = vectorizer.fit_transform(data.texts).tocsr()
    terms = vectorizer.get_feature_names_out()
    rows = []
    for style in sorted(set(styles.tolist())):
        mine = np.asarray(counts[styles == style].sum(axis=0)).ravel()
        rest = np.asarray(counts[styles != style].sum(axis=0)).ravel()
        ratio = np.log((mine + 1) / (mine.sum() + len(terms))) - np.log((rest + 1) / (rest.sum() + len(terms)))
        eligible = np.flatnonzero(mine >= min_count)
        order = eligible[np.argsort(-ratio[eligible], kind="stable")][:k]
        rows += [{"style": style, "rank": r + 1, "term": str(terms[i]), "count": int(mine[i]),
                  "log_ratio": float(ratio[i])} for r, i in enumerate(order)]
    return pd.DataFrame(rows, columns=["style", "rank", "term", "count", "log_ratio"])


def length_frame(data: Dataset) -> pd.DataFrame:
    """One row per note: style, words, characters (for length plots)."""
    return pd.DataFrame({"style": data.styles(), "words": [len(_words(t)) for t in data.texts],
                         "chars": [len(t) for t in data.texts]})


def _shorten(text: str, max_chars: int | None) -> str:
    text = " ".join(text.split())
    return text if max_chars is None or len(text) <= max_chars else text[: max_chars - 1] + "…"


def examples_per_label(data: Dataset, k: int = 3, seed: int = 0, max_chars: int | None = 300) -> pd.DataFrame:
    """k seeded random positives of each label: id, style, every label that is on, text (whitespace folded)."""
    rng = np.random.default_rng(seed)
    rows = []
    for j, label in enumerate(LABELS):
        positives = np.flatnonzero(data.labels[:, j] == 1)
        for i in sorted(rng.choice(positives, min(k, len(positives)), replace=False).tolist()):
            on = [name for jj, name in enumerate(LABELS) if data.labels[i, jj] == 1]
            rows.append({"label": label, "id": data.ids[i], "style": data.styles()[i],
                         "labels_on": ", ".join(on), "text": _shorten(data.texts[i], max_chars)})
    return pd.DataFrame(rows, columns=["label", "id", "style", "labels_on", "text"])


def plot_prevalence(table: pd.DataFrame) -> Figure:
    """Grouped bars: prevalence per label, one bar per split (the output of `prevalence_table`)."""
    import matplotlib.pyplot as plt

    labels = [c for c in table.columns if c in LABELS]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / max(len(table), 1)
    x = np.arange(len(labels))
    for i, (split, row) in enumerate(table[labels].iterrows()):
        ax.bar(x + i * width, row.to_numpy(dtype=float), width, label=str(split))
    ax.set_xticks(x + width * (len(table) - 1) / 2, labels, rotation=20, ha="right")
    ax.set(ylabel="share of notes", title="Label prevalence per split", ylim=(0, 1))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_heatmap(frame: pd.DataFrame, title: str, fmt: str = "{:.2f}", vmax: float | None = None) -> Figure:
    """A labelled heatmap of a numeric table (NaN cells blank)."""
    import matplotlib.pyplot as plt

    values = frame.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * frame.shape[1], 1.0 + 0.45 * frame.shape[0]))
    top = vmax if vmax is not None else (float(np.nanmax(values)) if np.isfinite(values).any() else 1.0)
    image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", vmin=0, vmax=top or 1.0)
    ax.set_xticks(range(frame.shape[1]), [str(c) for c in frame.columns], rotation=30, ha="right")
    ax.set_yticks(range(frame.shape[0]), [str(i) for i in frame.index])
    for (r, c), v in np.ndenumerate(values):
        if np.isfinite(v):  # dark text on the light (high) end of the colour map
            ax.text(c, r, fmt.format(v), ha="center", va="center", fontsize=8,
                    color="black" if v > 0.6 * (top or 1.0) else "white")
    fig.colorbar(image, ax=ax)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_lengths(lengths: pd.DataFrame, column: str = "words") -> Figure:
    """Box plot of note length per style (the output of `length_frame`)."""
    import matplotlib.pyplot as plt

    styles = sorted(lengths["style"].unique())
    fig, ax = plt.subplots(figsize=(1.5 + 1.4 * len(styles), 3.5))
    ax.boxplot([lengths.loc[lengths["style"] == s, column].to_numpy() for s in styles], showfliers=False)
    ax.set_xticks(range(1, len(styles) + 1), styles, rotation=20, ha="right")
    ax.set(ylabel=column, title=f"Note length ({column}) per style")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------------- errors (02)


def _sample(data: Dataset, max_rows: int | None, seed: int) -> Dataset:
    if max_rows is None or len(data) <= max_rows:
        return data
    rng = np.random.default_rng(seed)
    return data.subset(sorted(rng.choice(len(data), max_rows, replace=False).tolist()))


def load_eval_sets(settings: NotebookSettings) -> dict[str, Dataset]:
    """The evaluation sets named in `settings.sets`: `<name>.jsonl`/`.csv` in data_dir, or `handwritten`
    (every JSONL file of handwritten_dir). Unknown labels stay NaN; a set that cannot be found is an error."""
    splits = discover_splits(settings.data_dir) if settings.data_dir.is_dir() else {}
    out: dict[str, Dataset] = {}
    for name in settings.set_names:
        if name == HANDWRITTEN and name not in splits:
            handwritten = load_handwritten(settings)
            if handwritten is None:
                raise AnalysisError(f"set 'handwritten' asked for but no JSONL files in {settings.handwritten_dir}; "
                                    "set DIVERT_NB_HANDWRITTEN_DIR or leave it out of DIVERT_NB_SETS")
            data = handwritten
        elif name in splits:
            data = load_many([splits[name]], allow_unknown=True)
        else:
            raise AnalysisError(f"no split {name!r} in {settings.data_dir} (found: {', '.join(splits) or 'none'})")
        out[name] = _sample(data, settings.max_rows, settings.seed)
    return out


def load_analysis_model(settings: NotebookSettings) -> LoadedModel:
    """The model named by `settings.model_ref` (the champion by default), from the registry or a path."""
    from divert.model.pyfunc import load_model

    return load_model(settings.model_ref, registered_model=settings.registered_model,
                      tracking_uri=settings.tracking_uri)


def model_overview(loaded: LoadedModel) -> pd.DataFrame:
    """Name, version, alias, run, kind, thresholds and stored metrics of a loaded model, as one table."""
    manifest = loaded.model.manifest
    rows: list[tuple[str, str]] = [("name", loaded.name), ("uri", loaded.uri), ("version", str(loaded.version)),
                                   ("alias", str(loaded.alias)), ("run_id", str(loaded.run_id)),
                                   ("kind", loaded.model.kind), ("created_at", manifest.created_at)]
    rows += [(f"threshold {k}", f"{v:.3f}") for k, v in manifest.thresholds.items()]
    rows += [(k, f"{v:.4f}") for k, v in sorted(manifest.metrics.items())]
    return pd.DataFrame(rows, columns=["field", "value"]).set_index("field")


@dataclass
class ScoredSet:
    """An evaluation set with the model's calibrated scores and thresholds (columns in `LABELS` order)."""

    name: str
    data: Dataset
    scores: np.ndarray
    thresholds: np.ndarray

    @property
    def decisions(self) -> np.ndarray:
        return self.scores >= self.thresholds[None, :]


def score_set(model: DivertModel, data: Dataset, name: str = "") -> ScoredSet:
    """Score a dataset with a model; columns are reordered to `LABELS` (the dataset's label order)."""
    order = [model.labels.index(label) for label in LABELS]
    scores = model.predict(data.texts).scores if len(data) else np.zeros((0, len(model.labels)))
    return ScoredSet(name, data, scores[:, order], model.threshold_vector[order])


def score_sets(model: DivertModel, sets: Mapping[str, Dataset]) -> dict[str, ScoredSet]:
    return {name: score_set(model, data, name) for name, data in sets.items()}


def worst_errors(scored: ScoredSet, kind: Literal["fn", "fp"], k: int = 10, labels: Sequence[str] | None = None,
                 max_chars: int | None = 240) -> pd.DataFrame:
    """The k most confident mistakes per label: false negatives with the lowest scores (`fn`) or false positives
    with the highest (`fp`). `margin` is how far the score is from the threshold. Unknown labels are skipped."""
    if kind not in ("fn", "fp"):
        raise AnalysisError(f"kind must be 'fn' or 'fp', not {kind!r}")
    rows = []
    data = scored.data
    for label in labels or LABELS:
        j = LABELS.index(label)
        y, s, d = data.labels[:, j], scored.scores[:, j], scored.decisions[:, j]
        wrong = np.flatnonzero((y == 1) & ~d) if kind == "fn" else np.flatnonzero((y == 0) & d)
        ordered = wrong[np.argsort(s[wrong] if kind == "fn" else -s[wrong], kind="stable")][:k]
        for i in ordered.tolist():
            rows.append({
                "set": scored.name, "label": label, "error": kind, "id": data.ids[i],
                "score": float(s[i]), "threshold": float(scored.thresholds[j]),
                "margin": float(abs(s[i] - scored.thresholds[j])),
                "style": _meta_value(data.meta[i].get("style")), "family": _meta_value(data.meta[i].get("family")),
                "text": _shorten(data.texts[i], max_chars), "row": i,
            })
    columns = ["set", "label", "error", "id", "score", "threshold", "margin", "style", "family", "text", "row"]
    return pd.DataFrame(rows, columns=columns)


def _fmt_words(words: Sequence[tuple[str, float]]) -> str:
    return ", ".join(f"{w} ({a:+.2f})" for w, a in words)


def explain_errors(model: DivertModel, scored: ScoredSet, errors: pd.DataFrame, n_words: int = 5,
                   method: str | None = None) -> pd.DataFrame:
    """`errors` (from `worst_errors`) with the words that pushed each row's label up and down (the model's
    default explanation method, `divert.model.explain`). A row that cannot be explained says why."""
    from divert.model.explain import ExplanationError, explain

    toward, against, methods = [], [], []
    for row in errors.itertuples(index=False):
        text = scored.data.texts[int(row.row)]
        try:
            exp = explain(model, text, [str(row.label)], method=method)
        except ExplanationError as exc:
            toward.append(f"not explained: {exc.message}")
            against.append("")
            methods.append(method or "")
            continue
        attributed = [(w.word, w.attribution) for w in exp.labels[0].words]
        up = sorted((wa for wa in attributed if wa[1] > 0), key=lambda wa: -wa[1])[:n_words]
        down = sorted((wa for wa in attributed if wa[1] < 0), key=lambda wa: wa[1])[:n_words]
        toward.append(_fmt_words(up))
        against.append(_fmt_words(down))
        methods.append(exp.method)
    return errors.assign(pushes_up=toward, pushes_down=against, method=methods)


_CONFUSION_COLUMNS = ["n", "positives", "tp", "fp", "fn", "tn", "precision", "recall", "f1", "fpr"]


def _confusion(scores: np.ndarray, y: np.ndarray, threshold: float) -> dict[str, float]:
    m = label_metrics(scores, y, threshold)
    if m["positives"] == 0:
        m["recall"], m["f1"] = float("nan"), float("nan")
    if m["tp"] + m["fp"] == 0:
        m["precision"] = float("nan")
    if m["fp"] + m["tn"] == 0:
        m["fpr"] = float("nan")
    return {k: m[k] for k in _CONFUSION_COLUMNS}


def confusion_by_label(scored: ScoredSet) -> pd.DataFrame:
    """TP/FP/FN/TN, precision, recall, F1 and false-positive rate per label (NaN where undefined)."""
    rows = [{"label": label, **_confusion(scored.scores[:, j], scored.data.labels[:, j], float(scored.thresholds[j]))}
            for j, label in enumerate(LABELS)]
    return pd.DataFrame(rows, columns=["label", *_CONFUSION_COLUMNS]).set_index("label")


def confusion_by_slice(scored: ScoredSet, key: str, labels: Sequence[str] | None = None) -> pd.DataFrame:
    """The same counts and rates per (slice value, label); `key` is `length_bucket` or any meta key."""
    values = np.array(slice_values(scored.data, key), dtype=object)
    rows = []
    for value in sorted(set(values.tolist())):
        idx = np.flatnonzero(values == value)
        for label in labels or LABELS:
            j = LABELS.index(label)
            rows.append({"slice": value, "label": label,
                         **_confusion(scored.scores[idx, j], scored.data.labels[idx, j], float(scored.thresholds[j]))})
    return pd.DataFrame(rows, columns=["slice", "label", *_CONFUSION_COLUMNS])


def confusion_table(scored: Mapping[str, ScoredSet]) -> pd.DataFrame:
    """`confusion_by_label` of several sets in one table indexed by (set, label)."""
    return pd.concat({name: confusion_by_label(s) for name, s in scored.items()}, names=["set", "label"])


def weakest_slices(confusion: pd.DataFrame, metric: str = "recall", k: int = 15, min_positives: int = 5,
                   labels: Sequence[str] | None = None) -> pd.DataFrame:
    """The k (slice, label) rows of a `confusion_by_slice` table with the lowest `metric` (highest for `fpr`),
    among rows with at least `min_positives` positives (for `fpr`: negatives)."""
    rows = confusion if labels is None else confusion[confusion["label"].isin(list(labels))]
    support = rows["n"] - rows["positives"] if metric == "fpr" else rows["positives"]
    rows = rows[(support >= min_positives) & rows[metric].notna()]
    return rows.sort_values(metric, ascending=metric != "fpr", kind="stable").head(k)


def slice_pivot(confusion: pd.DataFrame, value: str = "recall") -> pd.DataFrame:
    """A `confusion_by_slice` table as slice x label of one column (for heatmaps)."""
    table = confusion.pivot(index="slice", columns="label", values=value)
    return table[[label for label in LABELS if label in table.columns]]


# --------------------------------------------------------------------------------------------------- runs (03)


def search_runs(settings: NotebookSettings) -> pd.DataFrame:
    """Every run of the experiment (`mlflow.search_runs`), newest first. No experiment or no runs: an error
    that says how to make some."""
    import mlflow

    mlflow.set_tracking_uri(settings.tracking_uri)
    if mlflow.get_experiment_by_name(settings.experiment) is None:
        raise AnalysisError(f"no MLflow experiment {settings.experiment!r} at {settings.tracking_uri}: "
                            "train a model first (`divert train --config ...` or `bash scripts/up.sh`)")
    runs = mlflow.search_runs(experiment_names=[settings.experiment], output_format="pandas",
                              order_by=["attributes.start_time DESC"])
    if not isinstance(runs, pd.DataFrame) or runs.empty:
        raise AnalysisError(f"experiment {settings.experiment!r} has no runs")
    return runs


def _parse_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if not isinstance(value, str) or not value.strip():
        return []
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in parsed] if isinstance(parsed, list | tuple) else [str(parsed)]


def gate_metrics(runs: pd.DataFrame) -> list[str]:
    """The metrics promotion compares on (`gate.compare_on`) and the floors' metrics, as logged with the runs'
    configs; the default gate's metrics when no run logged any."""
    names: dict[str, None] = {}
    if "params.gate.compare_on" in runs.columns:
        for value in runs["params.gate.compare_on"].dropna():
            names.update(dict.fromkeys(_parse_list(value)))
    for column in runs.columns:
        if column.startswith("params.gate.floors."):
            names[column.removeprefix("params.gate.floors.")] = None
    return list(names) or list(DEFAULT_GATE_METRICS)


def _col(runs: pd.DataFrame, name: str) -> pd.Series:
    return runs[name] if name in runs.columns else pd.Series([None] * len(runs), index=runs.index, dtype=object)


def runs_summary(runs: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """One row per run: short id, name, model kind, status, start, gate outcome, registered version, then each
    metric with its 95% interval (`<metric>_ci_low/high`) where the run logged one."""
    out = pd.DataFrame({
        "run": runs["run_id"].astype(str).str[:8],
        "name": _col(runs, "tags.mlflow.runName"),
        "model": _col(runs, "tags.model_kind"),
        "status": _col(runs, "status"),
        "start": _col(runs, "start_time"),
        "gate": _col(runs, "tags.gate"),
        "version": _col(runs, "tags.registered_version"),
    })
    for metric in metrics:
        out[metric] = pd.to_numeric(_col(runs, f"metrics.{metric}"), errors="coerce")
        for bound in ("ci_low", "ci_high"):
            column = f"metrics.{metric}_{bound}"
            if column in runs.columns:
                out[f"{metric}_{bound}"] = pd.to_numeric(runs[column], errors="coerce")
    return out.set_index("run")


def _metric_sets(runs: pd.DataFrame) -> list[str]:
    sets = [c.removeprefix("metrics.").removesuffix("_macro_f1") for c in runs.columns
            if c.startswith("metrics.") and c.endswith("_macro_f1") and "_style_" not in c]
    order = {"validation": 0, "test": 1, "challenge": 2, HANDWRITTEN: 3}
    return sorted(sets, key=lambda s: (order.get(s, 9), s))


def calibration_summary(runs: pd.DataFrame, sets: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean expected calibration error and Brier score over the labels, per run and evaluation set (a set with
    neither logged is left out)."""
    rows = []
    for _, run in runs.iterrows():
        for set_name in sets or _metric_sets(runs):
            row: dict[str, Any] = {"run": str(run["run_id"])[:8], "model": run.get("tags.model_kind"), "set": set_name}
            for metric in CALIBRATION_METRICS:
                values = [run.get(f"metrics.{set_name}_{label}_{metric}") for label in LABELS]
                found = [float(v) for v in values if v is not None and not pd.isna(v)]
                row[metric] = float(np.mean(found)) if found else float("nan")
            if any(not math.isnan(row[m]) for m in CALIBRATION_METRICS):
                rows.append(row)
    return pd.DataFrame(rows, columns=["run", "model", "set", *CALIBRATION_METRICS])


def label_metric_table(runs: pd.DataFrame, set_name: str, metric: str = "f1") -> pd.DataFrame:
    """run x label table of one per-label metric (f1, recall, precision, pr_auc, ece, ...) on one set."""
    out = pd.DataFrame(index=runs["run_id"].astype(str).str[:8])
    out.index.name = "run"
    out["model"] = _col(runs, "tags.model_kind").to_numpy()
    for label in LABELS:
        out[label] = pd.to_numeric(_col(runs, f"metrics.{set_name}_{label}_{metric}"), errors="coerce").to_numpy()
    return out


def latency_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Every logged metric whose name mentions latency, per run (empty when no run logged any)."""
    columns = [c for c in runs.columns if c.startswith("metrics.") and "latency" in c]
    out = runs[columns].rename(columns=lambda c: c.removeprefix("metrics."))
    out.index = pd.Index(runs["run_id"].astype(str).str[:8], name="run")
    return out.dropna(how="all")


def registered_versions(settings: NotebookSettings) -> pd.DataFrame:
    """Versions of the registered model with their aliases, run and promotion tags."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=settings.tracking_uri)
    try:  # search_model_versions leaves `aliases` empty; the registered model has them all
        by_version: dict[str, list[str]] = {}
        for alias, version in client.get_registered_model(settings.registered_model).aliases.items():
            by_version.setdefault(str(version), []).append(alias)
    except MlflowException:
        by_version = {}
    rows = []
    for mv in client.search_model_versions(f"name='{settings.registered_model}'"):
        rows.append({"version": int(mv.version), "aliases": ", ".join(sorted(by_version.get(str(mv.version), []))),
                     "run": (mv.run_id or "")[:8], "run_id": mv.run_id, "status": mv.status,
                     "promoted_at": mv.tags.get("promoted_at"), "promotion_reason": mv.tags.get("promotion_reason")})
    columns = ["version", "aliases", "run", "run_id", "status", "promoted_at", "promotion_reason"]
    return pd.DataFrame(rows, columns=columns).sort_values("version").set_index("version")


def measure_latency(model: DivertModel, texts: Sequence[str], warmup: int = 3) -> dict[str, float]:
    """Single-note scoring time (`DivertModel.predict` on one text) in milliseconds: p50, p90, mean, n.
    Measured here, on this machine; not comparable across machines."""
    if not texts:
        raise AnalysisError("no texts to time")
    for text in list(texts)[:warmup]:
        model.predict([text])
    times = []
    for text in texts:
        started = time.perf_counter()
        model.predict([text])
        times.append((time.perf_counter() - started) * 1000)
    values = np.array(times)
    return {"n": float(len(values)), "p50_ms": float(np.percentile(values, 50)),
            "p90_ms": float(np.percentile(values, 90)), "mean_ms": float(values.mean())}


def latency_texts(settings: NotebookSettings) -> list[str]:
    """`settings.latency_notes` texts (seeded sample) of the first evaluation set, for timing."""
    if settings.latency_notes == 0 or not settings.set_names:
        return []
    first = load_eval_sets(settings.model_copy(update={"sets": settings.set_names[0]}))
    data = _sample(next(iter(first.values())), settings.latency_notes, settings.seed)
    return list(data.texts)


def latency_of_versions(settings: NotebookSettings, versions: pd.DataFrame, texts: Sequence[str]) -> pd.DataFrame:
    """`measure_latency` of every registered version that has an alias (champion, challenger, ...)."""
    from divert.model.pyfunc import load_model

    rows = []
    for version, row in versions.iterrows():
        if not row["aliases"]:
            continue
        loaded = load_model(str(version), registered_model=settings.registered_model,
                            tracking_uri=settings.tracking_uri)
        rows.append({"version": version, "aliases": row["aliases"], "kind": loaded.model.kind,
                     **measure_latency(loaded.model, texts)})
    return pd.DataFrame(rows, columns=["version", "aliases", "kind", "n", "p50_ms", "p90_ms", "mean_ms"])


def plot_metrics(summary: pd.DataFrame, metrics: Sequence[str], max_runs: int = 8) -> Figure:
    """Grouped bars of the given metrics for the first `max_runs` runs that logged any of them (newest first
    when `summary` comes from `search_runs`), with 95% interval whiskers where logged."""
    import matplotlib.pyplot as plt

    summary = summary.dropna(subset=list(metrics), how="all").head(max_runs)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(metrics) * max(len(summary), 1) ** 0.5), 3.8))
    width = 0.8 / max(len(summary), 1)
    x = np.arange(len(metrics))
    for i, (run, row) in enumerate(summary.iterrows()):
        values = np.array([row.get(m, np.nan) for m in metrics], dtype=float)
        low = np.array([row.get(f"{m}_ci_low", np.nan) for m in metrics], dtype=float)
        high = np.array([row.get(f"{m}_ci_high", np.nan) for m in metrics], dtype=float)
        err = np.vstack([np.nan_to_num(values - low), np.nan_to_num(high - values)])
        ax.bar(x + i * width, np.nan_to_num(values), width, yerr=np.clip(err, 0, None), capsize=3,
               label=f"{row.get('model')} {run}")
    ax.set_xticks(x + width * (len(summary) - 1) / 2, list(metrics), rotation=15, ha="right")
    ax.set(ylim=(0, 1.05), title="Gate metrics (95% bootstrap interval)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_calibration(calibration: pd.DataFrame) -> Figure:
    """Mean ECE and Brier per run and set (the output of `calibration_summary`), lower is better."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, metric in zip(axes, CALIBRATION_METRICS, strict=True):
        table = calibration.assign(name=calibration["model"].astype(str) + " " + calibration["run"]).pivot(
            index="name", columns="set", values=metric)
        width = 0.8 / max(table.shape[1], 1)
        x = np.arange(len(table))
        for i, set_name in enumerate(table.columns):
            ax.bar(x + i * width, table[set_name].to_numpy(dtype=float), width, label=str(set_name))
        ax.set_xticks(x + width * (table.shape[1] - 1) / 2, [str(i) for i in table.index], rotation=15, ha="right")
        ax.set(title=f"mean {metric.upper()} over labels (lower is better)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_latency(latency: pd.DataFrame) -> Figure:
    """p50 and p90 single-note latency per version (the output of `latency_of_versions`)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    names = [f"v{v} {k} ({a})" for v, k, a in zip(latency["version"], latency["kind"], latency["aliases"], strict=True)]
    y = np.arange(len(latency))
    ax.barh(y - 0.2, latency["p50_ms"], 0.4, label="p50")
    ax.barh(y + 0.2, latency["p90_ms"], 0.4, label="p90")
    ax.set_yticks(y, names)
    ax.set(xlabel="ms per note (this machine)", title="Single-note scoring latency")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def show(fig: Figure) -> None:
    """Display a figure now (inside a loop, between tables) and close it so it is not drawn twice."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)
