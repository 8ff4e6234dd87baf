"""Schemathesis against the served OpenAPI file: no 5xx, every response conforms (short run).

`make soak` runs the same with >= 1,000 cases.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def test_schemathesis_finds_no_failure(full_registry, live_server_factory):
    server = live_server_factory(full_registry.root).wait_ready(path="/readyz")
    cli = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [str(cli), "--config-file", str(ROOT / "bench" / "schemathesis.toml"), "run",
         f"http://127.0.0.1:{server.port}/openapi.json", "--checks", "all",
         "--max-examples", "40", "--workers", "2", "--no-color"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "generated" in result.stdout
