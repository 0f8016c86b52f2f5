"""The review console under `/console`: server-rendered pages for auditors (role `auditor`).

- `/console/login`: the auditor pastes an API key once; the server checks it (`KeyStore`, role `auditor`) and
  sets a session cookie (see `sessions`). `/console/logout` ends the session.
- `/console/predictions`: recorded predictions, newest first, filtered (time range, label, decision,
  recommendation, model version, reviewed) and paginated; `/console/predictions/{id}`: one prediction with its
  redacted note, words highlighted by their attributions per label, scores against thresholds, the
  recommendation with its reasons, its reviews, and the review form.
- `/console/queue`: "next to review", walking the review queue (`AuditService.queue`, most informative first).
- `/console/dashboard`: volume per label and recommendation over time, agreement per label and model version,
  and calibration of scores against reviewers' labels.

Data is read and reviews are written through the auditor API's own functions (`audit.routes.get_prediction`,
`audit.routes.post_review`), so the console applies exactly the API's rules. Pages show only redacted text and
are escaped by Jinja; they are served with a strict Content-Security-Policy (no inline script or style).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl, urlencode

import jinja2
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from divert.model.errors import DivertError
from divert.model.labels import LABELS
from divert.serving.audit import routes as audit_api
from divert.serving.audit.store import AuditUnavailable, PredictionFilter, utc
from divert.serving.console import queries
from divert.serving.console.highlight import segments, top_words
from divert.serving.console.sessions import (
    LOGIN_COOKIE,
    LOGIN_TOKEN_TTL_S,
    SESSION_COOKIE,
    ConsoleSession,
    cookie_options,
    same_origin,
    sessions_of,
    tokens_match,
)
from divert.serving.errors import ServingError
from divert.serving.service import model_version
from divert.serving.state import AppState

log = logging.getLogger("divert.serving.console")

HERE = Path(__file__).parent
PAGE_SIZE = 25
MAX_SKIP = 200
DEFAULT_DAYS = 30
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
STATIC: dict[str, tuple[Path, str]] = {
    "console.css": (HERE / "static" / "console.css", "text/css"),
    "favicon.svg": (HERE / "static" / "favicon.svg", "image/svg+xml"),
    "console.js": (HERE / "static" / "console.js", "text/javascript"),
    "dashboard.js": (HERE / "static" / "dashboard.js", "text/javascript"),
    "vendor/chart.umd.min.js": (HERE / "static" / "vendor" / "chart.umd.min.js", "text/javascript"),
}
FILTER_KEYS = ("since", "until", "label", "decision", "recommendation", "model_version", "reviewed")

router = APIRouter(prefix="/console", include_in_schema=False)
templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined))
T = TypeVar("T")


# ------------------------------------------------------------------------------------------ plumbing


def _secure(response: Response, *, cache: bool = False) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if not cache:
        response.headers["Cache-Control"] = "no-store"
    return response


def render(request: Request, name: str, context: Mapping[str, Any], *, status: int = 200,
           session: ConsoleSession | None = None) -> Response:
    ctx = {"labels": LABELS, "session": session, "error": None, "notice": None, **context}
    return _secure(templates.TemplateResponse(request, name, ctx, status_code=status))


def redirect(url: str) -> Response:
    return _secure(RedirectResponse(url, status_code=303))


def error_page(request: Request, session: ConsoleSession | None, code: str, message: str,
               status: int) -> Response:
    return render(request, "error.html", {"code": code, "message": message}, status=status, session=session)


def safe_next(value: str | None) -> str:
    """A path inside the console to go back to after login; anything else (another site) becomes the list."""
    if value and value.startswith("/console/") and not value.startswith("//") and "\\" not in value \
            and not value.startswith("/console/login"):
        return value
    return "/console/predictions"


def require_session(request: Request) -> ConsoleSession:
    """The logged-in auditor; without a session, a redirect (303) to the login page."""
    session = sessions_of(request).get(request.cookies.get(SESSION_COOKIE))
    if session is None or "auditor" not in session.principal.roles:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(status_code=303, detail="log in to the console",
                            headers={"Location": "/console/login?" + urlencode({"next": safe_next(target)})})
    return session


Auditor = Annotated[ConsoleSession, Depends(require_session)]


def check_post(request: Request, session: ConsoleSession, csrf: str) -> Response | None:
    """A 403 page when a form post is not from this console's own page; None when it is."""
    if not same_origin(request) or not tokens_match(session.csrf, csrf):
        log.warning("console csrf check failed key=%s path=%s", session.principal.key_id, request.url.path)
        return error_page(request, session, "csrf_failed", "This form was not sent from this console's page "
                          "(or your session changed). Go back, reload the page and send it again.", 403)
    return None


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.divert
    return state


