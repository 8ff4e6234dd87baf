"""sectag benchmarks: in-process limit, HTTP service under wrk, training scale, memory.

Prints a Markdown table with PASS/FAIL per target and writes bench/results.json and
bench/results.md. Run with `make bench` (it installs wrk when it can).
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.labels import load_labels  # noqa: E402
from model.registry import Registry  # noqa: E402
from model.segment import split_sentences  # noqa: E402
from model.tagger import Tagger  # noqa: E402

WRK_SCRIPT = ROOT / "bench" / "post.lua"
# wrk drops a timed-out request from its latency histogram: with its 2 s default the slowest
# requests of a 256-sentence batch at concurrency 32 would vanish from p99. Count them all.
WRK_TIMEOUT = "30s"


def in_process(tagger: Tagger, sentences: list[str]) -> dict:
    """Best of several runs: batch-256 sentences/s and one-sentence microseconds per call."""
    batch = (sentences * (256 // len(sentences) + 1))[:256]
    tagger.predict(batch)
    best_batch = 0.0
    for _ in range(5):
        started = time.perf_counter()
        tagger.predict(batch)
        best_batch = max(best_batch, 256 / (time.perf_counter() - started))
    one = sentences[:200]
    for text in one:
        tagger.predict([text])
    started = time.perf_counter()
    rounds = 5
    for _ in range(rounds):
        for text in one:
            tagger.predict([text])
    per_call = (time.perf_counter() - started) / (rounds * len(one)) * 1e6
    return {"batch256_sentences_per_s": round(best_batch, 1),
            "one_sentence_us": round(per_call, 1)}


PEER_SENTENCES = 20_000


def _best_rate(call, n: int, rounds: int = 3) -> float:
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        best = max(best, n / (time.perf_counter() - started))
    return best


def _per_call_us(call, texts: list[str], rounds: int = 3) -> float:
    for text in texts[:50]:
        call(text)
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for text in texts:
            call(text)
        best = min(best, (time.perf_counter() - started) / len(texts) * 1e6)
    return best


def train_fasttext(labels, folder: Path):
    """fastText one-vs-all with subword n-grams (3-5) and word bigrams, on the same corpus."""
    import fasttext

    path = folder / "fasttext-train.txt"
    with open(path, "w", encoding="utf-8") as handle:
        for row in labels.rows:
            tags = " ".join(f"__label__{t}" for t in row.topics) or "__label__none"
            handle.write(f"{tags} {' '.join(row.text.split())}\n")
    return fasttext.train_supervised(str(path), loss="ova", minn=3, maxn=5, wordNgrams=2,
                                     epoch=25, thread=1, verbose=0, seed=0)


def peer_speed(tagger: Tagger, labels) -> dict:
    """sectag beside fastText on the same sentences, one core, one run (ratios comparable).

    Batch: one call over PEER_SENTENCES sentences. One sentence: per-call time over 500
    sentences. Like fastText's, sectag's calls give topics and scores only (no evidence,
    no actors); the one-sentence call with actors is reported beside them. The
    scikit-learn pipeline's own predict_proba (the slow reference the compiled path
    equals) is measured too.
    """
    sentences = [r.text for r in labels.rows]
    batch = (sentences * (PEER_SENTENCES // len(sentences) + 1))[:PEER_SENTENCES]
    some = sentences[:500]
    out = {"sentences": len(batch)}
    tagger.predict(batch[:1000])
    out["sectag_batch_per_s"] = round(_best_rate(
        lambda: tagger.predict(batch, evidence=False, actors=False), len(batch)))
    out["sectag_batch_evidence_per_s"] = round(_best_rate(
        lambda: tagger.predict(batch, actors=False), len(batch)))
    out["sectag_one_us"] = round(_per_call_us(
        lambda t: tagger.predict([t], evidence=False, actors=False), some), 1)
    out["sectag_one_evidence_us"] = round(_per_call_us(
        lambda t: tagger.predict([t], actors=False), some), 1)
    out["sectag_one_actors_us"] = round(_per_call_us(
        lambda t: tagger.predict([t], evidence=False), some), 1)
    out["reference_batch_per_s"] = round(_best_rate(
        lambda: tagger.pipeline.predict_proba(batch[:4000]), 4000, rounds=1))
    out.update(lexicon_cost(tagger, batch))
    out.update(actor_cost(tagger, batch))
    try:
        with tempfile.TemporaryDirectory() as folder:
            model = train_fasttext(labels, Path(folder))
    except ImportError:
        out["fasttext"] = "not installed (pip install -e '.[bench]')"
        return out
    clean = [" ".join(t.split()) for t in batch]  # fastText's predict refuses newlines
    out["fasttext_batch_per_s"] = round(_best_rate(
        lambda: model.predict(clean, k=-1, threshold=0.5), len(clean)))
    out["fasttext_one_us"] = round(_per_call_us(
        lambda t: model.predict(t, k=-1, threshold=0.5), clean[:500]), 1)
    out["batch_ratio"] = round(out["sectag_batch_per_s"] / out["fasttext_batch_per_s"], 2)
    out["one_ratio"] = round(out["sectag_one_us"] / out["fasttext_one_us"], 2)
    return out


def actor_cost(tagger: Tagger, batch: list[str]) -> dict:
    """What the actor pass costs in-process batch tagging (what `sectag batch` does per
    chunk: scores and decisions, then each text's actor codes), in the same run.

    The two steps run one after the other, so each is timed on its own, alternately,
    best of 5: timing them together swung the loss from -2% to 24% between runs of one
    process (a pause in either step lands in the sum); apart, it moves by a few points.
    """
    matcher = tagger.actors
    best = {"decide": float("inf"), "actors": float("inf")}
    calls = {"decide": lambda: tagger.decide(batch), "actors": lambda: matcher.codes_many(batch)}
    for _ in range(5):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            best[name] = min(best[name], time.perf_counter() - started)
    with_actors = best["decide"] + best["actors"]
    return {"with_actors_per_s": round(len(batch) / with_actors),
            "without_actors_per_s": round(len(batch) / best["decide"]),
            "actor_throughput_loss": round(best["actors"] / with_actors, 3)}


def lexicon_cost(tagger: Tagger, batch: list[str]) -> dict:
    """What the lexicon block costs in-process: the same model with a lexicon that never hits.

    The copy keeps the lexicon's columns (so the classifier is unchanged) but has no terms,
    so the difference is the matching work alone. Measured alternately, best of 3 each.
    """
    pipeline = copy.deepcopy(tagger.pipeline)
    blocks = dict(pipeline.named_steps["features"].transformer_list)
    lexicon = blocks.get("lexicon")
    if lexicon is None or not lexicon.table_:
        return {"lexicon_entries": 0}
    lexicon.table_, lexicon.max_len_, lexicon.first_tokens_ = {}, 0, frozenset()
    bare = Tagger(pipeline, {**tagger.manifest, "version": "no-lexicon"})
    bare.predict(batch[:1000])
    rates = {"with": 0.0, "without": 0.0}
    for _ in range(3):
        for name, model in (("with", tagger), ("without", bare)):
            rates[name] = max(rates[name], _best_rate(
                lambda: model.predict(batch, evidence=True), len(batch), rounds=1))
    return {"lexicon_entries": len(lexicon.entries_),
            "with_lexicon_per_s": round(rates["with"]),
            "without_lexicon_per_s": round(rates["without"]),
            "lexicon_throughput_loss": round(1 - rates["with"] / rates["without"], 3)}


def worker_startup(registry: Path) -> dict:
    """A fresh process: imports, then model load plus featurizer tables, then a first call."""
    code = ("import sys, time, json; sys.path.insert(0, %r)\n"
            "t0 = time.perf_counter()\n"
            "from model.registry import Registry\nfrom model.tagger import Tagger\n"
            "t1 = time.perf_counter()\n"
            "tagger = Tagger.from_registry(Registry(%r))\n"
            "t2 = time.perf_counter()\n"
            "tagger.predict(['Egypt will train Libyan police cadres.'])\n"
            "t3 = time.perf_counter()\n"
            "print(json.dumps({'imports_s': t1 - t0, 'load_and_tables_s': t2 - t1, "
            "'first_call_s': t3 - t2}))\n" % (str(ROOT), str(registry)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    result = {k: round(v, 3) for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items()}
    result["startup_s"] = round(result["load_and_tables_s"] + result["first_call_s"], 3)
    return result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("service did not become ready")


def _worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024


def memory_parts_mb(pid: int) -> dict:
    """A process's RSS beside what it alone costs: PSS (shared pages split among their
    users), anonymous memory, and the resident pages of libllvmlite.so, clean shared code
    whose count depends on the page cache: the kernel maps a faulting page's cached
    neighbours too, so a library file just installed (all cached) reads tens of MB more."""
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    field = {name: int(kb) / 1024
             for name, kb in re.findall(r"^(\w+):\s+(\d+) kB", rollup, re.M)}
    llvm, mapping = 0, ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        if re.match(r"[0-9a-f]+-[0-9a-f]+ ", line):
            mapping = line.split()[-1]
        elif line.startswith("Rss:") and mapping.endswith("libllvmlite.so"):
            llvm += int(line.split()[1])
    return {"rss": round(field["Rss"], 1), "pss": round(field["Pss"], 1),
            "anonymous": round(field["Anonymous"], 1), "llvmlite": round(llvm / 1024, 1)}


def wrk(port: int, path: str, body: dict, connections: int, seconds: int) -> dict:
    """One wrk run from a separate process; latency percentiles in milliseconds."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(body, handle)
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", WRK_TIMEOUT,
           "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(cmd, capture_output=True, text=True,
                         env={**os.environ, "BODY_FILE": handle.name}).stdout
    os.unlink(handle.name)
    stats = json.loads(out.split("WRKJSON", 1)[1].strip().splitlines()[0])
    errors = sum(v for k, v in stats.items() if k.startswith("errors_"))
    return {"connections": connections, "requests": stats["requests"], "requests_per_s":
            round(stats["requests"] / (stats["duration_us"] / 1e6), 1),
            "p50_ms": stats["p50_us"] / 1000, "p95_ms": stats["p95_us"] / 1000,
            "p99_ms": stats["p99_us"] / 1000, "errors": errors}


