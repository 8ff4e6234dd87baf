"""The serving model of one worker, and hot reload when the registry's current version moves.

Each request takes one Tagger reference at its start and uses only that, so a
switch between requests can never mix versions inside one response. A version
that fails to load is refused and logged; the previous one keeps serving.
"""

from __future__ import annotations

import logging
import os
import threading

from model.errors import SectagError
from model.registry import CURRENT, Registry
from model.tagger import Tagger

log = logging.getLogger("sectag.service")
_NEVER = object()


class ModelState:
    """Holds the current Tagger; `get()` reloads first if the current pointer changed."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self._tagger: Tagger | None = None
        self._seen: object = _NEVER  # (mtime_ns, size, inode) of current.json, None if absent
        self._lock = threading.Lock()
        self.error: str | None = None  # why the current pointer is not being served

    def _pointer_stamp(self) -> tuple | None:
        try:
            st = os.stat(self.registry.root / CURRENT)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def refresh(self) -> None:
        """Load the registry's current version if the pointer changed since the last look."""
        stamp = self._pointer_stamp()
        if stamp == self._seen:
            return
        with self._lock:
            if stamp == self._seen:
                return
            self._load(stamp)

    def _load(self, stamp) -> None:
        try:
            wanted = self.registry.current()
        except SectagError as exc:
            self._refuse(stamp, str(exc))
            return
        if wanted is None:
            self._refuse(stamp, f"the registry {self.registry.root} has no current model; "
                                "train one with 'sectag train --promote'")
            return
        if self._tagger is not None and self._tagger.version == wanted:
            self._seen, self.error = stamp, None
            return
        try:
            tagger = Tagger.from_registry(self.registry, wanted)
        except SectagError as exc:
            self._refuse(stamp, f"refused to load {wanted}: {exc}")
            return
        previous = self._tagger.version if self._tagger else None
        self._tagger, self._seen, self.error = tagger, stamp, None
        log.info('{"event": "model_loaded", "version": "%s", "previous": "%s"}',
                 wanted, previous)

    def _refuse(self, stamp, message: str) -> None:
        self._seen, self.error = stamp, message
        log.error('{"event": "model_refused", "reason": %r, "serving": "%s"}', message,
                  self._tagger.version if self._tagger else None)

    def get(self) -> Tagger | None:
        """The Tagger to use for this whole request (None when no model could be loaded)."""
        self.refresh()
        return self._tagger
