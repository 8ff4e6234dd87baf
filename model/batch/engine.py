"""`sectag batch`: tag a large file in bounded memory, resumable, every row accounted for.

Work happens in `<OUTPUT>.work/`: each chunk of input rows becomes a numbered output part
and errors part, then a small `.done` record written last (atomically), so a chunk is
either complete or absent. `--resume` skips the completed chunks' input rows. When every
chunk is done the parts are joined into `<OUTPUT>` and `<OUTPUT>.errors.jsonl` by writing
temporary files and renaming them, so a crash never leaves a file that looks complete.

Memory is bounded by one chunk: at most `chunk_size` rows of at most `max_chars`
characters each, plus their results, whatever the input size.
"""

from __future__ import annotations

import functools
import gc
import itertools
import json
import multiprocessing
import os
import shutil
import sys
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from . import formats
from .formats import Columns, Item
from ..atomic import write_atomic
from ..errors import InputError
from ..gc_pause import collections_paused
from ..tagger import Tagger

DONE = ".done"


@dataclass(frozen=True)
class BatchJob:
    """Everything that defines a batch run (and must match when resuming)."""

    input: str
    output: str
    in_format: str
    out_format: str
    unit: str = "sentence"
    columns: Columns = field(default_factory=Columns)
    chunk_size: int = 5000

    @property
    def work_dir(self) -> Path:
        return Path(f"{self.output}.work")

    @property
    def errors_path(self) -> Path:
        return Path(f"{self.output}.errors.jsonl")

    def signature(self, version: str, chunking: str) -> dict:
        """What must be equal for --resume to continue a run: input, options, model, chunks."""
        return {"input": self.input, "unit": self.unit, "chunking": chunking,
                "in_format": self.in_format, "out_format": self.out_format,
                "id_column": self.columns.id, "text_column": self.columns.text,
                "max_chars": self.columns.max_chars, "keep": list(self.columns.keep),
                "model_version": version}


def tag_items(items: list[Item], tagger: Tagger, unit: str, keep: tuple[str, ...] = ()
              ) -> tuple[list[dict], list[Item]]:
    """Output records for the good rows, in order, and the refused rows."""
    good = [i for i in items if i.reason is None]
    errors = [i for i in items if i.reason is not None]
    records = []
    if unit == "sentence":
        with collections_paused():
            texts = [i.text for i in good]
            _, found, scores = tagger.decide(texts)
            actors = tagger.actors.codes_many(texts)
            topics, version = tagger.topics, tagger.version
            names = [f"score_{t}" for t in topics]
            for item, hits, row, codes in zip(good, found, scores, actors):
                record = {"id": item.id, **dict(zip(keep, item.kept)),
                          "topics": [topics[j] for j in hits]}
                record.update(zip(names, row))
                record["model_version"] = version
                record["actors"] = codes
                records.append(record)
    else:
        for item in good:
            result = tagger.tag_article(item.text)
            article = result["article"]
            sentences = [{"start": s["start"], "end": s["end"], "topics": s["topics"],
                          "scores": s["scores"], "actors": _codes(s["actors"])}
                         for s in result["sentences"]]
            records.append({"id": item.id, **dict(zip(keep, item.kept)),
                            "topics": article["topics"],
                            **{f"score_{t}": article["scores"][t] for t in tagger.topics},
                            "model_version": tagger.version,
                            "actors": _codes(article["actors"]),
                            "partners": [p["code"] for p in article["partners"]],
                            "sentences": sentences})
    return records, errors


def _codes(actors: list[dict]) -> list[str]:
    """The sorted codes of an actors list (the batch cell form)."""
    return sorted(a["code"] for a in actors)


