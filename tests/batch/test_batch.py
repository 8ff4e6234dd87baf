"""Batch tagging: every row accounted for once, formats, resume, bounded memory, Dask equality."""

from __future__ import annotations

import json
import random
import tracemalloc

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cli.main import main as sectag
from conftest import SEEDS
from model.batch import engine as batch_mod
from model.batch import BatchJob, run_local
from model.batch.formats import Columns, detect_format
from model.errors import InputError


def make_jsonl(path, texts, n, seed=0):
    """n rows with ~8% bad rows of every kind; returns the expected {line: ok?}."""
    rng = random.Random(seed)
    expected = {}
    with open(path, "wb") as handle:
        for i in range(n):
            line = i + 1
            kind = rng.random()
            if kind < 0.015:
                handle.write(b"{not json\n")
            elif kind < 0.03:
                handle.write(json.dumps({"text": "no id here"}).encode() + b"\n")
            elif kind < 0.045:
                handle.write(json.dumps({"id": f"r{i}", "text": 17}).encode() + b"\n")
            elif kind < 0.06:
                handle.write(b'{"id": "r%d", "text": "caf\xe9 bytes"}\n' % i)
            elif kind < 0.075:
                handle.write(json.dumps({"id": f"r{i}", "text": "x" * 3000}).encode() + b"\n")
            else:
                handle.write(json.dumps({"id": f"r{i}", "text": rng.choice(texts),
                                         "date": f"2024-01-{i % 28 + 1:02d}"}).encode()
                             + b"\n")
                expected[line] = True
                continue
            expected[line] = False
    return expected


def job_for(tmp_path, name, in_fmt="jsonl", out_fmt="jsonl", **kw):
    kw.setdefault("columns", Columns(max_chars=2000))
    return BatchJob(str(tmp_path / f"{name}.{in_fmt}"), str(tmp_path / f"{name}.out.{out_fmt}"),
                    in_fmt, out_fmt, **kw)


def read_jsonl(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="module")
def texts(labels):
    return labels.texts


def test_every_row_accounted_for_exactly_once(tmp_path, tagger, texts):
    job = job_for(tmp_path, "in", chunk_size=97)
    expected = make_jsonl(job.input, texts, 1500)
    summary = run_local(job, tagger, quiet=True)
    out, errors = read_jsonl(job.output), read_jsonl(job.errors_path)
    assert summary["input_rows"] == 1500 == len(out) + len(errors)
    assert summary["tagged"] == len(out) and summary["errors"] == len(errors)
    assert sorted(e["line"] for e in errors) == [k for k, ok in expected.items() if not ok]
    assert len({r["id"] for r in out}) == len(out)
    reasons = " ".join(e["reason"] for e in errors)
    for word in ("invalid JSON", "missing id", "not a string", "undecodable", "oversized"):
        assert word in reasons
    first = out[0]
    assert first["model_version"] == tagger.version
    assert set(first) == {"id", "topics", "model_version", "actors",
                          *(f"score_{t}" for t in tagger.topics)}
    assert not job.work_dir.exists()


def test_sentence_results_equal_the_tagger(tmp_path, tagger, texts):
    job = job_for(tmp_path, "eq", chunk_size=50)
    sample = texts[:120]
    with open(job.input, "w", encoding="utf-8") as handle:
        for i, text in enumerate(sample):
            handle.write(json.dumps({"id": i, "text": text}) + "\n")
    run_local(job, tagger, quiet=True)
    out = read_jsonl(job.output)
    preds = tagger.predict(sample, evidence=False)
    assert [r["topics"] for r in out] == [p.topics for p in preds]
    assert [r["id"] for r in out] == [str(i) for i in range(len(sample))]
    assert [r["actors"] for r in out] == [sorted(a["code"] for a in p.actors)
                                          for p in tagger.predict(sample, evidence=False)]
    assert any(r["actors"] for r in out)


@pytest.mark.parametrize("in_fmt, out_fmt", [("csv", "csv"), ("csv", "parquet"),
                                             ("parquet", "jsonl"), ("jsonl", "parquet")])
def test_formats_round_trip(tmp_path, tagger, texts, in_fmt, out_fmt):
    rows = [{"doc": f"d{i}", "body": t} for i, t in enumerate(texts[:60])]
    rows.append({"doc": "", "body": "row without id"})
    job = job_for(tmp_path, "fmt", in_fmt, out_fmt, chunk_size=25,
                  columns=Columns("doc", "body", 2000))
    if in_fmt == "csv":
        import csv
        with open(job.input, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, ["doc", "body"])
            writer.writeheader()
            writer.writerows(rows)
    elif in_fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), job.input)
    else:
        with open(job.input, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r) + "\n" for r in rows)
    summary = run_local(job, tagger, quiet=True)
    assert (summary["tagged"], summary["errors"]) == (60, 1)
    if out_fmt == "parquet":
        table = pq.read_table(job.output).to_pylist()
    elif out_fmt == "csv":
        import csv
        with open(job.output, encoding="utf-8", newline="") as handle:
            table = list(csv.DictReader(handle))
    else:
        table = read_jsonl(job.output)
    assert [r["id"] for r in table] == [f"d{i}" for i in range(60)]
    assert all(f"score_{t}" in table[0] for t in tagger.topics)


