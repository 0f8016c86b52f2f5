"""The MLflow pyfunc face of a `DivertModel`, and loading a model by registry alias, version or path.

The pyfunc carries the bundle (weights, tokenizer, label map, preprocessing version, calibration, thresholds)
as an artifact and this package's model code as `code_paths`, so a fresh process, a Spark worker and the API
all score with the same code and files.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

from divert.model.bundle import MANIFEST, DivertModel
from divert.model.errors import ModelArtifactError

BUNDLE_ARTIFACT = "bundle"
TEXT_COLUMN = "text"


def score_frame(model: DivertModel, texts: list[str]) -> pd.DataFrame:
    """Scores and decisions as a frame: `score_<label>` and `decision_<label>` columns."""
    preds = model.predict(texts)
    out: dict[str, Any] = {}
    for j, name in enumerate(model.labels):
        out[f"score_{name}"] = preds.scores[:, j]
    for j, name in enumerate(model.labels):
        out[f"decision_{name}"] = preds.decisions[:, j]
    return pd.DataFrame(out)


class DivertPyfunc(PythonModel):
    """Input: a frame with a `text` column. Output: calibrated scores and decisions per label."""

    def __init__(self) -> None:
        self.model: DivertModel | None = None

    def load_context(self, context: Any) -> None:
        self.model = DivertModel.load(context.artifacts[BUNDLE_ARTIFACT])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        if self.model is None:
            self.load_context(context)
        assert self.model is not None
        if isinstance(model_input, pd.Series):
            model_input = model_input.to_frame(TEXT_COLUMN)
        if TEXT_COLUMN not in model_input.columns:
            raise ModelArtifactError(f"input needs a '{TEXT_COLUMN}' column; got {list(model_input.columns)}")
        texts = ["" if v is None else str(v) for v in model_input[TEXT_COLUMN].tolist()]
        return score_frame(self.model, texts)


def package_code(dest: Path) -> Path:
    """Copy `divert/__init__.py` and `divert/model/` into dest/divert, for `code_paths`."""
    import divert
    import divert.model

    pkg = dest / "divert"
    pkg.mkdir(parents=True, exist_ok=True)
    shutil.copy2(Path(divert.__file__), pkg / "__init__.py")
    shutil.copytree(Path(divert.model.__file__).parent, pkg / "model",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)
    return pkg


@dataclass(frozen=True)
class LoadedModel:
    model: DivertModel
    uri: str
    name: str
    version: str | None = None
    alias: str | None = None
    run_id: str | None = None


def _from_local(path: Path) -> DivertModel:
    if (path / MANIFEST).is_file():
        return DivertModel.load(path)
    if (path / "MLmodel").is_file():
        return _unwrap(_load_pyfunc(str(path)))
    raise ModelArtifactError(f"{path} is neither a divert bundle (manifest.json) nor an MLflow model (MLmodel)")


def _load_pyfunc(uri: str) -> Any:
    """`mlflow.pyfunc.load_model`, leaving `sys.path` as it was. MLflow prepends the model's packaged code folder
    to `sys.path`; `divert` is already imported from this installation, so that entry would only reach the child
    processes this one spawns (they inherit `sys.path`), where the model's packaged copy of `divert.model` would
    meet this installation's `divert.serving` (a batch worker of an older model failed on exactly that)."""
    before = set(sys.path)
    try:
        return mlflow.pyfunc.load_model(uri)
    finally:
        sys.path[:] = [p for p in sys.path if p in before]


def _unwrap(pyfunc_model: Any) -> DivertModel:
    inner = pyfunc_model.unwrap_python_model()
    if not isinstance(inner, DivertPyfunc) and type(inner).__name__ != "DivertPyfunc":
        raise ModelArtifactError("the MLflow model is not a divert model")
    if inner.model is None:
        raise ModelArtifactError("the divert pyfunc did not load its bundle")
    model: DivertModel = inner.model
    return model


def load_model(ref: str, *, registered_model: str = "divert", tracking_uri: str | None = None) -> LoadedModel:
    """Load by alias (`champion`), by version (`3`), by `models:/...` URI or by a local path."""
    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    path = Path(ref)
    if path.exists():
        return LoadedModel(model=_from_local(path), uri=str(path), name=_from_local_name(path))
    if not ref.startswith("models:/") and ("/" in ref or ref.startswith(".")):
        raise ModelArtifactError(f"no model at path {ref!r} (not found)")
    client = mlflow.MlflowClient()
    try:
        if ref.startswith("models:/"):
            uri = ref
            name, _, rest = ref.removeprefix("models:/").partition("@")
            mv = client.get_model_version_by_alias(name, rest) if rest else None
            alias = rest or None
        elif ref.isdigit():
            name, alias = registered_model, None
            mv = client.get_model_version(name, ref)
            uri = f"models:/{name}/{ref}"
        else:
            name, alias = registered_model, ref
            mv = client.get_model_version_by_alias(name, ref)
            uri = f"models:/{name}@{ref}"
        model = _unwrap(_load_pyfunc(uri))
    except mlflow.exceptions.MlflowException as exc:
        raise ModelArtifactError(f"cannot load model {ref!r} from the registry: {exc.message}") from exc
    return LoadedModel(model=model, uri=uri, name=name, version=str(mv.version) if mv else None, alias=alias,
                       run_id=mv.run_id if mv else None)


def _from_local_name(path: Path) -> str:
    return path.name or "divert"
