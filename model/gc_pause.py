"""Cyclic garbage collection paused while many small acyclic results are built."""

from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def collections_paused():
    """No cyclic garbage collection while a batch's results are built.

    The results are many small acyclic objects; each full collection they would trigger
    walks every object of the imported libraries (scikit-learn, numba, scipy), which cost
    more than the featurizing. Only a caller that found collection enabled enables it again
    (nested and concurrent uses are safe).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
