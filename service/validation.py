"""Parse and check JSON request bodies; every failure names the field at fault."""

from __future__ import annotations

import json
import re

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge

from .errors import ApiError

# A non-blank character, by the same class as the OpenAPI schema's pattern (ECMA-262 \\s).
NON_BLANK = re.compile("[^\t\n\u000b\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f"
                       "\u205f\u3000\ufeff]")


def json_body(request: Request) -> dict:
    """The request's JSON object, or an ApiError (415 wrong type, 400 malformed)."""
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       f"Content-Type must be application/json, not "
                       f"{request.mimetype or 'missing'}")
    raw = request.get_data(cache=False)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A chunked body is cut at the limit without an error: look past the cut.
        if request.environ["wsgi.input"].read(1):
            raise RequestEntityTooLarge()
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ApiError(400, "malformed_json", f"body is not UTF-8 (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"body is not valid JSON: {exc.msg} at line "
                       f"{exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise ApiError(400, "malformed_json", "body is nested too deeply") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", f"body must be a JSON object, not "
                       f"{_json_type(body)}")
    return body


def _json_type(value) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
             float: "number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _reject_unknown(body: dict, allowed: set[str]) -> None:
    for key in body:
        if key not in allowed:
            raise ApiError(400, "unknown_field", f"unknown field {key!r}; allowed: "
                           f"{', '.join(sorted(allowed))}", field=key)


def _text(value, field: str, limit: int) -> str:
    if not isinstance(value, str):
        raise ApiError(400, "invalid_type", f"{field} must be a string, not "
                       f"{_json_type(value)}", field=field)
    if not NON_BLANK.search(value):
        raise ApiError(400, "empty_text", f"{field} is empty or only whitespace", field=field)
    if len(value) > limit:
        raise ApiError(413, "text_too_long", f"{field} has {len(value)} characters; the "
                       f"limit is {limit}", field=field)
    return value


def predict_texts(body: dict, *, max_texts: int, max_chars: int) -> list[str]:
    """The texts of a /v1/predict body: {"texts": [...]} or {"text": "..."}."""
    _reject_unknown(body, {"texts", "text"})
    if ("texts" in body) == ("text" in body):
        raise ApiError(400, "missing_field", "give exactly one of 'texts' (a list of "
                       "strings) or 'text' (a string)", field="texts")
    if "text" in body:
        return [_text(body["text"], "text", max_chars)]
    texts = _bounded_list(body["texts"], "texts", "strings", max_texts, "too_many_texts")
    return [_text(t, f"texts[{i}]", max_chars) for i, t in enumerate(texts)]


def _bounded_list(value, name: str, kind: str, limit: int, too_many: str) -> list:
    """A non-empty JSON array of at most `limit` entries, or the 4xx that says what is wrong."""
    if not isinstance(value, list):
        raise ApiError(400, "invalid_type", f"{name} must be an array of {kind}, not "
                       f"{_json_type(value)}", field=name)
    if not value:
        raise ApiError(400, "empty_list", f"{name} is an empty list", field=name)
    if len(value) > limit:
        raise ApiError(413, too_many, f"{name} has {len(value)} entries; the limit is "
                       f"{limit} per request", field=name)
    return value


def article(body: dict, *, max_chars: int) -> tuple[str, str | None]:
    """(text, title) of a /v1/tag-article body."""
    _reject_unknown(body, {"text", "title"})
    if "text" not in body:
        raise ApiError(400, "missing_field", "field 'text' (the article) is required",
                       field="text")
    text = _text(body["text"], "text", max_chars)
    title = body.get("title")
    if title is None or (isinstance(title, str) and not NON_BLANK.search(title)):
        return text, None
    return text, _text(title, "title", max_chars)