class StoreDown(Exception):
    """The audit store could not be read; every page answers it with a 503 page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def store_call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return fn(*args, **kwargs)
    except AuditUnavailable as exc:
        raise StoreDown(str(exc)) from exc


# ------------------------------------------------------------------------------------------ filters


@dataclass
class Filters:
    values: dict[str, str]
    filter: PredictionFilter
    error: tuple[str, str] | None = None  # (field, message)

    def query(self, **extra: Any) -> str:
        items = {k: v for k, v in self.values.items() if v} | {k: v for k, v in extra.items() if v is not None}
        return urlencode(items)


def _moment(value: str, field: str, *, end: bool) -> datetime:
    """`YYYY-MM-DD` (a whole day; `until` includes it) or `YYYY-MM-DDTHH:MM[:SS]`, read as UTC."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        return utc(datetime.fromisoformat(value))
    except ValueError:
        raise ValueError(f"{field}: {value!r} is not a date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM)") from None


def _choice(value: str, field: str, choices: Mapping[str, bool]) -> bool | None:
    if not value:
        return None
    if value not in choices:
        raise ValueError(f"{field}: must be one of {', '.join(choices)}")
    return choices[value]


def parse_filters(params: Mapping[str, str]) -> Filters:
    values = {k: str(params.get(k, "") or "").strip()[:200] for k in FILTER_KEYS}
    try:
        since = _moment(values["since"], "since", end=False) if values["since"] else None
        until = _moment(values["until"], "until", end=True) if values["until"] else None
        label = values["label"] or None
        if label is not None and label not in LABELS:
            raise ValueError(f"label: {label!r} is not one of {', '.join(LABELS)}")
        decision = _choice(values["decision"], "decision", {"flagged": True, "not_flagged": False})
        reviewed = _choice(values["reviewed"], "reviewed", {"yes": True, "no": False})
    except ValueError as exc:
        field = str(exc).split(":", 1)[0]
        return Filters(values, PredictionFilter(), (field, str(exc)))
    f = PredictionFilter(since=since, until=until, label=label, decision=decision,
                         recommendation=values["recommendation"] or None,
                         model_version=values["model_version"] or None, reviewed=reviewed)
    return Filters(values, f)


def parse_skip(value: str | None) -> list[int]:
    out: list[int] = []
    for part in (value or "").split(","):
        if part.strip().isdigit():
            out.append(int(part))
    return out[-MAX_SKIP:]


# ------------------------------------------------------------------------------------------ login


@router.get("")
@router.get("/")
def home(request: Request) -> Response:
    session = sessions_of(request).get(request.cookies.get(SESSION_COOKIE))
    return redirect("/console/predictions" if session else "/console/login")


def login_page(request: Request, next_url: str | None, *, status: int = 200, error: str | None = None,
               code: str | None = None) -> Response:
    """The login form, with a fresh double-submit token in its own short-lived cookie."""
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", {"login_token": token, "next": safe_next(next_url), "error": error,
                                              "code": code or ""}, status=status)
    response.set_cookie(LOGIN_COOKIE, token, max_age=LOGIN_TOKEN_TTL_S, **cookie_options(request))
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return login_page(request, next)


