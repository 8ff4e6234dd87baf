"""Worker resident memory over bench/run.py's request sequence, step by step.

Starts `sectag serve` as bench/run.py does (2 workers), then prints each worker's RSS when
ready, after the first predicts and tag-articles, and after each wrk run (one sentence and
256 sentences at concurrency 1, 8, 32; a 30-sentence article at 8; bench/mixed.lua at 8).
`--env NAME=VALUE` is passed to the server (NUMBA_CACHE_DIR, MALLOC_ARENA_MAX, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import run as bench  # bench/run.py (it puts the repository on sys.path)

from model.labels import load_labels  # noqa: E402


def post(port: int, path: str, body: dict) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    urllib.request.urlopen(request).close()


def mixed(port: int, seconds: int) -> int:
    """Requests bench/mixed.lua made in `seconds` at concurrency 8."""
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "-s",
                          str(bench.ROOT / "bench" / "mixed.lua"), f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True).stdout
    return json.loads(out.split("WRKJSON", 1)[1].strip().splitlines()[0])["requests"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", default=str(bench.ROOT / "registry"))
    parser.add_argument("--seconds", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    sentences = [r.text for r in load_labels(bench.ROOT / "labels").rows]
    article = " ".join(sentences[:30])
    batch = (sentences * (256 // len(sentences) + 1))[:256]
    port = bench._free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(item.split("=", 1) for item in args.env)
    server = subprocess.Popen([str(bench.ROOT / ".venv" / "bin" / "sectag"), "serve", "--registry",
                               args.registry, "--port", str(port), "--workers", "2"],
                              cwd=bench.ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    served = 0

    def report(step: str) -> None:
        rss = [round(bench._rss_mb(pid), 1) for pid in bench._worker_pids(server.pid)]
        print(f"{step:32s} requests {served:7d}  worker RSS MB {rss}", flush=True)

    try:
        bench._wait_ready(port)
        time.sleep(1)
        report("ready")
        for path, body in (("/v1/predict", {"text": sentences[0]}),
                           ("/v1/tag-article", {"text": article})):
            for _ in range(4):  # both workers, whichever granian picks
                post(port, path, body)
            served += 4
            report(f"first {path}")
        for connections in (1, 8, 32):
            for name, body in (("predict_1", {"text": sentences[0]}),
                               ("predict_256", {"texts": batch})):
                run = bench.wrk(port, "/v1/predict", body, connections, args.seconds)
                served += run["requests"]
                report(f"{name} c={connections}")
        served += bench.wrk(port, "/v1/tag-article", {"text": article}, 8, args.seconds)["requests"]
        report("tag_article c=8")
        served += mixed(port, args.seconds)
        report("mixed.lua c=8")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
