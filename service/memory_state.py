"""This worker's correction memory, rebuilt when the review store or the model changes.

Each request asks the store for its revision (one indexed read), so a correction saved
through any worker or host is remembered by every worker from its next request on. A store
that cannot be read keeps the memory it had and says why in `/v1/model`.
"""

from __future__ import annotations

import logging
import threading

from model.errors import StoreUnavailable
from model.review.memory import CorrectionMemory

log = logging.getLogger("sectag.service")


class MemoryState:
    """Holds the CorrectionMemory for one store; `get(tagger)` rebuilds it when stale."""

    def __init__(self, store, *, threshold: float, max_shift: float):
        self.store = store
        self.threshold, self.max_shift = threshold, max_shift
        self._memory = CorrectionMemory([], threshold=threshold, max_shift=max_shift)
        self._key: tuple | None = None
        self._lock = threading.Lock()
        self.error: str | None = None

    def get(self, tagger) -> CorrectionMemory:
        """The memory for this model: the reviewed sentences scored by it, answers that name
        a topic it does not have left out."""
        try:
            key = (self.store.revision(), tagger.version)
        except StoreUnavailable as exc:
            self.error = str(exc)
            return self._memory
        if key != self._key:
            with self._lock:
                if key != self._key:
                    self._rebuild(key, tagger)
        return self._memory

    def _rebuild(self, key: tuple, tagger) -> None:
        revision = key[0]
        try:
            answers = self.store.answers()
        except StoreUnavailable as exc:
            self.error = str(exc)
            return
        known = set(tagger.topics)
        kept = [a for a in answers if set(a.topics) <= known]
        self._memory = CorrectionMemory(kept, score=lambda texts: tagger.scores(texts)[1],
                                        threshold=self.threshold, max_shift=self.max_shift,
                                        revision=revision)
        self._key, self.error = key, None
        log.info('{"event": "memory_loaded", "entries": %d, "revision": %d}',
                 len(self._memory), revision)

    def describe(self) -> dict:
        return {**self._memory.describe(), "error": self.error}