@router.post("/login")
def login(request: Request, api_key: Annotated[str, Form(max_length=512)] = "",
          login_token: Annotated[str, Form(max_length=200)] = "",
          next: Annotated[str, Form(max_length=2000)] = "") -> Response:
    state = app_state(request)

    def again(code: str, message: str, status: int) -> Response:
        return login_page(request, next, status=status, error=message, code=code)

    if not same_origin(request) or not tokens_match(request.cookies.get(LOGIN_COOKIE), login_token):
        return again("csrf_failed", "The login form expired or was not sent from this page; try again.", 403)
    try:
        principal = state.keys.authorize(state.keys.authenticate(api_key.strip() or None), ("auditor",))
    except ServingError as exc:
        log.info("console login refused code=%s", exc.code)
        message = {"missing_api_key": "Paste your auditor API key.",
                   "invalid_api_key": "That key is not valid.",
                   "insufficient_role": "That key does not have the auditor role."}.get(exc.code, exc.message)
        status = 403 if exc.code == "insufficient_role" else 401
        return again(exc.code, message, status)
    token, _ = sessions_of(request).create(principal)
    log.info("console login key=%s", principal.key_id)
    response = redirect(safe_next(next))
    response.set_cookie(SESSION_COOKIE, token, **cookie_options(request))
    response.delete_cookie(LOGIN_COOKIE, path=cookie_options(request)["path"])
    return response


