"""Run the app under granian: HTTP in Rust, several worker processes, each building its own app.

granian rather than gunicorn: gunicorn's sync workers parse HTTP in Python and open a
new connection per request, which alone cost about 2 ms at p50 for a hello-world app at
concurrency 8 on a 2-core machine, two thirds of the one-sentence latency budget.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from granian import Granian
from granian.constants import HTTPModes, Interfaces

log = logging.getLogger("sectag.service")


def app_from_environment():
    """The factory granian calls in each worker: the config travels in SECTAG_* variables."""
    from . import create_app

    return create_app()


def compile_kernels() -> int:
    """Tag once in a short-lived process before the workers start, so that the workers find
    the kernels compiled; the process's exit code (0: done). The config comes from the
    SECTAG_* variables, as the workers' does.

    A worker that compiles them itself keeps LLVM's compile memory: 404 MB after its first
    request against 180 MB for one that loads them from numba's cache (measured, 2
    workers). The process also builds them ahead of time where no build matches their
    source (`model.kernels`), so that workers import neither numba nor LLVM.
    """
    code = f"from {__name__} import compile_here; compile_here()"
    exitcode = subprocess.run([sys.executable, "-c", code]).returncode
    if exitcode:
        log.warning('{"event": "kernels_not_compiled", "exitcode": %d}', exitcode)
    return exitcode


def compile_here() -> None:
    """Load the configured model, call each of its kernels, and build them ahead of time if
    no build is there (see `compile_kernels`). A failed build is logged: workers then use
    numba's JIT, which the calls have just cached."""
    from model import kernels
    from model.errors import SectagError
    from model.tagger import Tagger

    from .app import open_registry
    from .config import from_env

    try:
        tagger = Tagger.from_registry(open_registry(from_env()))
    except SectagError as exc:  # no model yet, store down: the workers say why
        raise SystemExit(f"kernels not compiled: {exc}") from exc
    tagger.warm_up(every_kernel=True)
    if kernels.kernels().origin == "jit" and os.environ.get("SECTAG_KERNELS") != "jit":
        try:
            path = kernels.build()
            log.warning('{"event": "kernels_built", "path": "%s"}', path)
        except kernels.KernelBuildError as exc:
            log.warning('{"event": "kernels_not_built", "reason": "%s"}', exc)


def serve(config: dict, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 2,
          threads: int = 4, graceful_seconds: int = 30) -> None:
    """Serve until stopped; SIGTERM lets in-flight requests finish, then the workers exit.

    A worker that dies is replaced. A few threads per worker let granian hand the next
    request over while Python runs the current one (measured: p50 2.5 ms against 3.6 ms
    with one thread, one sentence at concurrency 8). Set PROMETHEUS_MULTIPROC_DIR before
    prometheus_client is first imported (the CLI does) so that /metrics adds up every worker.
    """
    for key, value in config.items():
        os.environ[f"SECTAG_{key}"] = str(value)
    compile_kernels()
    Granian(f"{__name__}:app_from_environment", factory=True, interface=Interfaces.WSGI,
            address=host, port=port, workers=workers, blocking_threads=threads,
            http=HTTPModes.http1, websockets=False, respawn_failed_workers=True,
            respawn_interval=0.5, workers_kill_timeout=graceful_seconds,
            log_access=False).serve()
