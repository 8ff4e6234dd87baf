"""The review blueprint: reviewers' corrections, their queue of sentences, and skips."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from model.review.store import Correction, ReviewStore

from . import validation
from .api import serving_tagger
from .auth import reviewer
from .errors import ApiError

review_bp = Blueprint("review", __name__)
MAX_NEXT = 50


def review_store() -> ReviewStore:
    """This worker's store (connections open lazily, one per thread)."""
    return current_app.extensions["sectag_review"]


@review_bp.post("/v1/feedback")
def feedback():
    name = reviewer()
    body = validation.json_body(request)
    tagger = serving_tagger()
    items = validation.feedback_items(body, known=tagger.topics,
                                      max_items=current_app.config["MAX_TEXTS"],
                                      max_chars=current_app.config["MAX_TEXT_CHARS"])
    predictions = tagger.predict([item["text"] for item in items], evidence=False)
    corrections = [Correction(**item, model_version=tagger.version,
                              model_topics=tuple(p.topics), model_scores=p.scores)
                   for item, p in zip(items, predictions)]
    ids = review_store().save(name, corrections)
    g.texts = len(items)
    return jsonify({"reviewer": name, "model_version": tagger.version, "saved": len(ids),
                    "ids": ids})


@review_bp.get("/v1/review/next")
def review_next():
    name = reviewer()
    n = validation.positive_int(request.args.get("n"), "n", default=1, limit=MAX_NEXT,
                                  query=True)
    tagger = serving_tagger()
    store = review_store()
    queued = store.next_items(name, n)
    predictions = tagger.predict([item.text for item in queued]) if queued else []
    g.texts = len(queued)
    return jsonify({
        "reviewer": name, "model_version": tagger.version, "topics": tagger.topics,
        "remaining": store.remaining(name),
        "items": [{**p.to_dict(), "id": item.id, "text": item.text, "source": item.source,
                   "article_id": item.article_id, "priority": item.priority,
                   "reason": item.reason}
                  for item, p in zip(queued, predictions)]})


@review_bp.post("/v1/review/skip")
def review_skip():
    name = reviewer()
    item_id = validation.skip_id(validation.json_body(request))
    store = review_store()
    try:
        store.skip(name, item_id)
    except LookupError as exc:
        raise ApiError(404, "not_found", str(exc), field="id") from exc
    return jsonify({"skipped": item_id, "remaining": store.remaining(name)})