def _storable(value: str, field: str) -> str:
    """A text the store can keep as UTF-8 (JSON may carry unpaired surrogates, or NUL)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApiError(400, "invalid_text", f"{field} holds an unpaired surrogate at "
                       f"character {exc.start}", field=field) from exc
    if "\x00" in value:
        raise ApiError(400, "invalid_text", f"{field} holds a NUL character at character "
                       f"{value.index(chr(0))}", field=field)
    return value.strip() or value  # "\x1c" is not blank to the spec, but space to strip()


def _optional_text(body: dict, key: str, field: str, limit: int) -> str | None:
    value = body.get(key)
    if value is None or (isinstance(value, str) and not NON_BLANK.search(value)):
        return None
    return _storable(_text(value, field, limit), field)


def _topic_list(value, field: str, known: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ApiError(400, "invalid_type", f"{field} must be an array of topic names, not "
                       f"{_json_type(value)}", field=field)
    topics: list[str] = []
    for i, topic in enumerate(value):
        if not isinstance(topic, str):
            raise ApiError(400, "invalid_type", f"{field}[{i}] must be a string, not "
                           f"{_json_type(topic)}", field=f"{field}[{i}]")
        if topic not in known:
            shown = topic if len(topic) <= 60 else topic[:60] + "…"
            raise ApiError(400, "unknown_topic", f"{field}[{i}] {shown!r} is not a topic of "
                           f"the serving model; topics: {', '.join(known)}",
                           field=f"{field}[{i}]")
        if topic not in topics:
            topics.append(topic)
    return tuple(topics)


FEEDBACK_FIELDS = {"text", "topics", "source", "article_id"}
MAX_SOURCE_CHARS = 2000
MAX_ARTICLE_ID_CHARS = 200


def _feedback_item(item, where: str, known: list[str], max_chars: int) -> dict:
    prefix = f"{where}." if where else ""
    if not isinstance(item, dict):
        raise ApiError(400, "invalid_type", f"{where} must be an object, not "
                       f"{_json_type(item)}", field=where)
    for key in item:
        if key not in FEEDBACK_FIELDS:
            raise ApiError(400, "unknown_field", f"unknown field {key!r}; allowed: "
                           f"{', '.join(sorted(FEEDBACK_FIELDS))}", field=prefix + key)
    for key in ("text", "topics"):
        if key not in item:
            raise ApiError(400, "missing_field", f"field {prefix + key!r} is required",
                           field=prefix + key)
    return {"text": _storable(_text(item["text"], prefix + "text", max_chars), prefix + "text"),
            "topics": _topic_list(item["topics"], prefix + "topics", known),
            "source": _optional_text(item, "source", prefix + "source", MAX_SOURCE_CHARS),
            "article_id": _optional_text(item, "article_id", prefix + "article_id",
                                         MAX_ARTICLE_ID_CHARS)}


def feedback_items(body: dict, *, known: list[str], max_items: int,
                   max_chars: int) -> list[dict]:
    """The corrections of a /v1/feedback body: {"items": [...]} or one item's fields."""
    if "items" not in body:
        return [_feedback_item(body, "", known, max_chars)]
    _reject_unknown(body, {"items"})
    items = _bounded_list(body["items"], "items", "objects", max_items, "too_many_items")
    return [_feedback_item(item, f"items[{i}]", known, max_chars)
            for i, item in enumerate(items)]


def positive_int(value, field: str, *, limit: int, default: int | None = None,
                 query: bool = False) -> int:
    """An integer in 1..limit (absent: `default`); from a query string it is ASCII digits."""
    if value is None and default is not None:
        return default
    if query and isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():  # JSON Schema: 3.0 is an integer
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "invalid_type", f"{field} must be a positive integer",
                       field=field)
    if not 1 <= value <= limit:
        raise ApiError(400, "out_of_range", f"{field} must be between 1 and {limit}, not "
                       f"{value}", field=field)
    return value


def skip_id(body: dict) -> int:
    """The queued item id of a /v1/review/skip body."""
    _reject_unknown(body, {"id"})
    if "id" not in body:
        raise ApiError(400, "missing_field", "field 'id' (the queued item) is required",
                       field="id")
    return positive_int(body["id"], "id", limit=2**63 - 1)
