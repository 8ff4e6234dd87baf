"""Every error leaves the service as JSON {"error": {"code", "message", "field"}}: one place."""

from __future__ import annotations

import logging

from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from model.errors import (InputError, RegistryError, SectagError, StoreUnavailable,
                          VersionNotFound)

log = logging.getLogger("sectag.service")


class ApiError(Exception):
    """An error answer with an HTTP status, a stable code and the field at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, field: str | None = None):
    response = jsonify({"error": {"code": code, "message": message, "field": field}})
    response.status_code = status
    return response


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
               415: "unsupported_media_type", 400: "bad_request"}


def register_error_handlers(app) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        response = error_response(exc.status, exc.code, exc.message, exc.field)
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(InputError)
    def input_error(exc: InputError):
        return error_response(400, "invalid_input", str(exc), exc.field)

    @app.errorhandler(VersionNotFound)
    def no_model(exc: VersionNotFound):
        return error_response(503, "no_model", str(exc))

    @app.errorhandler(RegistryError)
    def registry_error(exc: RegistryError):
        return error_response(503, "model_unavailable", str(exc))

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(exc: StoreUnavailable):
        log.error('{"event": "review_store_unavailable", "reason": %r}', str(exc))
        return error_response(503, "store_unavailable", str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = _HTTP_CODES.get(exc.code, "http_error")
        message = exc.description or exc.name
        if exc.code == 404:
            message = f"no such route: {request.method} {request.path}"
        elif exc.code == 405:
            allowed = ", ".join(m for m in (exc.valid_methods or []) if m != "OPTIONS")
            message = f"{request.method} is not allowed on {request.path}; use {allowed}"
        elif exc.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = f"request body is larger than the limit of {limit} bytes"
        response = error_response(exc.code or 500, code, message)
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(SectagError)
    def sectag_error(exc: SectagError):
        return error_response(400, "invalid_input", str(exc))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "internal error; it has been logged")
