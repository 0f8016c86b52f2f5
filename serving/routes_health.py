"""Liveness, readiness and Prometheus metrics. No API key: orchestrators and scrapers call these.

Readiness runs the app's list of checks (`divert.serving.state.ReadinessChecks`): the model is one, the audit
store adds its own.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from divert.serving.deps import StateDep
from divert.serving.schemas import CheckResultOut, Liveness, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Liveness, summary="The process is alive")
async def healthz() -> Liveness:
    return Liveness()


@router.get("/readyz", response_model=Readiness, summary="Ready for traffic: model loaded and every check ok",
            responses={503: {"model": Readiness, "description": "not ready; `checks` says why"}})
async def readyz(state: StateDep) -> JSONResponse:
    results = await state.readiness.run()
    body = Readiness(ready=all(r.ok for r in results.values()),
                     checks={n: CheckResultOut(ok=r.ok, detail=r.detail) for n, r in results.items()})
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}}})
async def metrics(state: StateDep) -> Response:
    return Response(state.metrics.render(), media_type=state.metrics.content_type)
