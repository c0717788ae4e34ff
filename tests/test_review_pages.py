"""The review page and the other pages in headless Chromium (Debian's) against a real server on the demo
store: a demo show recorded over REST renders every review section, Chinese by default and English with
?lang=en; the widget takes its key, theme colours and product images; a screenshot of each page is
written to docs/screenshots/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import serve_in_thread

from api.app import create_app
from api.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = "/usr/bin/chromium"
KEYS = {"ingest": "rp-ingest", "host": "rp-host", "bot": "rp-bot", "admin": "rp-admin", "widget": "rp-widget"}
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
SECTIONS = ("suggestions", "timeline", "products", "question-groups", "gaps", "compliance", "audience")


def h(role: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[role]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, str]]:
    """A real server on the demo store with one recorded demo show: base URL, app, show id."""
    from knowledge.demo import demo_comment_stream
    from knowledge.embedder import HashingEmbedder

    settings = Settings(data_dir=tmp_path_factory.mktemp("review-pages"), embedding_model="hashing",
                        widget_client_per_s=1000.0, **{f"api_key_{r}": k for r, k in KEYS.items()})
    app = create_app(settings, embedder=HashingEmbedder(256))
    with serve_in_thread(app) as port:
        base = f"http://127.0.0.1:{port}"
        lineup = httpx.get(f"{base}/rooms/demo/lineup", headers=h("host")).json()["lineup"]
        show = httpx.post(f"{base}/rooms/demo/shows", json={"title": "演示专场"}, headers=h("host")).json()
        kinds = [p.get("attributes", {}).get("类型", p["title"]) for p in lineup]
        stream = list(demo_comment_stream(kinds, n=600, duration_s=60.0))
        scene = len(stream) // len(lineup) + 1
        for k in range(0, len(stream), 50):
            if k % scene < 50:
                httpx.put(f"{base}/rooms/demo/on-stage", json={"product_id": lineup[(k // scene) % len(lineup)]["id"]},
                          headers=h("host"))
                httpx.post(f"{base}/rooms/demo/stats", json={"viewers": 500 + k}, headers=h("ingest"))
            batch = [{"comment_id": c["comment_id"], "user_id": c["user_id"], "text": c["text"], "ts": time.time()}
                     for c in stream[k:k + 50]]
            assert httpx.post(f"{base}/rooms/demo/comments", json={"comments": batch}, headers=h("ingest")).status_code == 200
            time.sleep(0.3)
        httpx.post(f"{base}/events", json={"events": [{"kind": "impression", "item_id": lineup[0]["id"], "room_id": "demo"}] * 5},
                   headers=h("widget"))
        live = app.state.services.live
        deadline = time.time() + 60
        while live.counters["analysed"] < len(stream) and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(2.0)  # the answer thread's talking points
        httpx.post(f"{base}/rooms/demo/shows/{show['id']}/end", headers=h("host"))
        yield base, app, show["id"]


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


def test_review_page_renders_every_section_in_chinese(server: tuple[str, Any, str], browser: Any) -> None:
    """The demo show's review page has every section, charts drawn, Chinese labels, and the right comment count."""
    base, app, show_id = server
    review = httpx.get(f"{base}/rooms/demo/shows/{show_id}/review", headers=h("host")).json()
    assert review["show"]["comments"] == 600 and review["show"]["ended"]
    assert len(review["timeline"]["bands"]) >= 2 and review["question_groups"]
    page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    page.goto(f"{base}/review/demo/{show_id}?key={KEYS['host']}")
    for section in SECTIONS:
        assert page.locator(f"section#{section} h2").is_visible(), section
    assert page.locator("#review-title").inner_text().startswith("直播复盘")
    assert page.locator("section#gaps h2").inner_text() == "知识库缺口"
    assert page.locator("#chart-timeline rect").count() > 5 and page.locator("#chart-timeline rect.band").count() >= 2
    assert page.locator("#chart-audience polyline").count() == 1
    assert page.locator("section#products tbody tr").count() == len(review["products"])
    assert page.locator("ol.suggestions li").count() == len(review["suggestions"])
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "review.png"), full_page=True)
    page.goto(f"{base}/review/demo/{show_id}?key={KEYS['host']}&lang=en")
    assert page.locator("#review-title").inner_text().startswith("Show review")
    assert page.locator("section#gaps h2").inner_text() == "Knowledge gaps"
    page.close()


def test_review_file_opens_offline(server: tuple[str, Any, str], browser: Any, tmp_path: Path) -> None:
    """The page saved to a file renders the same sections from file:// with the network cut off."""
    base, _, show_id = server
    html = httpx.get(f"{base}/review/demo/{show_id}?key={KEYS['host']}").text
    path = tmp_path / "review.html"
    path.write_text(html, encoding="utf-8")
    context = browser.new_context(offline=True)
    page = context.new_page()
    page.goto(path.as_uri())
    assert all(page.locator(f"section#{s}").count() == 1 for s in SECTIONS)
    assert page.locator("#chart-timeline rect").count() > 5
    context.close()


def test_live_pages_and_widget_screenshots(server: tuple[str, Any, str], browser: Any) -> None:
    """Teleprompter and dashboard in Chinese; the widget with the widget key, theme colours and an image."""
    base, app, _ = server
    store = app.state.services.store
    service = app.state.services.recommender
    user = str(service.model.data.user_ids[1])
    first = service.recommend(user, k=4, room=None)[0].item_id
    attrs = dict(store.get_product(first)["attributes"])
    store.update_product(first, attributes={**attrs, "image_url": f"{base}/static/i18n/zh-CN.json"})
    service.invalidate_catalog()  # the recommender caches catalogue rows for a few seconds
    page = browser.new_page(viewport={"width": 1100, "height": 800}, locale="zh-CN")
    page.goto(f"{base}/teleprompter/demo?key={KEYS['host']}")
    page.wait_for_selector("#status.live")
    assert page.locator("#status").inner_text() == "直播中"
    page.screenshot(path=str(SHOTS / "teleprompter.png"), full_page=True)
    page.goto(f"{base}/dashboard/demo?key={KEYS['host']}")
    page.wait_for_selector("#status.live")
    assert page.locator("[data-i18n='dashboard.kpi_subs']").inner_text() == "已连接的屏幕和机器人"
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
    page.goto(f"{base}/widget/demo?key={KEYS['widget']}&user={user}&k=4&accent=%230a7&background=%23fffbe6")
    page.wait_for_selector(".cuecard-rec", timeout=15_000)
    assert page.locator(".cuecard-rec").first.get_attribute("data-item-id") == first
    assert page.locator(".cuecard-rec img.cuecard-image").count() == 1
    assert "rgb(0, 170, 119)" in page.locator(".cuecard-reason").first.evaluate("e => getComputedStyle(e).color")
    assert page.locator("h1").inner_text() == "猜你喜欢"
    page.screenshot(path=str(SHOTS / "widget.png"), full_page=True)
    page.goto(f"{base}/widget/demo?user={user}&k=4")  # no key: the widget says why
    page.wait_for_selector(".cuecard-error", timeout=15_000)
    assert "401" in page.text_content(".cuecard-error") or "key" in page.text_content(".cuecard-error")
    page.close()
