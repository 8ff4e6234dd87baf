"""The review endpoints: tokens, corrections with provenance, the queue, skips, errors, 503s."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import tmpfs
from model.review.store import QueueItem, ReviewStore
from service import create_app
from test_service import SPEC, conforms

ALICE, BOB = "alice-token-0123456789", "bob-token-9876543210"
TEXT = "Egypt will train Libyan police officers in Cairo."


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def shared_app(full_registry, tmp_path_factory):
    return create_app({"REGISTRY": str(full_registry.root), "MAX_TEXTS": 5,
                       "REVIEW_DB": str(tmp_path_factory.mktemp("unused") / "r.sqlite3"),
                       "REVIEW_TOKENS": f"alice:{ALICE}, bob:{BOB}"})


@pytest.fixture
def app(shared_app, tmp_path):
    """The module's app (the model loads once) with a fresh store for each test."""
    shared_app.extensions["sectag_review"] = ReviewStore(tmp_path / "reviews" / "r.sqlite3")
    return shared_app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def store(app) -> ReviewStore:
    return app.extensions["sectag_review"]


def test_every_review_operation_is_in_the_spec_with_bearer_security():
    assert SPEC["components"]["securitySchemes"]["reviewerToken"]["scheme"] == "bearer"
    for path, method in [("/v1/feedback", "post"), ("/v1/review/next", "get"),
                         ("/v1/review/skip", "post")]:
        operation = SPEC["paths"][path][method]
        assert operation["security"] == [{"reviewerToken": []}]
        assert {"200", "401", "403", "503"} <= set(operation["responses"])


def test_served_spec_lists_the_serving_models_topics(client, tagger):
    spec = client.get("/openapi.json").get_json()
    assert spec["components"]["schemas"]["Topic"]["enum"] == tagger.topics


@pytest.mark.parametrize("headers, code", [
    ({}, "missing_token"),
    ({"Authorization": "Basic YWxpY2U6eA=="}, "missing_token"),
    ({"Authorization": "Bearer "}, "missing_token"),
    (bearer("wrong"), "invalid_token"),
    (bearer(ALICE + "x"), "invalid_token"),
    (bearer("ünïcode"), "invalid_token"),
])
def test_no_or_wrong_token_is_401_with_a_challenge(client, store, headers, code):
    for method, path, kwargs in [("post", "/v1/feedback", {"json": {"text": TEXT, "topics": []}}),
                                 ("get", "/v1/review/next", {}),
                                 ("post", "/v1/review/skip", {"json": {"id": 1}})]:
        res = getattr(client, method)(path, headers=headers, **kwargs)
        assert res.status_code == 401 and res.get_json()["error"]["code"] == code
        assert res.headers["WWW-Authenticate"].startswith("Bearer")
        conforms(res, path, method)
    assert store.answers() == []


def test_review_not_configured_is_403(full_registry, tmp_path, monkeypatch):
    monkeypatch.delenv("SECTAG_REVIEW_TOKENS", raising=False)
    monkeypatch.delenv("SECTAG_REVIEW_TOKENS_FILE", raising=False)
    client = create_app({"REGISTRY": str(full_registry.root),
                         "REVIEW_DB": str(tmp_path / "r.sqlite3")}).test_client()
    res = client.post("/v1/feedback", json={"text": TEXT, "topics": []}, headers=bearer(ALICE))
    assert res.status_code == 403 and res.get_json()["error"]["code"] == "review_disabled"
    assert "SECTAG_REVIEW_TOKENS" in res.get_json()["error"]["message"]
    conforms(res, "/v1/feedback", "post")
    assert client.get("/v1/review/next").status_code == 403


def test_tokens_file_with_comments_and_env_pairs(full_registry, tmp_path, monkeypatch):
    tokens = tmp_path / "tokens"
    tokens.write_text("# reviewers\ncarol:carol-secret\n\n  # dave left\n")
    monkeypatch.setenv("SECTAG_REVIEW_TOKENS", "erin:erin-secret")
    monkeypatch.setenv("SECTAG_REVIEW_TOKENS_FILE", str(tokens))
    client = create_app({"REGISTRY": str(full_registry.root),
                         "REVIEW_DB": str(tmp_path / "r.sqlite3")}).test_client()
    for name in ("carol", "erin"):
        res = client.get("/v1/review/next", headers=bearer(f"{name}-secret"))
        assert res.status_code == 200 and res.get_json()["reviewer"] == name
    assert client.get("/v1/review/next", headers=bearer("dave")).status_code == 401


