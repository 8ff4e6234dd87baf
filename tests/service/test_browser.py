"""The web page in a real headless Chromium: paste an article, click, see tagged sentences."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from conftest import CHROMIUM, CHROMIUM_ARGS, SEEDS, needs_chromium
from service import create_app

pytestmark = needs_chromium


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


REVIEW_TOKEN = "alice-browser-token-42"


@pytest.fixture
def review_server(full_registry, tmp_path):
    """The app with one reviewer (alice) and a store in tmp_path: (base URL, store)."""
    app = create_app({"REGISTRY": str(full_registry.root), "REVIEW_TOKENS":
                      f"alice:{REVIEW_TOKEN}", "REVIEW_DB": str(tmp_path / "r.sqlite3")})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app.extensions["sectag_review"]
    server.shutdown()


def enter_token(page, token: str) -> None:
    page.fill("#token", token)
    page.click("#token-button")


def test_reviewer_token_edit_topics_and_save_corrections(review_server, browser_page, tagger):
    url, store = review_server
    page = browser_page
    page.goto(url)
    page.wait_for_function("document.getElementById('model-version').textContent !== 'loading…'")
    assert page.locator(".editor").count() == 0 and page.is_hidden("#views")
    enter_token(page, "not-the-token")
    page.wait_for_function("document.getElementById('reviewer-status').textContent"
                           ".includes('token not accepted')")
    enter_token(page, REVIEW_TOKEN)
    page.wait_for_function("document.getElementById('reviewer-status').textContent"
                           " === 'Reviewing as alice.'")
    article = sorted(SEEDS.iterdir())[4].read_text(encoding="utf-8")
    expected = tagger.tag_article(article, "Wire report")["sentences"]
    tagged = next(i for i, s in enumerate(expected) if s["topics"])
    untagged = next(i for i, s in enumerate(expected) if not s["topics"])
    removed = expected[tagged]["topics"][0]
    added = next(t for t in tagger.topics if t not in expected[untagged]["topics"])
    page.fill("#title", "Wire report")
    page.fill("#article", article)
    page.click("#tag-button")
    page.wait_for_selector("#result:not([hidden])")
    assert page.locator("#sentences .editor").count() == len(expected)
    assert page.is_disabled("#save-button")
    item = page.locator("#sentences li").nth(tagged)
    item.locator(f".chip[data-topic='{removed}']").click()
    page.locator("#sentences li").nth(untagged).locator(".add-topic").select_option(added)
    assert page.locator("#sentences li.edited").count() == 2
    page.click("#save-button")
    page.wait_for_function("document.getElementById('save-status').textContent"
                           " === 'Saved 2 corrections.'")
    answers = {a.text: a for a in store.answers()}
    assert set(answers) == {expected[tagged]["text"], expected[untagged]["text"]}
    first, second = answers[expected[tagged]["text"]], answers[expected[untagged]["text"]]
    assert removed not in first.topics and set(first.topics) == (
        set(expected[tagged]["topics"]) - {removed})
    assert second.topics == (added,)
    for answer, sentence in ((first, expected[tagged]), (second, expected[untagged])):
        assert answer.reviewer == "alice" and answer.source == "Wire report"
        assert answer.article_id and answer.article_id.startswith("page-")
        assert answer.model_version == tagger.version
        assert answer.model_topics == tuple(sentence["topics"])
    assert first.article_id == second.article_id
    page.reload()  # the token is kept for the browser session
    page.wait_for_function("document.getElementById('reviewer-status').textContent"
                           " === 'Reviewing as alice.'")


def test_review_queue_with_keys(review_server, browser_page, tagger):
    from model.review.store import QueueItem

    url, store = review_server
    texts = ["Egypt will train Libyan police officers in Cairo.",
             "Ministers agreed to reopen the embassy in Tripoli.",
             "Voters in Tunisia went to the polls on Sunday."]
    store.enqueue([QueueItem(t, priority=p, reason="near threshold", source="feed",
                             article_id="q1") for t, p in zip(texts, (0.9, 0.5, 0.1))])
    page = browser_page
    page.goto(url)
    enter_token(page, REVIEW_TOKEN)
    page.wait_for_selector("#views:not([hidden])")
    page.click("#queue-tab")
    page.wait_for_function(f"document.getElementById('queue-text').textContent === {texts[0]!r}")
    assert page.inner_text("#queue-left") == "3 left"
    predicted = tagger.predict([texts[0]])[0]
    assert page.locator("#queue-topics li").count() == len(tagger.topics)
    for topic in predicted.topics:
        assert page.locator(f"#queue-topics li.chosen[data-topic='{topic}']").count() == 1
    first_topic_row = page.inner_text(f"#queue-topics li[data-topic='{tagger.topics[0]}']")
    assert f"{predicted.scores[tagger.topics[0]]:.2f}" in first_topic_row
    page.keyboard.press("1")
    page.keyboard.press("3")
    chosen = set(predicted.topics) ^ {tagger.topics[0], tagger.topics[2]}
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.getElementById('queue-text').textContent === {texts[1]!r}")
    assert page.inner_text("#queue-left") == "2 left"
    (answer,) = store.answers()
    assert answer.text == texts[0] and set(answer.topics) == chosen
    assert (answer.reviewer, answer.source, answer.article_id) == ("alice", "feed", "q1")
    page.keyboard.press("s")
    page.wait_for_function(f"document.getElementById('queue-text').textContent === {texts[2]!r}")
    assert page.inner_text("#queue-left") == "1 left"
    assert [i.text for i in store.next_items("alice", 5)] == [texts[2]]
    assert len(store.answers()) == 1, "a skip saves nothing"
    page.keyboard.press("S")
    page.wait_for_function("document.getElementById('queue-text').textContent"
                           " === 'Nothing left to review.'")
    assert page.inner_text("#queue-left") == "0 left"


def with_actors(body: dict) -> dict:
    """A /v1/tag-article response in the actors spec's shape (whatever the server gave)."""
    libya = {"code": "LBY", "name": "Libya", "type": "country", "alpha2": "LY",
             "mentions": ["Libyan", "Tripoli"]}
    un = {"code": "UN", "name": "United Nations", "type": "organisation", "mentions": ["UN"]}
    for sentence in body["sentences"]:
        sentence["actors"] = []
    body["sentences"][0]["actors"] = [libya, un]
    body["sentences"][1]["actors"] = [{"code": "GBR", "name": "United Kingdom",
                                       "type": "country", "mentions": ["British"]}]
    body["article"]["actors"] = [{"code": "LBY", "name": "Libya", "type": "country",
                                  "sentences": 1},
                                 {"code": "GBR", "name": "United Kingdom", "type": "country",
                                  "sentences": 1},
                                 {"code": "UN", "name": "United Nations",
                                  "type": "organisation", "sentences": 1}]
    body["article"]["partners"] = [{"code": "GBR", "name": "United Kingdom"},
                                   {"code": "LBY", "name": "Libya"}]
    return body


