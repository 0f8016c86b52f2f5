"""Serving settings, read from `DIVERT_*` environment variables (or given whole by the caller).

Built by the app factory, never at import time. Settings that would run an unsafe service are refused with a
message naming the setting: no API key at all, development keys outside `allow_dev_keys`, development keys on a
non-loopback address, malformed or duplicated key hashes.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from divert.model.eido import DEFAULT_MAX_EIDO_BYTES, EIDO_HARD_LIMIT_BYTES
from divert.model.inputs import DEFAULT_MAX_CHARS

Role = Literal["cad", "auditor", "admin"]
ROLES: tuple[Role, ...] = ("cad", "auditor", "admin")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class SettingsError(ValueError):
    """Settings that cannot be used; the message names the setting."""


class ApiKeySpec(BaseModel):
    """One API key as configured: never the key itself, only the sha256 hex of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64, description="names the key in logs and audit records")
    roles: tuple[Role, ...] = Field(min_length=1)
    sha256: str = Field(description="sha256 hex digest of the key")
    dev: bool = Field(default=False, description="a throwaway key made by `divert serve --dev-key`")

    @model_validator(mode="before")
    @classmethod
    def _single_role(cls, data: Any) -> Any:
        if isinstance(data, dict) and "role" in data and "roles" not in data:
            data = {**data, "roles": [data["role"]]}
            del data["role"]
        return data

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        value = value.strip().lower()
        if not _SHA256.match(value):
            raise ValueError("must be the 64-character sha256 hex digest of the key, not the key")
        return value


class ServingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIVERT_", env_nested_delimiter="__", extra="forbid",
                                      env_ignore_empty=True)

    model_ref: str = Field(default="champion", description="registry alias or version, models:/ URI or local path")
    registered_model: str = "divert"
    tracking_uri: str | None = None
    model_load: Literal["blocking", "background"] = Field(
        default="background",
        description="background: the server answers /healthz at once and refuses traffic until the model is loaded",
    )
    policy_path: Path | None = Field(default=None, description="None: the packaged default policy")

    api_keys: list[ApiKeySpec] = Field(default_factory=list)
    api_keys_file: Path | None = Field(default=None, description="YAML or JSON list of {id, roles, sha256}")
    allow_dev_keys: bool = False

    max_request_bytes: int = Field(default=1_000_000, ge=1024)
    max_batch_size: int = Field(default=64, ge=1, le=10_000)
    max_note_chars: int = Field(default=DEFAULT_MAX_CHARS, ge=1)
    max_eido_bytes: int = Field(
        default=DEFAULT_MAX_EIDO_BYTES, ge=1024, le=EIDO_HARD_LIMIT_BYTES,
        description="largest EIDO accepted in a note (its JSON, UTF-8 bytes; the standard allows 16 MB of notes); "
                    "a request is also capped by max_request_bytes, so raise both for large incidents")
    eido_agency_ref: str = Field(
        default="divert", min_length=1,
        description="`updatedByAgencyReference` of the EIDO components written by `?format=eido`")
    call_cache_size: int = Field(default=50_000, ge=0, description="calls whose last flags are kept; 0: off")
    call_cache_ttl_s: float = Field(default=12 * 3600, gt=0)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    # The audit trail (`divert.serving.audit`): every /v1/classify and /v1/explain answer, with redacted text.
    audit_url: str = Field(default="sqlite:///divert-audit.db",
                           description="SQLAlchemy URL of the audit store: SQLite (default) or postgresql://...")
    audit_required: bool = Field(
        default=True, description="true: refuse (503 audit_unavailable) an answer that could not be recorded; "
                                  "false: answer anyway, log that it was not recorded")
    audit_redaction: Literal["deferred", "inline"] = Field(
        default="deferred",
        description="deferred: the prediction row (scores, decisions, keyed hash) is written before the answer "
                    "is returned and a background worker redacts the note and fills its text in moments later "
                    "(keeps spaCy NER off the request path); inline: redact before writing, in the request")
    audit_redaction_worker: Literal["process", "thread"] = Field(
        default="process", description="deferred redaction runs in a child process at a lower CPU priority "
                                       "(takes no time from answering; about 150 MB) or in a server thread")
    audit_redaction_nice: int = Field(default=10, ge=0, le=19, description="the child process's nice increment")
    audit_redaction_queue: int = Field(
        default=10_000, ge=1, description="notes waiting for deferred redaction at most; when full, a request "
                                          "redacts its own notes inline (back-pressure, nothing is dropped)")
    audit_hash_key: SecretStr | None = Field(
        default=None, description="HMAC key for the keyed hash of each note's text (required unless "
                                  "allow_dev_keys, where a per-process random key is used)")
    retention_days: int = Field(default=365, ge=1, description="`divert audit purge` default: older records go")
    review_second_model_ref: str | None = Field(
        default=None, description="a second model (e.g. TF-IDF) whose disagreement ranks the review queue; "
                                  "None: that term is skipped")

    _keys: list[ApiKeySpec] = PrivateAttr(default_factory=list)
    _dev_hash_key: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _safe(self) -> Self:
        keys = [*self.api_keys, *(_read_keys_file(self.api_keys_file) if self.api_keys_file else [])]
        if not keys and not self.allow_dev_keys:
            raise ValueError("no API keys configured: set DIVERT_API_KEYS or DIVERT_API_KEYS_FILE "
                             "(or use `divert serve --dev-key` on your own machine)")
        dev = [k.id for k in keys if k.dev]
        if dev and not self.allow_dev_keys:
            raise ValueError(f"development keys {dev} need allow_dev_keys=true")
        if dev and self.host not in _LOOPBACK:
            raise ValueError(f"development keys {dev} are only allowed on a loopback host, not {self.host!r}")
        seen_ids: set[str] = set()
        seen_hashes: set[str] = set()
        for key in keys:
            if key.id in seen_ids:
                raise ValueError(f"api key id {key.id!r} is configured twice")
            if key.sha256 in seen_hashes:
                raise ValueError(f"api key {key.id!r} has the same hash as another key")
            seen_ids.add(key.id)
            seen_hashes.add(key.sha256)
        self._keys = keys
        return self

    def audit_key(self) -> str:
        """The audit hash key. Refused when unset (except with development keys, which get a random key per
        process: hashes then match only within one run) or shorter than 16 characters. Checked by `create_app`."""
        if self.audit_hash_key is None:
            if not self.allow_dev_keys:
                raise SettingsError("invalid serving settings: audit_hash_key: not configured; set "
                                    "DIVERT_AUDIT_HASH_KEY to a long random secret (or use `divert serve --dev-key` "
                                    "on your own machine)")
            if self._dev_hash_key is None:
                self._dev_hash_key = secrets.token_urlsafe(32)
            return self._dev_hash_key
        key = self.audit_hash_key.get_secret_value()
        if len(key) < 16:
            raise SettingsError("invalid serving settings: audit_hash_key: must have at least 16 characters")
        return key

    @property
    def all_api_keys(self) -> list[ApiKeySpec]:
        """`api_keys` plus those of `api_keys_file`, read once when the settings were built."""
        return list(self._keys)


def _read_keys_file(path: Path) -> list[ApiKeySpec]:
    if not path.is_file():
        raise ValueError(f"api_keys_file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"api_keys_file {path} cannot be read: {exc}") from exc
    if isinstance(raw, dict) and "api_keys" in raw:
        raw = raw["api_keys"]
    if not isinstance(raw, list):
        raise ValueError(f"api_keys_file {path} must hold a list of {{id, roles, sha256}}")
    out = []
    for i, item in enumerate(raw):
        try:
            out.append(ApiKeySpec.model_validate(item))
        except ValidationError as exc:
            raise ValueError(f"api_keys_file {path}: [{i}]: {_first_problem(exc)}") from exc
    return out


def _first_problem(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg


def load_settings(**overrides: Any) -> ServingSettings:
    """Settings from the environment plus `overrides`; any problem becomes one SettingsError."""
    try:
        return ServingSettings(**overrides)
    except ValidationError as exc:
        raise SettingsError(f"invalid serving settings: {_first_problem(exc)}") from exc
