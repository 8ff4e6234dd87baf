"""Hot reload: workers follow the registry's current pointer, refuse bad versions, drop nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, post_json
from waiting import wait_until
from model.registry import ARTIFACT, MANIFEST, SERVING, Registry
from model.tagger import Tagger
from s3_server import s3_server, s3_url  # noqa: F401 (fixtures)
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
            sent = time.monotonic()
            try:
                status, body = post_json(server.port, "/v1/predict", {"texts": SENTENCES})
                assert status == 200, body
                results.append((sent, body["model_version"], body["predictions"]))
            except Exception as exc:  # every failure is a test failure, counted below
                errors.append(repr(exc))

    def answered_after(moment: float) -> list:  # versions, in the order requests were sent
        return [v for t, v, _ in sorted(list(results)) if t > moment]

    def all_switched(moment: float) -> bool:
        late = answered_after(moment)
        return errors or (len(late) >= 20 and late[-20:] == ["v2"] * 20)

    try:
        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        wait_until(lambda: len(results) >= 20 or errors, 60, "20 answers before the promote")
        promote_started = time.monotonic()
        subprocess.run([sys.executable, "-m", "cli.main", "models", "promote", "v2",
                        "--registry", str(two_versions.root)], cwd=ROOT, check=True,
                       capture_output=True)
        promoted_at = time.monotonic()
        # A worker's threads keep serving v1 while one of them loads v2: wait for a run of
        # 20 answers from v2 (both workers take part in it), then for 20 more.
        wait_until(lambda: all_switched(promoted_at), 60, "20 answers in a row from v2")
        switched_at = time.monotonic()
        wait_until(lambda: len(answered_after(switched_at)) >= 20 or errors, 60,
                   "20 answers after every worker switched")
        stop.set()
        for t in threads:
            t.join()
    finally:
        stop.set()
    assert errors == []
    for _, version, predictions in results:
        assert predictions == expected[version], "a response mixed two versions"
    assert set(answered_after(switched_at)) == {"v2"}, "a worker went back to v1"
    assert {v for t, v, _ in results if t < promote_started} == {"v1"}


def get_json(port: int, path: str) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def s3_env(s3_server, tmp_path, monkeypatch):
    """What a server host sets: the store's endpoint, and a local download cache."""
    monkeypatch.setenv("SECTAG_REGISTRY_OPTIONS", json.dumps(s3_server.options))
    monkeypatch.setenv("SECTAG_CACHE_DIR", str(tmp_path / "cache"))
    return s3_server


def test_server_follows_a_promotion_on_s3_with_one_head_per_poll(
        s3_env, s3_url, tiny_trained, live_server_factory):
    registry = Registry(s3_url)
    registry.add(tiny_trained.pipeline, tiny_trained.manifest, promote=True)
    server = live_server_factory(s3_url).wait_ready(path="/readyz").wait_loaded()
    assert get_json(server.port, "/readyz") == (200, {"ready": True, "version": "v1",
                                                      "reload_error": None})
    bucket = s3_url.split("/")[2]
    seen = len(s3_env.requests_for(bucket))

    def polls():  # traffic, while the poller's requests to the store are collected
        status, _ = get_json(server.port, "/readyz")
        assert status == 200
        new = s3_env.requests_for(bucket)[seen:]
        return new if len(new) >= 6 else None

    idle = wait_until(polls, 60, "six looks at the pointer")
    assert set(idle) == {("HEAD", f"/{bucket}/sectag/current.json", "")}, (
        "an idle poll is one HEAD of current.json: no listing, no download")

    started = time.monotonic()
    registry.add(tiny_trained.pipeline, tiny_trained.manifest, promote=True)
    streak = []  # each worker looks on its own: wait for a run of answers all from v2

    def all_switched():
        status, body = post_json(server.port, "/v1/predict", {"texts": SENTENCES})
        assert status == 200, body
        streak.append(body["model_version"])
        return streak[-20:] == ["v2"] * 20

    wait_until(all_switched, 60, "every worker switching to v2")
    print(f"every answer from v2 {time.monotonic() - started:.2f} s after the promotion")
    assert get_json(server.port, "/readyz")[1]["reload_error"] is None


def test_polls_are_rate_limited_per_worker(s3_env, s3_url, tiny_trained):
    """Many requests in a burst cost one HEAD per poll interval, not one per request."""
    Registry(s3_url).add(tiny_trained.pipeline, tiny_trained.manifest, promote=True)
    client = create_app({"REGISTRY": s3_url}).test_client()
    bucket = s3_url.split("/")[2]
    seen = len(s3_env.requests_for(bucket))
    started = time.monotonic()
    for _ in range(50):
        assert client.get("/readyz").get_json()["version"] == "v1"
    elapsed = time.monotonic() - started
    heads = s3_env.requests_for(bucket)[seen:]
    assert all(r[0] == "HEAD" and r[1].endswith("/current.json") for r in heads)
    interval = Registry(s3_url).poll_seconds
    assert len(heads) <= elapsed / interval + 1, (len(heads), elapsed)


def test_unreachable_store_answers_503_with_the_reason(s3_env):
    app = create_app({"REGISTRY": "s3://no-such-bucket-here/sectag"})
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "bucket of s3://no-such-bucket-here/sectag does not exist" in (
        response.get_json()["reason"])
    response = client.post("/v1/predict", json={"texts": SENTENCES})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "no_model"
    assert "does not exist" in response.get_json()["error"]["message"]


def test_store_going_down_keeps_the_loaded_model_serving(s3_env, s3_url, tiny_trained):
    Registry(s3_url).add(tiny_trained.pipeline, tiny_trained.manifest, promote=True)
    app = create_app({"REGISTRY": s3_url})
    client = app.test_client()
    assert version_of(client) == "v1"
    state = app.extensions["sectag"]
    state.registry = Registry(s3_url, {"endpoint_url": "http://127.0.0.1:9"})  # network down
    state._next_look = 0.0
    assert version_of(client) == "v1"
    ready = client.get("/readyz").get_json()
    assert ready["ready"] and "EndpointConnectionError" in ready["reload_error"]
    state.registry, state._next_look = Registry(s3_url), 0.0  # back up
    wait_until(lambda: client.get("/readyz").get_json()["reload_error"] is None, 30,
               "the error clearing once the store answers again")
