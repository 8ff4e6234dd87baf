"""The web page in a real headless Chromium: paste an article, click, see tagged sentences."""

from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from conftest import SEEDS
from service import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed and could not be installed here "
    "(make test installs Debian's chromium when it runs as root with apt-get)")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture
def live_server(full_registry):
    server = make_server("127.0.0.1", 0, create_app({"REGISTRY": str(full_registry.root)}),
                         threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_paste_click_and_see_highlighted_sentences(live_server, tagger):
    from playwright.sync_api import sync_playwright

    article = sorted(SEEDS.iterdir())[4].read_text(encoding="utf-8")
    expected = tagger.tag_article(article)
    tagged = [s for s in expected["sentences"] if s["topics"]]
    assert tagged, "the seed article should have tagged sentences"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(live_server)
            page.wait_for_function(
                "document.getElementById('model-version').textContent !== 'loading…'")
            assert page.inner_text("#model-version") == tagger.version
            page.fill("#article", article)
            page.click("#tag-button")
            page.wait_for_selector("#result:not([hidden])")
            items = page.locator("#sentences li")
            assert items.count() == len(expected["sentences"])
            highlighted = page.locator("#sentences .sentence.tagged")
            assert highlighted.count() == len(tagged)
            assert highlighted.first.inner_text() == tagged[0]["text"]
            first_topic = tagged[0]["topics"][0]
            assert page.locator(f"#sentences .tag[data-topic='{first_topic}']").count() >= 1
            assert tagged[0]["evidence"][first_topic][0] in page.inner_text("#sentences")
            article_topics = page.inner_text("#article-topics")
            for topic in expected["article"]["topics"]:
                assert f"✔ {topic}" in article_topics
        finally:
            browser.close()
