"""The embeddable recommendation widget in headless Chromium against a real server on the demo store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import serve_in_thread

from api.app import create_app
from api.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = "/usr/bin/chromium"
WIDGET = "w-pub"  # the publishable widget key (issue 14)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """A real server over the demo store (its recommender trained at start-up), base URL and app."""
    from knowledge.embedder import HashingEmbedder

    settings = Settings(data_dir=tmp_path_factory.mktemp("widget"), embedding_model="hashing", api_key_widget=WIDGET)
    app = create_app(settings, embedder=HashingEmbedder(256))
    with serve_in_thread(app) as port:
        yield f"http://127.0.0.1:{port}", app


@pytest.fixture(scope="module")
def page(server: tuple[str, Any]) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser.new_page()
        browser.close()


def test_widget_renders_the_viewers_list(server: tuple[str, Any], page: Any) -> None:
    """The demo page's widget shows exactly the API's items for a known viewer in a room, in order, with titles."""
    base, app = server
    service = app.state.services.recommender
    user = str(service.model.data.user_ids[1])
    expected = [r.item_id for r in service.recommend(user, k=5, room=None)]
    page.goto(f"{base}/widget/demo?key={WIDGET}&user={user}&k=5")
    page.wait_for_selector(".cuecard-rec", timeout=15_000)
    shown = page.eval_on_selector_all(".cuecard-rec", "els => els.map(e => e.dataset.itemId)")
    assert shown == expected
    titles = page.eval_on_selector_all(".cuecard-title", "els => els.map(e => e.textContent)")
    assert all(titles) and titles[0] == app.state.services.store.get_product(expected[0])["title"]


def test_widget_shows_related_items_and_errors(server: tuple[str, Any], page: Any) -> None:
    """With a product it shows related items; an unknown product shows the API's reason instead of a list."""
    base, _ = server
    page.goto(f"{base}/widget/demo?key={WIDGET}&product=p001&k=3")
    page.wait_for_selector(".cuecard-rec", timeout=15_000)
    assert 1 <= page.locator(".cuecard-rec").count() <= 3
    page.goto(f"{base}/widget/demo?key={WIDGET}&product=nope")
    page.wait_for_selector(".cuecard-error", timeout=15_000)
    assert "nope" in page.text_content(".cuecard-error")
