"""The review console in headless Chromium (Debian's `chromium`, driven by Playwright through `executable_path`;
`scripts/install_browser.sh` installs both). The real app runs under uvicorn on a free port with a tiny TF-IDF
model and a SQLite audit store; predictions are recorded through the API. The test logs in with the auditor key,
filters, opens a prediction and sees its highlighted words, reviews with the keyboard, and sees the agreement
rate change on the dashboard. A screenshot of each page goes to test-artifacts/console/."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from serving_fixtures import CALL_TIME, KEYS, headers, make_settings, wait_for_audit

from divert.serving.app import create_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "console"
NOTES = [
    {"text": "SUBJ STATING HE WANTS TO KILL HIMSELF HAS A KNIFE", "call_id": "b-1"},
    {"text": "caller says her son is threatening suicide, took pills, hard to wake", "call_id": "b-2"},
    {"text": "LOUD MUSIC NEXT DOOR NOISE COMPLAINT", "call_id": "b-3"},
    {"text": "RP ADV BROTHER OFF HIS MEDS TALKING TO PEOPLE WHO ARENT THERE NO WPNS", "call_id": "b-4"},
    {"text": "DV IN PROGRESS HUSBAND HITTING WIFE", "call_id": "b-5"},
    {"text": "MALE NOT BREATHING CPR IN PROGRESS", "call_id": "b-6"},
    {"text": "RP JOHN SMITH SAYS FEMALE SAYS SHE IS GOING TO END HER LIFE CB 608-555-0142", "call_id": "b-7"},
]
PII = ("JOHN SMITH", "608-555-0142")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tiny_tfidf_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    db = tmp_path_factory.mktemp("console-browser") / "audit.db"
    app = create_app(make_settings(tiny_tfidf_bundle, audit_url=f"sqlite:///{db}"))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, name="console-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        yield base
    finally:
        srv.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def recorded(server: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=server, timeout=30) as client:
        for note in NOTES:
            r = client.post("/v1/classify", json={**note, "context": {"time": CALL_TIME}}, headers=headers("cad"))
            assert r.status_code == 200, r.text
        items = wait_for_audit(client)
    assert len(items) == len(NOTES)
    return items


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/install_browser.sh")
    sync_api = pytest.importorskip("playwright.sync_api", reason="run scripts/install_browser.sh")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                              args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_an_auditor_logs_in_filters_reviews_and_sees_agreement_change(server: str, recorded: list[dict[str, Any]],
                                                                       browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    problems: list[str] = []  # script errors and CSP violations show up here
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    seen_html: list[str] = []

    # not logged in: the console sends the browser to its login page; a CAD key is refused there
    page.goto(f"{server}/console/predictions")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    page.fill("#api_key", KEYS["cad"])
    page.click("#login")
    expect(page.locator(".banner.error")).to_contain_text("does not have the auditor role")
    assert problems == ["console: Failed to load resource: the server responded with a status of 403 (Forbidden)"]
    problems.clear()  # that refusal was the expected one
    page.fill("#api_key", KEYS["auditor"])
    shot(page, "login")
    page.click("#login")
    expect(page).to_have_url(re.compile(r"/console/predictions$"))
    cookie = next(c for c in context.cookies() if c["name"] == "divert_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    expect(page.locator("#predictions tbody tr")).to_have_count(len(NOTES))
    shot(page, "predictions")
    seen_html.append(page.content())

    # filter: suicide_risk flagged
    expected = [p for p in recorded if "suicide_risk" in p["flags"]]
    assert expected
    page.select_option("#f-label", "suicide_risk")
    page.select_option("#f-decision", "flagged")
    page.click("#apply-filters")
    expect(page).to_have_url(re.compile(r"label=suicide_risk"))
    expect(page.locator("#predictions tbody tr")).to_have_count(len(expected))
    shot(page, "predictions-filtered")

    # open the first row: the note with highlighted words, scores, recommendation
    first = expected[0]
    page.click(f'#predictions tr[data-id="{first["id"]}"] a.open')
    expect(page).to_have_url(re.compile(rf"/console/predictions/{first['id']}\?"))
    marks = page.locator("#note mark")
    assert marks.count() > 0
    expect(page.locator("#note mark.pos-5").first).to_be_visible()
    strongest = page.locator("#note mark.pos-5").first.inner_text()
    assert strongest and strongest in first["text_redacted"]
    expect(page.locator("#scores tbody tr")).to_have_count(5)
    expect(page.locator("#explanation-source")).to_have_attribute("data-source", "computed_on_redacted_text")
    expect(page.locator("#reasons li").first).to_be_visible()
    shot(page, "prediction")
    seen_html.append(page.content())

    # the dashboard before any review
    page.click("#nav-dashboard")
    expect(page.locator("#agreement-overall")).to_have_text("—")
    seen_html.append(page.content())

    # review with the keyboard: ? shows the help, a agrees
    page.go_back()
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    shot(page, "shortcuts")
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()
    page.keyboard.press("a")
    expect(page.locator(".banner.notice")).to_have_text("Review saved.")
    expect(page.locator("#reviews tbody tr")).to_have_count(1)

    page.click("#nav-dashboard")
    expect(page.locator("#agreement-overall")).to_have_text("100.0%")

    # next to review: toggle label 3 and disagree (d); the queue moves on to the next prediction
    page.click("#nav-queue")
    expect(page).to_have_url(re.compile(r"mode=queue"))
    expect(page.locator("#queue-why")).to_be_visible()
    queued_url = page.url
    shot(page, "queue")
    was_checked = page.locator("#label-3").is_checked()
    page.keyboard.press("3")
    assert page.locator("#label-3").is_checked() != was_checked
    page.fill("#comment", "tested in the browser")
    page.locator("#comment").press("Escape")
    page.keyboard.press("d")
    page.wait_for_url(lambda url: url != queued_url and "mode=queue" in url)

    page.click("#nav-dashboard")
    expect(page.locator("#agreement-overall")).to_have_text("50.0%")
    expect(page.locator("#kpi-reviewed")).to_have_text("2")
    page.wait_for_function("() => [...document.querySelectorAll('canvas')].every(c => c.width > 0)")
    shot(page, "dashboard")
    seen_html.append(page.content())

    with httpx.Client(base_url=server) as client:
        stats = client.get("/v1/audit/stats", headers=headers("auditor")).json()
    assert stats["reviewed"] == 2 and stats["agreement_rate"] == 0.5

    # logout ends the session
    page.click("#logout")
    expect(page).to_have_url(re.compile(r"/console/login$"))
    page.goto(f"{server}/console/dashboard")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))

    for html in seen_html:
        for value in PII:
            assert value not in html
    assert problems == []
    for name in ("login", "predictions", "predictions-filtered", "prediction", "shortcuts", "queue", "dashboard"):
        assert (SHOTS / f"{name}.png").stat().st_size > 1000
    context.close()
