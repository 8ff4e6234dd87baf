"""Schemathesis against the served OpenAPI file: no 5xx, every response conforms (short run).

The review endpoints are fuzzed as a configured reviewer (and without the token, by the
ignored_auth check). `make soak` runs the same with >= 1,000 cases.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT
from model.review.store import QueueItem, ReviewStore

TOKEN = "fuzz-reviewer-token-0123"


def test_schemathesis_finds_no_failure(full_registry, live_server_factory, tmp_path,
                                       monkeypatch):
    db = tmp_path / "reviews.sqlite3"
    ReviewStore(db).enqueue([QueueItem(f"Queued sentence {i} on police training.",
                                       priority=i / 10) for i in range(10)])
    monkeypatch.setenv("SECTAG_REVIEW_TOKENS", f"fuzzer:{TOKEN}")
    monkeypatch.setenv("SECTAG_REVIEW_DB", str(db))
    server = live_server_factory(full_registry.root).wait_ready(path="/readyz")
    cli = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [str(cli), "--config-file", str(ROOT / "bench" / "schemathesis.toml"), "run",
         f"http://127.0.0.1:{server.port}/openapi.json", "--checks", "all",
         "--header", f"Authorization: Bearer {TOKEN}",
         "--max-examples", "40", "--workers", "2", "--no-color"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "generated" in result.stdout
    spec = json.loads((ROOT / "service" / "openapi.json").read_text(encoding="utf-8"))
    operations = sum(len(methods) for methods in spec["paths"].values())
    assert re.search(rf"Tested: {operations}\b", result.stdout), "every operation was fuzzed"
    assert ReviewStore(db).answers(), "some fuzzed corrections were valid and stored"
