"""A live granian server: corrections survive a killed worker; reviewers never collide."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import urllib.error
import urllib.request

import pytest
import requests

from model.review.store import ReviewStore
from waiting import process_gone, wait_until

ALICE, BOB = "alice-live-token-0001", "bob-live-token-0002"


@pytest.fixture
def review_server(full_registry, live_server_factory, tmp_path, monkeypatch):
    """A 2-worker server with two reviewers and its store in tmp_path."""
    db = tmp_path / "reviews" / "reviews.sqlite3"
    monkeypatch.setenv("SECTAG_REVIEW_TOKENS", f"alice:{ALICE},bob:{BOB}")
    monkeypatch.setenv("SECTAG_REVIEW_DB", str(db))
    server = live_server_factory(full_registry.root, workers=2).wait_ready(path="/readyz")
    server.db = db
    return server


def post_feedback(port: int, token: str, text: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/feedback",
        data=json.dumps({"text": text, "topics": ["training"], "source": "crash test"}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_acknowledged_corrections_survive_sigkill_of_a_worker(review_server):
    stop, acknowledged, failed = threading.Event(), [], []
    lock = threading.Lock()

    def writer(n: int) -> None:
        token, k = (ALICE, BOB)[n % 2], 0
        while not stop.is_set():
            text = f"Writer {n} sentence {k} about police training."
            k += 1
            try:
                status = post_feedback(review_server.port, token, text)
            except OSError as exc:  # the killed worker's connections: counted, not acknowledged
                status = repr(exc)
            with lock:
                (acknowledged if status == 200 else failed).append((token, text, status))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(acknowledged) >= 50, 120, "50 corrections before the kill")
        victim = review_server.workers()[0]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: process_gone(victim), 30, f"worker {victim} to exit")
        wait_until(lambda: len(review_server.workers()) == 2
                   and victim not in review_server.workers(), 60, "a replacement worker")
        replaced = len(acknowledged)
        wait_until(lambda: len(acknowledged) >= replaced + 50, 120,
                   "50 corrections after the replacement")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert all(isinstance(s, str) or s == 503 for _, _, s in failed), failed[:5]
    conn = sqlite3.connect(review_server.db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {(a.reviewer, a.text) for a in ReviewStore(review_server.db).answers()}
    names = {ALICE: "alice", BOB: "bob"}
    lost = [(names[tok], text) for tok, text, _ in acknowledged
            if (names[tok], text) not in stored]
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged corrections lost"
    assert len(stored) >= len(acknowledged)
    assert victim not in review_server.workers()
    assert post_feedback(review_server.port, ALICE, "After the kill.") == 200


def test_concurrent_reviewers_on_both_workers_never_overwrite_each_other(review_server):
    texts = [f"Shared sentence {i} on border cooperation." for i in range(15)]
    topics = {ALICE: ["migration"], BOB: ["elections"]}
    errors = []

    def reviewer(token: str) -> None:
        with requests.Session() as session:
            for text in texts:
                res = session.post(f"http://127.0.0.1:{review_server.port}/v1/feedback",
                                   json={"text": text, "topics": topics[token]},
                                   headers={"Authorization": f"Bearer {token}"}, timeout=20)
                if res.status_code != 200:
                    errors.append(res.text)

    threads = [threading.Thread(target=reviewer, args=(tok,)) for tok in (ALICE, BOB) * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    answers = ReviewStore(review_server.db).answers()
    assert len(answers) == 2 * len(texts)
    assert all(a.topics == (("migration",) if a.reviewer == "alice" else ("elections",))
               for a in answers)
    assert all(len(ReviewStore(review_server.db).history(t)) == 4 for t in texts)


def test_two_servers_sharing_one_postgresql_serve_each_others_corrections(
        full_registry, live_server_factory, postgres, monkeypatch):
    from model.review.store import QueueItem

    url = postgres.url()
    ReviewStore(url).enqueue([QueueItem(f"Queued sentence {i} on police training.",
                                        priority=1 - i / 10) for i in range(3)])
    monkeypatch.setenv("SECTAG_REVIEW_TOKENS", f"alice:{ALICE},bob:{BOB}")
    monkeypatch.setenv("SECTAG_REVIEW_DB", url)
    a, b = (live_server_factory(full_registry.root, workers=1) for _ in range(2))
    a.wait_ready(path="/readyz"), b.wait_ready(path="/readyz")

    def next_items(server, token):
        res = requests.get(f"http://127.0.0.1:{server.port}/v1/review/next?n=10",
                           headers={"Authorization": f"Bearer {token}"}, timeout=20)
        assert res.status_code == 200, res.text
        return res.json()

    first = next_items(b, ALICE)["items"][0]["text"]
    res = requests.post(f"http://127.0.0.1:{a.port}/v1/feedback",
                        json={"text": first, "topics": ["training"]},
                        headers={"Authorization": f"Bearer {ALICE}"}, timeout=20)
    assert res.status_code == 200, res.text
    seen_by_b = next_items(b, ALICE)
    assert first not in [i["text"] for i in seen_by_b["items"]] and seen_by_b["remaining"] == 2
    assert next_items(b, BOB)["remaining"] == 3, "bob's queue is his own"
    skipped = seen_by_b["items"][0]["id"]
    res = requests.post(f"http://127.0.0.1:{b.port}/v1/review/skip", json={"id": skipped},
                        headers={"Authorization": f"Bearer {ALICE}"}, timeout=20)
    assert res.json() == {"skipped": skipped, "remaining": 1}
    assert next_items(a, ALICE)["remaining"] == 1
    (answer,) = ReviewStore(url).answers()
    assert (answer.reviewer, answer.text, answer.topics) == ("alice", first, ("training",))
    assert answer.model_version == full_registry.current()
    # The other server's correction memory has the answer on its next request.
    res = requests.post(f"http://127.0.0.1:{b.port}/v1/predict", json={"texts": [first]},
                        timeout=20)
    (prediction,) = res.json()["predictions"]
    assert prediction["source"] == "review" and prediction["topics"] == ["training"]
    assert prediction["review"]["id"] == answer.id
