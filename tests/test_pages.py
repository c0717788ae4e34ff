"""The teleprompter and dashboard pages in headless Chromium (Debian's), against a real server:
cards appear live, biggest first, one tap marks one done, the on-stage switcher works; the
dashboard charts intents and the complaint rate."""

from __future__ import annotations

import os
import shutil
import time
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
KEYS = {"ingest": "p-ingest", "host": "p-host", "bot": "p-bot", "admin": "p-admin"}
SHOTS = Path(os.environ.get("CUECARD_SCREENSHOTS", "bench/out/screenshots"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """A real server over a store with room r1 (line-up p1..p3), its base URL and its app."""
    from knowledge.embedder import HashingEmbedder

    data = tmp_path_factory.mktemp("pages")
    settings = Settings(data_dir=data, load_demo=False, embedding_model="hashing",
                        **{f"api_key_{r}": k for r, k in KEYS.items()})
    app = create_app(settings, embedder=HashingEmbedder(256))
    with serve_in_thread(app) as port:
        seed_room(app.state.services.store)
        yield f"http://127.0.0.1:{port}", app


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def post(base: str, room: str, texts: list[str], prefix: str) -> None:
    comments = [{"comment_id": f"{prefix}{i}", "user_id": f"{prefix}u{i}", "text": t, "ts": time.time()}
                for i, t in enumerate(texts)]
    r = httpx.post(f"{base}/rooms/{room}/comments", json={"comments": comments}, headers={"X-API-Key": KEYS["ingest"]})
    assert r.status_code == 200, r.text


def test_teleprompter_cards_live_biggest_first_done_and_switcher(server: tuple[str, Any], browser: Any) -> None:
    """Two question groups appear as cards (the bigger first); Done removes one; #2 goes on stage."""
    base, app = server
    page = browser.new_page(viewport={"width": 1024, "height": 768}, device_scale_factor=1, locale="zh-CN")  # a tablet
    page.goto(f"{base}/teleprompter/r1?key={KEYS['host']}")
    page.wait_for_selector("#status.live")
    assert page.locator("#status").inner_text() == "直播中"
    assert page.locator("#stage button").all_inner_texts() == ["#1 商品p1", "#2 商品p2", "#3 商品p3"]
    post(base, "r1", ["包邮吗"] * 2 + ["多少钱"] * 4 + ["1号链接"] * 6, "t")
    page.wait_for_function("document.querySelectorAll('.card.question_group').length >= 2", timeout=20_000)
    page.wait_for_selector(".card.purchase_surge")
    titles = page.locator(".card.question_group .title").all_inner_texts()
    counts = page.locator(".card.question_group .count").all_inner_texts()
    assert titles[:2] == ["多少钱", "包邮吗"] and counts[:2] == ["×4", "×2"]
    assert page.locator(".card.purchase_surge .title").inner_text() == "6 位观众想要 #1 的链接"
    assert page.locator(".card.purchase_surge .kind").inner_text().startswith("想要链接")
    assert page.locator(".card.question_group button.done").first.inner_text() == "完成 ✓"
    assert page.locator(".card").first.get_attribute("class").startswith("card purchase_surge")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "teleprompter.png"), full_page=True)
    page.locator(".card.question_group", has_text="包邮吗").locator("button.done").click()
    page.wait_for_function("![...document.querySelectorAll('.card .title')].some(n => n.textContent === '包邮吗')")
    page.locator("#stage button", has_text="#2").click()
    page.wait_for_selector("#stage button.on >> text=#2")
    assert app.state.services.store.get_room("r1")["on_stage"] == "p2"
    page.close()


def test_dashboard_charts_intents_and_complaint_rate(server: tuple[str, Any], browser: Any) -> None:
    """Comments streaming in show up as intent lines, KPIs and a complaint rate on the dashboard."""
    base, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/dashboard/r1?key={KEYS['host']}&lang=en")
    page.wait_for_selector("#status.live")
    for k in range(4):
        post(base, "r1", ["多少钱"] * 6 + ["假货吧，质量太差了"] * 2 + ["666"] * 4, f"d{k}-")
        time.sleep(1.0)
    page.wait_for_function("Number(document.getElementById('kpi-total').textContent) >= 40", timeout=20_000)
    legend = page.locator("#legend span").all_inner_texts()
    assert "price" in legend
    rate = float(page.locator("#kpi-complaint").inner_text().rstrip("%"))
    assert 0 < rate <= 100
    painted = page.evaluate("""() => { const c = document.getElementById('intents');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""")
    assert painted > 1000
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
    page.close()


def test_pages_without_a_key_say_so(server: tuple[str, Any], browser: Any) -> None:
    """Opened without a key, the teleprompter shows why it cannot connect instead of hanging."""
    base, _ = server
    page = browser.new_page()
    page.goto(f"{base}/teleprompter/r1")
    page.wait_for_function("document.getElementById('status').textContent.includes('401')", timeout=10_000)
    page.close()


def test_chromium_is_the_debian_one() -> None:
    """The page tests drive /usr/bin/chromium, never a downloaded browser."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing")
    assert shutil.which("chromium") == CHROMIUM  # the one on PATH is the Debian package's, nothing else


def test_pages_speak_chinese_by_default_and_english_on_request(server: tuple[str, Any], browser: Any) -> None:
    """With no ?lang= and a Chinese browser the labels are Chinese; ?lang=en or an English browser gets English."""
    base, _ = server
    zh = browser.new_page(locale="zh-CN")
    zh.goto(f"{base}/dashboard/r1?key={KEYS['host']}")
    assert zh.locator("[data-i18n='dashboard.kpi_backlog']").inner_text() == "等待分析"
    assert zh.evaluate("document.documentElement.lang") == "zh-CN"
    zh.goto(f"{base}/teleprompter/r1?key={KEYS['host']}&lang=en")
    assert zh.locator("#room-title").inner_text() != "提词器"
    assert zh.evaluate("t('teleprompter.done')") == "Done ✓"
    zh.close()
    en = browser.new_page(locale="en-US")
    en.goto(f"{base}/dashboard/r1?key={KEYS['host']}")
    assert en.locator("[data-i18n='dashboard.kpi_backlog']").inner_text() == "waiting for analysis"
    en.goto(f"{base}/dashboard/r1?key={KEYS['host']}&lang=zh-CN")
    assert en.evaluate("t('cards.kind.purchase_surge')") == "想要链接"
    en.close()
