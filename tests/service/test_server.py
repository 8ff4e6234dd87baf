"""The server compiles the kernels in a process of its own before any worker starts."""

from __future__ import annotations

import json
import subprocess
import sys

from service import server

# In a fresh process: tag as a worker does, then say which kernels it ran, whether numba
# was imported, and which kernels numba had to compile because its cache did not hold them.
WORKER = """
import json, sys
from model.registry import Registry
from model.tagger import Tagger
from model.kernels import kernels
tagger = Tagger.from_registry(Registry(sys.argv[1]))
tagger.tag_article("Egypt will train Libyan police cadres. Ministers met in Tripoli.")
compiled = []
if "numba" in sys.modules:
    from numba.core.registry import CPUDispatcher
    from model import evidence_kernels, featurizer_kernels
    compiled = [name for module in (evidence_kernels, featurizer_kernels)
                for name, obj in vars(module).items()
                if isinstance(obj, CPUDispatcher) and obj.stats.cache_misses]
print(json.dumps({"origin": kernels().origin, "numba": "numba" in sys.modules,
                  "compiled": compiled}))
"""


def a_worker(registry) -> dict:
    out = subprocess.run([sys.executable, "-c", WORKER, str(registry.root)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_compile_kernels_builds_them_and_a_worker_then_imports_no_numba(
        full_registry, tmp_path, monkeypatch):
    for name in ("SECTAG_CACHE_DIR", "XDG_CACHE_HOME", "TMPDIR", "NUMBA_CACHE_DIR"):
        (tmp_path / name.lower()).mkdir()
        monkeypatch.setenv(name, str(tmp_path / name.lower()))  # no build anywhere yet
    monkeypatch.setenv("SECTAG_REGISTRY", str(full_registry.root))
    assert server.compile_kernels() == 0
    worker = a_worker(full_registry)
    assert worker["origin"].startswith(str(tmp_path / "sectag_cache_dir" / "kernels-"))
    assert worker["numba"] is False


def test_with_jit_kernels_a_worker_started_after_compile_kernels_compiles_nothing(
        full_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba-cache"))
    monkeypatch.setenv("SECTAG_KERNELS", "jit")
    monkeypatch.setenv("SECTAG_REGISTRY", str(full_registry.root))
    assert server.compile_kernels() == 0
    worker = a_worker(full_registry)
    assert worker["origin"] == "jit" and worker["numba"] is True
    assert worker["compiled"] == []


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
