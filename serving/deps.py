"""`Annotated` dependencies for the routes: the app's state, settings, model, and API-key roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from divert.model.pyfunc import LoadedModel
from divert.serving.auth import Principal
from divert.serving.service import ClassificationService
from divert.serving.settings import Role, ServingSettings
from divert.serving.state import AppState

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="An API key configured with the role the endpoint needs")


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.divert
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_settings(state: StateDep) -> ServingSettings:
    return state.settings


def get_service(state: StateDep) -> ClassificationService:
    return state.service


def get_model(service: Annotated[ClassificationService, Depends(get_service)]) -> LoadedModel:
    """The model being served; 503 `model_not_loaded` until the first load has finished."""
    return service.model


SettingsDep = Annotated[ServingSettings, Depends(get_settings)]
ModelDep = Annotated[LoadedModel, Depends(get_model)]


def require_role(*roles: Role) -> Callable[..., Principal]:
    """A dependency that admits a key holding any of `roles`: 401 without a valid key, 403 without the role."""

    def dependency(state: StateDep, key: Annotated[str | None, Security(api_key_header)]) -> Principal:
        return state.keys.authorize(state.keys.authenticate(key), roles)

    dependency.__name__ = f"require_{'_or_'.join(roles)}"
    return dependency


CadKey = Annotated[Principal, Depends(require_role("cad"))]
AuditorKey = Annotated[Principal, Depends(require_role("auditor"))]
AdminKey = Annotated[Principal, Depends(require_role("admin"))]
AnyKey = Annotated[Principal, Depends(require_role("cad", "auditor", "admin"))]