@router.post("/logout")
def logout(request: Request, session: Auditor, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    refused = check_post(request, session, csrf)
    if refused is not None:
        return refused
    sessions_of(request).delete(request.cookies.get(SESSION_COOKIE))
    response = redirect("/console/login")
    response.delete_cookie(SESSION_COOKIE, path=cookie_options(request)["path"])
    return response


@router.get("/static/{name:path}")
def static(name: str) -> Response:
    found = STATIC.get(name)
    if found is None:
        raise HTTPException(status_code=404)
    response = FileResponse(found[0], media_type=found[1])
    response.headers["Cache-Control"] = "public, max-age=3600"
    return _secure(response, cache=True)


# ------------------------------------------------------------------------------------------ list


@router.get("/predictions")
def list_page(request: Request, session: Auditor, cursor: int | None = None) -> Response:
    filters = parse_filters(request.query_params)
    audit = audit_api.audit_of(request)
    try:
        choices = store_call(queries.filter_choices, audit.store)
        if filters.error is not None:
            return render(request, "list.html", {"filters": filters, "choices": choices, "page": None,
                                                 "error": filters.error[1], "code": "invalid_value",
                                                 "first_query": filters.query()}, status=422, session=session)
        page = store_call(audit.store.page, filters.filter, limit=PAGE_SIZE, cursor=cursor)
    except StoreDown as exc:
        return error_page(request, session, "audit_unavailable", exc.message, 503)
    rows = [{"p": p, "reviewed": p.id in page.reviewed_ids, "flags": [f for f in p.flags.split(",") if f],
             "created": utc(p.created_at)} for p in page.items]
    return render(request, "list.html", {
        "filters": filters, "choices": choices, "page": page, "rows": rows, "cursor": cursor,
        "first_query": filters.query(), "next_query": filters.query(cursor=page.next_cursor)
        if page.next_cursor else None, "detail_query": filters.query()}, session=session)


# ------------------------------------------------------------------------------------------ one prediction


def _default_label(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> str:
    flagged = [n for n in LABELS if n in scores and scores[n] >= thresholds.get(n, 0.5)]
    pool = flagged or [n for n in LABELS if n in scores] or list(LABELS)
    return max(pool, key=lambda n: float(scores.get(n, 0.0)))


def _explanation_note(state: AppState, pred_version: str, source: str) -> str:
    if source == "stored":
        return "Attributions stored with this /v1/explain answer."
    if source == "computed_on_redacted_text":
        return ("Attributions computed now on the redacted text by the model that made this prediction "
                f"({pred_version}), which is the one serving.")
    if not state.service.ready:
        return "No attributions: none were stored, and the model is not loaded yet to compute them."
    serving = model_version(state.service.model)
    return (f"No attributions: none were stored with this prediction, and the model that made it "
            f"({pred_version}) is not the one serving now ({serving}); attributions from another model would "
            "not explain this prediction.")


@router.get("/predictions/{prediction_id}")
def detail_page(prediction_id: int, request: Request, session: Auditor, show: str | None = None,
                mode: str | None = None, skip: str | None = None, saved: str | None = None) -> Response:
    state = app_state(request)
    audit = audit_api.audit_of(request)
    filters = parse_filters(request.query_params)
    queue_mode = mode == "queue"
    skips = parse_skip(skip)
    explain_error: str | None = None
    try:
        try:
            detail = audit_api.get_prediction(prediction_id, session.principal, request, state, explain=True)
        except ServingError:
            raise
        except DivertError as exc:  # the explanation cannot be made (e.g. too many words for occlusion)
            explain_error = f"No attributions: {exc.message}"
            detail = audit_api.get_prediction(prediction_id, session.principal, request, state, explain=False)
        queue_item = None
        if queue_mode:
            ranked, _ = store_call(audit.queue, limit=len(skips) + 2)
            queue_item = next((r for r, p in ranked if p.id == prediction_id), None)
    except ServingError as exc:
        status = 404 if exc.code == "prediction_not_found" else 503
        return error_page(request, session, exc.code, exc.message, status)
    except StoreDown as exc:
        return error_page(request, session, "audit_unavailable", exc.message, 503)

    explanation = detail.explanation
    by_label = {lab["label"]: lab for lab in (explanation or {}).get("labels", [])}
    shown = show if show in LABELS else _default_label(detail.scores, detail.thresholds)
    highlighted = None
    if explanation is not None and shown in by_label:
        towards, away = top_words(by_label[shown].get("words", []))
        highlighted = {"segments": segments(explanation["text"], by_label[shown].get("words", [])),
                       "towards": towards, "away": away, "rules": by_label[shown].get("rules", []),
                       "method": explanation.get("method", "")}
    note = explain_error or _explanation_note(state, detail.model_version, detail.explanation_source)
    scores = [{"label": n, "score": float(detail.scores.get(n, 0.0)),
               "threshold": float(detail.thresholds.get(n, 0.5)), "decision": bool(detail.decisions.get(n))}
              for n in LABELS if n in detail.scores]
    rec = detail.recommendation_detail or {}
    nav = {"show": shown, "mode": "queue" if queue_mode else None, "skip": ",".join(map(str, skips)) or None}
    if queue_mode:
        next_url = "/console/queue?" + urlencode({"skip": ",".join(map(str, [*skips, prediction_id]))})
        back_url = "/console/queue"
    else:
        next_url = f"/console/predictions/{prediction_id}/next?{filters.query()}"
        back_url = f"/console/predictions?{filters.query()}"
    return render(request, "prediction.html", {
        "d": detail, "created": utc(detail.created_at), "scores": scores, "rec": rec, "highlighted": highlighted,
        "explanation_note": note, "explanation_source": detail.explanation_source if not explain_error
        else "unavailable", "shown": shown, "label_query": lambda name: filters.query(**{**nav, "show": name}),
        "form_query": filters.query(mode=nav["mode"], skip=nav["skip"], show=shown),
        "queue_mode": queue_mode, "queue_item": queue_item, "next_url": next_url, "back_url": back_url,
        "notice": "Review saved." if saved else None,
        "model_labels": {n: int(bool(detail.decisions.get(n))) for n in LABELS}}, session=session)


@router.get("/predictions/{prediction_id}/next")
def next_in_list(prediction_id: int, request: Request, session: Auditor) -> Response:
    """The next (older) prediction matching the list's filters, or the list when there is none."""
    filters = parse_filters(request.query_params)
    try:
        page = store_call(audit_api.audit_of(request).store.page, filters.filter, limit=1, cursor=prediction_id)
    except StoreDown as exc:
        return error_page(request, session, "audit_unavailable", exc.message, 503)
    if not page.items:
        return redirect(f"/console/predictions?{filters.query()}")
    return redirect(f"/console/predictions/{page.items[0].id}?{filters.query()}")


@router.post("/predictions/{prediction_id}/review")
def review(prediction_id: int, request: Request, session: Auditor,
           csrf: Annotated[str, Form(max_length=200)] = "",
           verdict: Annotated[str, Form(max_length=16)] = "",
           comment: Annotated[str, Form(max_length=100_000)] = "",
           label: Annotated[list[str] | None, Form()] = None,
           back: Annotated[str, Form(max_length=4000)] = "") -> Response:
    """Save a review through the auditor API's own `post_review`. The form sends every label the reviewer
    ticked; the labels are sent for both verdicts, so "agree" with changed labels is refused like the API does."""
    refused = check_post(request, session, csrf)
    if refused is not None:
        return refused
    ticked = set(label or [])
    unknown = ticked - set(LABELS)
    if verdict not in ("agree", "disagree") or unknown:
        return error_page(request, session, "invalid_value",
                          f"unknown label(s) {sorted(unknown)}" if unknown else "verdict must be agree or disagree",
                          422)
    labels = {name: int(name in ticked) for name in LABELS}
    try:
        body = audit_api.ReviewIn.model_validate({"verdict": verdict, "labels": labels,
                                                  "comment": comment.strip() or None})
        audit_api.post_review(prediction_id, body, session.principal, request)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        return error_page(request, session, "invalid_value", f"{where}: {problem['msg']}", 422)
    except ServingError as exc:
        status = {"prediction_not_found": 404, "invalid_value": 422}.get(exc.code, 503)
        return error_page(request, session, exc.code, exc.message, status)
    log.info("console review prediction=%d key=%s verdict=%s", prediction_id, session.principal.key_id, verdict)
    params = {k: v for k, v in parse_qsl(back) if k in (*FILTER_KEYS, "show", "mode", "skip")}
    if params.get("mode") == "queue":
        return redirect("/console/queue?" + urlencode({"skip": params.get("skip", "")}))
    return redirect(f"/console/predictions/{prediction_id}?" + urlencode({**params, "saved": "1"}))


# ------------------------------------------------------------------------------------------ queue


@router.get("/queue")
def queue_page(request: Request, session: Auditor, skip: str | None = None) -> Response:
    """Redirect to the first item of the review queue not skipped in this walk (`n` adds to `skip`)."""
    skips = parse_skip(skip)
    audit = audit_api.audit_of(request)
    try:
        ranked, notes = store_call(audit.queue, limit=len(skips) + 1)
    except StoreDown as exc:
        return error_page(request, session, "audit_unavailable", exc.message, 503)
    for _, pred in ranked:
        if pred.id not in skips:
            query = {"mode": "queue", "skip": ",".join(map(str, skips))} if skips else {"mode": "queue"}
            return redirect(f"/console/predictions/{pred.id}?{urlencode(query)}")
    return render(request, "queue_empty.html", {"skipped": len(skips), "notes": notes}, session=session)


# ------------------------------------------------------------------------------------------ dashboard


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


@router.get("/dashboard")
def dashboard(request: Request, session: Auditor, days: int = DEFAULT_DAYS) -> Response:
    if not 1 <= days <= 366:
        return error_page(request, session, "invalid_value", "days: must be between 1 and 366", 422)
    store = audit_api.audit_of(request).store
    until = datetime.now(UTC) + timedelta(minutes=1)
    since = until - timedelta(days=days)
    window = PredictionFilter(since=since, until=until)
    try:
        vol = store_call(queries.volume, store, since, until)
        stats = store_call(store.stats, window)
        calib = store_call(queries.calibration, store, window)
    except StoreDown as exc:
        return error_page(request, session, "audit_unavailable", exc.message, 503)
    versions = stats["by_model_version"]
    chart = {
        "labels": list(LABELS), "volume": vol,
        "agreement": {v: {n: block["by_label"][n]["agreement_rate"] for n in LABELS}
                      for v, block in versions.items()},
        "calibration": {n: [{"x": b["mean_score"], "y": b["positive_rate"], "n": b["n"]}
                            for b in bins if b["n"]] for n, bins in calib["labels"].items()},
    }
    return render(request, "dashboard.html", {"days": days, "since": since, "until": until, "vol": vol,
                                              "stats": stats, "calib": calib, "chart": chart, "pct": _pct},
                  session=session)


__all__ = ["router"]
