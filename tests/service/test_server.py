"""The server compiles the kernels in a process of its own before any worker starts."""

from __future__ import annotations

import json
import subprocess
import sys

from service import server

# In a fresh process: tag as a worker does, then count the kernels numba had to compile
# because its cache did not hold them.
COUNT_COMPILED = """
import json, sys
from numba.core.registry import CPUDispatcher
from model import evidence_kernels, featurizer, featurizer_kernels
from model.registry import Registry
from model.tagger import Tagger
tagger = Tagger.from_registry(Registry(sys.argv[1]))
tagger.tag_article("Egypt will train Libyan police cadres. Ministers met in Tripoli.")
compiled = [name for module in (evidence_kernels, featurizer, featurizer_kernels)
            for name, obj in vars(module).items()
            if isinstance(obj, CPUDispatcher) and obj.stats.cache_misses]
print(json.dumps(compiled))
"""


def compiled_by_a_worker(registry) -> list[str]:
    out = subprocess.run([sys.executable, "-c", COUNT_COMPILED, str(registry.root)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_a_worker_started_after_compile_kernels_compiles_nothing(full_registry, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba-cache"))
    monkeypatch.setenv("SECTAG_REGISTRY", str(full_registry.root))
    assert server.compile_kernels() == 0
    assert compiled_by_a_worker(full_registry) == []


def test_compile_kernels_without_a_model_fails_without_raising(tmp_path, monkeypatch):
    monkeypatch.setenv("SECTAG_REGISTRY", str(tmp_path / "empty-registry"))
    assert server.compile_kernels() != 0


def test_serve_compiles_before_starting_granian(monkeypatch):
    calls = []
    monkeypatch.setattr(server, "compile_kernels", lambda: calls.append("compile"))

    class FakeGranian:
        def __init__(self, *args, **kwargs):
            calls.append("granian")

        def serve(self):
            calls.append("serve")

    monkeypatch.setattr(server, "Granian", FakeGranian)
    monkeypatch.setattr(server.os, "environ", {})
    server.serve({"REGISTRY": "somewhere"})
    assert calls == ["compile", "granian", "serve"]
