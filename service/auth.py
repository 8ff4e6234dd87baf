"""Reviewers named by bearer tokens: parse the configured tokens, find who is asking.

Tokens come from REVIEW_TOKENS ("name:token,name:token") and REVIEW_TOKENS_FILE (one
"name:token" a line, # comments). A request's token is compared in constant time with every
configured token; tokens are never logged or echoed. The reviewer's name comes from the
token alone.
"""

from __future__ import annotations

import hmac
import logging
from pathlib import Path

from flask import current_app, request

from .errors import ApiError

log = logging.getLogger("sectag.service")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="sectag review"'}


class TokenConfigError(ValueError):
    """The configured tokens cannot be read or parsed (the message never holds a token)."""


def _pairs(entries: list[tuple[str, str]]) -> list[tuple[str, bytes]]:
    """(name, token) pairs from ("where", "name:token") entries; names and tokens unique."""
    pairs, names, tokens = [], set(), set()
    for where, entry in entries:
        name, sep, token = entry.partition(":")
        name, token = name.strip(), token.strip()
        if not sep or not name or not token:
            raise TokenConfigError(f"{where}: expected 'name:token'")
        if name in names:
            raise TokenConfigError(f"{where}: reviewer {name!r} is named twice")
        if token in tokens:
            raise TokenConfigError(f"{where}: reviewer {name!r} shares a token with another")
        names.add(name)
        tokens.add(token)
        pairs.append((name, token.encode("utf-8")))
    return pairs


def load_tokens(config: dict) -> list[tuple[str, bytes]]:
    """Every configured (reviewer, token); empty when review is not configured."""
    entries = [(f"SECTAG_REVIEW_TOKENS entry {i + 1}", e)
               for i, e in enumerate(config.get("REVIEW_TOKENS", "").split(",")) if e.strip()]
    path = config.get("REVIEW_TOKENS_FILE") or ""
    if path:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise TokenConfigError(f"cannot read the tokens file {path}: "
                                   f"{getattr(exc, 'strerror', None) or exc}") from None
        entries += [(f"{path}:{n}", line) for n, line in enumerate(lines, 1)
                    if line.strip() and not line.lstrip().startswith("#")]
    return _pairs(entries)


def init_app(app) -> None:
    """Parse the tokens once per worker; a bad configuration disables review (503), logged."""
    try:
        app.extensions["sectag_tokens"] = (load_tokens(app.config), None)
    except TokenConfigError as exc:
        log.error('{"event": "review_tokens_invalid", "reason": %r}', str(exc))
        app.extensions["sectag_tokens"] = ([], str(exc))


def reviewer() -> str:
    """The name of the reviewer whose token this request carries, or a 401/403/503 ApiError."""
    tokens, problem = current_app.extensions["sectag_tokens"]
    if problem:
        raise ApiError(503, "review_misconfigured", f"review tokens are misconfigured: "
                       f"{problem}")
    if not tokens:
        raise ApiError(403, "review_disabled", "review is not configured on this server: set "
                       "SECTAG_REVIEW_TOKENS or SECTAG_REVIEW_TOKENS_FILE")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        raise ApiError(401, "missing_token", "a reviewer token is required: send "
                       "'Authorization: Bearer <token>'", headers=CHALLENGE)
    candidate = given.encode("utf-8", "surrogateescape")
    found = None
    for name, token in tokens:  # every token compared: the time does not tell which matched
        if hmac.compare_digest(candidate, token):
            found = name
    if found is None:
        raise ApiError(401, "invalid_token", "the reviewer token was not accepted",
                       headers={"WWW-Authenticate":
                                'Bearer realm="sectag review", error="invalid_token"'})
    return found