def iter_items(job: BatchJob) -> Iterator[Item]:
    """Every input row of the whole file, in order."""
    if job.in_format == "parquet":
        yield from formats.iter_parquet_batches(job.input, job.columns, job.chunk_size)
        return
    with open(job.input, "rb") as stream:
        if job.in_format == "jsonl":
            yield from formats.iter_jsonl(stream, 1, job.columns)
        else:
            yield from formats.iter_csv(stream, 1, job.columns)


def part_name(index: int, suffix: str) -> str:
    return f"part-{index:06d}{suffix}"


def write_part(work: Path, index: int, records: list[dict], errors: list[Item], job: BatchJob,
               tagger_topics: list[str], rows_in: int) -> dict:
    """Write one chunk's output and errors; the .done record last marks it complete."""
    write_atomic(work / part_name(index, ".out"),
                  formats.encode_part(records, job.out_format, tagger_topics, job.unit,
                                       header=(index == 0), keep=job.columns.keep))
    write_atomic(work / part_name(index, ".err"), formats.encode_errors(errors))
    done = {"rows_in": rows_in, "tagged": len(records), "errors": len(errors)}
    write_atomic(work / part_name(index, DONE), json.dumps(done).encode())
    return done


def completed_parts(work: Path) -> list[dict]:
    """The contiguous run of completed chunks from the first one."""
    done = []
    for index in itertools.count():
        path = work / part_name(index, DONE)
        if not path.exists():
            return done
        done.append(json.loads(path.read_text()))


def prepare(job: BatchJob, version: str, chunking: str, *, resume: bool,
            force: bool) -> list[dict]:
    """Create or reopen the work folder; the completed chunks when resuming."""
    work = job.work_dir
    signature = job.signature(version, chunking)
    signature_path = work / "job.json"
    if Path(job.output).exists() and not force:
        raise InputError(f"{job.output} exists; pass --force to replace it", field="OUTPUT")
    if work.exists() and not resume:
        if not force:
            raise InputError(f"{work} holds an interrupted run; pass --resume to continue it "
                             "or --force to start again", field="OUTPUT")
        shutil.rmtree(work)
    if resume and work.exists():
        previous = json.loads(signature_path.read_text())
        if previous != signature:
            changed = [k for k in signature if previous.get(k) != signature[k]]
            raise InputError(f"cannot resume: the run in {work} differs in "
                             f"{', '.join(changed)}", field="--resume")
        return completed_parts(work)
    work.mkdir(parents=True, exist_ok=True)
    write_atomic(signature_path, json.dumps(signature).encode())
    return []


def finalize(job: BatchJob, parts: int) -> None:
    """Join the parts into the output and errors files (temp file + rename), drop the work."""
    work = job.work_dir
    targets = ((Path(job.output), ".out"), (job.errors_path, ".err"))
    for target, suffix in targets:
        tmp = target.with_name(target.name + ".tmp")
        if suffix == ".out" and job.out_format == "parquet":
            _join_parquet([work / part_name(i, suffix) for i in range(parts)], tmp)
        else:
            with open(tmp, "wb") as out:
                for i in range(parts):
                    with open(work / part_name(i, suffix), "rb") as part:
                        shutil.copyfileobj(part, out)
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, target)
    shutil.rmtree(work)


def _join_parquet(paths: list[Path], target: Path) -> None:
    import pyarrow.parquet as pq

    writer = None
    try:
        for path in paths:
            table = pq.read_table(path)
            if writer is None:
                writer = pq.ParquetWriter(target, table.schema)
            if table.num_rows:
                writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def count_rows(job: BatchJob) -> int | None:
    """Rows in the input, for the progress bar's ETA (lines for CSV/JSONL: an estimate)."""
    if job.in_format == "parquet":
        import pyarrow.parquet as pq

        with formats._open(job.input, "rb") as handle:
            return pq.ParquetFile(handle).metadata.num_rows
    lines = 0
    with formats._open(job.input, "rb") as handle:
        for block in iter(functools.partial(handle.read, 1 << 20), b""):
            lines += block.count(b"\n")
    return max(lines - (job.in_format == "csv"), 0)


