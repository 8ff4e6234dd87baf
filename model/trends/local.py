"""The local engine: read the input chunk by chunk, count each chunk, keep running totals.

Memory is one chunk of rows plus the count tables (one row per distinct key), whatever the
size of the input; refused rows are written to the errors file as they are found.
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Iterator

import pandas as pd

from . import count, read
from .read import Source


def iter_chunks(source: Source, chunk_size: int, quiet: bool) -> Iterator[list]:
    """Lists of at most `chunk_size` rows, with a progress bar (bytes, or Parquet rows)."""
    from tqdm import tqdm

    if source.fmt == "parquet":
        import pyarrow.parquet as pq

        with read._open(source.path, "rb") as handle:
            total = pq.ParquetFile(handle).metadata.num_rows
        with tqdm(total=total, unit=" rows", desc="trends", disable=quiet) as bar:
            rows = read.iter_parquet(source.path, source.columns, chunk_size,
                                     on_batch=bar.update)
            yield from _batched(rows, chunk_size)
        return
    with read._open(source.path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(0)
        with tqdm(total=size, unit="B", unit_scale=True, desc="trends", disable=quiet) as bar:
            rows = read.iter_jsonl(handle, 1, source.columns) if source.fmt == "jsonl" \
                else read.iter_csv(handle, 1, source.columns)
            for chunk in _batched(rows, chunk_size):
                bar.update(max(handle.tell() - bar.n, 0))
                yield chunk
            bar.update(size - bar.n)


def _batched(rows, size: int) -> Iterator[list]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


def error_lines(units: pd.DataFrame) -> bytes:
    """The refused rows of a chunk as errors.jsonl lines: line, id, reason."""
    bad = units[units["reason"].notna()]
    return "".join(json.dumps({"line": int(line), "id": rid, "reason": reason},
                              ensure_ascii=False) + "\n"
                   for line, rid, reason in zip(bad["line"], bad["id"], bad["reason"])
                   ).encode("utf-8")


def run_local(source: Source, options: count.Options, errors_file, *, chunk_size: int = 5000,
              quiet: bool = False) -> tuple[dict[str, pd.DataFrame], dict]:
    """The three count tables and the summary; refused rows go to `errors_file` (binary)."""
    totals = {t: count.empty_table(t) for t in count.TABLE_KEYS}
    summaries = []
    for rows in iter_chunks(source, chunk_size, quiet):
        units = count.to_units(rows, source, options)
        errors_file.write(error_lines(units))
        for table in totals:
            totals[table] = count.merge_counts(
                [totals[table], count.partial_counts(units, table)], table)
        summaries.append(count.partial_summary(units))
    tables = {t: count.finish_table(f, t) for t, f in totals.items()}
    summary = count.merge_summary(pd.concat(summaries) if summaries else
                                  count.partial_summary(count.to_units([], source, options)))
    return tables, summary
