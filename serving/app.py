"""The app factory. Nothing is built at import time: settings, policy, keys and metrics in `create_app`, the
model in the `lifespan` (in a background thread by default, so /healthz answers while a large model loads)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute

import divert
from divert.serving import routes_classify, routes_explain, routes_health, routes_model
from divert.serving.audit import routes as audit_routes
from divert.serving.audit.recorder import AuditService, start_clock
from divert.serving.console import routes as console_routes
from divert.serving.errors import install_error_handlers
from divert.serving.middleware import BodyLimitMiddleware, RequestContextMiddleware
from divert.serving.settings import ServingSettings, load_settings
from divert.serving.state import AppState, ModelLoader

DESCRIPTION = """Flags behavioral-health crises and violence risk in 911 call text and recommends a crisis team,
co-responder, police or EMS under the community's diversion policy.

Send the API key in `X-API-Key`. Errors always answer `{"error": {"code", "message", "field"}, "request_id"}`."""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: AppState = app.state.divert
    await run_in_threadpool(app.state.audit.start)  # migrations and the redactor; a store that is down is logged
    if state.settings.model_load == "blocking":
        await run_in_threadpool(state.load_at_start)
    else:
        threading.Thread(target=state.load_at_start, name="divert-model-load", daemon=True).start()
    yield
    await run_in_threadpool(app.state.audit.stop)  # redacts and stores what deferred redaction still holds


def create_app(settings: ServingSettings | None = None, *, loader: ModelLoader | None = None) -> FastAPI:
    """Build the API. `settings` default to the `DIVERT_*` environment; `loader` replaces registry loading."""
    settings = settings or load_settings()
    state = AppState(settings, loader=loader)
    audit = AuditService(settings)  # refuses an unset audit_hash_key outside dev mode
    state.readiness.add("audit_store", audit.check)
    app = FastAPI(title="divert", version=divert.__version__, description=DESCRIPTION, lifespan=lifespan,
                  dependencies=[Depends(start_clock)])
    app.state.divert = state
    app.state.audit = audit
    if audit.worker is not None:
        audit.worker.on_change = state.metrics.redaction_pending.set
    install_error_handlers(app)
    routers = (routes_classify.router, routes_explain.router, routes_model.router, routes_health.router,
               audit_routes.router, console_routes.router)
    for router in routers:
        app.include_router(router)
    # Last added runs first: ids and timing wrap the size limit, so a 413 is counted and carries an id.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    known_paths = {route.path for router in routers for route in router.routes if isinstance(route, APIRoute)}
    app.add_middleware(RequestContextMiddleware, metrics=state.metrics, known_paths=known_paths)
    return app
