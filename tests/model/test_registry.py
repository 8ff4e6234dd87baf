"""Registry: immutable versions, atomic current pointer, refusal of tampered artifacts."""

from __future__ import annotations

import json
import multiprocessing
import signal
import subprocess
import sys
import time

import joblib
import numpy as np
import pytest

from conftest import LABELS, ROOT, SEEDS
from model.errors import IncompatibleModel, IntegrityError, RegistryError, VersionNotFound
from model.registry import ARTIFACT, MANIFEST, Registry


def add(registry, trained, **kw):
    return registry.add(trained.pipeline, trained.manifest, **kw)


def test_add_list_promote_rollback(registry, tiny_trained):
    assert registry.versions() == [] and registry.current() is None
    v1 = add(registry, tiny_trained, promote=True)
    v2 = add(registry, tiny_trained)
    assert registry.versions() == [v1, v2] == ["v1", "v2"]
    assert registry.current() == v1, "a version is current only when promoted"
    registry.promote("2")
    assert registry.current() == "v2"
    assert registry.rollback() == "v1" and registry.current() == "v1"
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry.rollback()


def test_manifest_has_hashes_and_is_never_overwritten(registry, tiny_trained):
    v1 = add(registry, tiny_trained)
    before = (registry.version_dir(v1) / ARTIFACT).read_bytes()
    add(registry, tiny_trained)
    assert (registry.version_dir(v1) / ARTIFACT).read_bytes() == before
    m = registry.manifest(v1)
    assert m["version"] == v1 and len(m["artifact_sha256"]) == 64 and m["created"]


def test_round_trip_predicts_identically(registry, tiny_trained, tiny_labels):
    version = add(registry, tiny_trained)
    pipeline, _ = registry.load(version)
    texts = tiny_labels.texts[:50]
    np.testing.assert_array_equal(pipeline.predict_proba(texts),
                                  tiny_trained.pipeline.predict_proba(texts))


@pytest.mark.parametrize("damage", ["flip", "truncate", "replace"])
def test_tampered_artifact_is_refused(registry, tiny_trained, damage):
    version = add(registry, tiny_trained)
    path = registry.version_dir(version) / ARTIFACT
    data = path.read_bytes()
    if damage == "flip":
        data = data[:100] + bytes([data[100] ^ 1]) + data[101:]
    elif damage == "truncate":
        data = data[: len(data) // 2]
    else:
        import io
        buffer = io.BytesIO()
        joblib.dump({"not": "the model"}, buffer)
        data = buffer.getvalue()
    path.write_bytes(data)
    with pytest.raises(IntegrityError, match="sha256"):
        registry.load(version)
    with pytest.raises(IntegrityError):
        registry.promote(version)


def test_other_scikit_learn_version_is_refused(registry, tiny_trained):
    version = add(registry, tiny_trained)
    path = registry.version_dir(version) / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["libraries"]["scikit-learn"] = "0.24.2"
    path.write_text(json.dumps(manifest))
    with pytest.raises(IncompatibleModel, match="0.24.2"):
        registry.load(version)


def test_unknown_version_and_empty_registry(registry):
    with pytest.raises(VersionNotFound, match="no current model"):
        registry.load()
    with pytest.raises(VersionNotFound):
        registry.manifest("v9")
    with pytest.raises(VersionNotFound, match="not a version"):
        registry.manifest("latest!")


def test_failure_while_writing_leaves_no_version(registry, tiny_trained, monkeypatch):
    v1 = add(registry, tiny_trained, promote=True)

    def broken_dump(obj, target, **kw):
        target.write(b"partial bytes")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(joblib, "dump", broken_dump)
    with pytest.raises(RegistryError, match="No space left on device.*current version \\(v1\\)"):
        add(registry, tiny_trained, promote=True)
    assert registry.versions() == [v1] and registry.current() == v1
    assert list(registry.staging_dir.iterdir()) == []


def test_killed_training_leaves_registry_consistent(tmp_path):
    reg_dir = tmp_path / "registry"
    cmd = [sys.executable, "-m", "cli.main", "train", "--promote", "--labels", str(LABELS),
           "--seeds", str(SEEDS), "--registry", str(reg_dir)]
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
    registry = Registry(reg_dir)
    assert registry.current() == "v1"
    for delay in (0.5, 1.5, 3.0):
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for version in registry.versions():
            registry.load(version)  # every listed version is complete and verified
        assert registry.current() in registry.versions()


def _add_in_process(args):
    reg_dir, labels_dir = args
    from model.labels import load_labels
    from model.train import train

    trained = train(load_labels(labels_dir))
    return Registry(reg_dir).add(trained.pipeline, trained.manifest)


def test_concurrent_trainings_get_distinct_versions(tmp_path, tiny_label_dir):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        versions = pool.map(_add_in_process, [(str(tmp_path / "reg"), str(tiny_label_dir))] * 3)
    registry = Registry(tmp_path / "reg")
    assert sorted(versions) == registry.versions() == ["v1", "v2", "v3"]
    for version in versions:
        registry.load(version)
