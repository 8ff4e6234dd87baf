"""Hot reload: workers follow the registry's current pointer, refuse bad versions, drop nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, post_json
from model.registry import ARTIFACT, MANIFEST, SERVING, Registry
from model.tagger import Tagger
from service import create_app

SENTENCES = ["Egypt will train Libyan police cadres in Cairo.",
             "The ministers discussed reopening the embassy in Tripoli.",
             "Islamic State claimed the attack on the checkpoint."]


@pytest.fixture
def two_versions(tmp_path, tiny_trained, labels):
    """A registry with v1 (tiny corpus, current) and v2 (a different model, not current)."""
    from model.train import train

    registry = Registry(tmp_path / "registry")
    registry.add(tiny_trained.pipeline, tiny_trained.manifest, promote=True)
    other = train(labels, params={"clf__C": 0.5})
    registry.add(other.pipeline, other.manifest)
    return registry


def version_of(client) -> str:
    return client.post("/v1/predict", json={"texts": SENTENCES}).get_json()["model_version"]


def test_switches_on_promote_and_rollback(two_versions):
    client = create_app({"REGISTRY": str(two_versions.root)}).test_client()
    assert version_of(client) == "v1"
    two_versions.promote("v2")
    assert version_of(client) == "v2"
    two_versions.rollback()
    assert version_of(client) == "v1"


@pytest.mark.parametrize("damaged", [SERVING, ARTIFACT])
def test_bad_version_is_refused_and_old_one_keeps_serving(two_versions, caplog, damaged):
    client = create_app({"REGISTRY": str(two_versions.root)}).test_client()
    assert version_of(client) == "v1"
    if damaged == ARTIFACT:  # a version without a serving form: workers unpickle the artifact
        manifest_path = two_versions.version_dir("v2") / MANIFEST
        manifest = json.loads(manifest_path.read_text())
        manifest.pop("serving_format")
        manifest_path.write_text(json.dumps(manifest))
    artifact = two_versions.version_dir("v2") / damaged
    artifact.write_bytes(artifact.read_bytes()[:1000])  # corrupted after it was written
    state = json.loads((two_versions.root / "current.json").read_text())
    (two_versions.root / "current.json").write_text(json.dumps({**state, "version": "v2"}))
    assert version_of(client) == "v1"
    ready = client.get("/readyz").get_json()
    assert ready["ready"] and ready["version"] == "v1"
    assert "v2" in ready["reload_error"] and "sha256" in ready["reload_error"]
    assert "model_refused" in caplog.text


def test_promote_under_concurrent_traffic(two_versions, live_server_factory):
    """The real server, 2 workers, 4 client threads: zero errors, no mixed responses."""
    expected = {v: [p.to_dict() for p in Tagger.from_registry(two_versions, v)
                    .predict(SENTENCES)] for v in ("v1", "v2")}
    assert expected["v1"] != expected["v2"]
    server = live_server_factory(two_versions.root).wait_ready(path="/readyz")
    results, errors, stop = [], [], threading.Event()

    def hammer():
        while not stop.is_set():
            try:
                status, body = post_json(server.port, "/v1/predict", {"texts": SENTENCES})
                assert status == 200, body
                results.append((time.time(), body["model_version"], body["predictions"]))
            except Exception as exc:  # every failure is a test failure, counted below
                errors.append(repr(exc))

    try:
        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        promote_started = time.time()
        subprocess.run([sys.executable, "-m", "cli.main", "models", "promote", "v2",
                        "--registry", str(two_versions.root)], cwd=ROOT, check=True,
                       capture_output=True)
        promoted_at = time.time()
        time.sleep(3)
        stop.set()
        for t in threads:
            t.join()
    finally:
        stop.set()
    assert errors == []
    assert len(results) > 20
    for _, version, predictions in results:
        assert predictions == expected[version], "a response mixed two versions"
    late = [v for t, v, _ in results if t > promoted_at + 1.0]
    assert late and set(late) == {"v2"}, "every worker switched to the promoted version"
    assert {v for t, v, _ in results if t < promote_started} == {"v1"}
