"""Evaluation: cross-validated metrics, baselines, and the HTML/Markdown/JSON report."""

from .evaluate import evaluate
from .report import write_report

__all__ = ["evaluate", "write_report"]