def test_actor_chips_and_partners_beside_topics(live_server, browser_page):
    def fulfill_with_actors(route):
        response = route.fetch()
        route.fulfill(response=response, json=with_actors(response.json()))

    page = browser_page
    page.route("**/v1/tag-article", fulfill_with_actors)
    page.goto(live_server)
    page.fill("#article", sorted(SEEDS.iterdir())[3].read_text(encoding="utf-8"))
    page.click("#tag-button")
    page.wait_for_selector("#result:not([hidden])")
    first = page.locator("#sentences li").nth(0)
    assert first.locator(".actor").all_inner_texts() == ["🇱🇾 LBY", "UN"]
    assert first.locator(".actor[data-code='LBY']").get_attribute("title") == \
        "Libya: Libyan, Tripoli"
    assert first.locator(".actor.organisation[data-code='UN']").count() == 1
    assert page.locator("#sentences li").nth(1).locator(".actor").all_inner_texts() == ["GBR"]
    assert page.locator("#sentences li").nth(2).locator(".actor").count() == 0
    assert page.locator("#article-partners .actor").all_inner_texts() == ["GBR", "LBY"]
    assert page.locator("#article-actors .actor").count() == 3
    assert page.get_attribute("#article-actors .actor[data-code='UN']", "title") == \
        "United Nations: 1 sentence"
    topics_box = page.locator("#article-topics").bounding_box()
    partners_box = page.locator("#article-partners").bounding_box()
    assert partners_box["x"] > topics_box["x"] and \
        abs(partners_box["y"] - topics_box["y"]) < 60, "partners sit beside the topics"
