"""Browser sessions of the review console: an auditor logs in once with an API key and gets a session cookie.

The cookie holds only a random token (never the key); the server keeps, per token's sha256, the key id, its
roles, a CSRF token and the times. Cookies are HttpOnly, SameSite=Strict, scoped to `/console`, and Secure when
the request came over HTTPS. Every form post carries the session's CSRF token (synchronizer token) and, when
the browser sends an `Origin`, it must be this server's. The login form, posted before a session exists, uses a
double-submit token in a short-lived cookie of its own.

Sessions live in the process's memory: a restart logs everyone out, and several worker processes each have
their own (run the console with one worker, or behind sticky sessions).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request

from divert.serving.auth import Principal

SESSION_COOKIE = "divert_console"
LOGIN_COOKIE = "divert_console_login"
COOKIE_PATH = "/console"
IDLE_TIMEOUT_S = 60 * 60
ABSOLUTE_TIMEOUT_S = 10 * 60 * 60
LOGIN_TOKEN_TTL_S = 30 * 60
MAX_SESSIONS = 10_000


@dataclass
class ConsoleSession:
    principal: Principal
    csrf: str
    created: float
    last_seen: float = field(default=0.0)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionStore:
    """Thread-safe in-memory sessions keyed by the sha256 of their cookie token."""

    def __init__(self, *, idle_timeout_s: float = IDLE_TIMEOUT_S,
                 absolute_timeout_s: float = ABSOLUTE_TIMEOUT_S) -> None:
        self._sessions: dict[str, ConsoleSession] = {}
        self._lock = threading.Lock()
        self.idle_timeout_s = idle_timeout_s
        self.absolute_timeout_s = absolute_timeout_s

    def create(self, principal: Principal) -> tuple[str, ConsoleSession]:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        session = ConsoleSession(principal=principal, csrf=secrets.token_urlsafe(32), created=now, last_seen=now)
        with self._lock:
            self._expire(now)
            if len(self._sessions) >= MAX_SESSIONS:  # drop the oldest rather than grow without bound
                oldest = min(self._sessions, key=lambda k: self._sessions[k].last_seen)
                del self._sessions[oldest]
            self._sessions[_digest(token)] = session
        return token, session

    def get(self, token: str | None) -> ConsoleSession | None:
        if not token:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._sessions.get(_digest(token))
            if session is None:
                return None
            if self._expired(session, now):
                del self._sessions[_digest(token)]
                return None
            session.last_seen = now
            return session

    def delete(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._sessions.pop(_digest(token), None)

    def __len__(self) -> int:
        return len(self._sessions)

    def _expired(self, session: ConsoleSession, now: float) -> bool:
        return (now - session.last_seen > self.idle_timeout_s
                or now - session.created > self.absolute_timeout_s)

    def _expire(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if self._expired(s, now)]:
            del self._sessions[key]


_STORE_LOCK = threading.Lock()


def sessions_of(request: Request) -> SessionStore:
    """The app's session store, made on first use."""
    state: Any = request.app.state
    with _STORE_LOCK:
        store = getattr(state, "console_sessions", None)
        if store is None:
            store = SessionStore()
            state.console_sessions = store
    assert isinstance(store, SessionStore)
    return store


def tokens_match(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def same_origin(request: Request) -> bool:
    """False when the browser says the request came from another site (`Origin`, else `Referer`). Hosts are
    compared, not schemes, so that a TLS-terminating proxy in front of the app does not break form posts."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True  # not a browser that sends either; the CSRF token still has to match
    parsed = urlsplit(origin)
    return parsed.scheme in ("http", "https") and parsed.netloc.lower() == request.url.netloc.lower()


def cookie_options(request: Request) -> dict[str, Any]:
    return {"httponly": True, "samesite": "strict", "secure": request.url.scheme == "https",
            "path": COOKIE_PATH}
