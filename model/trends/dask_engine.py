"""`sectag trends --engine dask`: the same counts with dask.dataframe, one partition per block.

Blocks are those `sectag batch --engine dask` cuts (byte ranges ending at a newline, or
Parquet row groups); a first pass counts each block's lines so rows keep the numbers the
local engine gives them. Each partition is parsed by the local engine's functions, and the
partial counts are summed with a dask.dataframe groupby, so the tables are identical.
"""

from __future__ import annotations

import io
import logging

import pandas as pd

from . import count, read
from .local import error_lines
from .read import Source
from ..batch.dask_engine import Block, plan_byte_blocks, plan_parquet_blocks

DEFAULT_BLOCKSIZE = 8 * 1024 * 1024


def _count_lines(path: str, start: int, end: int) -> int:
    with read._open(path, "rb") as handle:
        handle.seek(start)
        return handle.read(end - start).count(b"\n")


def block_units(block: Block, source: Source, options: count.Options,
                header: list[str] | None) -> pd.DataFrame:
    """One partition: the units of one block (runs on a worker)."""
    if source.fmt == "parquet":
        rows = read.iter_parquet(source.path, source.columns, 65536,
                                 row_groups=[block.row_group], first_row=block.first_line) \
            if block.row_group is not None else []
        return count.to_units(rows, source, options)
    with read._open(source.path, "rb") as handle:
        handle.seek(block.start)
        data = handle.read(block.end - block.start)
    rows = read.iter_jsonl(data.split(b"\n"), block.first_line, source.columns) \
        if source.fmt == "jsonl" else \
        read.iter_csv(io.BytesIO(data), block.first_line, source.columns, header=header)
    return count.to_units(rows, source, options)


def plan_blocks(source: Source, blocksize: int, compute) -> list[Block]:
    """The blocks with each one's first line number (a counting pass for CSV and JSONL)."""
    import dask

    if source.fmt == "parquet":
        return plan_parquet_blocks(source.path)
    blocks = plan_byte_blocks(source.path, blocksize, skip_header=source.fmt == "csv")
    counts = compute(*[dask.delayed(_count_lines)(source.path, b.start, b.end)
                       for b in blocks])
    line, numbered = 2 if source.fmt == "csv" else 1, []
    for block, lines in zip(blocks, counts):
        numbered.append(Block(block.start, block.end, first_line=line))
        line += lines
    return numbered


def run_dask(source: Source, options: count.Options, errors_file, *, scheduler: str | None
             = None, workers: int = 2, blocksize: int = DEFAULT_BLOCKSIZE,
             quiet: bool = False) -> tuple[dict[str, pd.DataFrame], dict]:
    """The local engine's tables and summary, computed on a Dask cluster.

    `scheduler`: a cluster address, "threads" or "synchronous" (no cluster), or None for a
    local cluster of `workers` processes.
    """
    import dask

    with dask.config.set({"dataframe.convert-string": False}):  # cells hold lists of codes
        if scheduler in ("threads", "synchronous"):
            return _compute_all(source, options, errors_file, blocksize, quiet,
                                lambda *c: dask.compute(*c, scheduler=scheduler))
        from dask.distributed import Client, LocalCluster

        cluster = None if scheduler else LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR)
        try:
            with Client(scheduler or cluster) as client:
                return _compute_all(source, options, errors_file, blocksize, quiet,
                                    lambda *c: client.compute(list(c), sync=True))
        finally:
            if cluster is not None:
                cluster.close()


def _compute_all(source, options, errors_file, blocksize, quiet, compute):
    import dask.dataframe as dd
    from tqdm import tqdm

    header = read.csv_header(source.path) if source.fmt == "csv" else None
    blocks = plan_blocks(source, blocksize, compute)
    units = dd.from_map(block_units, blocks, source=source, options=options, header=header,
                        meta=count.to_units([], source, options), enforce_metadata=False)
    graphs = [units.map_partitions(count.partial_counts, table, meta=count.empty_table(table))
              .groupby(keys)["articles"].sum() for table, keys in count.TABLE_KEYS.items()]
    summary = units.map_partitions(count.partial_summary,
                                   meta=count.partial_summary(units._meta))
    errors = units[units["reason"].notnull()][["line", "id", "reason"]]
    with tqdm(total=1, desc=f"trends (dask, {len(blocks)} blocks)", disable=quiet) as bar:
        *sums, parts, bad = compute(*graphs, summary, errors)
        bar.update(1)
    errors_file.write(error_lines(bad.sort_values("line", kind="stable")))
    tables = {t: count.finish_table(s.reset_index(), t) for t, s in zip(count.TABLE_KEYS, sums)}
    return tables, count.merge_summary(parts)

