"""The serving model of one worker, and hot reload when the registry's current version moves.

Each request takes one Tagger reference at its start and uses only that, so a
switch between requests can never mix versions inside one response. A version
that fails to load is refused and logged; the previous one keeps serving.

A look at the pointer is one `stat` for a folder, done at every request; on an object
store it is one HEAD of current.json, at most every `registry.poll_seconds` per worker and
never while another thread is already looking (that request keeps the model it has).
Versions are listed and artifacts downloaded only when the pointer changed.
"""

from __future__ import annotations

import logging
import threading
import time

from model.errors import SectagError
from model.registry import Registry
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
        self._next_look = 0.0  # time.monotonic() before which the pointer is not looked at
        self.error: str | None = None  # why the current pointer is not being served

    def refresh(self) -> None:
        """Load the registry's current version if the pointer changed since the last look."""
        interval = self.registry.poll_seconds
        if interval and time.monotonic() < self._next_look:
            return
        # With a model to serve, a request never waits for another thread's look.
        if not self._lock.acquire(blocking=self._tagger is None):
            return
        try:
            if interval and time.monotonic() < self._next_look:
                return
            self._next_look = time.monotonic() + interval
            try:
                stamp = self.registry.current_stamp()
            except SectagError as exc:  # store unreachable: keep serving, say why
                if self.error != str(exc):
                    self._refuse(_NEVER, str(exc))  # _NEVER: re-read the pointer once back
                return
            if stamp != self._seen:
                self._load(stamp)
        finally:
            self._lock.release()

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
            tagger.warm_up()  # before it is served: no request pays the first-call costs
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
