"""`sectag batch`: tag a CSV, JSONL or Parquet file, locally or on a Dask cluster."""

from __future__ import annotations

from pathlib import Path

from model.errors import SectagError

from .common import add_common, open_registry


# Output columns a kept input column may not replace.
RESERVED = ("id", "topics", "model_version", "actors", "partners", "sentences")


def kept_columns(value: str | None) -> tuple[str, ...]:
    """`--keep date,url` as a tuple of column names; an output column's name is refused."""
    names = tuple(dict.fromkeys(n.strip() for n in (value or "").split(",") if n.strip()))
    clash = [n for n in names if n in RESERVED or n.startswith("score_")]
    if clash:
        raise SectagError(f"--keep: {clash[0]!r} is an output column; keep another column")
    return names


def cmd_batch(args) -> int:
    from model.batch import BatchJob, Columns, detect_format, run_local
    from model.tagger import Tagger

    try:
        job = BatchJob(str(args.input), str(args.output), detect_format(str(args.input),
                                                                         args.format),
                       detect_format(str(args.output), args.output_format), unit=args.unit,
                       columns=Columns(args.id_column, args.text_column, args.max_chars,
                                       keep=kept_columns(args.keep)),
                       chunk_size=args.chunk_size)
    except ValueError as exc:
        raise SectagError(str(exc)) from exc
    registry = open_registry(args)
    try:
        if args.engine == "dask":
            from model.batch.dask_engine import run_dask

            version = args.version or registry.require_current()
            summary = run_dask(job, registry, version, scheduler=args.scheduler,
                               workers=args.workers, resume=args.resume, force=args.force,
                               quiet=args.quiet)
        else:
            summary = run_local(job, Tagger.from_registry(registry, args.version),
                                workers=max(args.workers, 1),
                                resume=args.resume, force=args.force, quiet=args.quiet)
    except (ValueError, OSError) as exc:
        raise SectagError(f"batch failed: {exc}") from exc
    print(f"{summary['input_rows']} input rows: {summary['tagged']} tagged -> {job.output}, "
          f"{summary['errors']} refused -> {summary['errors_file']} "
          f"(model {summary['model_version']})")
    return 0


def register(sub) -> None:
    p = sub.add_parser("batch", help="tag a CSV, JSONL or Parquet file into another")
    add_common(p)
    p.add_argument("input", type=Path, help="input file (.csv, .jsonl, .parquet)")
    p.add_argument("output", type=Path, help="output file (.csv, .jsonl, .parquet)")
    p.add_argument("--format", choices=["csv", "jsonl", "parquet"], help="input format")
    p.add_argument("--output-format", choices=["csv", "jsonl", "parquet"])
    p.add_argument("--unit", choices=["sentence", "article"], default="sentence",
                   help="tag each row as one sentence, or split it as an article")
    p.add_argument("--id-column", default="id")
    p.add_argument("--text-column", default="text")
    p.add_argument("--keep", metavar="COL[,COL...]",
                   help="input columns copied unchanged, as strings, after the id")
    p.add_argument("--max-chars", type=int, default=100_000, help="longest text accepted")
    p.add_argument("--chunk-size", type=int, default=5000, help="rows per chunk (memory bound)")
    p.add_argument("--version", help="model version (default: current)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run")
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--engine", choices=["local", "dask"], default="local")
    p.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--workers", type=int, default=2, help="processes (local engine) or local Dask workers (default: 2)")
    p.set_defaults(func=cmd_batch)
