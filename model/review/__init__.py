"""The review loop: corrections and the queue in SQLite, selection of what to review, export to label files, simulation."""

from .queue import Pick, select
from .store import Answer, Correction, QueueItem, ReviewStore

__all__ = ["Answer", "Correction", "Pick", "QueueItem", "ReviewStore", "select"]
