"""Parse and check JSON request bodies; every failure names the field at fault."""

from __future__ import annotations

import json
import re

from flask import Request

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
    texts = body["texts"]
    if not isinstance(texts, list):
        raise ApiError(400, "invalid_type", f"texts must be an array of strings, not "
                       f"{_json_type(texts)}", field="texts")
    if not texts:
        raise ApiError(400, "empty_list", "texts is an empty list", field="texts")
    if len(texts) > max_texts:
        raise ApiError(413, "too_many_texts", f"texts has {len(texts)} items; the limit is "
                       f"{max_texts} per request", field="texts")
    return [_text(t, f"texts[{i}]", max_chars) for i, t in enumerate(texts)]


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
