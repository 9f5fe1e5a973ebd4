"""End to end in headless Chromium: chat through the widget on the demo page, click a recommendation,
ask for a person, and have the operator console take over and answer. Set KEFU_SCREENSHOTS=1 to refresh docs/img/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("KEFU_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="needs Playwright's Python package (pip install playwright)"
)
if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
    pytest.skip(
        f"needs Chromium at {CHROMIUM} (Debian: apt-get install -y chromium)", allow_module_level=True
    )


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _send(widget, text: str, expect: str) -> None:
    widget.locator("textarea").fill(text)
    widget.locator(".send").click()
    sync_api.expect(widget.locator(".msg.assistant").last).to_contain_text(expect, timeout=15000)


def test_widget_handoff_and_console_takeover(live, kit, browser):
    server = live()
    shots = os.environ.get("KEFU_SCREENSHOTS") == "1"
    errors: list[str] = []

    shop = browser.new_page(viewport={"width": 1200, "height": 800})
    shop.on("pageerror", lambda e: errors.append(str(e)))
    shop.goto(f"{server.url}/demo")
    widget = shop.locator("#kefu-widget")
    widget.locator(".launcher").click()
    sync_api.expect(widget.locator(".panel")).to_be_visible()

    _send(widget, "hi, where is my order #W7678072?", "email")
    _send(widget, kit.NOAH_EMAIL, "Tracking number")
    _send(widget, "can you recommend something?", "You might also like")
    cards = widget.locator(".card")
    assert cards.count() >= 2
    shown = cards.count()
    # clicking a card asks about that product and counts the suggestion as taken up
    card = cards.first
    name = card.locator(".name").inner_text()
    answers = widget.locator(".msg.assistant[data-id]")
    answered = answers.count()
    card.click()
    sync_api.expect(widget.locator(".msg.customer").last).to_have_text(f"Tell me more about the {name}")
    # the earlier suggestion also names the product: wait for the answer to this question
    sync_api.expect(answers).to_have_count(answered + 1, timeout=15000)
    sync_api.expect(widget.locator(".msg.assistant").last).to_contain_text(name, timeout=15000)
    sync_api.expect(widget.locator(".msg.assistant").last).to_contain_text("$")
    widget.locator(".msg.assistant .rate button[data-score='up']").last.click()
    sync_api.expect(widget.locator(".msg.assistant .rate button.on").last).to_be_visible()
    if shots:
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shop.screenshot(path=str(DOCS_IMG / "widget.png"))

    widget.locator(".person").click()
    sync_api.expect(widget.locator(".msg.system").last).to_contain_text("person", timeout=10000)
    sync_api.expect(widget.locator(".status")).to_have_text("waiting for a person")

    console = browser.new_page(viewport={"width": 1300, "height": 850})
    console.on("pageerror", lambda e: errors.append(str(e)))
    console.goto(f"{server.url}/console")
    console.locator("#key").fill(kit.OPERATOR_KEY)
    console.locator("#login-form button").click()
    sync_api.expect(console.locator("#me")).to_have_text("Signed in as alice")
    entry = console.locator(".list li[data-session]").first
    sync_api.expect(entry).to_contain_text(kit.NOAH, timeout=10000)
    entry.click()
    sync_api.expect(console.locator("#transcript")).to_contain_text("find_user_id_by_email")
    console.locator("#take").click()
    sync_api.expect(console.locator("#reply-form")).to_be_visible()
    console.locator("#reply-text").fill("Hi Noah, Alice here. How can I help?")
    console.locator("#reply-form button").click()
    sync_api.expect(console.locator("#transcript .m.operator")).to_contain_text("Alice here")

    # the customer sees the person's answer in the widget, and the next message goes to the person
    sync_api.expect(widget.locator(".msg.operator")).to_contain_text("Alice here", timeout=10000)
    sync_api.expect(widget.locator(".status")).to_have_text("with a person")
    widget.locator("textarea").fill("Can you waive the return fee?")
    widget.locator(".send").click()
    sync_api.expect(console.locator("#transcript .m.customer").last).to_contain_text("waive", timeout=10000)
    sync_api.expect(console.locator("#analytics")).to_contain_text("escalation rate")
    sync_api.expect(console.locator("#analytics")).to_contain_text(f"suggestions taken (1/{shown})")
    if shots:
        console.screenshot(path=str(DOCS_IMG / "console.png"))

    console.locator("#release").click()
    sync_api.expect(widget.locator(".msg.assistant").last).to_contain_text(
        "back with the assistant", timeout=10000
    )
    _send(widget, "what is the status of order #W7678072?", "delivered")
    assert errors == []


def test_api_docs_render_without_the_internet(live, browser):
    server = live()
    page = browser.new_page()
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith((server.url, "data:")) else elsewhere.append(r.url),
    )
    page.goto(f"{server.url}/docs")
    sync_api.expect(page.locator(".swagger-ui .info .title")).to_contain_text("kefu", timeout=15000)
    sync_api.expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert elsewhere == []
