"""Batch tagging of files: the local engine, the readers and writers, the Dask engine."""

from .engine import BatchJob, run_local
from .formats import Columns, detect_format

__all__ = ["BatchJob", "Columns", "detect_format", "run_local"]