def test_malformed_tokens_file_is_503_naming_the_line_not_the_token(full_registry, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("carol:ok-secret\nno-colon-secret-value\n")
    client = create_app({"REGISTRY": str(full_registry.root), "REVIEW_TOKENS_FILE": str(tokens),
                         "REVIEW_DB": str(tmp_path / "r.sqlite3")}).test_client()
    res = client.get("/v1/review/next", headers=bearer("ok-secret"))
    assert res.status_code == 503 and f"{tokens}:2" in res.get_json()["error"]["message"]
    assert "no-colon-secret-value" not in res.get_data(as_text=True)


def test_every_configured_token_is_compared_in_constant_time(client, monkeypatch):
    import service.auth as auth

    calls = []
    real = auth.hmac.compare_digest
    monkeypatch.setattr(auth.hmac, "compare_digest",
                        lambda a, b: calls.append(1) or real(a, b))
    assert client.get("/v1/review/next", headers=bearer(ALICE)).status_code == 200
    assert len(calls) == 2, "both tokens compared even though the first matched"


def test_feedback_saves_the_correction_with_the_models_view(client, store, tagger):
    res = client.post("/v1/feedback", headers=bearer(ALICE), json={
        "text": f"  {TEXT} ", "topics": ["counterterrorism", "training", "training"],
        "source": "Cairo talks", "article_id": "art-7", "reviewer": "mallory"})
    assert res.status_code == 400 and res.get_json()["error"]["field"] == "reviewer"
    res = client.post("/v1/feedback", headers=bearer(ALICE), json={
        "text": f"  {TEXT} ", "topics": ["counterterrorism", "training", "training"],
        "source": "Cairo talks", "article_id": "art-7"})
    assert res.status_code == 200, res.get_json()
    conforms(res, "/v1/feedback", "post")
    body = res.get_json()
    assert body["reviewer"] == "alice" and body["saved"] == 1
    (answer,) = store.answers()
    predicted = tagger.predict([TEXT])[0]
    assert answer.id == body["ids"][0] and answer.reviewer == "alice"
    assert answer.text == TEXT and answer.topics == ("counterterrorism", "training")
    assert (answer.source, answer.article_id) == ("Cairo talks", "art-7")
    assert answer.model_version == tagger.version
    assert answer.model_topics == tuple(predicted.topics)
    assert answer.model_scores == predicted.scores


def test_feedback_items_and_replacement_per_reviewer(client, store):
    items = [{"text": "One sentence.", "topics": []},
             {"text": "Two sentence.", "topics": ["migration"], "source": None}]
    assert client.post("/v1/feedback", json={"items": items},
                       headers=bearer(ALICE)).get_json()["saved"] == 2
    client.post("/v1/feedback", json={"text": "One  sentence.", "topics": ["elections"]},
                headers=bearer(ALICE))
    client.post("/v1/feedback", json={"text": "One sentence.", "topics": ["training"]},
                headers=bearer(BOB))
    current = {(a.reviewer, a.text): a.topics for a in store.answers()}
    assert current == {("alice", "One  sentence."): ("elections",),
                       ("alice", "Two sentence."): ("migration",),
                       ("bob", "One sentence."): ("training",)}
    assert [h.topics for h in store.history("One sentence.")] == [(), ("elections",),
                                                                   ("training",)]


FEEDBACK_ERRORS = [
    ({"items": [{"text": "a", "topics": []}, {"text": "b", "topics": []},
                {"text": "c", "topics": ["no_such_topic"]}]}, 400, "unknown_topic",
     "items[2].topics[0]"),
    ({"items": [{"text": "a", "topics": []}, {"text": " \n", "topics": []}]}, 400,
     "empty_text", "items[1].text"),
    ({"text": "", "topics": []}, 400, "empty_text", "text"),
    ({"text": "a"}, 400, "missing_field", "topics"),
    ({"topics": []}, 400, "missing_field", "text"),
    ({"text": "a", "topics": "training"}, 400, "invalid_type", "topics"),
    ({"text": "a", "topics": [3]}, 400, "invalid_type", "topics[0]"),
    ({"text": "a", "topics": [], "source": 5}, 400, "invalid_type", "source"),
    ({"items": []}, 400, "empty_list", "items"),
    ({"items": {}}, 400, "invalid_type", "items"),
    ({"items": ["a"]}, 400, "invalid_type", "items[0]"),
    ({"items": [{"text": "a", "topics": [], "x": 1}]}, 400, "unknown_field", "items[0].x"),
    ({"items": [], "text": "a"}, 400, "unknown_field", "text"),
    ({"items": [{"text": "a", "topics": []}] * 6}, 413, "too_many_items", "items"),
    ({"text": "x" * 10_001, "topics": []}, 413, "text_too_long", "text"),
    ({"text": "\ud800 lone", "topics": []}, 400, "invalid_text", "text"),
    ({"text": "a\x00b", "topics": []}, 400, "invalid_text", "text"),
    ({"text": "a", "topics": [], "source": "\x00"}, 400, "invalid_text", "source"),
]


def test_text_the_spec_calls_non_blank_is_saved(client, store):
    res = client.post("/v1/feedback", json={"text": "\x1c", "topics": []}, headers=bearer(ALICE))
    assert res.status_code == 200 and [a.text for a in store.answers()] == ["\x1c"]


@pytest.mark.parametrize("body, status, code, field", FEEDBACK_ERRORS)
def test_bad_feedback_is_a_named_4xx_and_nothing_is_saved(client, store, body, status, code,
                                                           field):
    res = client.post("/v1/feedback", headers={**bearer(ALICE), "Content-Type":
                                               "application/json"}, data=json.dumps(body))
    assert res.status_code == status, res.get_json()
    error = res.get_json()["error"]
    assert (error["code"], error["field"]) == (code, field) and error["message"]
    conforms(res, "/v1/feedback", "post")
    assert store.answers() == []


def test_queue_next_shows_current_scores_and_skip(client, store, tagger):
    texts = ["Ministers agreed to reopen the embassy in Tripoli.", TEXT,
             "Voters in Tunisia went to the polls."]
    store.enqueue([QueueItem(t, priority=p, reason=f"r{p}", source="feed")
                   for t, p in zip(texts, (0.2, 0.9, 0.5))])
    res = client.get("/v1/review/next?n=2", headers=bearer(ALICE))
    assert res.status_code == 200
    conforms(res, "/v1/review/next", "get")
    body = res.get_json()
    assert body["remaining"] == 3 and body["topics"] == tagger.topics
    assert [i["text"] for i in body["items"]] == [texts[1], texts[2]]
    for item in body["items"]:
        expected = tagger.predict([item["text"]])[0].to_dict()
        keys = ("topics", "scores", "evidence")
        assert {k: item[k] for k in keys} == {k: expected[k] for k in keys}
    first = body["items"][0]
    assert (first["reason"], first["source"], first["priority"]) == ("r0.9", "feed", 0.9)
    res = client.post("/v1/review/skip", json={"id": first["id"]}, headers=bearer(ALICE))
    assert res.status_code == 200 and res.get_json() == {"skipped": first["id"], "remaining": 2}
    conforms(res, "/v1/review/skip", "post")
    client.post("/v1/feedback", json={"text": texts[2], "topics": ["elections"]},
                headers=bearer(ALICE))
    after = client.get("/v1/review/next?n=5", headers=bearer(ALICE)).get_json()
    assert [i["text"] for i in after["items"]] == [texts[0]] and after["remaining"] == 1
    assert client.get("/v1/review/next", headers=bearer(BOB)).get_json()["remaining"] == 3


@pytest.mark.parametrize("query", ["n=0", "n=51", "n=abc", "n=-1", "n=1.5", "n=%D9%A5"])
def test_bad_n_is_400(client, query):
    res = client.get(f"/v1/review/next?{query}", headers=bearer(ALICE))
    assert res.status_code == 400 and res.get_json()["error"]["field"] == "n"
    conforms(res, "/v1/review/next", "get")


@pytest.mark.parametrize("body, status, code", [
    ({"id": 999}, 404, "not_found"), ({"id": 999.0}, 404, "not_found"),
    ({"id": 9.5}, 400, "invalid_type"), ({"id": "1"}, 400, "invalid_type"),
    ({"id": 0}, 400, "out_of_range"), ({"id": 2**70}, 400, "out_of_range"),
    ({}, 400, "missing_field"), ({"id": 1, "why": "x"}, 400, "unknown_field"),
    ({"id": True}, 400, "invalid_type"), ({"id": None}, 400, "invalid_type")])
def test_bad_skip_is_a_named_4xx(client, body, status, code):
    res = client.post("/v1/review/skip", json=body, headers=bearer(ALICE))
    assert res.status_code == status and res.get_json()["error"]["code"] == code
    conforms(res, "/v1/review/skip", "post")


def test_full_disk_is_503_with_a_clear_message_and_keeps_what_was_stored(app, client, store):
    assert client.post("/v1/feedback", json={"text": TEXT, "topics": ["training"]},
                       headers=bearer(ALICE)).status_code == 200
    pages = store.backend.connect().execute("PRAGMA page_count").fetchone()[0]
    app.extensions["sectag_review"] = ReviewStore(
        store.path, on_connect=lambda c: c.execute(f"PRAGMA max_page_count={pages}"))
    items = [{"text": f"Sentence {i} " + "x" * 1500, "topics": []} for i in range(5)]
    res = client.post("/v1/feedback", json={"items": items}, headers=bearer(ALICE))
    assert res.status_code == 503, res.get_json()
    error = res.get_json()["error"]
    assert error["code"] == "store_unavailable" and "disk is full" in error["message"]
    assert "nothing was saved" in error["message"]
    conforms(res, "/v1/feedback", "post")
    assert [a.text for a in ReviewStore(store.path).answers()] == [TEXT]


def test_read_only_store_is_503_and_keeps_what_was_stored(full_registry, tmp_path):
    import subprocess

    with tmpfs(tmp_path / "ro") as root:
        app = create_app({"REGISTRY": str(full_registry.root), "REVIEW_TOKENS": f"a:{ALICE}",
                          "REVIEW_DB": str(root / "reviews.sqlite3")})
        client = app.test_client()
        assert client.post("/v1/feedback", json={"text": TEXT, "topics": []},
                           headers=bearer(ALICE)).status_code == 200
        app.extensions["sectag_review"].close()
        subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
        fresh = create_app({"REGISTRY": str(full_registry.root), "REVIEW_TOKENS": f"a:{ALICE}",
                            "REVIEW_DB": str(root / "reviews.sqlite3")}).test_client()
        res = fresh.post("/v1/feedback", json={"text": "Another.", "topics": []},
                         headers=bearer(ALICE))
        assert res.status_code == 503, res.get_json()
        assert res.get_json()["error"]["code"] == "store_unavailable"
        assert "cannot be written" in res.get_json()["error"]["message"]
        subprocess.run(["mount", "-o", "remount,rw", str(root)], check=True)
        assert [a.text for a in ReviewStore(root / "reviews.sqlite3").answers()] == [TEXT]


def test_tokens_and_texts_never_reach_the_logs(client, store, caplog):
    secret = "Zanzibar-unique-review-marker"
    store.enqueue([QueueItem(secret + " queued.")])
    with caplog.at_level(logging.DEBUG):
        client.post("/v1/feedback", json={"text": secret, "topics": []}, headers=bearer(ALICE))
        client.post("/v1/feedback", json={"text": secret, "topics": ["nope"]},
                    headers=bearer(ALICE))
        client.get("/v1/review/next", headers=bearer(BOB))
        client.get("/v1/review/next", headers=bearer(ALICE + "-wrong"))
    assert caplog.records, "the access log wrote its lines"
    assert secret not in caplog.text and ALICE not in caplog.text and BOB not in caplog.text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=12)
