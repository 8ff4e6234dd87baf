"""Run the app under gunicorn (several workers), each worker building its own app."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


def _child_exit(server, worker) -> None:
    """Drop a dead worker's live gauges from the shared Prometheus files."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


class SectagServer(BaseApplication):
    """A gunicorn application whose workers each call create_app(config) after the fork."""

    def __init__(self, config: dict, options: dict):
        self.app_config = config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from . import create_app

        return create_app(self.app_config)


def serve(config: dict, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 2,
          threads: int = 1, timeout: int = 60) -> None:
    """Serve until stopped; SIGTERM lets in-flight requests finish (graceful timeout).

    Set PROMETHEUS_MULTIPROC_DIR before prometheus_client is first imported (the CLI
    does) so that /metrics adds up every worker.
    """
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": timeout,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "child_exit": _child_exit,
        "preload_app": False,
    }
    SectagServer(config, options).run()
