"""The notebooks: stored without outputs, only call library code, and run end to end on a tiny trained model."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import mlflow
import nbformat
import pytest
from conftest import tiny_records, write_jsonl

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED = ["01_explore_corpus.ipynb", "02_error_analysis.ipynb", "03_compare_runs.ipynb",
            "04_slices_and_fairness.ipynb"]
ALLOWED_IMPORTS = ("divert", "pandas", "IPython")


def _books() -> list[tuple[str, nbformat.NotebookNode]]:
    return [(name, nbformat.read(NOTEBOOKS / name, as_version=4)) for name in EXPECTED]


def test_all_notebooks_present_and_valid() -> None:
    found = {p.name for p in NOTEBOOKS.glob("*.ipynb")}
    assert set(EXPECTED) <= found
    assert not [n for n in found - set(EXPECTED) if not n.startswith("executed-")], "unexpected notebooks"
    for _, book in _books():
        nbformat.validate(book)


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_stored_without_outputs(name: str) -> None:
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    for i, cell in enumerate(book.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name} cell {i} has outputs: clear them before committing"
            assert cell.execution_count is None, f"{name} cell {i} has an execution count"


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_has_parameters_cell_and_no_logic_of_its_own(name: str) -> None:
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell is the parameters cell"
    assert "load_settings()" in code[0].source
    for i, cell in enumerate(code):
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            assert not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda), \
                f"{name} code cell {i} defines a function or class: move it to divert.training.analysis"
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for module in modules:
                    assert module.split(".")[0] in ALLOWED_IMPORTS, f"{name} cell {i} imports {module}"


# ---------------------------------------------------------------------------------------------- execution


def _varied_records(offset: int = 0) -> list[dict[str, object]]:
    """The tiny records with varied slices (caller type, channel, style) so every notebook section has data."""
    callers, channels = ("third_party_family", "first_party", "third_party_bystander"), ("phone", "text")
    out = []
    for i, record in enumerate(tiny_records()):
        meta = dict(record["meta"])  # type: ignore[call-overload]
        meta.update({"caller_type": callers[(i + offset) % 3], "channel": channels[(i + offset) % 2],
                     "language_mix": "en" if i % 4 else "en_es", "family": f"fam{i % 5}"})
        out.append({**record, "meta": meta})
    return out


def build_tiny_registry(tmp_path: Path) -> dict[str, str]:
    """A TF-IDF champion and a keywords challenger trained by the real pipeline into a temporary MLflow store;
    returns the DIVERT_NB_* environment that points the notebooks at it."""
    from divert.training.config import TrainConfig
    from divert.training.pipeline import train
    from divert.training.registry import promote

    corpus = tmp_path / "corpus"
    for name in ("train", "validation", "test", "challenge"):
        write_jsonl(corpus / f"{name}.jsonl", _varied_records(offset=len(name)))
    transcripts = [{**r, "id": f"hw-{i}", "text": f"CALL TAKER: 911 what is your emergency?\nCALLER: {r['text']}",
                    "transcript": {"segments": [{"speaker": "caller", "text": r["text"]}]},
                    "meta": {**r["meta"], "style": "transcript_clean"}}  # type: ignore[dict-item]
                   for i, r in enumerate(_varied_records())]
    write_jsonl(tmp_path / "handwritten" / "transcripts.jsonl", transcripts)
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"

    def config(model: str) -> TrainConfig:
        return TrainConfig.model_validate({
            "name": f"nb-{model}", "model": model, "bootstrap_samples": 20,
            "data": {"train": [str(corpus / "train.jsonl")], "validation": str(corpus / "validation.jsonl"),
                     "test": str(corpus / "test.jsonl"), "challenge": str(corpus / "challenge.jsonl"),
                     "handwritten": [str(tmp_path / "handwritten" / "transcripts.jsonl")]},
            "tfidf": {"min_df": 1, "char_ngrams": [3, 4]},
            "tracking": {"tracking_uri": tracking_uri, "experiment": "nb",
                         "artifact_location": (tmp_path / "mlartifacts").as_uri()},
            "gate": {"floors": {"test_macro_f1": 0.0}, "compare_on": ["test_macro_f1", "challenge_macro_f1"]},
            "output_dir": str(tmp_path / "artifacts"),
        })

    train(config("tfidf"), show_progress=False)
    mlflow.set_tracking_uri(tracking_uri)
    assert promote("divert", compare_on=["test_macro_f1"]).promoted
    train(config("keywords"), show_progress=False)  # registered as challenger, not promoted
    return {
        "DIVERT_NB_TRACKING_URI": tracking_uri, "DIVERT_NB_EXPERIMENT": "nb",
        "DIVERT_NB_MODEL_REF": "models:/divert@champion", "DIVERT_NB_DATA_DIR": str(corpus),
        "DIVERT_NB_HANDWRITTEN_DIR": str(tmp_path / "handwritten"), "DIVERT_NB_SETS": "test,challenge,handwritten",
        "DIVERT_NB_BOOTSTRAP": "50", "DIVERT_NB_MIN_COUNT": "3", "DIVERT_NB_TOP_K": "2",
        "DIVERT_NB_LATENCY_NOTES": "5",
    }


@pytest.fixture()
def tiny_registry(tmp_path: Path) -> dict[str, str]:
    return build_tiny_registry(tmp_path)


@pytest.mark.slow
def test_notebooks_execute_against_a_tiny_champion(tiny_registry: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    from nbclient import NotebookClient

    for key, value in tiny_registry.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    books = _books()

    async def execute_all() -> None:  # one kernel per notebook, run side by side
        await asyncio.gather(*(NotebookClient(book, timeout=180, kernel_name="python3",
                                              resources={"metadata": {"path": str(NOTEBOOKS)}}).async_execute()
                               for _, book in books))

    asyncio.run(execute_all())  # raises CellExecutionError naming the notebook's cell on any error
    for name, book in books:
        outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
        assert not [o for o in outputs if o.output_type == "error"], name
        text = "\n".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in outputs)
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        assert tiny_registry["DIVERT_NB_TRACKING_URI"] in text, f"{name} did not read the tracking URI from the env"
        if name.startswith("02"):
            assert "pushes_up" in text and "hw-" in text  # explained errors, hand-written set scored
        if name.startswith("03"):
            assert "nb-tfidf" in text and "nb-keywords" in text and "test_macro_f1" in text
            assert "champion" in text and "challenger" in text
        if name.startswith("04"):
            assert "behavioral_health" in text and "violence_risk" in text and "caller_type" in text
        if not name.startswith("03"):
            assert images, f"{name} drew no figure"
        else:
            assert len(images) >= 3  # gate metrics, calibration, latency
