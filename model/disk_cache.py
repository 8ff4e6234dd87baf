"""Folders where sectag keeps what it can rebuild: featurizer tables, downloaded registry
files, the ahead-of-time kernels."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

_log = logging.getLogger(__name__)


def cache_dirs() -> list[Path]:
    """Where tables are cached: $SECTAG_CACHE_DIR, the user cache, then the temp dir."""
    dirs = [Path(os.environ["SECTAG_CACHE_DIR"])] if os.environ.get("SECTAG_CACHE_DIR") else []
    dirs.append(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sectag")
    dirs.append(Path(tempfile.gettempdir()) / f"sectag-cache-{os.getuid()}")
    return dirs


def cached_arrays(name: str, build, needed: tuple = ()) -> dict[str, np.ndarray]:
    """Arrays from the first cache dir holding `name` (with `needed` keys), else built and
    saved where writable (atomically, so a reader never sees half a file)."""
    for folder in cache_dirs():
        try:
            with np.load(folder / name, allow_pickle=False) as data:
                arrays = dict(data)
            if set(needed) <= set(arrays):
                return arrays
        except (OSError, ValueError, EOFError):
            continue
    arrays = build()
    for folder in cache_dirs():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **arrays)
            os.replace(tmp, folder / name)
            break
        except OSError as exc:
            _log.debug("cannot cache %s in %s: %s", name, folder, exc)
    return arrays
