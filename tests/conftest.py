"""Shared fixtures: the real label folder, a tiny corpus cut from it, trained models."""

from __future__ import annotations

import csv
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from model.labels import OPTIONAL_COLUMNS, SENTENCE_COLUMNS, SENTENCES_DIR, TOPICS_FILE, load_labels
from model.registry import Registry
from model.tagger import Tagger
from model.train import train

# On a loaded machine examples take longer: no per-example deadline, no "too slow" failure.
settings.register_profile("sectag", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("sectag")

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed and could not be installed here "
    "(make test installs Debian's chromium when it runs as root with apt-get)")
LABELS = ROOT / "labels"
SEEDS = ROOT / "seeds"


def write_sentences(path: Path, rows: list[list[str]], header=("id", "source", "text", "topics")):
    """Write a sentence CSV the way a person would save one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture(scope="session")
def labels():
    return load_labels(LABELS, seeds_dir=SEEDS)


@pytest.fixture(scope="session")
def topic_names(labels):
    return labels.topic_names


@pytest.fixture
def label_dir(tmp_path) -> Path:
    """A label folder holding the real topics file and an empty sentences folder."""
    root = tmp_path / "labels"
    (root / SENTENCES_DIR).mkdir(parents=True)
    shutil.copy(LABELS / TOPICS_FILE, root / TOPICS_FILE)
    return root


@pytest.fixture(scope="session")
def tiny_label_dir(tmp_path_factory, labels) -> Path:
    """Every 6th real row (all seed rows kept), in its original files: fast to train on."""
    root = tmp_path_factory.mktemp("tiny") / "labels"
    shutil.copytree(LABELS, root)
    by_file: dict[str, list] = {}
    for i, row in enumerate(labels.rows):
        if row.source != "authored" or i % 6 == 0:
            by_file.setdefault(row.file.rsplit("/", 1)[-1], []).append(
                [row.id, row.source, row.text, ";".join(row.topics)]
                + [row.get(c) for c in OPTIONAL_COLUMNS])
    for path in (root / SENTENCES_DIR).glob("*.csv"):
        write_sentences(path, by_file.get(path.name, []),
                        header=SENTENCE_COLUMNS + OPTIONAL_COLUMNS)
    return root


@pytest.fixture(scope="session")
def tiny_labels(tiny_label_dir):
    return load_labels(tiny_label_dir, seeds_dir=SEEDS)


@pytest.fixture(scope="session")
def tiny_trained(tiny_labels):
    return train(tiny_labels, seed=0)


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(tmp_path / "registry")


@pytest.fixture(scope="session")
def full_registry(tmp_path_factory, labels) -> Registry:
    """A registry holding one model trained on all committed labels, promoted."""
    reg = Registry(tmp_path_factory.mktemp("reg") / "registry")
    trained = train(labels, seed=0)
    reg.add(trained.pipeline, trained.manifest, promote=True)
    return reg


BUILD_KERNELS = """
import sys
from model import kernels
from model.registry import Registry
from model.tagger import Tagger
Tagger.from_registry(Registry(sys.argv[1])).warm_up(every_kernel=True)
print(kernels.build())
"""


@pytest.fixture(scope="session", autouse=True)
def built_kernels(full_registry) -> Path:
    """The kernels built ahead of time into the user cache, as `sectag serve` builds them,
    before any test tags: the suite's processes and servers then run what workers run.
    Built in a process of its own (SECTAG_KERNELS=jit), whose JIT knows one signature of
    each kernel."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "SECTAG_KERNELS": "jit"}
    done = subprocess.run([sys.executable, "-c", BUILD_KERNELS, str(full_registry.root)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"the kernel build failed: {done.stderr[-3000:]}"
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def tagger(full_registry) -> Tagger:
    """The Tagger a worker serves: the version's serving form, no pipeline."""
    return Tagger.from_registry(full_registry)


@pytest.fixture(scope="session")
def pipeline(full_registry):
    """The same version's fitted Pipeline (the joblib artifact): the reference."""
    return full_registry.load()[0]


@pytest.fixture(scope="session")
def reference_tagger(full_registry, pipeline) -> Tagger:
    """A Tagger built over the pipeline itself (as evaluation and simulation build one)."""
    return Tagger(pipeline, full_registry.manifest(), artifact_sha256=None)


@pytest.fixture(scope="session", params=["served", "reference"])
def each_tagger(request) -> Tagger:
    """Both ways a Tagger is built: equalities must hold for each."""
    return request.getfixturevalue("tagger" if request.param == "served" else "reference_tagger")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post_json(port: int, path: str, body: dict, timeout: float = 30) -> tuple[int, dict]:
    """POST JSON to a local server; (status, body), 4xx/5xx included."""
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class NotReady(Exception):
    """The live server is not ready yet; the message says what was seen."""


class LiveServer:
    """`sectag serve` (granian) in a child process, on a free port.

    A port found free can be taken by another process before granian binds it: a start that
    fails with "Address already in use" is retried on another port.
    """

    START_ATTEMPTS = 5

    def __init__(self, registry_root, workers: int = 2):
        import tempfile

        self.registry_root, self.expected_workers = registry_root, workers
        self.log = tempfile.NamedTemporaryFile(prefix="sectag-serve-", suffix=".log")
        self.attempts = 0
        self._start()

    def _start(self) -> None:
        import os
        import subprocess
        import sys

        self.attempts += 1
        self.port = free_port()
        self.log.truncate(0)
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--registry", str(self.registry_root),
             "--port", str(self.port), "--workers", str(self.expected_workers)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self.log)

    def log_text(self) -> str:
        with open(self.log.name, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def wait_ready(self, seconds: float = 90, path: str = "/healthz") -> "LiveServer":
        """Wait until `path` answers 2xx and every worker has been forked and listens."""
        from waiting import wait_until

        wait_until(lambda: self._ready(path), seconds,
                   f"the server to answer {path} with {self.expected_workers} workers",
                   ignoring=(NotReady,))
        return self

    def _ready(self, path: str) -> bool:
        import urllib.request

        from waiting import listening_sockets

        if self.proc.poll() is not None:
            log = self.log_text()
            if "Address already in use" in log and self.attempts < self.START_ATTEMPTS:
                self._start()
                raise NotReady(f"port taken, restarted on port {self.port}")
            raise AssertionError(f"the server exited ({self.proc.returncode}): {log[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10):
                pass
        except OSError as exc:  # refused, reset, or an error status: not ready
            raise NotReady(f"port {self.port}: {exc!r}") from exc
        # One worker answers before the master has forked the others, or before they have
        # bound their own sockets: a request the kernel hands to a missing one is refused.
        workers = self.workers()
        if len(workers) != self.expected_workers:
            raise NotReady(f"workers so far: {workers}")
        if (listening := listening_sockets(self.port)) != self.expected_workers:
            raise NotReady(f"{listening} of {self.expected_workers} workers listen")
        return True

    def wait_loaded(self, seconds: float = 90) -> "LiveServer":
        """Wait until every worker has logged loading its model (readiness is one worker's)."""
        from waiting import wait_until

        wait_until(lambda: self.log_text().count('"event": "model_loaded"')
                   >= self.expected_workers, seconds,
                   f"{self.expected_workers} workers to load their model")
        return self

    def workers(self) -> list[int]:
        import subprocess

        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                             text=True).stdout
        return sorted(int(p) for p in out.split())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
        self.log.close()


@pytest.fixture
def live_server_factory():
    servers = []

    def start(registry_root, workers: int = 2) -> LiveServer:
        server = LiveServer(registry_root, workers)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@contextmanager
def tmpfs(path: Path, size: str = "4m"):
    """A small tmpfs mounted at `path` (skips the test where mounting is not permitted)."""
    import subprocess

    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
def browser_page():
    """A page in headless Chromium (Debian's, no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def start_postgres():
    """A new PostgreSQL server (skipped, saying why, where Debian's binaries are missing)."""
    import pg_server

    if not pg_server.available():
        pytest.skip(pg_server.MISSING)
    return pg_server.PostgresServer(free_port())


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL 15 for the session; each store test takes a fresh schema of it."""
    server = start_postgres()
    yield server
    server.destroy()


@pytest.fixture
def own_postgres():
    """A PostgreSQL server of this test's own, for tests that stop it."""
    server = start_postgres()
    yield server
    server.destroy()
