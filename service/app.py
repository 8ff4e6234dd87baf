"""The application factory: config, model state, routes, errors, metrics and request logs."""

from __future__ import annotations

import json
import logging
import os
import time

from flask import Flask, g, request

from model.registry import Registry
from model.storage import parse_options
from model.review.store import ReviewStore

from . import auth
from .api import bp
from .body import DrainUnreadBody
from .config import from_env
from .errors import register_error_handlers
from .memory_state import MemoryState
from .metrics import Metrics
from .model_state import ModelState
from .review_api import review_bp

access_log = logging.getLogger("sectag.access")


def create_app(config: dict | None = None) -> Flask:
    """Build an app serving the registry's current model (loaded once, reloaded on change)."""
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.config.update(from_env(config))
    app.json.sort_keys = False
    state = ModelState(open_registry(app.config))
    state.refresh()
    app.extensions["sectag"] = state
    app.extensions["sectag_metrics"] = Metrics()
    app.extensions["sectag_review"] = store = ReviewStore(app.config["REVIEW_DB"])
    app.extensions["sectag_memory"] = MemoryState(
        store, threshold=app.config["MEMORY_THRESHOLD"],
        max_shift=app.config["MEMORY_MAX_SHIFT"])
    auth.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(review_bp)
    register_error_handlers(app)
    _instrument(app)
    app.wsgi_app = DrainUnreadBody(app.wsgi_app, max_bytes=app.config["LINGER_BYTES"],
                                   seconds=app.config["LINGER_SECONDS"])
    return app


def open_registry(config: dict) -> Registry:
    """The configured registry (options unreadable: a clear error before serving anything)."""
    options = parse_options(config["REGISTRY_OPTIONS"], "SECTAG_REGISTRY_OPTIONS")
    return Registry(config["REGISTRY"], options)


def _route_of() -> str:
    return request.url_rule.rule if request.url_rule else "unmatched"


def _instrument(app: Flask) -> None:
    @app.before_request
    def start_timer():
        g.started = time.perf_counter()

    @app.after_request
    def record(response):
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        route, version, texts = _route_of(), g.get("model_version"), g.get("texts", 0)
        app.extensions["sectag_metrics"].observe(route, request.method, response.status_code,
                                                 seconds, texts, version)
        access_log.info(json.dumps({
            "worker": os.getpid(), "method": request.method, "path": request.path, "status": response.status_code,
            "latency_ms": round(seconds * 1000, 3), "model_version": version,
            "texts": texts}))
        return response
