"""Prometheus metrics on a per-app registry; server workers share them via multiprocess mode."""

from __future__ import annotations

import os

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge,
                               Histogram, generate_latest)
from prometheus_client import multiprocess

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The service's counters; `render()` gives the text exposition format."""

    def __init__(self):
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = None if self.multiprocess else CollectorRegistry()
        kw = {"registry": self.registry}
        self.requests = Counter("sectag_requests_total", "HTTP requests by route and status",
                                ["route", "method", "status"], **kw)
        self.errors = Counter("sectag_errors_total", "HTTP error answers (4xx/5xx) by route",
                              ["route", "status"], **kw)
        self.latency = Histogram("sectag_request_seconds", "Request latency by route",
                                 ["route"], buckets=LATENCY_BUCKETS, **kw)
        self.texts = Counter("sectag_texts_tagged_total", "Texts (sentences) tagged", **kw)
        # The latest write wins across workers, so a killed worker leaves no stale version.
        gauge_kw = {"multiprocess_mode": "mostrecent"} if self.multiprocess else {}
        self.model = Gauge("sectag_model_info", "The model version serving (value 1)",
                           ["version"], **kw, **gauge_kw)
        self._version = None

    def observe(self, route: str, method: str, status: int, seconds: float, texts: int,
                version: str | None) -> None:
        self.requests.labels(route, method, str(status)).inc()
        if status >= 400:
            self.errors.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)
        if texts:
            self.texts.inc(texts)
        if version and version != self._version:
            if self._version:
                self.model.labels(self._version).set(0)
            self.model.labels(version).set(1)
            self._version = version

    def render(self) -> tuple[bytes, str]:
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
