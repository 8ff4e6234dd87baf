"""`sectag trends` as one call: check the input, count with an engine, write every output.

Outputs in the output folder, each appearing whole (atomic rename): `topics`, `partners`
and `pairs` tables as `.csv` and `.parquet`, `errors.jsonl` (refused rows: line, id,
reason), `summary.json` and `trends.html`.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from ..atomic import open_atomic, write_atomic
from .count import Options
from .page import page_data, render_html
from .read import inspect_source


def write_table(out: Path, name: str, table: pd.DataFrame) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    write_atomic(out / f"{name}.csv", table.to_csv(index=False, lineterminator="\n").encode())
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), buffer)
    write_atomic(out / f"{name}.parquet", buffer.getvalue())


def run_trends(input_path: str, out_dir: str, options: Options, *, fmt: str | None = None,
               date_column: str = "date", id_column: str = "id", engine: str = "local",
               chunk_size: int = 5000, scheduler: str | None = None, workers: int = 2,
               quiet: bool = False) -> dict:
    """Count, write the tables, errors, summary and page; returns the summary.

    Raises ValueError when the input cannot be read as batch output (named column missing).
    """
    source = inspect_source(input_path, fmt, date_column, id_column)
    out = Path(out_dir)
    with open_atomic(out / "errors.jsonl") as errors:
        if engine == "dask":
            from .dask_engine import run_dask

            tables, counts = run_dask(source, options, errors, scheduler=scheduler,
                                      workers=workers, quiet=quiet)
        else:
            from .local import run_local

            tables, counts = run_local(source, options, errors, chunk_size=chunk_size,
                                       quiet=quiet)
    summary = {"input": input_path, "unit": "article" if source.partner_column == "partners"
               else "sentence (actors' countries as partners)", "by": options.by,
               "country": options.country or "all",
               "topics": ",".join(options.topics) if options.topics else "all",
               "engine": engine, **counts}
    for name, table in tables.items():
        write_table(out, name, table)
    write_atomic(out / "summary.json", json.dumps(summary, indent=2).encode())
    write_atomic(out / "trends.html", render_html(page_data(tables, summary)).encode())
    return {**summary, "out": str(out), "tables": {n: len(t) for n, t in tables.items()}}
