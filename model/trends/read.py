"""Reading batch output row by row: JSONL, CSV and Parquet, each row with its line number.

Rows are `(line, record, reason)`: a parsed record (a dict of the wanted columns) or the
reason it could not be read. Line numbers follow `sectag batch`: JSONL and CSV count
physical lines (CSV header = line 1), Parquet counts rows from 1. The local and Dask engines
read through these same functions, so a row is numbered and parsed the same way by both.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import IO, Iterable, Iterator

from ..batch.formats import _open, detect_format  # noqa: F401  (re-used, one definition)

PARTNER_COLUMNS = ("partners", "actors")  # article units first; sentence units have actors


@dataclass(frozen=True)
class Source:
    """A batch output file and the columns trends reads from it."""

    path: str
    fmt: str
    date_column: str = "date"
    id_column: str = "id"
    partner_column: str = "partners"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.id_column, self.date_column, "topics", self.partner_column)


Row = tuple[int, "dict | None", "str | None"]


def inspect_source(path: str, fmt: str | None, date_column: str, id_column: str = "id"
                   ) -> Source:
    """The Source for a file, after checking it has the columns trends needs.

    Raises ValueError naming the missing column and the columns the file has.
    """
    fmt = detect_format(path, fmt)
    names = _column_names(path, fmt)
    if names is None:
        raise ValueError(f"{path} has no rows")
    where = {"csv": "the CSV header", "parquet": "the Parquet schema",
             "jsonl": "the first JSON record"}[fmt]
    for column in (id_column, "topics", date_column):
        if column not in names:
            hint = " (choose it with --date-column)" if column == date_column else ""
            raise ValueError(f"{where} of {path} has no column {column!r}{hint}; it has: "
                             f"{', '.join(names)}")
    partner = next((c for c in PARTNER_COLUMNS if c in names), None)
    if partner is None:
        raise ValueError(f"{where} of {path} has neither 'partners' (article units) nor "
                         f"'actors' (sentence units); it has: {', '.join(names)}. Run "
                         f"`sectag batch` with a model version that extracts actors")
    return Source(path, fmt, date_column, id_column, partner)


def _column_names(path: str, fmt: str) -> list[str] | None:
    with _open(path, "rb") as handle:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(handle).schema_arrow.names
        if fmt == "csv":
            return csv_header(path) or None
        for line, record, _ in iter_jsonl(handle, 1, None):
            if record is not None:
                return list(record)
    return None


def csv_header(path: str) -> list[str]:
    with _open(path, "rb") as handle:
        return next(csv.reader([handle.readline().decode("utf-8", errors="replace")]), [])


def iter_jsonl(lines: Iterable[bytes], first_line: int, columns: tuple[str, ...] | None
               ) -> Iterator[Row]:
    """JSON objects, one a line; blank lines skipped, anything else refused with a reason."""
    for line, raw in enumerate(lines, start=first_line):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            yield line, None, "undecodable bytes (not UTF-8)"
            continue
        except (ValueError, RecursionError) as exc:
            yield line, None, f"invalid JSON: {exc}"
            continue
        if not isinstance(record, dict):
            yield line, None, "not a JSON object"
            continue
        yield line, (record if columns is None else {c: record.get(c) for c in columns}), None


def iter_csv(stream: IO[bytes], first_line: int, columns: tuple[str, ...],
             header: list[str] | None = None) -> Iterator[Row]:
    """CSV records from a byte stream (its header first, unless `header` is given)."""
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
    try:
        yield from _csv_rows(text, first_line, columns, header)
    finally:
        text.detach()  # the caller's stream stays open (it reads the position for progress)


def _csv_rows(text, first_line: int, columns: tuple[str, ...], header: list[str] | None
              ) -> Iterator[Row]:
    csv.field_size_limit(1 << 30)  # the `sentences` column of article units is long
    reader = csv.reader(text)
    if header is None:
        header = next(reader, None)
        if header is None:
            return
    start = first_line + reader.line_num  # the physical line the next record starts on
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, None, f"malformed CSV: {exc}"
            start = first_line + reader.line_num
            continue
        line, start = start, first_line + reader.line_num
        if not values:
            continue
        if len(values) != len(header):
            yield line, None, f"{len(values)} fields, the header has {len(header)}"
            continue
        record = dict(zip(header, values))
        yield line, {c: record.get(c) for c in columns}, None


def iter_parquet(path: str, columns: tuple[str, ...], batch_size: int,
                 row_groups: list[int] | None = None, first_row: int = 1,
                 on_batch=None) -> Iterator[Row]:
    """Parquet rows by record batches (memory: one batch), numbered from `first_row`."""
    import pyarrow.parquet as pq

    with _open(path, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        wanted = [c for c in dict.fromkeys(columns) if c in parquet.schema_arrow.names]
        row = first_row
        for batch in parquet.iter_batches(batch_size=batch_size, row_groups=row_groups,
                                          columns=wanted):
            values = [batch.column(c).to_pylist() for c in wanted]
            for record in zip(*values):
                yield row, dict(zip(wanted, record)), None
                row += 1
            if on_batch is not None:
                on_batch(batch.num_rows)
