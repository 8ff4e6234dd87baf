"""Batch input and output: row readers (CSV, JSONL, Parquet) and part writers.

Readers yield `Item`s: a row to tag or a row refused with its reason, each with its line
number (CSV/JSONL: the physical line where the record starts, header = line 1; Parquet:
the 1-based row number). Both engines use these same functions, so a row gives the same
output whichever engine read it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Iterator

FORMATS = ("csv", "jsonl", "parquet")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
               ".parquet": "parquet", ".pq": "parquet"}
_UNDECODABLE = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class Columns:
    """Which input columns hold the id and the text, and the longest text accepted.

    `source` optionally names a column (a title or URL) carried along as the row's source;
    `keep` names input columns copied unchanged, as strings, into the output (`--keep`).
    """

    id: str = "id"
    text: str = "text"
    max_chars: int = 100_000
    source: str | None = None
    keep: tuple[str, ...] = ()

    @property
    def read(self) -> list[str]:
        """Every column a reader needs, each once."""
        return list(dict.fromkeys(c for c in (self.id, self.text, self.source, *self.keep)
                                  if c))


@dataclass(frozen=True)
class Item:
    """One input row: (line, id, text) to tag, or (line, id, reason) refused."""

    line: int
    id: str | None
    text: str | None = None
    reason: str | None = None
    source: str | None = None
    kept: tuple[str, ...] = ()


def detect_format(path: str, explicit: str | None = None) -> str:
    if explicit:
        if explicit not in FORMATS:
            raise ValueError(f"unknown format {explicit!r}; use one of {', '.join(FORMATS)}")
        return explicit
    suffix = Path(path.split("?")[0]).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise ValueError(f"cannot tell the format of {path!r} from its extension; pass "
                         f"--format ({', '.join(FORMATS)})")
    return _EXTENSIONS[suffix]


def check_row(line: int, record: dict, columns: Columns) -> Item:
    """An Item for one parsed record: the id and text, or why it cannot be tagged."""
    raw_id = record.get(columns.id)
    if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
        return Item(line, None, reason=f"missing id (column {columns.id!r})")
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        return Item(line, None, reason=f"id is {type(raw_id).__name__}, not a string")
    rid = str(raw_id)
    if _has_undecodable(rid):
        return Item(line, None, reason="undecodable bytes in the id (not UTF-8)")
    text = record.get(columns.text)
    if text is None:
        return Item(line, rid, reason=f"missing text (column {columns.text!r})")
    if not isinstance(text, str):
        return Item(line, rid, reason=f"text is {type(text).__name__}, not a string")
    if _has_undecodable(text):
        return Item(line, rid, reason="undecodable bytes in the text (not UTF-8)")
    if not text.strip():
        return Item(line, rid, reason="empty text")
    if len(text) > columns.max_chars:
        return Item(line, rid, reason=f"oversized text: {len(text)} characters, the limit "
                                       f"is {columns.max_chars}")
    source = record.get(columns.source) if columns.source else None
    return Item(line, rid, text, source=source if isinstance(source, str) and source.strip()
                and not _has_undecodable(source) else None,
                kept=tuple(_as_string(record.get(c)) for c in columns.keep))


def _as_string(value) -> str:
    """A kept column's value as a string: missing is empty, lists and objects are JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _has_undecodable(value: str) -> bool:
    """Bytes that were not UTF-8 survive decoding as lone surrogates (surrogateescape)."""
    return not value.isascii() and _UNDECODABLE.search(value) is not None


def iter_jsonl(lines: Iterable[bytes], first_line: int, columns: Columns) -> Iterator[Item]:
    for offset, raw in enumerate(lines):
        line = first_line + offset
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            yield Item(line, None, reason="undecodable bytes (not UTF-8)")
            continue
        except (ValueError, RecursionError) as exc:
            yield Item(line, None, reason=f"invalid JSON: {exc}")
            continue
        if not isinstance(record, dict):
            yield Item(line, None, reason="not a JSON object")
            continue
        yield check_row(line, record, columns)


def iter_csv(stream: IO[bytes], first_line: int, columns: Columns,
             header: list[str] | None = None) -> Iterator[Item]:
    """Rows of a CSV byte stream; reads the header first unless one is given."""
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape", newline="")
    reader = csv.reader(text)
    line_of = lambda: first_line + reader.line_num  # noqa: E731  (next record's start)
    start = first_line
    if header is None:
        try:
            header = next(reader)
        except StopIteration:
            return
        start = line_of()
        missing = [c for c in columns.read if c not in header]
        if missing:
            raise ValueError(f"the CSV header has no column {missing[0]!r} (header: "
                             f"{', '.join(header)}); choose one with --id-column/--text-column")
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Item(start, None, reason=f"malformed CSV: {exc}")
            start = line_of()
            continue
        line, start = start, line_of()
        if not values:
            continue
        if len(values) != len(header):
            yield Item(line, None, reason=f"{len(values)} fields, the header has {len(header)}")
            continue
        yield check_row(line, dict(zip(header, values)), columns)


