"""Two pure ASGI middlewares: request ids, timing and metrics; and the request-size limit, checked before parsing.

The log line of a request holds its id, method, route template, status and latency: never a body.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Collection

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from divert.serving.errors import error_response, internal_error_response
from divert.serving.metrics import Metrics

log = logging.getLogger("divert.serving")

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
REQUEST_ID_HEADER = "X-Request-ID"


def route_template(scope: Scope, known_paths: Collection[str]) -> str:
    """The route's path template (`/v1/classify`), so metrics do not get a label per URL. A request refused
    before routing (413) is labelled with its path when that is one of the app's paths."""
    route = scope.get("route")
    if route is not None and hasattr(route, "path"):
        return str(route.path)
    path = scope.get("path", "")
    return path if path in known_paths else "unmatched"


class RequestContextMiddleware:
    """Gives every request an id (the client's `X-Request-ID` when it is a sane token), echoes it in the response
    headers, and records the request's latency and status."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, known_paths: Collection[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.known_paths = frozenset(known_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = given if _CLIENT_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        responded = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if responded:
                raise
            await internal_error_response(exc, request_id)(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope, self.known_paths)
            self.metrics.observe_request(route, scope["method"], status, elapsed)
            log.info("request request_id=%s method=%s route=%s status=%d ms=%.1f", request_id, scope["method"],
                     route, status, elapsed * 1000)


class BodyLimitMiddleware:
    """Refuses a body over `max_bytes` with 413 `request_too_large`, from Content-Length when given, else while
    reading; the body is read once, up to the limit, and handed on."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: str) -> None:
        request_id = scope.get("state", {}).get("request_id")
        log.info("error request_id=%s code=request_too_large status=413", request_id)
        response = error_response("request_too_large", f"the request body has {size} bytes; the limit is "
                                  f"{self.max_bytes}", request_id=request_id)
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send, declared)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, f"more than {self.max_bytes}")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
