"""Trends over batch output: articles per period, topic and partner, as tables and a page."""

from .count import Options
from .job import run_trends

__all__ = ["Options", "run_trends"]
