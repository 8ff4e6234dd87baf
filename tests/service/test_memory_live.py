"""A correction saved through one worker is recalled by every worker on its next request."""

from __future__ import annotations

import json
import re
import urllib.request

from conftest import post_json

ALICE = "alice-memory-token-0001"
CLOSURE = ("Italy closed its embassy in Tripoli in 2015 after gunmen attacked the compound, "
           "the foreign ministry in Rome said on Tuesday.")
LATER_EDITION = CLOSURE.replace("on Tuesday", "on Wednesday")


def get_json(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        return json.loads(response.read())


def test_every_worker_recalls_a_saved_correction_without_a_retrain(
        full_registry, live_server_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("SECTAG_REVIEW_TOKENS", f"alice:{ALICE}")
    monkeypatch.setenv("SECTAG_REVIEW_DB", str(tmp_path / "reviews" / "r.sqlite3"))
    server = live_server_factory(full_registry.root, workers=2).wait_ready(path="/readyz")
    port = server.port
    assert get_json(port, "/v1/model")["correction_memory"]["entries"] == 0
    status, before = post_json(port, "/v1/predict", {"texts": [CLOSURE]})
    assert status == 200 and before["predictions"][0]["source"] == "model"

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/feedback",
        data=json.dumps({"text": CLOSURE, "topics": []}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {ALICE}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        saved = json.loads(response.read())["ids"][0]
    mark = len(server.log_text())

    # Each request opens its own connection, so both workers answer some of them.
    for _ in range(40):
        status, body = post_json(port, "/v1/predict", {"texts": [CLOSURE, LATER_EDITION]})
        assert status == 200
        for prediction in body["predictions"]:
            assert prediction["source"] == "review" and prediction["topics"] == []
            assert prediction["review"]["id"] == saved
            assert prediction["review"]["reviewer"] == "alice"
    served_by = {int(m) for m in re.findall(r'"worker": (\d+), "method": "POST", '
                                            r'"path": "/v1/predict"', server.log_text()[mark:])}
    assert served_by == set(server.workers()), "both workers must have answered"
    article = post_json(port, "/v1/tag-article", {"text": CLOSURE})[1]
    assert article["sentences"][0]["source"] == "review"
    assert get_json(port, "/v1/model")["correction_memory"]["entries"] == 1