def read_csv_header(stream: IO[bytes]) -> list[str]:
    first = stream.readline().decode("utf-8", errors="surrogateescape")
    return next(csv.reader([first]))


def iter_parquet_batches(path: str, columns: Columns, batch_size: int,
                         first_row: int = 1, row_groups: list[int] | None = None
                         ) -> Iterator[Item]:
    import pyarrow.parquet as pq

    with _open(path, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        names = parquet.schema_arrow.names
        wanted = columns.read
        missing = [c for c in wanted if c not in names]
        if missing:
            raise ValueError(f"the Parquet file has no column {missing[0]!r} (columns: "
                             f"{', '.join(names)})")
        row = first_row
        for batch in parquet.iter_batches(batch_size=batch_size, row_groups=row_groups,
                                          columns=wanted):
            values = {name: batch.column(name).to_pylist() for name in wanted}
            for record in zip(*(values[c] for c in wanted)):
                yield check_row(row, dict(zip(wanted, record)), columns)
                row += 1


def _open(path: str, mode: str):
    import fsspec

    return fsspec.open(path, mode).open()


# -- output -----------------------------------------------------------------------------
LIST_COLUMNS = ("topics", "actors", "partners")  # lists: JSON arrays, ";" in CSV


def output_columns(topics: list[str], unit: str, keep: tuple[str, ...] = ()) -> list[str]:
    cols = ["id", *keep, "topics", *(f"score_{t}" for t in topics), "model_version", "actors"]
    return cols + (["partners", "sentences"] if unit == "article" else [])


def encode_part(records: list[dict], fmt: str, topics: list[str], unit: str,
                header: bool, keep: tuple[str, ...] = ()) -> bytes:
    """One part of the output file in its format (CSV with a header only when asked)."""
    if fmt == "jsonl":
        lines = _sentence_lines(records, topics, keep) if unit == "sentence" else \
            [json.dumps(r, ensure_ascii=False) for r in records]
        return "".join(f"{line}\n" for line in lines).encode("utf-8", "surrogatepass")
    cols = output_columns(topics, unit, keep)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if header:
            writer.writerow(cols)
        for r in records:
            writer.writerow([";".join(r[c]) if c in LIST_COLUMNS else
                             json.dumps(r[c], ensure_ascii=False) if c == "sentences" else r[c]
                             for c in cols])
        return buffer.getvalue().encode("utf-8", "surrogatepass")
    return _parquet_bytes(records, cols, topics, keep)


def _sentence_lines(records: list[dict], topics: list[str], keep: tuple[str, ...] = ()
                    ) -> list[str]:
    """`json.dumps(record, ensure_ascii=False)` of sentence records, spelled out (faster);
    a record of another shape or with a non-finite score goes through json.dumps."""
    string = json.encoder.encode_basestring  # what json.dumps uses with ensure_ascii=False
    names = [f"score_{t}" for t in topics]
    keys = [f"{string(n)}: " for n in names]
    kept_keys = [f", {string(k)}: " for k in keep]
    shape = ["id", *keep, "topics", *names, "model_version", "actors"]
    lines = []
    for r in records:
        scores = [r.get(n) for n in names]
        if not names or list(r) != shape or type(r["id"]) is not str or \
                type(r["model_version"]) is not str or \
                not all(type(v) is float and math.isfinite(v) for v in scores) or \
                not all(type(t) is str for t in r["topics"]) or \
                not all(type(r[k]) is str for k in keep):
            lines.append(json.dumps(r, ensure_ascii=False))
            continue
        lines.append("".join(
            ['{"id": ', string(r["id"]),
             *[k + string(r[c]) for k, c in zip(kept_keys, keep)], ', "topics": [',
             ", ".join([string(t) for t in r["topics"]]), "], ",
             ", ".join([k + float.__repr__(v) for k, v in zip(keys, scores)]),
             ', "model_version": ', string(r["model_version"]), ', "actors": [',
             ", ".join([string(a) for a in r["actors"]]), "]}"]))
    return lines


def _parquet_bytes(records: list[dict], cols: list[str], topics: list[str],
                   keep: tuple[str, ...] = ()) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = [pa.field("id", pa.string()), *(pa.field(k, pa.string()) for k in keep),
              pa.field("topics", pa.list_(pa.string()))]
    fields += [pa.field(f"score_{t}", pa.float64()) for t in topics]
    fields += [pa.field("model_version", pa.string()), pa.field("actors", pa.list_(pa.string()))]
    if "sentences" in cols:
        fields += [pa.field("partners", pa.list_(pa.string())), pa.field("sentences", pa.string())]
    data = {c: [json.dumps(r[c], ensure_ascii=False) if c == "sentences" else r[c]
                for r in records] for c in cols}
    table = pa.table(data, schema=pa.schema(fields))
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def encode_errors(errors: list[Item]) -> bytes:
    return b"".join(json.dumps({"line": e.line, "id": e.id, "reason": e.reason},
                               ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n"
                    for e in errors)
