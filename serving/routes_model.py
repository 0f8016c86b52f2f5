"""`GET /v1/model` (what is served) and `POST /v1/admin/reload` (swap to a newly promoted model, no downtime)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Body, Request

from divert.model.pyfunc import LoadedModel
from divert.serving.deps import AdminKey, AnyKey, ModelDep, StateDep
from divert.serving.errors import request_id_of
from divert.serving.routes_classify import error_responses
from divert.serving.schemas import (
    LabelInfo,
    ModelInfo,
    ModelSummary,
    ReloadRequest,
    ReloadResponse,
)
from divert.serving.service import model_version

log = logging.getLogger("divert.serving")

router = APIRouter(prefix="/v1", tags=["model"])


def summary(loaded: LoadedModel) -> ModelSummary:
    return ModelSummary(name=loaded.name, version=loaded.version, alias=loaded.alias,
                        model_version=model_version(loaded), uri=loaded.uri, run_id=loaded.run_id)


@router.get("/model", response_model=ModelInfo, summary="The model being served: version, labels, thresholds, "
            "metrics", responses=error_responses(401, 403, 503))
def model_info(_caller: AnyKey, loaded: ModelDep, state: StateDep) -> ModelInfo:
    manifest = loaded.model.manifest
    definitions = manifest.label_map.get("definitions", {})
    labels = [LabelInfo(name=name, definition=str(definitions.get(name, "")), threshold=manifest.thresholds[name],
                        threshold_rule=manifest.threshold_rules.get(name)) for name in manifest.labels]
    settings = state.settings
    return ModelInfo(
        **dict(summary(loaded)), kind=manifest.kind, created_at=manifest.created_at,
        label_schema_version=manifest.label_map.get("schema_version"),
        preprocessing_version=manifest.preprocessing_version, dataset_fingerprint=manifest.dataset_fingerprint,
        labels=labels, metrics=manifest.metrics, policy_version=state.policy.policy_version,
        limits={"max_batch_size": settings.max_batch_size, "max_note_chars": settings.max_note_chars,
                "max_request_bytes": settings.max_request_bytes},
    )


@router.post("/admin/reload", response_model=ReloadResponse,
             summary="Load a model (default: the configured alias, e.g. a newly promoted champion), then swap",
             description="The new model is loaded fully while the current one keeps serving; the swap is one "
                         "reference assignment. On failure (409 `reload_failed`) the current model stays.",
             responses=error_responses(401, 403, 422, extra={409: "reload_in_progress, reload_failed"}))
async def reload_model(admin: AdminKey, state: StateDep, request: Request,
                       body: Annotated[ReloadRequest | None, Body()] = None) -> ReloadResponse:
    previous, current = await state.reload(body.model_ref if body else None)
    log.info("model reloaded request_id=%s key=%s from=%s to=%s", request_id_of(request), admin.key_id,
             model_version(previous) if previous else None, model_version(current))
    return ReloadResponse(previous=summary(previous) if previous else None, current=summary(current))
