"""The HTTP API: every endpoint, every error kind, OpenAPI conformance, no 5xx on any body."""

from __future__ import annotations

import json
import logging

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import ROOT
from service import create_app

SPEC = json.loads((ROOT / "service" / "openapi.json").read_text(encoding="utf-8"))


def conforms(response, path: str, method: str) -> None:
    """Assert the response body validates against the spec's schema for its status."""
    operation = SPEC["paths"][path][method]
    declared = operation["responses"].get(str(response.status_code))
    assert declared, f"{method.upper()} {path} answered undeclared {response.status_code}"
    schema = declared["content"]["application/json"]["schema"]
    jsonschema.validate(response.get_json(), {**schema, "components": SPEC["components"]})


@pytest.fixture
def app(full_registry):
    return create_app({"REGISTRY": str(full_registry.root), "MAX_TEXTS": 50,
                       "MAX_TEXT_CHARS": 2000, "MAX_CONTENT_LENGTH": 200_000})


@pytest.fixture
def client(app):
    return app.test_client()


def test_predict_list_and_single(client, tagger):
    texts = ["Egypt will train Libyan police officers.", "The weather was mild in Rome."]
    res = client.post("/v1/predict", json={"texts": texts})
    assert res.status_code == 200
    conforms(res, "/v1/predict", "post")
    body = res.get_json()
    assert body["model_version"] == tagger.version
    assert body["predictions"] == [p.to_dict() for p in tagger.predict(texts)]
    single = client.post("/v1/predict", json={"text": texts[0]}).get_json()
    assert single["predictions"] == body["predictions"][:1]


def test_tag_article(client, tagger):
    article = "Ministers met in Tripoli. They agreed to reopen the embassy.\nNew line here."
    res = client.post("/v1/tag-article", json={"text": article, "title": "Talks"})
    assert res.status_code == 200
    conforms(res, "/v1/tag-article", "post")
    body = res.get_json()
    assert body == tagger.tag_article(article, "Talks")
    assert [article[s["start"]:s["end"]] for s in body["sentences"]] == [
        s["text"] for s in body["sentences"]]


def test_model_health_ready_metrics_openapi_page(client, tagger):
    res = client.get("/v1/model")
    conforms(res, "/v1/model", "get")
    assert res.get_json()["version"] == tagger.version
    assert [t["name"] for t in res.get_json()["topics"]] == tagger.topics
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    conforms(ready, "/readyz", "get")
    assert ready.get_json()["version"] == tagger.version
    client.post("/v1/predict", json={"texts": ["a", "b"]})
    metrics = client.get("/metrics").data.decode()
    assert 'sectag_requests_total{method="POST",route="/v1/predict",status="200"} 1.0' in metrics
    assert "sectag_texts_tagged_total 2.0" in metrics
    assert f'sectag_model_info{{version="{tagger.version}"}} 1.0' in metrics
    assert "sectag_request_seconds_bucket" in metrics
    assert client.get("/openapi.json").get_json()["openapi"].startswith("3.")
    page = client.get("/")
    assert page.status_code == 200 and b"Tag article" in page.data
    assert client.get("/static/app.js").status_code == 200


