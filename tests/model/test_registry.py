"""Registry: immutable versions, atomic current pointer, refusal of tampered artifacts.

Every test taking `registry` runs twice: on a local folder and on s3://bucket/prefix of a
real S3-compatible server (moto) on a loopback port.
"""

from __future__ import annotations

import json
import multiprocessing
import signal
import subprocess
import sys
import threading

import joblib
import numpy as np
import pytest

from conftest import ROOT, SEEDS
from model.errors import IncompatibleModel, IntegrityError, RegistryError, VersionNotFound
from model.registry import ARTIFACT, MANIFEST, SERVING, Registry
from model.storage import CURRENT, ConcurrentUpdate, LocalStore, parse_options, version_key
from s3_server import s3_server, s3_url  # noqa: F401 (fixtures)
from waiting import wait_until


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test downloads into its own cache, so no test is served another's files."""
    monkeypatch.setenv("SECTAG_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(params=["local", "s3"])
def registry(request, tmp_path) -> Registry:
    if request.param == "local":
        return Registry(tmp_path / "registry")
    server = request.getfixturevalue("s3_server")
    return Registry(request.getfixturevalue("s3_url"), server.options)


def add(registry, trained, **kw):
    return registry.add(trained.pipeline, trained.manifest, **kw)


def artifact_of(registry, version) -> bytes:
    return registry.store.read(version_key(version, ARTIFACT))


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
    before = artifact_of(registry, v1)
    add(registry, tiny_trained)
    assert artifact_of(registry, v1) == before
    m = registry.manifest(v1)
    assert m["version"] == v1 and len(m["artifact_sha256"]) == 64 and m["created"]
    assert m["files"][ARTIFACT] == {"sha256": m["artifact_sha256"], "bytes": len(before)}
    assert set(m["files"]) == {ARTIFACT, SERVING} and len(m["files"][SERVING]["sha256"]) == 64


def test_round_trip_predicts_identically(registry, tiny_trained, tiny_labels):
    version = add(registry, tiny_trained)
    pipeline, _ = registry.load(version)
    texts = tiny_labels.texts[:50]
    np.testing.assert_array_equal(pipeline.predict_proba(texts),
                                  tiny_trained.pipeline.predict_proba(texts))


@pytest.mark.parametrize("damage", ["flip", "truncate", "replace"])
def test_tampered_artifact_is_refused(registry, tiny_trained, damage):
    version = add(registry, tiny_trained)
    data = artifact_of(registry, version)
    if damage == "flip":
        data = data[:100] + bytes([data[100] ^ 1]) + data[101:]
    elif damage == "truncate":
        data = data[: len(data) // 2]
    else:
        import io
        buffer = io.BytesIO()
        joblib.dump({"not": "the model"}, buffer)
        data = buffer.getvalue()
    registry.store.write(version_key(version, ARTIFACT), data)
    with pytest.raises(IntegrityError, match="sha256"):
        registry.load(version)
    with pytest.raises(IntegrityError):
        registry.promote(version)


def test_other_scikit_learn_version_is_refused(registry, tiny_trained):
    version = add(registry, tiny_trained)
    manifest = registry.manifest(version)
    manifest["libraries"]["scikit-learn"] = "0.24.2"
    registry.store.write(version_key(version, MANIFEST), json.dumps(manifest).encode())
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
    if isinstance(registry.store, LocalStore):
        assert list(registry.staging_dir.iterdir()) == []


def test_upload_failing_before_the_manifest_leaves_no_version(registry, tiny_trained,
                                                              monkeypatch):
    v1 = add(registry, tiny_trained, promote=True)
    with monkeypatch.context() as patch:
        if isinstance(registry.store, LocalStore):  # stages with write_atomic, then renames
            import model.storage as storage

            real = storage.write_atomic

            def failing(path, data):
                if str(path).endswith(MANIFEST):
                    raise OSError(5, "Input/output error")
                real(path, data)
            patch.setattr(storage, "write_atomic", failing)
        else:
            write = type(registry.store).write

            def failing(self, key, data, **kw):
                if key.endswith(MANIFEST):
                    raise RegistryError("connection reset while uploading")
                write(self, key, data, **kw)
            patch.setattr(type(registry.store), "write", failing)
        with pytest.raises(RegistryError, match="nothing was added.*current version \\(v1\\)"):
            add(registry, tiny_trained, promote=True)
    assert registry.versions() == [v1] and registry.current() == v1
    assert add(registry, tiny_trained) != v1


def test_version_without_manifest_is_invisible(registry, tiny_trained):
    """A half-uploaded version (files there, manifest not yet) does not exist for readers."""
    v1 = add(registry, tiny_trained, promote=True)
    registry.store.write(version_key("v2", ARTIFACT), artifact_of(registry, v1))
    assert registry.versions() == [v1]
    with pytest.raises(VersionNotFound, match="no model version v2"):
        registry.load("v2")
    with pytest.raises(VersionNotFound):
        registry.promote("v2")
    assert add(registry, tiny_trained) == "v3", "a started version's number is never reused"
    assert registry.versions() == ["v1", "v3"] and registry.current() == v1


def test_concurrent_adds_get_distinct_versions(registry, tiny_trained):
    """Writers racing in threads: the lock (folder) or the exclusive claim (S3) separates them."""
    versions, errors = [], []

    def writer():
        try:
            versions.append(add(registry, tiny_trained))
        except Exception as exc:  # reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(versions) == registry.versions() == ["v1", "v2", "v3", "v4"]


def test_promote_repairs_an_unreadable_pointer(registry, tiny_trained):
    v1 = add(registry, tiny_trained)
    registry.store.write(CURRENT, b"{not json")
    with pytest.raises(RegistryError, match="unreadable"):
        registry.current()
    registry.promote(v1)
    assert registry.current() == v1


def test_racing_promoters_are_detected_on_s3(s3_server, s3_url, tiny_trained):
    """current.json is written with If-Match on the ETag read: the slower promoter is refused."""
    registry = Registry(s3_url, s3_server.options)
    v1, v2 = add(registry, tiny_trained, promote=True), add(registry, tiny_trained)
    other = Registry(s3_url, s3_server.options)

    def change_after_another_promotion(old):
        other.promote(v2)  # lands between our read and our write
        return registry._switch(v1)(old)

    with pytest.raises(ConcurrentUpdate, match="another promotion"):
        registry.store.update_current(change_after_another_promotion)
    assert registry.current() == v2 and registry.history() == [v1, v2]


def test_downloads_are_cached_by_sha256(s3_server, s3_url, tiny_trained, tmp_path):
    """A second process (a restarted worker) loads without downloading the artifact again."""
    version = add(Registry(s3_url, s3_server.options), tiny_trained)
    bucket = s3_url.split("/")[2]

    def artifact_gets():
        return sum(1 for method, path, _ in s3_server.requests_for(bucket)
                   if method == "GET" and path.endswith(ARTIFACT))

    Registry(s3_url, s3_server.options).load(version)
    assert artifact_gets() == 1
    Registry(s3_url, s3_server.options).load(version)
    assert artifact_gets() == 1, "the cached artifact was downloaded again"
    sha256 = Registry(s3_url, s3_server.options).manifest(version)["artifact_sha256"]
    cached = next(p for p in (tmp_path / "cache" / "registry").iterdir() if sha256 in p.name)
    cached.write_bytes(b"damaged cache")
    Registry(s3_url, s3_server.options).load(version)  # a bad cache entry is not trusted
    assert artifact_gets() == 2


def test_missing_bucket_and_unreachable_store_are_clear_errors(s3_server):
    missing = Registry("s3://no-such-bucket-here/sectag", s3_server.options)
    for call in (missing.versions, missing.current, missing.current_stamp, missing.load):
        with pytest.raises(RegistryError, match="bucket of s3://no-such-bucket-here/sectag "
                                                "does not exist"):
            call()
    unreachable = Registry("s3://bucket/sectag", {"endpoint_url": "http://127.0.0.1:9"})
    with pytest.raises(RegistryError, match="cannot read current.json in s3://bucket/sectag "
                                            "at http://127.0.0.1:9: EndpointConnectionError"):
        unreachable.current()


def test_cli_reports_registry_errors_without_a_traceback(s3_server):
    env = {**__import__("os").environ,
           "SECTAG_REGISTRY_OPTIONS": json.dumps(s3_server.options)}
    done = subprocess.run([sys.executable, "-m", "cli.main", "models", "list", "--registry",
                           "s3://no-such-bucket-here/sectag"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot ") and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, "-m", "cli.main", "models", "list", "--registry",
                           "s3://bucket/x", "--registry-options", "[1]"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 1 and "--registry-options" in done.stderr
    assert "must be a JSON object" in done.stderr


@pytest.mark.parametrize("text, message", [("{", "not valid JSON"),
                                           ('"s3"', "must be a JSON object")])
def test_bad_storage_options_are_refused(text, message):
    with pytest.raises(RegistryError, match=message):
        parse_options(text, "SECTAG_REGISTRY_OPTIONS")
    assert parse_options("  ") == {}


def test_killed_training_leaves_registry_consistent(tmp_path, tiny_label_dir):
    reg_dir = tmp_path / "registry"  # the small corpus: the kills need no big model
    cmd = [sys.executable, "-m", "cli.main", "train", "--promote", "--labels", str(tiny_label_dir),
           "--seeds", str(SEEDS), "--registry", str(reg_dir)]
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
    registry = Registry(reg_dir)
    assert registry.current() == "v1"
    staging = reg_dir / ".staging"

    def writing_or_done(proc):  # a version being staged, or the training already over
        return proc.poll() is not None or any(staging.iterdir())

    for moment in ("at start", "while a version is staged"):
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if moment != "at start":
            wait_until(lambda: writing_or_done(proc), 300, f"the training {moment}",
                       longest_pause=0.002)
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
