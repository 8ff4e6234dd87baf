"""The JSON API blueprint: predict, tag-article, model metadata, health and metrics."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, current_app, g, jsonify, request, send_from_directory

from . import validation
from .errors import ApiError

bp = Blueprint("api", __name__)
STATIC = Path(__file__).parent / "static"


def serving_tagger():
    """This request's Tagger (taken once, so one request sees one version), or 503."""
    state = current_app.extensions["sectag"]
    tagger = state.get()
    if tagger is None:
        raise ApiError(503, "no_model", state.error or "no model is loaded")
    g.model_version = tagger.version
    return tagger


def correction_memory(tagger):
    """The reviewed answers this request recalls (current as of the store's last save)."""
    return current_app.extensions["sectag_memory"].get(tagger)


@bp.post("/v1/predict")
def predict():
    body = validation.json_body(request)
    texts = validation.predict_texts(body, max_texts=current_app.config["MAX_TEXTS"],
                                     max_chars=current_app.config["MAX_TEXT_CHARS"])
    tagger = serving_tagger()
    predictions = tagger.predict(texts, memory=correction_memory(tagger))
    g.texts = len(texts)
    return jsonify({"model_version": tagger.version,
                    "predictions": [p.to_dict() for p in predictions]})


@bp.post("/v1/tag-article")
def tag_article():
    body = validation.json_body(request)
    text, title = validation.article(body, max_chars=current_app.config["MAX_ARTICLE_CHARS"])
    tagger = serving_tagger()
    result = tagger.tag_article(text, title, memory=correction_memory(tagger))
    g.texts = len(result["sentences"]) + (1 if title else 0)
    return jsonify(result)


@bp.get("/v1/model")
def model_manifest():
    tagger = serving_tagger()
    correction_memory(tagger)
    return jsonify({**tagger.manifest,
                    "correction_memory": current_app.extensions["sectag_memory"].describe()})


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    state = current_app.extensions["sectag"]
    tagger = state.get()
    if tagger is None:
        return jsonify({"ready": False, "version": None, "reason": state.error}), 503
    g.model_version = tagger.version
    return jsonify({"ready": True, "version": tagger.version, "reload_error": state.error})


@bp.get("/metrics")
def metrics():
    payload, content_type = current_app.extensions["sectag_metrics"].render()
    return Response(payload, content_type=content_type)


@bp.get("/openapi.json")
def openapi():
    """The API description, with the serving model's topics as the Topic schema's enum."""
    spec = json.loads((Path(__file__).parent / "openapi.json").read_text(encoding="utf-8"))
    tagger = current_app.extensions["sectag"].get()
    if tagger is not None:
        spec["components"]["schemas"]["Topic"]["enum"] = list(tagger.topics)
    return jsonify(spec)


@bp.get("/")
def index():
    return send_from_directory(STATIC, "index.html")
