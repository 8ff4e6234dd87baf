"""Bodies over the limit: every common client reads the 413, within a time bound, memory flat.

The live tests run `sectag serve` (granian) and post with the real clients: a server that
answered before reading the body would give urllib and requests a broken pipe instead.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import httpx
import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from conftest import LiveServer
from service.body import FAST_READ_SECONDS, LARGEST_READ, linger
from waiting import holds_for

TWENTY_MB = 20 * 1000 * 1000
LINGER_SECONDS = 2.0
JSON = {"Content-Type": "application/json"}


def twenty_mb_body(route: str) -> bytes:
    field = b'{"texts": ["' if route == "/v1/predict" else b'{"text": "'
    closing = b'"]}' if route == "/v1/predict" else b'"}'
    return field + b"x" * (TWENTY_MB - len(field) - len(closing)) + closing


@pytest.fixture(scope="module")
def server(full_registry):
    """One worker, so that a stuck request would be seen by the next one; a short linger."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SECTAG_LINGER_SECONDS", str(LINGER_SECONDS))
        live = LiveServer(full_registry.root, workers=1)
    try:
        yield live.wait_ready(path="/readyz")
    finally:
        live.stop()


def post_with(client: str, url: str, body) -> tuple[int, dict]:
    if client in ("requests", "requests-chunked"):
        data = chunks(body) if client == "requests-chunked" else body
        res = requests.post(url, data=data, headers=JSON, timeout=60)
        return res.status_code, res.json()
    if client == "httpx":
        res = httpx.post(url, content=body, headers=JSON, timeout=60)
        return res.status_code, res.json()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=JSON),
                                    timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def chunks(body: bytes, size: int = 64 * 1024):
    for i in range(0, len(body), size):
        yield body[i:i + size]


@pytest.mark.parametrize("route", ["/v1/predict", "/v1/tag-article"])
@pytest.mark.parametrize("client", ["urllib", "requests", "requests-chunked", "httpx"])
def test_a_20_mb_post_gets_the_413_json_error(server, client, route):
    status, payload = post_with(client, f"http://127.0.0.1:{server.port}{route}",
                                twenty_mb_body(route))
    assert status == 413, payload
    assert payload["error"]["code"] == "payload_too_large"


def test_the_connection_stays_usable_after_a_read_413(server):
    with requests.Session() as session:
        first = session.post(f"http://127.0.0.1:{server.port}/v1/predict",
                             data=twenty_mb_body("/v1/predict"), headers=JSON, timeout=60)
        second = session.post(f"http://127.0.0.1:{server.port}/v1/predict",
                              json={"texts": ["Police training in Cairo."]}, timeout=60)
    assert (first.status_code, second.status_code) == (413, 200)


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")


def test_discarded_bytes_are_never_buffered(server):
    (worker,) = server.workers()
    url = f"http://127.0.0.1:{server.port}/v1/predict"
    assert post_with("requests", url, b'{"texts": ["A warm-up sentence."]}')[0] == 200
    before = peak_rss_kib(worker)
    for _ in range(3):
        assert post_with("requests", url, twenty_mb_body("/v1/predict"))[0] == 413
    grown = peak_rss_kib(worker) - before
    # Holding one 20 MB body would add 19,500 KiB at once to the worker's peak.
    assert grown < 8 * 1024, f"the worker's peak RSS grew by {grown} KiB"


def open_post(port: int, length: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % length)
    return sock


def read_reply(sock: socket.socket, first: bytes = b"") -> str:
    """Everything until the server closes the connection (it does after a partly read body)."""
    received = [first]
    while chunk := sock.recv(65536):
        received.append(chunk)
    return b"".join(received).decode("latin-1")


def test_a_client_that_trickles_is_answered_at_the_time_bound(server):
    sock = open_post(server.port, TWENTY_MB)
    started, stop = time.monotonic(), threading.Event()

    def trickle():  # 2,000 bytes a second: the 20 MB would take almost three hours
        try:
            while not stop.is_set():
                sock.sendall(b"x" * 100)
                stop.wait(0.05)
        except OSError:  # the server closed after answering
            pass

    sender = threading.Thread(target=trickle)
    sender.start()
    try:
        first = sock.recv(65536)
        answered = time.monotonic() - started
        reply = read_reply(sock, first)
    finally:
        stop.set()
        sender.join()
        sock.close()
    assert reply.startswith("HTTP/1.1 413") and '"payload_too_large"' in reply
    # It lingered (read the trickle for the time bound), then answered, however busy the
    # machine: the upper bound is generous for a loaded test host, the reads are short.
    assert LINGER_SECONDS - 0.1 <= answered < LINGER_SECONDS + 8, answered


def test_a_client_stalled_in_its_body_does_not_hold_up_the_others(server):
    def healthy() -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz",
                                    timeout=30) as response:
            return response.status == 200

    stalled = open_post(server.port, TWENTY_MB)  # headers only, then nothing
    try:
        # Past the time bound too: the stalled request has by then stopped waiting or been
        # answered, and the worker must still serve everyone else.
        holds_for(healthy, 2 * LINGER_SECONDS + 1, "the worker answering /healthz")
        stalled.close()  # the client leaving ends the lingering: the worker is whole again
        assert post_with("requests", f"http://127.0.0.1:{server.port}/v1/predict",
                         b'{"texts": ["Police training in Cairo."]}')[0] == 200
    finally:
        stalled.close()


def test_a_body_declared_beyond_the_byte_bound_is_refused_unread(server):
    # Nothing of the 100 MB is sent: an answer at all shows that none was waited for.
    with open_post(server.port, 100 * 1024 * 1024) as sock:
        sock.sendall(b'{"texts": ["')
        reply = read_reply(sock)
    assert reply.startswith("HTTP/1.1 413")
    assert '"payload_too_large"' in reply


class SteadyStream:
    """A client sending `rate` bytes a second, on a clock the test owns."""

    BYTES = memoryview(bytes(LARGEST_READ))

    def __init__(self, rate: float):
        self.rate, self.now, self.reads = rate, 0.0, []

    def clock(self) -> float:
        return self.now

    def read(self, size: int) -> bytes:
        self.now += size / self.rate
        self.reads.append(size)
        return self.BYTES[:size]


@given(rate=st.floats(1, 1e8), seconds=st.floats(0.01, 3))
def test_lingering_ends_one_short_read_after_the_time_bound(rate, seconds):
    stream = SteadyStream(rate)
    linger(stream, budget=10**15, seconds=seconds, clock=stream.clock)
    # Reads grow only while fast: none takes longer than two fast reads, or one byte.
    assert stream.now <= seconds + max(2 * FAST_READ_SECONDS, 1 / rate) + 1e-9
    assert max(stream.reads) <= LARGEST_READ


@given(budget=st.integers(1, 50 * 1024 * 1024))
def test_a_fast_body_is_read_to_its_end_and_no_further(budget):
    stream = SteadyStream(1e12)
    assert linger(stream, budget=budget, seconds=5, clock=stream.clock) == budget
    assert sum(stream.reads) == budget


def test_a_failing_or_ending_stream_ends_the_lingering():
    class Gone:
        def read(self, size):
            raise ConnectionResetError("the client went away")

    class Short:
        def __init__(self):
            self.left = 10

        def read(self, size):
            data, self.left = b"x" * min(size, self.left), self.left - min(size, self.left)
            return data

    assert linger(Gone(), budget=100, seconds=5) == 0
    assert linger(Short(), budget=100, seconds=5) == 10
