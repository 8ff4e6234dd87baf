"""sectag soak: schemathesis fuzzing (>= 1,000 cases) and 60 s of mixed load at concurrency 32.

The review endpoints are fuzzed as a configured reviewer, on a store of queued sentences.

Prints a Markdown table and writes bench/soak.json; exits 1 if any 5xx, connection error or
non-conforming response was seen. Run with `make soak`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from conftest import LiveServer  # noqa: E402  (the tests' server helper)
from run import WRK_TIMEOUT, _rss_mb  # noqa: E402


REVIEW_TOKEN = "soak-reviewer-" + secrets.token_hex(8)


def review_setup(folder: Path) -> None:
    """A reviewer token and a store with queued sentences, for the review endpoints."""
    from model.review.store import QueueItem, ReviewStore

    db = folder / "reviews.sqlite3"
    ReviewStore(db).enqueue([QueueItem(f"Queued sentence {i} on police training.",
                                       priority=i / 50) for i in range(50)])
    os.environ["SECTAG_REVIEW_TOKENS"] = f"soak:{REVIEW_TOKEN}"
    os.environ["SECTAG_REVIEW_DB"] = str(db)


def fuzz(port: int, examples: int) -> dict:
    cmd = [str(ROOT / ".venv" / "bin" / "schemathesis"), "--config-file",
           str(ROOT / "bench" / "schemathesis.toml"), "run",
           f"http://127.0.0.1:{port}/openapi.json", "--checks", "all",
           "--header", f"Authorization: Bearer {REVIEW_TOKEN}",
           "--max-examples", str(examples), "--workers", "2", "--no-color"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    tail = result.stdout[-3000:]
    cases = re.search(r"(\d+) generated", tail)
    tested = re.search(r"Tested: (\d+)", tail)
    spec = json.loads((ROOT / "service" / "openapi.json").read_text(encoding="utf-8"))
    return {"exit_code": result.returncode, "cases": int(cases.group(1)) if cases else 0,
            "operations": int(tested.group(1)) if tested else 0,
            "operations_in_spec": sum(len(m) for m in spec["paths"].values()),
            "summary": tail.strip().splitlines()[-1] if tail.strip() else ""}


def mixed_load(port: int, seconds: int, connections: int) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", WRK_TIMEOUT, "-s",
           str(ROOT / "bench" / "mixed.lua"), f"http://127.0.0.1:{port}"]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    return json.loads(out.split("WRKJSON", 1)[1].strip().splitlines()[0])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registry", type=Path, default=ROOT / "registry")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--examples", type=int, default=1000,
                        help="schemathesis examples per operation")
    args = parser.parse_args(argv)
    review_setup(Path(tempfile.mkdtemp(prefix="sectag-soak-reviews-")))
    server = LiveServer(args.registry, workers=2).wait_ready(path="/readyz")
    try:
        workers = server.workers()
        print("fuzzing with schemathesis ...", file=sys.stderr)
        fuzzed = fuzz(server.port, args.examples)
        rss_start = {p: round(_rss_mb(p), 1) for p in workers}
        print(f"mixed load for {args.seconds}s at concurrency {args.connections} ...",
              file=sys.stderr)
        started = time.time()
        load = mixed_load(server.port, args.seconds, args.connections)
        load["seconds"] = round(time.time() - started, 1)
        rss_end = {p: round(_rss_mb(p), 1) for p in server.workers() if p in rss_start}
    finally:
        server.stop()
    connection_errors = sum(load[k] for k in load if k.startswith("errors_"))
    checks = [
        ("schemathesis >= 1,000 cases, no failure",
         f"{fuzzed['cases']} cases, exit {fuzzed['exit_code']}",
         fuzzed["cases"] >= 1000 and fuzzed["exit_code"] == 0),
        ("schemathesis covers every operation (review ones with a token)",
         f"{fuzzed['operations']} of {fuzzed['operations_in_spec']}",
         fuzzed["operations"] == fuzzed["operations_in_spec"]),
        ("mixed load: zero 5xx", f"{load['5xx']} of {load['requests']}", load["5xx"] == 0),
        ("mixed load: zero connection errors", str(connection_errors), connection_errors == 0),
        ("worker memory flat (end <= start + 10%)",
         f"start {rss_start} MB, end {rss_end} MB",
         all(rss_end[p] <= rss_start[p] * 1.10 for p in rss_end)),
    ]
    lines = ["| check | measured | result |", "|---|---|---|"]
    lines += [f"| {n} | {v} | {'PASS' if ok else 'FAIL'} |" for n, v, ok in checks]
    lines.append("")
    lines.append(f"Mixed load: {load['requests']} requests in {load['seconds']} s "
                 f"({load['ok']} 2xx, {load['4xx']} 4xx, {load['5xx']} 5xx), p50 "
                 f"{load['p50_us'] / 1000:.2f} ms, p99 {load['p99_us'] / 1000:.2f} ms. "
                 f"Schemathesis: {fuzzed['summary']}")
    table = "\n".join(lines) + "\n"
    (ROOT / "bench" / "soak.json").write_text(json.dumps(
        {"fuzz": fuzzed, "load": load, "rss_start_mb": rss_start, "rss_end_mb": rss_end,
         "checks": [{"check": n, "measured": v, "pass": ok} for n, v, ok in checks]},
        indent=2))
    print(table)
    return 0 if all(ok for _, _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
