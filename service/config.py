"""Service settings: defaults, overridable by a dict passed to create_app or SECTAG_* env."""

from __future__ import annotations

import os

from model.review.memory import DEFAULT_MAX_SHIFT, DEFAULT_THRESHOLD

DEFAULTS = {
    "REGISTRY": "registry",          # a folder or an fsspec URL (s3://bucket/sectag)
    "REGISTRY_OPTIONS": "",          # fsspec storage options as JSON (endpoint_url, ...)
    "MAX_TEXTS": 1000,               # texts per /v1/predict request
    "MAX_TEXT_CHARS": 10_000,        # characters per text in /v1/predict
    "MAX_ARTICLE_CHARS": 200_000,    # characters in a /v1/tag-article text
    "LINGER_SECONDS": 5.0,           # an answered body's unread rest is discarded this long,
    "LINGER_BYTES": 64 * 1024 * 1024,  # and up to this many bytes (more declared: not read)
    "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,  # bytes per request body (Flask enforces it)
    "REVIEW_DB": "reviews/reviews.sqlite3",  # review store: SQLite path or postgresql:// URL
    "REVIEW_TOKENS": "",             # reviewers: "name:token,name:token" (secret: never logged)
    "REVIEW_TOKENS_FILE": "",        # or a file of them, one "name:token" a line, # comments
    "MEMORY_THRESHOLD": DEFAULT_THRESHOLD,  # word 3-shingle Jaccard that recalls an answer
    "MEMORY_MAX_SHIFT": DEFAULT_MAX_SHIFT,  # ... when no topic's score differs by more
}


def from_env(overrides: dict | None = None) -> dict:
    """Defaults, then SECTAG_<NAME> environment variables, then explicit overrides."""
    config = dict(DEFAULTS)
    for key, default in DEFAULTS.items():
        value = os.environ.get(f"SECTAG_{key}")
        if value is not None:
            config[key] = type(default)(value)
    config.update(overrides or {})
    return config
