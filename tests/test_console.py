"""The review console (`/console`) through TestClient: login and roles, CSRF, filters, the prediction page with
highlighted words, reviews saved through the auditor API's code path, the queue walk, the dashboard, and that no
page ever shows raw (unredacted) text or unescaped note HTML."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serving_fixtures import CALL_TIME, KEYS, headers, make_settings, wait_for_audit

from divert.model.labels import LABELS
from divert.serving.app import create_app
from divert.serving.audit import routes as audit_api
from divert.serving.console import routes as console_routes

CAD, AUD = headers("cad"), headers("auditor")
CONSOLE = Path(console_routes.__file__).parent
NOTES = [
    {"text": "SUBJ STATING HE WANTS TO KILL HIMSELF HAS A KNIFE", "call_id": "c-1"},
    {"text": "LOUD MUSIC NEXT DOOR NOISE COMPLAINT", "call_id": "c-2"},
    {"text": "RP ADV BROTHER OFF HIS MEDS TALKING TO PEOPLE WHO ARENT THERE NO WPNS", "call_id": "c-3"},
    {"text": "MALE NOT BREATHING CPR IN PROGRESS", "call_id": "c-4"},
]
PII_NOTE = {"text": "RP JOHN SMITH ADV BROTHER OFF HIS MEDS CB 608-555-0142 AT 1423 W ELM ST NO WPNS",
            "call_id": "c-pii"}
PII_VALUES = ("JOHN SMITH", "SMITH", "608-555-0142", "555-0142", "1423 W ELM")


def _client(bundle: Path, db: Path) -> TestClient:
    return TestClient(create_app(make_settings(bundle, audit_url=f"sqlite:///{db}")))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "audit.db"


@pytest.fixture
def client(tiny_tfidf_bundle: Path, db: Path) -> Iterator[TestClient]:
    with _client(tiny_tfidf_bundle, db) as c:
        yield c


def classify(client: TestClient, note: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/v1/classify", json={**note, "context": {"time": CALL_TIME}}, headers=CAD)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def api_predictions(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    r = client.get("/v1/audit/predictions", params=params, headers=AUD)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name}"
    return found.group(1)


def login(client: TestClient, key: str = KEYS["auditor"], next_url: str = "") -> Any:
    form = client.get("/console/login")
    assert form.status_code == 200
    return client.post("/console/login", data={"api_key": key, "login_token": hidden(form.text, "login_token"),
                                               "next": next_url}, follow_redirects=False)


@pytest.fixture
def auditor(client: TestClient) -> TestClient:
    for note in NOTES:
        classify(client, note)
    wait_for_audit(client)  # the console shows redacted text once the deferred redaction has filled it in
    r = login(client)
    assert r.status_code == 303, r.text
    return client


def csrf_of(client: TestClient) -> str:
    return hidden(client.get("/console/predictions").text, "csrf")


def ids_in_list(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', html)]


# ------------------------------------------------------------------------------------------ roles and sessions


@pytest.mark.parametrize("path", ["/console/predictions", "/console/predictions/1", "/console/queue",
                                  "/console/dashboard", "/console/predictions/1/next"])
def test_without_a_session_every_page_redirects_to_login(client: TestClient, path: str) -> None:
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/console/login?next=%2Fconsole%2F")
    # an API key header is not a console session
    assert client.get(path, headers=AUD, follow_redirects=False).status_code == 303


def test_posts_without_a_session_are_not_accepted(client: TestClient) -> None:
    classify(client, NOTES[0])
    pid = api_predictions(client)[0]["id"]
    r = client.post(f"/console/predictions/{pid}/review", data={"verdict": "agree"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    assert not api_predictions(client, reviewed=True)


@pytest.mark.parametrize(("key", "status", "code"), [(KEYS["cad"], 403, "insufficient_role"),
                                                     (KEYS["admin"], 403, "insufficient_role"),
                                                     ("not-a-key", 401, "invalid_api_key"),
                                                     ("", 401, "missing_api_key")])
def test_login_refuses_keys_without_the_auditor_role(client: TestClient, key: str, status: int, code: str) -> None:
    r = login(client, key)
    assert r.status_code == status
    assert f'data-code="{code}"' in r.text
    assert "divert_console=" not in r.headers.get("set-cookie", "")
    assert client.get("/console/predictions", follow_redirects=False).status_code == 303


def test_login_sets_a_strict_httponly_cookie_and_logout_ends_the_session(client: TestClient) -> None:
    r = login(client, next_url="/console/dashboard")
    assert r.status_code == 303 and r.headers["location"] == "/console/dashboard"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("divert_console="))
    attrs = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "path"} <= attrs
    assert "samesite=strict" in cookie.lower() and "path=/console" in cookie.lower()
    assert KEYS["auditor"] not in cookie  # the cookie is a random token, not the key
    page = client.get("/console/dashboard")
    assert page.status_code == 200 and "auditor-key" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    # logout needs the CSRF token
    assert client.post("/console/logout", data={"csrf": "wrong"}, follow_redirects=False).status_code == 403
    out = client.post("/console/logout", data={"csrf": hidden(page.text, "csrf")}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert client.get("/console/dashboard", follow_redirects=False).status_code == 303


def test_login_needs_its_form_token_and_never_redirects_off_site(client: TestClient) -> None:
    client.get("/console/login")
    r = client.post("/console/login", data={"api_key": KEYS["auditor"], "login_token": "forged"},
                    follow_redirects=False)
    assert r.status_code == 403 and 'data-code="csrf_failed"' in r.text
    for evil in ("https://evil.example/", "//evil.example/x", "/v1/audit/predictions"):
        r = login(client, next_url=evil)
        assert r.status_code == 303 and r.headers["location"] == "/console/predictions"


def test_a_post_from_another_origin_is_refused(auditor: TestClient) -> None:
    pid = api_predictions(auditor)[0]["id"]
    r = auditor.post(f"/console/predictions/{pid}/review", data={"csrf": csrf_of(auditor), "verdict": "agree"},
                     headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 403 and 'data-code="csrf_failed"' in r.text
    assert not api_predictions(auditor, reviewed=True)


# ------------------------------------------------------------------------------------------ list and filters


def test_the_list_filters_by_label_decision_recommendation_version_time_and_review(auditor: TestClient) -> None:
    everything = api_predictions(auditor)
    page = auditor.get("/console/predictions")
    assert ids_in_list(page.text) == [p["id"] for p in everything]  # newest first, like the API
    assert 'data-testid="total">4<' in page.text

    def ids(**params: str) -> list[int]:
        r = auditor.get("/console/predictions", params=params)
        assert r.status_code == 200, r.text
        return ids_in_list(r.text)

    for label in LABELS:
        assert ids(label=label) == [p["id"] for p in api_predictions(auditor, label=label)]
        assert ids(label=label, decision="not_flagged") == [
            p["id"] for p in api_predictions(auditor, label=label, decision=False)]
    assert ids(decision="not_flagged") == [p["id"] for p in everything if not p["flags"]]
    assert ids(recommendation="none") == [p["id"] for p in everything if p["recommendation"] is None]
    version = everything[0]["model_version"]
    assert ids(model_version=version) == [p["id"] for p in everything]
    assert ids(model_version="other/1") == []
    assert ids(since="2100-01-01") == [] and ids(until="2000-01-01") == []
    assert ids(since="2000-01-01", until="2100-01-01T00:00") == [p["id"] for p in everything]
    assert ids(reviewed="yes") == [] and ids(reviewed="no") == [p["id"] for p in everything]
    bad = auditor.get("/console/predictions", params={"since": "last tuesday"})
    assert bad.status_code == 422 and 'data-code="invalid_value"' in bad.text and "since" in bad.text
    assert auditor.get("/console/predictions", params={"label": "nope"}).status_code == 422


def test_the_list_is_paginated(auditor: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_routes, "PAGE_SIZE", 3)
    expected = [p["id"] for p in api_predictions(auditor)]
    first = auditor.get("/console/predictions")
    assert ids_in_list(first.text) == expected[:3]
    older = re.search(r'href="/console/predictions\?([^"]+)" id="next-page"', first.text)
    assert older is not None
    second = auditor.get("/console/predictions?" + older.group(1).replace("&amp;", "&"))
    assert ids_in_list(second.text) == expected[3:] and 'id="next-page"' not in second.text


# ------------------------------------------------------------------------------------------ one prediction


def test_a_prediction_shows_highlighted_words_scores_and_the_recommendation(auditor: TestClient) -> None:
    pred = api_predictions(auditor, label="suicide_risk")[0]
    page = auditor.get(f"/console/predictions/{pred['id']}", params={"show": "suicide_risk"})
    assert page.status_code == 200
    html = page.text
    marks = re.findall(r'<mark class="(pos|neg)-(\d)" title="([^"]+)">([^<]+)</mark>', html)
    assert marks, "no highlighted words"
    strongest = max(marks, key=lambda m: abs(float(m[2])))
    assert strongest[0] == "pos" and strongest[1] == "5" and strongest[3] in pred["text_redacted"]
    assert 'data-source="computed_on_redacted_text"' in html
    for name in LABELS:
        assert f"<td>{name}</td><td>{pred['scores'][name]:.3f}</td><td>{pred['thresholds'][name]:.3f}</td>" in html
    for reason in pred["recommendation_detail"]["reasons"]:
        assert reason.replace("'", "&#39;") in html
    # the tabs switch the label the words are highlighted for
    other = auditor.get(f"/console/predictions/{pred['id']}", params={"show": "medical_emergency"}).text
    assert 'data-label="medical_emergency"' in other and other != html
    assert auditor.get("/console/predictions/999999").status_code == 404


def test_attributions_are_not_made_up_by_another_model(tiny_tfidf_bundle: Path, db: Path, tmp_path: Path) -> None:
    with _client(tiny_tfidf_bundle, db) as c:
        classify(c, NOTES[0])
    other = tmp_path / "other"
    shutil.copytree(tiny_tfidf_bundle, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["thresholds"] = {name: 0.4 for name in LABELS}  # another model version
    (other / "manifest.json").write_text(json.dumps(manifest))
    with _client(other, db) as c:
        login(c)
        pid = api_predictions(c)[0]["id"]
        html = c.get(f"/console/predictions/{pid}").text
    assert 'data-source="unavailable"' in html and "is not the one serving now" in html
    assert "<mark class=\"pos" not in html and NOTES[0]["text"] in html  # the (redacted) note, plain


def test_an_explain_answer_shows_its_stored_attributions(client: TestClient) -> None:
    r = client.post("/v1/explain", json={"text": "SUBJ STATING HE WANTS TO KILL HIMSELF"}, headers=AUD)
    assert r.status_code == 200
    login(client)
    pid = api_predictions(client, endpoint="explain")[0]["id"]
    html = client.get(f"/console/predictions/{pid}").text
    assert 'data-source="stored"' in html and "<mark class=\"pos-5\"" in html


# ------------------------------------------------------------------------------------------ reviews


def test_a_review_is_saved_through_the_review_api_code_path(auditor: TestClient,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = audit_api.post_review

    def spy(prediction_id: int, *args: Any, **kwargs: Any) -> Any:
        calls.append(prediction_id)
        return original(prediction_id, *args, **kwargs)

    monkeypatch.setattr(audit_api, "post_review", spy)
    quiet = api_predictions(auditor, decision=False)[0]
    page = auditor.get(f"/console/predictions/{quiet['id']}", params={"label": "", "reviewed": "no"})
    form = {"csrf": hidden(page.text, "csrf"), "verdict": "disagree", "label": ["behavioral_health"],
            "comment": "caller JOHN SMITH 608-555-0142 says neighbour is in crisis",
            "back": hidden(page.text, "back").replace("&amp;", "&")}
    r = auditor.post(f"/console/predictions/{quiet['id']}/review", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith(f"/console/predictions/{quiet['id']}?") and "saved=1" in \
        r.headers["location"] and "reviewed=no" in r.headers["location"]
    assert calls == [quiet["id"]]
    detail = auditor.get(f"/v1/audit/predictions/{quiet['id']}", headers=AUD).json()
    review = detail["reviews"][0]
    assert review["verdict"] == "disagree" and review["reviewer_key_id"] == "auditor-key"
    assert review["labels"] == {n: int(n == "behavioral_health") for n in LABELS}
    assert "608-555-0142" not in review["comment"] and "SMITH" not in review["comment"]
    shown = auditor.get(r.headers["location"]).text
    assert "Review saved." in shown and "says neighbour is in crisis" in shown and "608-555-0142" not in shown

    # the API's rules hold: agree with labels that differ from the model's is refused, nothing is stored
    flagged = api_predictions(auditor, decision=True)[0]
    wrong = {"csrf": form["csrf"], "verdict": "agree", "label": []}
    r = auditor.post(f"/console/predictions/{flagged['id']}/review", data=wrong, follow_redirects=False)
    assert r.status_code == 422 and 'data-code="invalid_value"' in r.text
    # and a forged token stores nothing
    r = auditor.post(f"/console/predictions/{flagged['id']}/review", data={**wrong, "csrf": "x"})
    assert r.status_code == 403
    assert [p["id"] for p in api_predictions(auditor, reviewed=True)] == [quiet["id"]]
    bad = auditor.post(f"/console/predictions/{flagged['id']}/review",
                       data={"csrf": form["csrf"], "verdict": "agree", "label": ["not_a_label"]})
    assert bad.status_code == 422


def test_the_queue_walks_the_review_queue_in_order(auditor: TestClient) -> None:
    order = [i["prediction"]["id"] for i in auditor.get("/v1/audit/queue", headers=AUD).json()["items"]]
    assert len(order) == len(NOTES)
    r = auditor.get("/console/queue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/console/predictions/{order[0]}?mode=queue")
    page = auditor.get(r.headers["location"])
    assert 'id="queue-why"' in page.text
    # n skips to the next one
    skip = re.search(r'href="(/console/queue\?skip=[^"]+)" id="next"', page.text)
    assert skip is not None
    r = auditor.get(skip.group(1).replace("&amp;", "&"), follow_redirects=False)
    assert r.headers["location"].startswith(f"/console/predictions/{order[1]}?")
    # reviewing goes on to the next one; after the last, the queue says it is empty
    csrf = hidden(page.text, "csrf")
    flags = {p["id"]: p["flags"] for p in api_predictions(auditor)}
    for pid in order:
        detail = auditor.get(f"/console/predictions/{pid}", params={"mode": "queue"})
        form = {"csrf": csrf, "verdict": "agree", "label": flags[pid],
                "back": hidden(detail.text, "back").replace("&amp;", "&")}
        r = auditor.post(f"/console/predictions/{pid}/review", data=form, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/console/queue"), r.text
    assert 'id="queue-empty"' in auditor.get("/console/queue").text
    assert len(api_predictions(auditor, reviewed=True)) == len(NOTES)


# ------------------------------------------------------------------------------------------ dashboard


def test_the_dashboard_shows_volume_agreement_and_calibration(auditor: TestClient) -> None:
    html = auditor.get("/console/dashboard").text
    assert 'id="kpi-predictions">4<' in html and 'data-testid="agreement-overall">—<' in html
    everything = api_predictions(auditor)
    csrf = hidden(html, "csrf")
    agree, disagree = everything[0], everything[1]
    r1 = auditor.post(f"/console/predictions/{agree['id']}/review",
                      data={"csrf": csrf, "verdict": "agree", "label": agree["flags"]})
    flipped = [n for n in LABELS if (n in disagree["flags"]) != (n == "violence_risk")]
    r2 = auditor.post(f"/console/predictions/{disagree['id']}/review",
                      data={"csrf": csrf, "verdict": "disagree", "label": flipped})
    assert r1.status_code == r2.status_code == 200
    html = auditor.get("/console/dashboard").text
    stats = auditor.get("/v1/audit/stats", headers=AUD).json()
    assert stats["agreement_rate"] == 0.5
    assert 'data-testid="agreement-overall">50.0%<' in html and 'id="kpi-reviewed">2<' in html
    violence = stats["by_label"]["violence_risk"]
    assert f'data-label="violence_risk">{100 * violence["agreement_rate"]:.1f}%' in html
    block = re.search(r'id="dashboard-data">(.*?)</script>', html, re.S)
    assert block is not None
    data = json.loads(block.group(1))
    assert sum(data["volume"]["total"]) == 4
    assert list(data["agreement"]) == [everything[0]["model_version"]]
    assert sum(p["n"] for p in data["calibration"]["violence_risk"]) == 2
    assert data["volume"]["by_label"].keys() == set(LABELS)
    assert auditor.get("/console/dashboard", params={"days": 0}).status_code == 422


# ------------------------------------------------------------------------------------------ safety of pages


def _every_page(client: TestClient) -> list[str]:
    ids = [p["id"] for p in api_predictions(client)]
    pages = [client.get("/console/predictions").text, client.get("/console/dashboard").text,
             client.get("/console/queue").text]
    for pid in ids:
        pages += [client.get(f"/console/predictions/{pid}", params={"show": name}).text for name in LABELS]
    return pages


def test_no_page_shows_raw_text(client: TestClient) -> None:
    classify(client, PII_NOTE)
    r = client.post("/v1/explain", json={"text": PII_NOTE["text"]}, headers=AUD)
    assert r.status_code == 200
    login(client)
    pages = _every_page(client)
    assert any("[NAME]" in page and "[PHONE]" in page for page in pages)
    for page in pages:
        for value in (*PII_VALUES, KEYS["auditor"]):
            assert value not in page, value


def test_note_html_is_shown_inert(client: TestClient) -> None:
    note = {"text": "<script>alert('x')</script> SUBJ WANTS TO KILL HIMSELF <img src=x onerror=alert(1)>",
            "call_id": "<b>c</b>"}
    classify(client, note)
    login(client)
    for page in _every_page(client):
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>c</b>" not in page
        assert not re.search(r"<script(?![^>]*(src=\"/console/static/|type=\"application/json\"))", page)
    pid = api_predictions(client)[0]["id"]
    html = client.get(f"/console/predictions/{pid}").text
    shown = re.search(r'<p class="note" id="note"[^>]*>(.*?)</p>', html, re.S)
    assert shown is not None and "<mark" in shown.group(1)
    note_html = re.sub(r"</?mark[^>]*>", "", shown.group(1))  # the highlighted words, unwrapped
    assert note_html.startswith("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
    assert note_html.endswith("&lt;img src=x onerror=alert(1)&gt;")
    assert "&lt;b&gt;c&lt;/b&gt;" in html


def test_vendored_chartjs_is_the_npm_file_with_its_license() -> None:
    vendored = CONSOLE / "static" / "vendor" / "chart.umd.min.js"
    readme = (CONSOLE / "static" / "vendor" / "README.md").read_text()
    assert hashlib.sha256(vendored.read_bytes()).hexdigest() in readme
    assert vendored.read_text()[:120].startswith("/*!\n * Chart.js v4.") and "MIT" in vendored.read_text()[:200]
    assert (CONSOLE / "static" / "vendor" / "chart.js-LICENSE.md").read_text().startswith("The MIT License")


def test_static_files_are_served_and_nothing_else(client: TestClient) -> None:
    for name in console_routes.STATIC:
        r = client.get(f"/console/static/{name}")
        assert r.status_code == 200 and r.content == console_routes.STATIC[name][0].read_bytes()
    for bad in ("../routes.py", "vendor/README.md", "%2e%2e/sessions.py", "templates/base.html"):
        assert client.get(f"/console/static/{bad}").status_code == 404
    for template in (CONSOLE / "templates").glob("*.html"):  # no inline script or style: the CSP forbids it
        text = template.read_text()
        assert not re.search(r"<script>(?!</script>)", text) and " style=" not in text and "<style" not in text


def test_an_overlong_comment_is_refused_with_a_page(auditor: TestClient) -> None:
    pred = api_predictions(auditor)[0]
    r = auditor.post(f"/console/predictions/{pred['id']}/review",
                     data={"csrf": csrf_of(auditor), "verdict": "agree", "label": pred["flags"],
                           "comment": "x" * 2001})
    assert r.status_code == 422 and 'data-code="invalid_value"' in r.text and "comment" in r.text
    assert not api_predictions(auditor, reviewed=True)


def test_n_walks_the_filtered_list_and_the_console_root_redirects(auditor: TestClient) -> None:
    assert auditor.get("/console", follow_redirects=False).headers["location"] == "/console/predictions"
    flagged = [p["id"] for p in api_predictions(auditor, decision=True)]
    assert len(flagged) >= 2
    page = auditor.get(f"/console/predictions/{flagged[0]}", params={"decision": "flagged"}).text
    link = re.search(r'href="([^"]+)" id="next"', page)
    assert link is not None
    r = auditor.get(link.group(1).replace("&amp;", "&"), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/console/predictions/{flagged[1]}?")
    last = auditor.get(f"/console/predictions/{flagged[-1]}/next", params={"decision": "flagged"},
                       follow_redirects=False)
    assert last.headers["location"] == "/console/predictions?decision=flagged"


def test_same_origin_compares_hosts() -> None:
    from starlette.requests import Request

    from divert.serving.console.sessions import same_origin

    def request(origin: str | None) -> Request:
        hdrs = [(b"host", b"console.example:8443")] + ([(b"origin", origin.encode())] if origin else [])
        return Request({"type": "http", "method": "POST", "path": "/console/logout", "headers": hdrs,
                        "scheme": "http", "server": ("console.example", 8443), "query_string": b""})

    assert same_origin(request(None)) and same_origin(request("https://console.example:8443"))
    for bad in ("https://evil.example", "null", "https://console.example", "file://console.example:8443"):
        assert not same_origin(request(bad)), bad


# ------------------------------------------------------------------------------------------ console queries


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    from sqlalchemy import create_engine, text

    from divert.serving.audit.store import AuditStore

    url = f"sqlite:///{tmp_path / 'audit.db'}"
    if request.param == "postgres":
        url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        try:
            engine = create_engine(url, connect_args={"connect_timeout": 2})
            with engine.begin() as conn:
                for table in ("audit_reviews", "audit_predictions", "audit_alembic_version"):
                    conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
            engine.dispose()
        except Exception as exc:
            pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432 database test ({type(exc).__name__})")
    s = AuditStore(url)
    s.migrate()
    yield s
    s.dispose()


def test_console_queries_count_volume_and_calibration(store: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from divert.serving.audit.models import Prediction
    from divert.serving.audit.store import flags_column
    from divert.serving.console import queries

    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def pred(i: int, created: datetime, scores: dict[str, float], rec: str | None, version: str) -> Prediction:
        scores = {n: scores.get(n, 0.05) for n in LABELS}
        decisions = {n: s >= 0.5 for n, s in scores.items()}
        return Prediction(request_id=f"r{i}", item_index=0, endpoint="classify", created_at=created, key_id="k",
                          call_id=None, model_name="m", model_version=version, policy_version="p", input_kind="text",
                          text_redacted=f"NOTE {i}", text_hash=f"{i:064x}", redactions={}, scores=scores,
                          thresholds={n: 0.5 for n in LABELS}, decisions=decisions, flags=flags_column(decisions),
                          recommendation=rec, recommendation_detail=None, explanation=None, latency_ms=1.0)

    ids = store.record([
        pred(1, now - timedelta(hours=1), {"suicide_risk": 0.85, "behavioral_health": 0.9}, "crisis_team", "m@2"),
        pred(2, now - timedelta(hours=1), {"suicide_risk": 0.15}, None, "m@2"),
        pred(3, now - timedelta(days=2), {"violence_risk": 0.7}, "police", "m@1"),
    ])
    choices = queries.filter_choices(store)
    assert choices.model_versions == ["m@1", "m@2"]
    assert choices.recommendations == ["crisis_team", "police", "none"]

    vol = queries.volume(store, now - timedelta(days=3), now)
    assert vol["granularity"] == "day" and vol["buckets"] == ["2025-02-26", "2025-02-27", "2025-02-28", "2025-03-01"]
    assert vol["total"] == [0, 1, 0, 2] and vol["count"] == 3  # two days before noon is the 27th
    assert vol["by_label"]["suicide_risk"] == [0, 0, 0, 1] and vol["by_label"]["violence_risk"] == [0, 1, 0, 0]
    assert vol["by_recommendation"] == {"crisis_team": [0, 0, 0, 1], "none": [0, 0, 0, 1], "police": [0, 1, 0, 0]}
    hourly = queries.volume(store, now - timedelta(hours=3), now)
    assert hourly["granularity"] == "hour" and hourly["total"] == [0, 0, 2]

    store.add_review(ids[0], reviewer="a", verdict="agree", labels={n: int(n in ("suicide_risk", "behavioral_health"))
                                                                    for n in LABELS}, comment=None)
    store.add_review(ids[1], reviewer="a", verdict="disagree", labels={n: int(n == "suicide_risk") for n in LABELS},
                     comment=None)
    calib = queries.calibration(store)
    assert calib["reviewed"] == 2
    bins = {b["bin"]: b for b in calib["labels"]["suicide_risk"] if b["n"]}
    assert set(bins) == {1, 8}
    assert bins[8]["n"] == 1 and bins[8]["mean_score"] == pytest.approx(0.85) and bins[8]["positive_rate"] == 1.0
    assert bins[1]["positive_rate"] == 1.0  # scored 0.15, but the reviewer says suicide risk
    behavioral = {b["bin"]: b["positive_rate"] for b in calib["labels"]["behavioral_health"] if b["n"]}
    assert behavioral == {0: 0.0, 9: 1.0}


def test_a_store_that_is_down_gives_a_503_page(tiny_tfidf_bundle: Path) -> None:
    settings = make_settings(tiny_tfidf_bundle, audit_url="postgresql://postgres@127.0.0.1:1/test",
                             audit_required=False)
    with TestClient(create_app(settings)) as c:
        assert login(c).status_code == 303
        for path in ("/console/predictions", "/console/dashboard", "/console/queue", "/console/predictions/1"):
            r = c.get(path)
            assert r.status_code == 503 and 'data-code="audit_unavailable"' in r.text, path