def service(registry: Path, sentences: list[str], article: str, workers: int,
            seconds: int) -> dict:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "sectag"), "serve", "--registry",
                               str(registry), "--port", str(port), "--workers", str(workers)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        _wait_ready(port)
        batch = (sentences * (256 // len(sentences) + 1))[:256]
        results = {"workers": workers, "predict_1": [], "predict_256": []}
        for connections in (1, 8, 32):
            results["predict_1"].append(wrk(port, "/v1/predict", {"text": sentences[0]},
                                            connections, seconds))
            run = wrk(port, "/v1/predict", {"texts": batch}, connections, seconds)
            run["sentences_per_s"] = round(run["requests_per_s"] * 256, 1)
            results["predict_256"].append(run)
        results["tag_article_30"] = wrk(port, "/v1/tag-article", {"text": article}, 8, seconds)
        results["worker_memory_mb"] = [memory_parts_mb(p) for p in _worker_pids(server.pid)]
        results["worker_rss_mb"] = [parts["rss"] for parts in results["worker_memory_mb"]]
        results["requests_before_rss"] = sum(
            run["requests"] for runs in (results["predict_1"], results["predict_256"]) for run in runs
        ) + results["tag_article_30"]["requests"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    results["server_floor"] = server_floor(workers, seconds, {"text": sentences[0]})
    results["server_floor_c1"] = server_floor(workers, seconds, {"text": sentences[0]},
                                              connections=1)
    results["app_request_us"] = app_request_us(registry, sentences[0])
    return results


def server_floor(workers: int, seconds: int, body: dict, connections: int = 8) -> dict:
    """wrk at concurrency `connections` (8 by default) against a hello-world WSGI app under granian, same workers."""
    port = _free_port()
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "granian"), "--interface", "wsgi",
                               "--http", "1", "--no-ws", "--workers", str(workers), "--port",
                               str(port), "--working-dir", str(ROOT / "bench"),
                               "floor_app:app"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while len(_worker_pids(server.pid)) < workers and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        return wrk(port, "/", body, connections, seconds)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def app_request_us(registry: Path, text: str, calls: int = 2000) -> float:
    """Microseconds of Python per one-sentence /v1/predict, calling the WSGI app directly."""
    from werkzeug.test import EnvironBuilder

    from service import create_app

    app = create_app({"REGISTRY": str(registry)})
    body = json.dumps({"text": text}).encode()
    environ = EnvironBuilder(path="/v1/predict", method="POST", data=body,
                             content_type="application/json").get_environ()

    def call():
        b"".join(app({**environ, "wsgi.input": io.BytesIO(body)}, lambda *_: None))

    for _ in range(200):
        call()
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return round((time.perf_counter() - started) / calls * 1e6, 1)


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (the training's fold workers)."""
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            total += _rss_mb(current)
        except (OSError, AttributeError):
            continue  # exited meanwhile
        stack += _worker_pids(current)
    return total


def training_scale(labels_dir: Path, factors: list[int]) -> list[dict]:
    """Train on the corpus resampled to each factor, in a child process; time and peak RSS.

    The peak is the largest sum, sampled every 0.2 s, of the resident memory of the
    training process and its fold workers.
    """
    out = []
    for factor in factors:
        code = ("import sys, time; sys.path.insert(0, %r)\n"
                "from model.labels import load_labels\nfrom model.train import train\n"
                "import dataclasses\n"
                "labels = load_labels(%r)\n"
                "rows = [dataclasses.replace(r, id=f'{r.id}~{k}') for k in range(%d) "
                "for r in labels.rows]\n"
                "labels = dataclasses.replace(labels, rows=rows)\n"
                "t = time.perf_counter(); train(labels); s = time.perf_counter() - t\n"
                "print(s)\n"
                % (str(ROOT), str(labels_dir), factor))
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, cwd=ROOT)
        peak = 0.0
        while child.poll() is None:
            peak = max(peak, _tree_rss_mb(child.pid))
            time.sleep(0.2)
        stdout, stderr = child.communicate()
        if child.returncode:
            out.append({"factor": factor, "error": stderr.strip().splitlines()[-1]})
            continue
        out.append({"factor": factor, "seconds": round(float(stdout.split()[-1]), 2),
                    "peak_memory_mb": round(peak, 1)})
    return out


def batch_engines(registry: Path, sentences: list[str], rows: int, workers: int,
                  engines: tuple[str, ...] = ("local", "dask")) -> dict:
    """`sectag batch` on a generated file of `rows` sentences: local engine, then Dask."""
    work = Path(tempfile.mkdtemp(prefix="sectag-batch-bench-"))
    source = work / "input.jsonl"
    with open(source, "w", encoding="utf-8") as handle:
        for i in range(rows):
            handle.write(json.dumps({"id": i, "text": sentences[i % len(sentences)]}) + "\n")
    out = {"rows": rows}
    sectag = str(ROOT / ".venv" / "bin" / "sectag")
    for engine in engines:
        cmd = ["/usr/bin/time", "-f", "%M", sectag, "batch", str(source),
               str(work / f"out-{engine}.jsonl"), "--registry", str(registry), "--quiet",
               "--engine", engine]
        if engine == "dask":
            cmd += ["--workers", str(workers)]
        started = time.perf_counter()
        result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        seconds = time.perf_counter() - started
        if result.returncode:
            out[engine] = {"error": result.stderr.strip().splitlines()[-1]}
            continue
        peak_kb = int(result.stderr.strip().splitlines()[-1])
        out[engine] = {"seconds": round(seconds, 1), "rows_per_s": round(rows / seconds),
                       "peak_memory_mb": round(peak_kb / 1024, 1)}
    if "seconds" in out.get("local", {}) and "seconds" in out.get("dask", {}):
        out["dask_to_local_throughput"] = round(out["local"]["seconds"] / out["dask"]["seconds"], 2)
        same = (work / "out-local.jsonl").read_bytes() == (work / "out-dask.jsonl").read_bytes()
        out["identical_output"] = same
    shutil.rmtree(work, ignore_errors=True)
    return out


def peer_targets(results: dict) -> list[tuple[str, str, bool]]:
    """Issue 14's targets: sectag beside fastText, start-up, the 1M-row batch, HTTP at c=1."""
    peer, rows = results["peer"], []
    if "fasttext_batch_per_s" in peer:
        rows += [
            ("batch without evidence >= 1.0x fastText (goal 2x)",
             f"{peer['sectag_batch_per_s']:,} vs {peer['fasttext_batch_per_s']:,} sentences/s "
             f"= {peer['batch_ratio']:.2f}x (pipeline.predict_proba: "
             f"{peer['reference_batch_per_s']:,}/s)", peer["batch_ratio"] >= 1.0),
            ("one sentence <= 1.5x fastText and <= 60 us (topics only, as fastText)",
             f"{peer['sectag_one_us']} us vs {peer['fasttext_one_us']} us = "
             f"{peer['one_ratio']:.2f}x (with actors: {peer['sectag_one_actors_us']} us)",
             peer["one_ratio"] <= 1.5 and peer["sectag_one_us"] <= 60)]
    rows.append(("batch with evidence >= 12,000 sentences/s",
                 f"{peer['sectag_batch_evidence_per_s']:,} sentences/s (one sentence with "
                 f"evidence: {peer['sectag_one_evidence_us']} us)",
                 peer["sectag_batch_evidence_per_s"] >= 12_000))
    if "lexicon_throughput_loss" in peer:
        rows.append(("lexicon block costs <= 15% of in-process tagging (with evidence)",
                     f"{peer['with_lexicon_per_s']:,} vs {peer['without_lexicon_per_s']:,} "
                     f"sentences/s without matching ({peer['lexicon_entries']} entries): "
                     f"{peer['lexicon_throughput_loss']:.1%} lost",
                     peer["lexicon_throughput_loss"] <= 0.15))
    if "actor_throughput_loss" in peer:
        rows.append(("actor pass costs <= 15% of in-process batch throughput",
                     f"{peer['with_actors_per_s']:,} vs {peer['without_actors_per_s']:,} "
                     f"sentences/s without actors: {peer['actor_throughput_loss']:.1%} lost",
                     peer["actor_throughput_loss"] <= 0.15))
    start = results["startup"]
    whole = start["imports_s"] + start["startup_s"]
    rows.append(("worker start-up (imports + model load + tables + first call) <= 1 s",
                 f"{whole:.2f} s (imports {start['imports_s']:.2f} s)", whole <= 1))
    local = results.get("batch", {}).get("local", {})
    if "seconds" in local and results["batch"]["rows"] >= 1_000_000:
        rows.append(("1,000,000 sentences, `sectag batch` local, 2 cores <= 90 s",
                     f"{local['seconds']} s", local["seconds"] <= 90))
    svc = results.get("service")
    if svc:
        c1 = next(r for r in svc["predict_1"] if r["connections"] == 1)
        rows.append(("one-sentence /v1/predict p50 at concurrency 1 (reported)",
                     f"{c1['p50_ms']:.2f} ms (hello-world floor at c=1: "
                     f"{svc['server_floor_c1']['p50_ms']:.2f} ms)", True))
    return rows


def targets(results: dict) -> list[tuple[str, str, bool]]:
    rows = peer_targets(results)
    if "service" not in results:
        return rows
    return rows + service_targets(results)


def service_targets(results: dict) -> list[tuple[str, str, bool]]:
    ip = results["in_process"]
    svc = results["service"]
    c8 = next(r for r in svc["predict_1"] if r["connections"] == 8)
    best256 = max(r["sentences_per_s"] for r in svc["predict_256"])
    ratio = best256 / ip["batch256_sentences_per_s"]
    one_connection = svc["predict_256"][0]["sentences_per_s"] / ip["batch256_sentences_per_s"]
    results["ratio_http_to_in_process_batch256"] = round(ratio, 3)
    results["ratio_http_to_in_process_batch256_one_connection"] = round(one_connection, 3)
    scale = {r["factor"]: r for r in results["training"]}
    rows = [
        ("HTTP batch-256 throughput >= 60% of in-process",
         f"{best256:.0f} / {ip['batch256_sentences_per_s']:.0f} sentences/s = {ratio:.0%} "
         f"(one connection, one worker busy: {one_connection:.0%})",
         ratio >= 0.6),
        ("one-sentence /v1/predict p50 <= 3 ms at concurrency 8",
         f"{c8['p50_ms']:.2f} ms (the server's own floor: {svc['server_floor']['p50_ms']:.2f} "
         f"ms)", c8["p50_ms"] <= 3),
        ("one-sentence /v1/predict p99 <= 20 ms at concurrency 8", f"{c8['p99_ms']:.2f} ms",
         c8["p99_ms"] <= 20),
        ("in-process one-sentence call <= 1 ms", f"{ip['one_sentence_us']:.0f} us",
         ip["one_sentence_us"] <= 1000),
    ]
    if 1 in scale and "seconds" in scale[1]:
        rows.append(("training on the labelled corpus <= 10 s", f"{scale[1]['seconds']:.1f} s",
                     scale[1]["seconds"] <= 10))
    if 100 in scale:
        r = scale[100]
        ok = "seconds" in r and r["seconds"] <= 300 and r["peak_memory_mb"] <= 4096
        rows.append(("training on 100x <= 5 min and <= 4 GiB",
                     f"{r.get('seconds', '?')} s, {r.get('peak_memory_mb', '?')} MB", ok))
    rows.append(("artifact <= 20 MB", f"{results['artifact_mb']:.2f} MB",
                 results["artifact_mb"] <= 20))
    rss = max(svc["worker_rss_mb"]) if svc["worker_rss_mb"] else float("nan")
    served = svc.get("requests_before_rss", 0)
    parts = max(svc.get("worker_memory_mb") or [{}], key=lambda p: p.get("rss", 0))
    detail = (f" (PSS {parts['pss']:.0f} MB, anonymous {parts['anonymous']:.0f} MB, "
              f"libllvmlite.so pages {parts['llvmlite']:.0f} MB)" if parts else "")
    rows.append(("worker resident memory after >= 10,000 requests <= 200 MB",
                 f"{rss:.0f} MB after {served} requests{detail}", rss <= 200 and served >= 10_000))
    return rows


def markdown(results: dict, rows: list[tuple[str, str, bool]]) -> str:
    lines = ["| target | measured | result |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {'PASS' if ok else 'FAIL'} |" for name, value, ok in rows]
    loads = ", ".join(f"{part} {load:.1f}" for part, load in results["load_average"].items())
    lines += ["", f"1-minute load average before each part ({os.cpu_count()} cores): {loads}."]
    peer = results["peer"]
    lines += ["", "| in process, one core | batch sentences/s | one sentence us |",
              "|---|---|---|",
              f"| sectag, topics only (no evidence, no actors) | {peer['sectag_batch_per_s']} | "
              f"{peer['sectag_one_us']} |",
              f"| sectag, with evidence, no actors | {peer['sectag_batch_evidence_per_s']} | "
              f"{peer['sectag_one_evidence_us']} |",
              f"| fastText (ova, subwords 3-5, bigrams) | {peer.get('fasttext_batch_per_s', '-')} "
              f"| {peer.get('fasttext_one_us', '-')} |",
              f"| scikit-learn pipeline.predict_proba (reference) | "
              f"{peer['reference_batch_per_s']} | - |"]
    batch = results.get("batch")
    if "service" not in results:
        if batch:
            lines.append(f"\nbatch engines: {json.dumps(batch)}")
        return "\n".join(lines) + "\n"
    lines += ["", "| load | connections | requests/s | sentences/s | p50 ms | p95 ms | p99 ms "
              "| errors |", "|---|---|---|---|---|---|---|---|"]
    svc = results["service"]
    for name in ("predict_1", "predict_256"):
        for r in svc[name]:
            lines.append(f"| {name} | {r['connections']} | {r['requests_per_s']} | "
                         f"{r.get('sentences_per_s', r['requests_per_s'])} | {r['p50_ms']} | "
                         f"{r['p95_ms']} | {r['p99_ms']} | {r['errors']} |")
    r = svc["tag_article_30"]
    lines.append(f"| tag_article_30 | 8 | {r['requests_per_s']} | - | {r['p50_ms']} | "
                 f"{r['p95_ms']} | {r['p99_ms']} | {r['errors']} |")
    r = svc["server_floor"]
    lines.append(f"| server floor (hello-world WSGI app, granian, same workers) | 8 | "
                 f"{r['requests_per_s']} | - | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | "
                 f"{r['errors']} |")
    r = results["service"]["server_floor_c1"]
    lines.append(f"| server floor (hello-world WSGI app) | 1 | {r['requests_per_s']} | - | "
                 f"{r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['errors']} |")
    if results["training"]:
        lines += ["", "| training corpus | seconds | peak MB |", "|---|---|---|"]
    for t in results["training"]:
        lines.append(f"| {t['factor']}x | {t.get('seconds', t.get('error'))} | "
                     f"{t.get('peak_memory_mb', '-')} |")
    if batch:
        lines += ["", "| batch engine | rows | seconds | rows/s | peak MB (largest process) |",
                  "|---|---|---|---|---|"]
        for engine in ("local", "dask"):
            if engine not in batch:
                continue
            r = batch[engine]
            lines.append(f"| {engine} | {batch['rows']} | {r.get('seconds', r.get('error'))} | "
                         f"{r.get('rows_per_s', '-')} | {r.get('peak_memory_mb', '-')} |")
        if "dask" in batch:
            lines.append(f"\nDask/local throughput ratio: "
                         f"{batch.get('dask_to_local_throughput')}; identical output: "
                         f"{batch.get('identical_output')}.")
    ip = results["in_process"]
    lines += ["", f"In-process: {ip['batch256_sentences_per_s']} sentences/s (batch 256), "
              f"{ip['one_sentence_us']} us per one-sentence call. Service/in-process batch-256 "
              f"ratio: {results['ratio_http_to_in_process_batch256']:.2f}. Workers: "
              f"{svc['workers']}, worker RSS MB: {svc['worker_rss_mb']}. One-sentence "
              f"/v1/predict inside the app, without a server: {svc['app_request_us']} us. "
              f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registry", type=Path, default=ROOT / "registry")
    parser.add_argument("--labels", type=Path, default=ROOT / "labels")
    parser.add_argument("--seconds", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scale", default="1,10,100", help="training corpus factors")
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    parser.add_argument("--batch-rows", type=int, default=1_000_000,
                        help="rows for the batch engine benchmark (0 to skip)")
    parser.add_argument("--peer-only", action="store_true",
                        help="only sectag beside fastText, start-up and the batch engines")
    parser.add_argument("--only", choices=["all", "speed"], default="all",
                        help="speed: issue 14's targets only (no training scale, no Dask)")
    args = parser.parse_args(argv)
    if not args.peer_only and not shutil.which("wrk"):
        print("wrk is not installed (Debian package 'wrk'); `make bench` installs it",
              file=sys.stderr)
        return 2
    registry = Registry(args.registry)
    tagger = Tagger(*registry.load())  # the reference pipeline: peers and lexicon cost need it
    labels = load_labels(args.labels)
    sentences = [r.text for r in labels.rows]
    article = " ".join(sentences[:30])
    assert len(split_sentences(article)) >= 25
    results = {"model_version": tagger.version}
    results["load_average"] = {}  # 1-minute load before each part: > cores means contention
    print("sectag beside fastText ...", file=sys.stderr)
    results["load_average"]["peer"] = os.getloadavg()[0]
    results["peer"] = peer_speed(tagger, labels)
    results["startup"] = worker_startup(registry.root)
    if not args.peer_only:
        print("in-process ...", file=sys.stderr)
        results["in_process"] = in_process(tagger, sentences)
        print("service under wrk ...", file=sys.stderr)
        results["load_average"]["service"] = os.getloadavg()[0]
        results["service"] = service(registry.root, sentences, article, args.workers,
                                     args.seconds)
        results["training"] = []
        if args.only == "all":
            print("training scale ...", file=sys.stderr)
            results["training"] = training_scale(args.labels,
                                                 [int(f) for f in args.scale.split(",") if f])
    if args.batch_rows:
        print(f"batch engines on {args.batch_rows} rows ...", file=sys.stderr)
        results["load_average"]["batch"] = os.getloadavg()[0]
        engines = ("local",) if args.only == "speed" else ("local", "dask")
        results["batch"] = batch_engines(registry.root, sentences, args.batch_rows, args.workers,
                                         engines)
    artifact = registry.version_dir(tagger.version) / "model.joblib"
    results["artifact_mb"] = round(artifact.stat().st_size / 1e6, 3)
    rows = targets(results)
    results["targets"] = [{"target": n, "measured": v, "pass": ok} for n, v, ok in rows]
    table = markdown(results, rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    (args.out / "results.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