odd_space = st.sampled_from(["\x1c", "\x85 "])  # not blank in the spec, space to Python
items = st.fixed_dictionaries({"text": st.text(max_size=80) | odd_space,
                               "topics": st.lists(st.sampled_from(
                                   ["training", "migration", "elections", "x"]), max_size=3)},
                              optional={"source": st.none() | st.text(max_size=20),
                                        "article_id": st.none() | st.text(max_size=20)})
bodies = (json_values | items | st.fixed_dictionaries({"items": st.lists(items, max_size=7)})
          | st.fixed_dictionaries({"id": json_values}))


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, path=st.sampled_from(["/v1/feedback", "/v1/review/skip"]))
def test_any_json_body_gets_a_valid_answer(client, body, path):
    res = client.post(path, json=body, headers=bearer(ALICE))
    assert res.status_code < 500, res.get_json()
    conforms(res, path, "post")


def test_postgresql_down_is_503_with_the_reason_and_no_password(full_registry, own_postgres):
    app = create_app({"REGISTRY": str(full_registry.root), "REVIEW_TOKENS": f"a:{ALICE}",
                      "REVIEW_DB": own_postgres.url(password="pg-secret-77")})
    client = app.test_client()
    assert client.post("/v1/feedback", json={"text": TEXT, "topics": []},
                       headers=bearer(ALICE)).status_code == 200
    own_postgres.stop()
    res = client.post("/v1/feedback", json={"text": "Another.", "topics": []},
                      headers=bearer(ALICE))
    assert res.status_code == 503, res.get_json()
    error = res.get_json()["error"]
    assert error["code"] == "store_unavailable" and "cannot be reached" in error["message"]
    assert "pg-secret-77" not in res.get_data(as_text=True)
    conforms(res, "/v1/feedback", "post")
    own_postgres.start()
    assert [a.text for a in app.extensions["sectag_review"].answers()] == [TEXT]
