"""Bench: `sectag batch --unit article --keep date` then `sectag trends` on a synthetic archive.

Prints, for each step, rows, wall time, rows/s and peak memory (GNU time's maximum resident
set size), and checks the Dask engine's tables equal the local engine's.

    python bench/trends.py --articles 100000 [--registry registry] [--work DIR]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SECTAG = [sys.executable, "-m", "cli.main"]
TABLES = ("topics", "partners", "pairs")


def timed(command: list[str]) -> dict:
    """Run under /usr/bin/time -v; wall seconds, peak RSS in MB, exit code, stderr tail."""
    done = subprocess.run(["/usr/bin/time", "-v", *command], cwd=ROOT, capture_output=True,
                          text=True)
    clock = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    hours, minutes, seconds = (float(g or 0) for g in clock.groups())
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    return {"seconds": hours * 3600 + minutes * 60 + seconds, "rss_mb": rss / 1024,
            "code": done.returncode, "stderr": done.stderr, "stdout": done.stdout}


def report(step: str, rows: int, run: dict) -> None:
    print(f"| {step} | {rows} | {run['seconds']:.1f} | {rows / run['seconds']:,.0f} | "
          f"{run['rss_mb']:.0f} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--registry", default="registry")
    parser.add_argument("--work", type=Path, default=None, help="folder (default: a temp dir)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="sectag-trends-"))
    work.mkdir(parents=True, exist_ok=True)
    archive, tagged = work / "archive.jsonl", work / "tagged.jsonl"
    make = [sys.executable, "bench/make_archive.py", "--articles", str(args.articles)]
    subprocess.run([*make, str(archive)], cwd=ROOT, check=True)
    print("| step | rows | seconds | rows/s | peak RSS MB |\n|---|---|---|---|---|")
    batch = timed([*SECTAG, "batch", str(archive), str(tagged), "--unit", "article",
                   "--keep", "date", "--registry", args.registry, "--force", "--quiet"])
    if batch["code"] == 0:
        report("sectag batch --unit article --keep date", args.articles, batch)
    else:
        said = batch["stderr"].split("\tCommand being timed")[0].strip().splitlines()
        print(f"batch failed ({said[-1] if said else 'no message'}); trends runs on "
              f"the batch output the archive stands for (make_archive --as-batch-output)")
        subprocess.run([*make, "--as-batch-output", str(tagged)], cwd=ROOT, check=True)
    outputs = {}
    for engine in ("local", "dask"):
        out = work / f"trends-{engine}"
        run = timed([*SECTAG, "trends", str(tagged), "--out", str(out), "--engine", engine])
        if run["code"] != 0:
            print(run["stderr"][-2000:], file=sys.stderr)
            return 1
        report(f"sectag trends --engine {engine}", args.articles, run)
        outputs[engine] = out
    same = all(pd.read_parquet(outputs["local"] / f"{t}.parquet").equals(
        pd.read_parquet(outputs["dask"] / f"{t}.parquet")) for t in TABLES)
    print(f"\ndask tables identical to local: {same}; outputs in {work} (peak RSS: the "
          f"largest single process, so a Dask worker when it is larger than the client)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
