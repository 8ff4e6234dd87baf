"""Wait for events, not for time: polling with deadlines that cost nothing when things are fast.

A sleep long enough on an idle machine is too short on a loaded one. Tests wait for what they
need (a server answering, a worker replaced, enough responses) with generous deadlines, and
a timeout says what was awaited and what was last seen.
"""

from __future__ import annotations

import time
from pathlib import Path

FIRST_PAUSE, LONGEST_PAUSE = 0.005, 0.25


def wait_until(predicate, timeout: float, what: str, *, ignoring: tuple = (),
               longest_pause: float = LONGEST_PAUSE):
    """Poll `predicate` until it returns something truthy, and return that.

    Exceptions of the `ignoring` types count as "not yet"; on timeout the AssertionError
    names `what` and the last value or exception observed. A short `longest_pause` catches
    a state that lasts only milliseconds.
    """
    deadline = time.monotonic() + timeout
    pause, last = FIRST_PAUSE, None
    while True:
        try:
            last = predicate()
        except ignoring as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; "
                                 f"last observed: {last!r}")
        time.sleep(pause)
        pause = min(2 * pause, longest_pause)


def process_gone(pid: int) -> bool:
    """True once every thread of `pid` has exited (then its files and sockets are closed).

    The main thread of a killed process can be a zombie while its other threads still run:
    each thread is looked at.
    """
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except (FileNotFoundError, ProcessLookupError):
        return True
    for task in tasks:
        try:
            stat = (task / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
            return False
    return True


def _tcp_sockets():
    """(local port, remote port, state, tx queue, rx queue) of each IPv4 TCP socket, from
    /proc/net/tcp (state "0A" is LISTEN)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        tx, rx = fields[4].split(":")
        yield (int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16), fields[3],
               int(tx, 16), int(rx, 16))


def tcp_queues(local_port: int, remote_port: int) -> tuple[int, int] | None:
    """(unsent or unacknowledged, received but unread) bytes of a loopback TCP socket: the
    one bound to `local_port` and connected to `remote_port`, None if there is none."""
    for local, remote, _, tx, rx in _tcp_sockets():
        if local == local_port and remote == remote_port:
            return tx, rx
    return None


def listening_sockets(port: int) -> int:
    """How many sockets listen on TCP `port`.

    Each granian worker binds a socket of its own (SO_REUSEPORT) once its app is built, so
    a server whose first worker answers may still have others that accept nothing.
    """
    return sum(1 for local, _, state, _, _ in _tcp_sockets() if local == port and state == "0A")


def holds_for(predicate, seconds: float, what: str) -> None:
    """Check `predicate` again and again for `seconds`; fail at the first falsy answer.

    For what must not happen (a worker dying, a server freezing): the window is the claim.
    """
    deadline = time.monotonic() + seconds
    while True:
        if not (last := predicate()):
            raise AssertionError(f"{what} stopped holding; last observed: {last!r}")
        if time.monotonic() >= deadline:
            return
        time.sleep(LONGEST_PAUSE)