def test_article_unit_on_the_seed_articles(tmp_path, tagger):
    job = job_for(tmp_path, "articles", unit="article", columns=Columns(max_chars=100_000))
    with open(job.input, "w", encoding="utf-8") as handle:
        for path in sorted(SEEDS.iterdir()):
            handle.write(json.dumps({"id": path.name, "text": path.read_text("utf-8")}) + "\n")
    run_local(job, tagger, quiet=True)
    out = read_jsonl(job.output)
    assert len(out) == 5
    for record, path in zip(out, sorted(SEEDS.iterdir())):
        expected = tagger.tag_article(path.read_text("utf-8"))
        assert record["topics"] == expected["article"]["topics"]
        assert [s["start"] for s in record["sentences"]] == [s["start"] for s in
                                                            expected["sentences"]]


def test_interrupted_run_resumes_without_loss_or_duplicates(tmp_path, tagger, texts,
                                                            monkeypatch):
    reference = job_for(tmp_path, "ref", chunk_size=100)
    make_jsonl(reference.input, texts, 1000)
    run_local(reference, tagger, quiet=True)
    job = BatchJob(reference.input, str(tmp_path / "crash.out.jsonl"), "jsonl", "jsonl",
                   columns=reference.columns, chunk_size=100)
    real, calls = batch_mod.tag_items, {"n": 0}

    def crash_on_fourth(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(batch_mod, "tag_items", crash_on_fourth)
    with pytest.raises(KeyboardInterrupt):
        run_local(job, tagger, quiet=True)
    monkeypatch.setattr(batch_mod, "tag_items", real)
    import os
    assert not os.path.exists(job.output), "no output that looks complete"
    with pytest.raises(InputError, match="--resume"):
        run_local(job, tagger, quiet=True)
    summary = run_local(job, tagger, resume=True, quiet=True)
    assert summary["resumed_after_rows"] == 300
    assert open(job.output, "rb").read() == open(reference.output, "rb").read()
    assert open(job.errors_path, "rb").read() == open(reference.errors_path, "rb").read()


def test_resume_refuses_a_changed_job(tmp_path, tagger, texts):
    job = job_for(tmp_path, "chg", chunk_size=100)
    make_jsonl(job.input, texts, 50)
    job.work_dir.mkdir()
    (job.work_dir / "job.json").write_text(json.dumps({**job.signature("v0", "rows:100")}))
    with pytest.raises(InputError, match="model_version"):
        run_local(job, tagger, resume=True, quiet=True)


def test_existing_output_needs_force(tmp_path, tagger, texts):
    job = job_for(tmp_path, "exists")
    make_jsonl(job.input, texts, 10)
    open(job.output, "w").write("precious")
    with pytest.raises(InputError, match="--force"):
        run_local(job, tagger, quiet=True)
    assert open(job.output).read() == "precious"
    run_local(job, tagger, force=True, quiet=True)


def _peak_bytes(tmp_path, tagger, texts, n):
    job = job_for(tmp_path, f"mem{n}", chunk_size=100)
    make_jsonl(job.input, texts, n, seed=3)
    tracemalloc.start()
    run_local(job, tagger, quiet=True)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_memory_is_bounded_by_the_chunk_not_the_input(tmp_path, tagger, texts):
    small = _peak_bytes(tmp_path, tagger, texts, 600)
    large = _peak_bytes(tmp_path, tagger, texts, 6_000)
    assert large < small * 1.5, (small, large)


def test_format_detection():
    assert detect_format("a/b.CSV") == "csv" and detect_format("x.ndjson") == "jsonl"
    with pytest.raises(ValueError, match="--format"):
        detect_format("x.txt")


def test_cli_summary(tmp_path, full_registry, texts, capsys):
    src = tmp_path / "cli.jsonl"
    make_jsonl(src, texts, 200)
    code = sectag(["batch", str(src), str(tmp_path / "cli.out.csv"), "--registry",
                   str(full_registry.root), "--quiet", "--max-chars", "2000"])
    out = capsys.readouterr().out
    assert code == 0 and "200 input rows" in out


@pytest.mark.parametrize("in_fmt", ["jsonl", "csv", "parquet"])
def test_dask_output_identical_to_local(tmp_path, full_registry, tagger, texts, in_fmt):
    """A real LocalCluster with 2 worker processes, many blocks, same bytes out."""
    from model.batch.dask_engine import run_dask

    src = tmp_path / "src.jsonl"
    make_jsonl(src, texts, 1200, seed=7)
    job = BatchJob(str(tmp_path / f"in.{in_fmt}"), str(tmp_path / "local.out.jsonl"), in_fmt,
                   "jsonl", columns=Columns(max_chars=2000, keep=("date",)), chunk_size=150)
    if in_fmt == "jsonl":
        src.rename(job.input)
    else:
        rows = []
        for line in open(src, "rb"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record.get("text"), str) or "text" not in record:
                rows.append({"id": record.get("id"), "text": record.get("text"),
                             "date": record.get("date", "")})
        if in_fmt == "csv":
            import csv
            with open(job.input, "w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, ["id", "text", "date"])
                writer.writeheader()
                writer.writerows(rows)
        else:
            pq.write_table(pa.Table.from_pylist(rows), job.input, row_group_size=130)
    run_local(job, tagger, quiet=True)
    dask_job = BatchJob(job.input, str(tmp_path / "dask.out.jsonl"), in_fmt, "jsonl",
                        columns=job.columns, chunk_size=150)
    summary = run_dask(dask_job, full_registry, tagger.version, workers=2, blocksize=8192,
                       quiet=True)
    assert summary["input_rows"] > 0
    assert open(dask_job.output, "rb").read() == open(job.output, "rb").read()
    assert open(dask_job.errors_path, "rb").read() == open(job.errors_path, "rb").read()
    out = read_jsonl(job.output)
    assert list(out[0])[:2] == ["id", "date"] and out[0]["date"].startswith("2024-01-")
    assert any(r["actors"] for r in out)


SEED_PARTNERS = [["KOR", "LBY"], ["EGY", "LBY"], ["LBY", "RUS"], ["GBR", "LBY"], ["GBR", "LBY"]]


def read_output(path, fmt):
    """Output rows as dicts of lists and strings, whatever the format."""
    if fmt == "parquet":
        return pq.read_table(path).to_pylist()
    if fmt == "jsonl":
        return read_jsonl(path)
    import csv
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for column in ("topics", "actors", "partners"):
            row[column] = [c for c in row[column].split(";") if c]
    return rows


@pytest.mark.parametrize("out_fmt", ["jsonl", "csv", "parquet"])
def test_article_actor_columns_and_kept_columns(tmp_path, tagger, out_fmt):
    """Seed articles: actors and partners columns in every format, --keep after the id."""
    job = job_for(tmp_path, "keep", out_fmt=out_fmt, unit="article",
                  columns=Columns(max_chars=100_000, keep=("date", "url")))
    with open(job.input, "w", encoding="utf-8") as handle:
        for i, path in enumerate(sorted(SEEDS.iterdir())):
            handle.write(json.dumps({"id": path.name, "text": path.read_text("utf-8"),
                                     "date": f"2016-10-2{i}", "url": None}) + "\n")
    run_local(job, tagger, quiet=True)
    rows = read_output(job.output, out_fmt)
    assert list(rows[0])[:3] == ["id", "date", "url"]
    assert [r["date"] for r in rows] == [f"2016-10-2{i}" for i in range(5)]
    assert all(r["url"] == "" for r in rows)
    assert [sorted(r["partners"]) for r in rows] == SEED_PARTNERS
    for row, partners in zip(rows, SEED_PARTNERS):
        assert set(partners) <= set(row["actors"]) and row["actors"] == sorted(row["actors"])
    if out_fmt == "parquet":
        schema = pq.read_schema(job.output)
        assert schema.field("actors").type == pa.list_(pa.string())
        assert schema.field("partners").type == pa.list_(pa.string())


def test_sentence_unit_has_no_partners_column(tmp_path, tagger):
    job = job_for(tmp_path, "nopart", out_fmt="csv")
    make_jsonl(job.input, ["Egypt will train Libyan police."], 5)
    run_local(job, tagger, quiet=True)
    header = open(job.output, encoding="utf-8").readline().strip().split(",")
    assert "actors" in header and "partners" not in header


def test_keep_refuses_an_output_column(tmp_path, full_registry):
    from model.errors import SectagError
    from cli.batch import kept_columns

    assert kept_columns("date, url,date") == ("date", "url")
    with pytest.raises(SectagError, match="output column"):
        kept_columns("topics")
    with pytest.raises(SectagError, match="output column"):
        kept_columns("score_training")
