"""API keys: stored as sha256 hex digests, each with roles (`cad`, `auditor`, `admin`).

A presented key is hashed and compared with every configured digest in constant time; the key itself is never
stored or logged, only the id of the key it matched.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from divert.serving.errors import ServingError
from divert.serving.settings import ROLES, ApiKeySpec, Role

KEY_PREFIX = "dvt_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the configured key's id and roles."""

    key_id: str
    roles: frozenset[Role]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_key() -> str:
    """A new random key (43 url-safe characters after the prefix)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def dev_key_spec(key: str) -> ApiKeySpec:
    """The configuration of a throwaway local key with every role."""
    return ApiKeySpec(id="dev", roles=ROLES, sha256=hash_key(key), dev=True)


class KeyStore:
    def __init__(self, specs: Iterable[ApiKeySpec]) -> None:
        self._specs = tuple(specs)

    def authenticate(self, presented: str | None) -> Principal:
        if not presented:
            raise ServingError("missing_api_key", "send the API key in the X-API-Key header")
        digest = hash_key(presented)
        match = None
        for spec in self._specs:  # no early exit: the time does not depend on which key matched
            if hmac.compare_digest(digest, spec.sha256):
                match = spec
        if match is None:
            raise ServingError("invalid_api_key", "the API key is not valid")
        return Principal(key_id=match.id, roles=frozenset(match.roles))

    @staticmethod
    def authorize(principal: Principal, allowed: Iterable[Role]) -> Principal:
        allowed = tuple(allowed)
        if principal.roles.isdisjoint(allowed):
            raise ServingError("insufficient_role", f"this endpoint needs the role {' or '.join(allowed)}; "
                               f"key {principal.key_id!r} has {', '.join(sorted(principal.roles))}")
        return principal
