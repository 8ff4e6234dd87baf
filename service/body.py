"""Read and discard the unread rest of a request body before answering, so clients see errors.

A server that answers 413 and closes while the client is still sending makes the client's
next write fail (broken pipe, connection reset) before it reads the answer: urllib and
requests report only that. Like nginx's lingering close, the rest is read and discarded for
a bounded time and number of bytes, so a 20 MB post on a fast link is read to its end and
its sender sees the JSON error, while a client that trickles costs about the time bound. A
body declared beyond the byte bound is not read at all: the connection is closed.

The reading happens in the request's own thread, before the answer is handed back: granian
freezes the whole worker when a request returns while another thread still waits in a read
of its body (measured with granian 2.8). A granian read waits until it has all the bytes it
asked for, so reads start at one byte and grow only while they come back fast: a client
that slows down is answered at the time bound plus one short read. One that stops sending
altogether holds its thread until it disconnects, as it would in the application's own
read of a body within the limit.
"""

from __future__ import annotations

import time

LARGEST_READ = 64 * 1024
FAST_READ_SECONDS = 0.05


def next_read_size(size: int, seconds: float) -> int:
    """Double a read that came back fast, quarter a slow one: reads stay short in time."""
    if seconds < FAST_READ_SECONDS:
        return min(2 * size, LARGEST_READ)
    return max(size // 4, 1)


def linger(stream, budget: int, seconds: float, clock=time.monotonic) -> int:
    """Read and discard up to `budget` bytes of `stream`, starting no read after `seconds`.

    Returns the number of bytes discarded. A stream that fails (the client went away) ends
    the lingering: there is nobody left to answer.
    """
    deadline = clock() + seconds
    discarded, size = 0, 1
    try:
        while discarded < budget and clock() < deadline:
            started = clock()
            data = stream.read(min(size, budget - discarded))
            if not data:
                break
            discarded += len(data)
            size = next_read_size(size, clock() - started)
    except Exception:  # the client went away: nothing left to answer
        pass
    return discarded


class _CountingInput:
    """wsgi.input that counts the bytes the application read."""

    def __init__(self, stream):
        self._stream, self.consumed = stream, 0

    def read(self, *args):
        data = self._stream.read(*args)
        self.consumed += len(data)
        return data

    def readline(self, *args):
        data = self._stream.readline(*args)
        self.consumed += len(data)
        return data

    def readlines(self, *args):
        lines = self._stream.readlines(*args)
        self.consumed += sum(len(line) for line in lines)
        return lines

    def __iter__(self):
        for line in self._stream:
            self.consumed += len(line)
            yield line


def _content_length(environ) -> int | None:
    try:
        return max(int(environ.get("CONTENT_LENGTH") or ""), 0)
    except ValueError:
        return None


class DrainUnreadBody:
    """WSGI middleware: after the app answers, discard what it left of the body (bounded)."""

    def __init__(self, wsgi_app, *, max_bytes: int, seconds: float):
        self.wsgi_app, self.max_bytes, self.seconds = wsgi_app, max_bytes, seconds

    def __call__(self, environ, start_response):
        length = _content_length(environ)
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not length and not chunked:
            return self.wsgi_app(environ, start_response)
        counting = _CountingInput(environ["wsgi.input"])
        environ["wsgi.input"] = counting
        statuses = []

        def recording_start_response(status, headers, exc_info=None):
            statuses.append(status)
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, recording_start_response)
        failed = bool(statuses) and not statuses[-1].startswith(("1", "2", "3"))
        if chunked and failed:
            linger(counting, self.max_bytes, self.seconds)
        elif length and counting.consumed < length <= self.max_bytes:
            linger(counting, length - counting.consumed, self.seconds)
        return result