def progress_bar(job: BatchJob, quiet: bool):
    """A tqdm bar on stderr with rows/s and ETA, unless quiet or stderr is not a terminal."""
    from tqdm import tqdm

    disable = quiet or not sys.stderr.isatty()
    return tqdm(total=None if disable else count_rows(job), unit=" rows", disable=disable,
                file=sys.stderr, dynamic_ncols=True, desc="tagging")


def run_local(job: BatchJob, tagger: Tagger, *, resume: bool = False, force: bool = False,
              quiet: bool = False, workers: int = 1) -> dict:
    """Tag the whole input chunk by chunk; returns the summary counts.

    With `workers` > 1, chunks are tagged and written by that many forked processes (each
    inherits the loaded tagger) while this one reads ahead; parts are numbered by chunk, so
    the output is identical to a one-process run.
    """
    done = prepare(job, tagger.version, f"rows:{job.chunk_size}", resume=resume, force=force)
    skip = sum(d["rows_in"] for d in done)
    items = iter_items(job)
    for _ in itertools.islice(items, skip):
        pass
    bar = progress_bar(job, quiet)
    bar.update(skip)
    chunks = _chunks(items, job.chunk_size, first=len(done))
    if workers > 1:
        done += _tag_in_processes(job, tagger, chunks, workers, bar)
    else:
        for index, chunk in chunks:
            done.append(_tag_chunk(job, tagger, index, chunk))
            bar.update(len(chunk))
    bar.close()
    finalize(job, len(done))
    return summarize(job, done, tagger.version, resumed_rows=skip)


def _chunks(items: Iterator[Item], size: int, first: int) -> Iterator[tuple[int, list[Item]]]:
    """(part index, rows) per chunk; an empty input still makes one (empty) part."""
    for index in itertools.count(first):
        chunk = list(itertools.islice(items, size))
        if not chunk and index > 0:
            return
        yield index, chunk
        if not chunk:
            return


def _tag_chunk(job: BatchJob, tagger: Tagger, index: int, chunk: list[Item]) -> dict:
    records, errors = tag_items(chunk, tagger, job.unit, job.columns.keep)
    return write_part(job.work_dir, index, records, errors, job, tagger.topics, len(chunk))


_WORKER_TAGGER: Tagger | None = None  # set in forked batch workers only


def _worker_init(tagger: Tagger) -> None:
    global _WORKER_TAGGER
    _WORKER_TAGGER = tagger
    gc.freeze()  # the inherited model lives as long as the worker: keep it out of collections


def _worker_chunk(job: BatchJob, index: int, chunk: list[Item]) -> dict:
    return _tag_chunk(job, _WORKER_TAGGER, index, chunk)


def _tag_in_processes(job, tagger, chunks, workers: int, bar) -> list[dict]:
    """Chunks tagged by `workers` forked processes; at most 2 per worker in flight (memory)."""
    done, pending = [], deque()
    context = multiprocessing.get_context("fork")  # children inherit the loaded model
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init,
                             initargs=(tagger,)) as pool:
        for index, chunk in chunks:
            if len(pending) >= 2 * workers:
                done.append(_collect(pending, bar))
            pending.append((pool.submit(_worker_chunk, job, index, chunk), len(chunk)))
        while pending:
            done.append(_collect(pending, bar))
    return done


def _collect(pending: deque, bar) -> dict:
    future, rows = pending.popleft()
    result = future.result()
    bar.update(rows)
    return result


def summarize(job: BatchJob, done: list[dict], version: str, resumed_rows: int = 0) -> dict:
    return {"input_rows": sum(d["rows_in"] for d in done),
            "tagged": sum(d["tagged"] for d in done),
            "errors": sum(d["errors"] for d in done),
            "resumed_after_rows": resumed_rows, "model_version": version,
            "output": job.output, "errors_file": str(job.errors_path)}