ERROR_CASES = [
    # (path, kwargs, status, code, field)
    ("/v1/predict", {"data": "{not json", "content_type": "application/json"}, 400,
     "malformed_json", None),
    ("/v1/predict", {"data": b"\xff\xfe", "content_type": "application/json"}, 400,
     "malformed_json", None),
    ("/v1/predict", {"json": ["a list"]}, 400, "invalid_body", None),
    ("/v1/predict", {"json": {}}, 400, "missing_field", "texts"),
    ("/v1/predict", {"json": {"texts": "one string"}}, 400, "invalid_type", "texts"),
    ("/v1/predict", {"json": {"texts": ["ok", 7]}}, 400, "invalid_type", "texts[1]"),
    ("/v1/predict", {"json": {"texts": ["ok", "   "]}}, 400, "empty_text", "texts[1]"),
    ("/v1/predict", {"json": {"texts": []}}, 400, "empty_list", "texts"),
    ("/v1/predict", {"json": {"text": ""}}, 400, "empty_text", "text"),
    ("/v1/predict", {"json": {"text": "a", "texts": ["b"]}}, 400, "missing_field", "texts"),
    ("/v1/predict", {"json": {"text": "a", "lang": "en"}}, 400, "unknown_field", "lang"),
    ("/v1/predict", {"json": {"texts": ["a"] * 51}}, 413, "too_many_texts", "texts"),
    ("/v1/predict", {"json": {"texts": ["x" * 2001]}}, 413, "text_too_long", "texts[0]"),
    ("/v1/predict", {"data": "x" * 300_000, "content_type": "application/json"}, 413,
     "payload_too_large", None),
    ("/v1/predict", {"data": "{}", "content_type": "text/plain"}, 415,
     "unsupported_media_type", None),
    ("/v1/predict", {"data": "{}"}, 415, "unsupported_media_type", None),
    ("/v1/tag-article", {"json": {"title": "no text"}}, 400, "missing_field", "text"),
    ("/v1/tag-article", {"json": {"text": 5}}, 400, "invalid_type", "text"),
    ("/v1/tag-article", {"json": {"text": "ok", "title": 3}}, 400, "invalid_type", "title"),
]


@pytest.mark.parametrize("path, kwargs, status, code, field", ERROR_CASES)
def test_bad_input_is_a_named_4xx(client, path, kwargs, status, code, field):
    res = client.post(path, **kwargs)
    assert res.status_code == status, res.get_json()
    error = res.get_json()["error"]
    assert error["code"] == code and error["field"] == field and error["message"]
    conforms(res, path, "post")


def test_unknown_route_and_wrong_method_are_json(client):
    res = client.get("/v2/nothing")
    assert res.status_code == 404 and res.get_json()["error"]["code"] == "not_found"
    assert "/v2/nothing" in res.get_json()["error"]["message"]
    res = client.get("/v1/predict")
    assert res.status_code == 405 and res.get_json()["error"]["code"] == "method_not_allowed"
    assert "POST" in res.headers["Allow"]


def test_no_current_model_is_503_not_a_crash(tmp_path):
    client = create_app({"REGISTRY": str(tmp_path / "empty")}).test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "no current model" in ready.get_json()["reason"]
    res = client.post("/v1/predict", json={"text": "hello"})
    assert res.status_code == 503 and res.get_json()["error"]["code"] == "no_model"
    conforms(res, "/v1/predict", "post")


def test_logs_have_one_line_per_request_without_the_text(client, caplog):
    secret = "Zanzibar-unique-sentence-marker"
    with caplog.at_level(logging.INFO, logger="sectag.access"):
        client.post("/v1/predict", json={"texts": [secret, "two"]})
    lines = [r.getMessage() for r in caplog.records if r.name == "sectag.access"]
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["status"] == 200 and entry["texts"] == 2 and entry["model_version"]
    assert entry["path"] == "/v1/predict" and entry["latency_ms"] >= 0
    assert secret not in caplog.text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=12)
bodies = (json_values
          | st.fixed_dictionaries({"texts": st.lists(st.text(max_size=300), max_size=8)})
          | st.fixed_dictionaries({"text": st.text(max_size=500)})
          | st.fixed_dictionaries({"text": st.text(max_size=500)},
                                  optional={"title": st.none() | st.text(max_size=40)}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, path=st.sampled_from(["/v1/predict", "/v1/tag-article"]))
def test_any_json_body_gets_a_valid_answer(client, body, path):
    res = client.post(path, json=body)
    assert res.status_code < 500
    conforms(res, path, "post")


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_any_bytes_get_a_valid_answer(client, raw):
    res = client.post("/v1/predict", data=raw, content_type="application/json")
    assert res.status_code < 500
    conforms(res, "/v1/predict", "post")
