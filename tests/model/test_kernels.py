"""The kernels built ahead of time: the JIT's outputs exactly, in a process without numba."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import ROOT
from model import actors, evidence, kernels

TAG = """
import json, sys
from model.kernels import kernels
from model.registry import Registry
from model.tagger import Tagger
tagger = Tagger.from_registry(Registry(sys.argv[1]))
texts = json.loads(sys.stdin.read())
out = {"origin": kernels().origin,
       "predict": [p.to_dict() for p in tagger.predict(texts)],
       "article": tagger.tag_article(" ".join(texts), title="Libya and Italy"),
       "codes": tagger.actors.codes_many(texts),
       "imported": sorted(m for m in ("numba", "llvmlite", "scipy", "sklearn")
                          if m in sys.modules)}
print(json.dumps(out, sort_keys=True))
"""


def tag_in_a_process(registry, texts: list[str], **env) -> dict:
    done = subprocess.run([sys.executable, "-c", TAG, str(registry.root)], cwd=ROOT,
                          input=json.dumps(texts), capture_output=True, text=True,
                          env={**os.environ, **env}, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_process_with_the_build_tags_as_the_jit_does_without_numba(full_registry,
                                                                      built_kernels, labels):
    texts = [r.text for r in labels.rows[::40]] + [
        "", "Égypte et Libye", "Jordan and the US sign a pact in Amman.", "x" * 3000]
    built = tag_in_a_process(full_registry, texts)
    jit = tag_in_a_process(full_registry, texts, SECTAG_KERNELS="jit")
    assert built["origin"] == str(built_kernels)
    assert built["imported"] == []  # no numba, no LLVM, and scipy came only with numba
    assert jit["origin"] == "jit" and "numba" in jit["imported"]
    for key in ("predict", "article", "codes"):
        assert built[key] == jit[key], key


@contextmanager
def kernels_of(namespace, tagger):
    """Let the tagger's featurizer, evidence and actor passes call `namespace`."""
    saved = (tagger.featurizer._kernels, evidence.kernels, actors.kernels)
    tagger.featurizer._kernels = namespace
    evidence.kernels = actors.kernels = lambda: namespace
    try:
        yield
    finally:
        tagger.featurizer._kernels, evidence.kernels, actors.kernels = saved


WORDS = st.sampled_from(["Libya", "Libyan", "train", "coast guard", "embassy", "reopened",
                         "Tripoli", "Jordan", "US", "Congo", "al-Shabaab", "vote", "'s",
                         "migrants", "Égypte", "\u212a", "2024", " ", "\n", "-", "."])
TEXTS = st.lists(st.one_of(WORDS, st.text(max_size=6)), max_size=12).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=5))
def test_any_texts_get_the_same_scores_evidence_and_actors_from_both(tagger, built_kernels,
                                                                      texts):
    runs = []
    for namespace in (kernels.load_built(built_kernels), kernels.jit_kernels()):
        with kernels_of(namespace, tagger):
            rows, probs = tagger.scores(texts)
            runs.append(([p.to_dict() for p in tagger.predict(texts)], probs,
                         tagger.actors.codes_many(texts), rows.indices, rows.data))
    built, jit = runs
    assert built[0] == jit[0] and built[2] == jit[2]
    np.testing.assert_array_equal(built[1], jit[1])  # bit for bit, not within a tolerance
    np.testing.assert_array_equal(built[3], jit[3])
    np.testing.assert_array_equal(built[4], jit[4])


def test_a_build_another_user_could_write_is_not_loaded(built_kernels, tmp_path):
    copy = tmp_path / built_kernels.parent.name / built_kernels.name
    copy.parent.mkdir()
    copy.write_bytes(built_kernels.read_bytes())
    copy.parent.chmod(0o755)
    copy.chmod(0o755)
    assert kernels._trusted(copy)
    copy.chmod(0o775)  # group-writable: anyone in the group could swap the code
    assert not kernels._trusted(copy)
    copy.chmod(0o755)
    copy.parent.chmod(0o777)
    assert not kernels._trusted(copy)


def test_kernels_prefers_a_trusted_build_and_falls_back_to_the_jit(built_kernels, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setattr(kernels, "cache_dirs", lambda: [built_kernels.parent.parent])
    kernels.kernels.cache_clear()
    try:
        assert kernels.kernels().origin == str(built_kernels)
        monkeypatch.setenv("SECTAG_KERNELS", "jit")
        kernels.kernels.cache_clear()
        assert kernels.kernels().origin == "jit"
        monkeypatch.delenv("SECTAG_KERNELS")
        monkeypatch.setattr(kernels, "cache_dirs", lambda: [tmp_path])
        kernels.kernels.cache_clear()
        assert kernels.kernels().origin == "jit"  # no build for this source there
    finally:
        kernels.kernels.cache_clear()


def test_the_build_refuses_a_kernel_compiled_for_two_signatures(monkeypatch, tmp_path):
    jit = kernels.jit_kernels()
    jit.token_hashes(np.zeros(1, np.int32), np.zeros(2, np.int64))
    jit.token_hashes(np.zeros(1, np.int64), np.zeros(2, np.int64))
    with pytest.raises(kernels.KernelBuildError, match="token_hashes: 2 signatures"):
        kernels.build(tmp_path)


def test_the_key_changes_with_the_kernels_source(monkeypatch, tmp_path):
    real = kernels.source_key()
    for name in kernels.SOURCES:
        (tmp_path / f"{name}.py").write_bytes(
            (ROOT / "model" / f"{name}.py").read_bytes())
    monkeypatch.setattr(kernels, "__file__", str(tmp_path / "kernels.py"))
    assert kernels.source_key() == real
    with open(tmp_path / "evidence_kernels.py", "a", encoding="utf-8") as handle:
        handle.write("\n# changed\n")
    assert kernels.source_key() != real
