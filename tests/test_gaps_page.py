"""The dashboard's knowledge-gaps panel in headless Chromium (Debian's) against a real server: a gap of the room
is listed with its count, samples, products and times in Chinese (English on request); typing an answer and pressing the
button stores the FAQ document and the gap leaves the panel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_fakes import seed_room
from servers import serve_in_thread

from api.app import create_app
from api.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = "/usr/bin/chromium"
KEYS = {"ingest": "gp-ingest", "host": "gp-host", "bot": "gp-bot", "admin": "gp-admin"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """A real server over a store with room r1, and its app."""
    from knowledge.embedder import HashingEmbedder

    settings = Settings(data_dir=tmp_path_factory.mktemp("gaps-page"), load_demo=False, embedding_model="hashing",
                        **{f"api_key_{r}": k for r, k in KEYS.items()})
    app = create_app(settings, embedder=HashingEmbedder(256))
    with serve_in_thread(app) as port:
        seed_room(app.state.services.store)
        yield f"http://127.0.0.1:{port}", app


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium through Playwright (skipped when it is not installed)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def test_gap_panel_lists_and_answers_a_gap(server: tuple[str, Any], browser: Any) -> None:
    """Two wordings of one gap → "被问 2 次" with the other wording and product p1; answering it from the page
    stores gap-<id> as an FAQ and empties the panel."""
    base, app = server
    gaps = app.state.services.extras["gaps"].gaps
    gid = gaps.record("r1", "可以刻字吗", "text:可以刻字吗", "p1")
    gaps.record("r1", "能刻字不", "text:可以刻字吗", "p1")
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(f"{base}/dashboard/r1?key={KEYS['host']}&lang=zh-CN")
    item = page.locator(f"#gaps .gap[data-gap-id='{gid}']")
    item.wait_for(timeout=15_000)
    assert page.locator("#gaps .gaps-count").inner_text() == "1 个待补缺口"
    assert item.locator(".gap-question").inner_text() == "可以刻字吗"
    assert "被问 2 次" in item.locator(".gap-asked").inner_text()
    assert "能刻字不" in item.locator(".gap-samples").inner_text()
    assert "p1" in item.locator(".gap-products").inner_text() and "首次" in item.locator(".gap-seen").inner_text()
    item.locator("textarea").fill("支持免费刻字，下单备注内容即可。")
    item.locator("button").click()
    page.wait_for_function("document.querySelector('#gaps .gap-status')?.textContent === '已保存为常见问题'",
                           timeout=10_000)
    page.wait_for_selector("#gaps .gaps-empty", timeout=10_000)
    doc = httpx.get(f"{base}/kb/documents/gap-{gid}", headers={"X-API-Key": KEYS["host"]}).json()
    assert doc["kind"] == "faq" and doc["text"] == "支持免费刻字，下单备注内容即可。"
    page.goto(f"{base}/dashboard/r1?key={KEYS['host']}&lang=en")
    page.wait_for_selector("#gaps .gaps-empty", timeout=10_000)
    assert page.locator("#gaps .gaps-count").inner_text() == "0 open gaps"
    page.close()
