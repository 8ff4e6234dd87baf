"""`sectag batch --engine dask`: the same job over a Dask cluster, one task per input block.

Blocks are byte ranges cut at newlines (CSV, JSONL) or Parquet row groups. A first pass
counts each block's lines so every row keeps the line number the local engine gives it;
the second pass tags each block into the same numbered parts the local engine writes, and
the client joins them the same way, so the output is identical row for row.

Each worker process loads the model once, from the registry (hash-checked), by path and
version: the model itself is never shipped with a task.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
from dataclasses import dataclass

from . import formats
from .engine import (BatchJob, completed_parts, finalize, prepare, summarize, tag_items,
                    write_part)
from ..registry import Registry
from ..tagger import Tagger

DEFAULT_BLOCKSIZE = 8 * 1024 * 1024  # bounds each task's memory (text, items, results)


@dataclass(frozen=True)
class Block:
    """One task's share of the input: a byte range or a Parquet row group."""

    start: int
    end: int
    first_line: int = 0
    row_group: int | None = None


@functools.lru_cache(maxsize=2)
def worker_tagger(registry_root: str, version: str, options_json: str = "") -> Tagger:
    """The model, loaded once per worker process (this cache lives in the worker)."""
    options = json.loads(options_json) if options_json else None
    return Tagger.from_registry(Registry(registry_root, options), version)


def _read_range(path: str, start: int, end: int) -> bytes:
    with formats._open(path, "rb") as handle:
        handle.seek(start)
        return handle.read(end - start)


def _count_lines(path: str, start: int, end: int) -> int:
    return _read_range(path, start, end).count(b"\n")


def plan_byte_blocks(path: str, blocksize: int, skip_header: bool) -> list[Block]:
    """Byte ranges of about `blocksize`, each ending just after a newline."""
    with formats._open(path, "rb") as handle:
        handle.seek(0, io.SEEK_END)
        size = handle.tell()
        handle.seek(0)
        start = len(handle.readline()) if skip_header else 0
        cuts = [start]
        while cuts[-1] < size:
            target = cuts[-1] + blocksize
            if target >= size:
                cuts.append(size)
                break
            handle.seek(target)
            handle.readline()
            cuts.append(min(handle.tell(), size))
    return [Block(a, b) for a, b in zip(cuts, cuts[1:])] or [Block(start, start)]


def plan_parquet_blocks(path: str) -> list[Block]:
    import pyarrow.parquet as pq

    with formats._open(path, "rb") as handle:
        meta = pq.ParquetFile(handle).metadata
    blocks, row = [], 1
    for group in range(meta.num_row_groups):
        rows = meta.row_group(group).num_rows
        blocks.append(Block(row, row + rows, first_line=row, row_group=group))
        row += rows
    return blocks or [Block(1, 1, first_line=1, row_group=None)]


def process_block(job: BatchJob, block: Block, index: int, registry_root: str, version: str,
                  header: list[str] | None, options_json: str = "") -> dict:
    """Tag one block into part `index` (runs on a worker)."""
    tagger = worker_tagger(registry_root, version, options_json)
    if job.in_format == "parquet":
        items = list(formats.iter_parquet_batches(
            job.input, job.columns, job.chunk_size, first_row=block.first_line,
            row_groups=[block.row_group])) if block.row_group is not None else []
    else:
        data = _read_range(job.input, block.start, block.end)
        if job.in_format == "jsonl":
            items = list(formats.iter_jsonl(data.split(b"\n"), block.first_line, job.columns))
        else:
            items = list(formats.iter_csv(io.BytesIO(data), block.first_line, job.columns,
                                           header=header))
    records, errors = tag_items(items, tagger, job.unit, job.columns.keep)
    return write_part(job.work_dir, index, records, errors, job, tagger.topics, len(items))


def run_dask(job: BatchJob, registry: Registry, version: str, *, scheduler: str | None = None,
             workers: int = 2, blocksize: int = DEFAULT_BLOCKSIZE, resume: bool = False,
             force: bool = False, quiet: bool = False) -> dict:
    from dask.distributed import Client, LocalCluster, as_completed
    from tqdm import tqdm

    registry.load(version)  # refuse a bad version before any worker starts
    done = prepare(job, version, f"bytes:{blocksize}", resume=resume, force=force)
    header = None
    if job.in_format == "parquet":
        blocks = plan_parquet_blocks(job.input)
    else:
        blocks = plan_byte_blocks(job.input, blocksize, skip_header=job.in_format == "csv")
        if job.in_format == "csv":
            with formats._open(job.input, "rb") as handle:
                header = formats.read_csv_header(handle)
            missing = [c for c in job.columns.read if c not in header]
            if missing:
                raise ValueError(f"the CSV header has no column {missing[0]!r}")
    cluster = None if scheduler else LocalCluster(n_workers=workers, threads_per_worker=1,
                                                  processes=True, dashboard_address=None,
                                                  silence_logs=logging.ERROR)
    with Client(scheduler or cluster) as client:
        try:
            if job.in_format != "parquet":
                counts = client.gather([client.submit(_count_lines, job.input, b.start, b.end,
                                                      pure=False) for b in blocks])
                line = 2 if job.in_format == "csv" else 1
                numbered = []
                for block, count in zip(blocks, counts):
                    numbered.append(Block(block.start, block.end, first_line=line))
                    line += count
                blocks = numbered
            todo = [i for i in range(len(blocks)) if i >= len(done)]
            options = json.dumps(registry.options, sort_keys=True) if registry.options else ""
            futures = [client.submit(process_block, job, blocks[i], i, registry.location,
                                     version, header, options, pure=False) for i in todo]
            bar = tqdm(total=len(blocks), initial=len(blocks) - len(todo), unit=" blocks",
                       disable=quiet or not os.isatty(2), desc="tagging (dask)")
            for _ in as_completed(futures):
                bar.update(1)
            bar.close()
            client.gather(futures)
            del futures  # release results before the cluster closes
        finally:
            if cluster is not None:
                cluster.close()
    parts = completed_parts(job.work_dir)
    finalize(job, len(blocks))
    return summarize(job, parts, version)
