"""Read and discard the unread rest of a request body before answering, so clients see errors.

A server that answers 413 and closes while the client is still sending makes the client's
next write fail (broken pipe, connection reset) before it reads the answer: urllib reports
only the broken pipe. Draining up to a bound lets every common client read the JSON error;
a body declared beyond the bound is not read at all and the connection is closed.
"""

from __future__ import annotations

DRAIN_CAP = 64 * 1024 * 1024
CHUNK = 64 * 1024


def drain_bound(max_content_length: int | None) -> int:
    """How many unread body bytes are read and discarded: 4x the limit, at most 64 MiB."""
    if not max_content_length:
        return DRAIN_CAP
    return min(4 * max_content_length, DRAIN_CAP)


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

    def __init__(self, wsgi_app, bound: int):
        self.wsgi_app, self.bound = wsgi_app, bound

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
            self._discard(counting, self.bound)
        elif length and counting.consumed < length <= self.bound:
            self._discard(counting, length - counting.consumed)
        return result

    @staticmethod
    def _discard(stream: _CountingInput, budget: int) -> None:
        try:
            while budget > 0:
                data = stream.read(min(CHUNK, budget))
                if not data:
                    return
                budget -= len(data)
        except Exception:  # the client went away: nothing left to answer
            return
