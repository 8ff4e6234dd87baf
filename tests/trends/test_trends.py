"""sectag trends: counts on hand-made batch output, periods, dates, filters, engines, CLI."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import main
from model.trends import Options, run_trends
from model.trends.count import TABLE_KEYS
from model.trends.dates import parse_date, period_of, period_range
from model.trends.local import run_local
from model.trends.read import inspect_source

# Five articles, counted by hand below; a3 and a5 are refused (bad and missing date).
ARTICLES = [
    {"id": "a1", "date": "2020-12-31", "topics": ["training"], "partners": ["EGY", "LBY"]},
    {"id": "a2", "date": "2021-01-01", "topics": ["training", "migration"],
     "partners": ["EGY", "ITA", "LBY"]},
    {"id": "a3", "date": "not a date", "topics": ["training"], "partners": ["LBY"]},
    {"id": "a4", "date": "2021-01-15T10:00:00Z", "topics": ["elections"], "partners": ["LBY"]},
    {"id": "a5", "date": None, "topics": ["training"], "partners": ["TUN"]},
    {"id": "a6", "date": "2021-02-03", "topics": [], "partners": ["TUN"]},
]


def write_batch_output(path, records, fmt, list_column="partners"):
    """A file shaped like `sectag batch` output: lists in JSONL/Parquet, `;`-joined in CSV."""
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    elif fmt == "csv":
        frame = pd.DataFrame([{**r, "topics": ";".join(r["topics"]),
                               list_column: ";".join(r[list_column])} for r in records])
        frame.to_csv(path, index=False)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({"id": [r["id"] for r in records],
                          "date": [r["date"] for r in records],
                          "topics": pa.array([r["topics"] for r in records],
                                             pa.list_(pa.string())),
                          list_column: pa.array([r[list_column] for r in records],
                                                pa.list_(pa.string()))})
        pq.write_table(table, path, row_group_size=3)
    return path


def tables_as_lists(out) -> dict[str, list[tuple]]:
    return {name: [tuple(row) for row in
                   pd.read_parquet(out / f"{name}.parquet").itertuples(index=False)]
            for name in TABLE_KEYS}


def read_errors(out) -> list[dict]:
    return [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_hand_counted_tables_in_every_format(tmp_path, fmt):
    path = write_batch_output(tmp_path / f"in.{fmt}", ARTICLES, fmt)
    summary = run_trends(str(path), str(tmp_path / "out"), Options(by="month"), quiet=True)
    tables = tables_as_lists(tmp_path / "out")
    assert tables["topics"] == [("2020-12", "training", 1), ("2021-01", "elections", 1),
                                ("2021-01", "migration", 1), ("2021-01", "training", 1)]
    assert tables["pairs"] == [
        ("2020-12", "EGY", "LBY", "training", 1),
        ("2021-01", "EGY", "ITA", "migration", 1), ("2021-01", "EGY", "ITA", "training", 1),
        ("2021-01", "EGY", "LBY", "migration", 1), ("2021-01", "EGY", "LBY", "training", 1),
        ("2021-01", "ITA", "LBY", "migration", 1), ("2021-01", "ITA", "LBY", "training", 1),
        ("2021-01", "LBY", "", "elections", 1)]  # a single partner: partner_b empty
    assert ("2021-01", "LBY", "training", 1) in tables["partners"]
    assert ("2020-12", "LBY", "training", 1) in tables["partners"]
    assert len(tables["partners"]) == 2 + 6 + 1  # a1: 2 partners; a2: 3 x 2 topics; a4
    # a6 has no topic: read and counted, but in no table
    assert (summary["rows_read"], summary["rows_counted"], summary["rows_with_errors"]) == \
        (6, 4, 2)
    assert (summary["first_date"], summary["last_date"]) == ("2020-12-31", "2021-02-03")
    errors = read_errors(tmp_path / "out")
    header = 1 if fmt == "csv" else 0  # CSV lines count the header; Parquet counts rows
    assert [(e["line"], e["id"]) for e in errors] == [(3 + header, "a3"), (5 + header, "a5")]
    assert "unparseable date 'not a date'" in errors[0]["reason"]
    assert errors[1]["reason"] == "missing date (column 'date')"
    csv_topics = pd.read_csv(tmp_path / "out" / "topics.csv")
    assert list(csv_topics.columns) == ["period", "topic", "articles"]
    assert csv_topics["articles"].sum() == 4


def test_weeks_at_year_boundaries(tmp_path):
    assert period_of(dt.date(2021, 1, 1), "week") == "2020-W53"
    assert period_of(dt.date(2020, 12, 28), "week") == "2020-W53"
    assert period_of(dt.date(2021, 1, 4), "week") == "2021-W01"
    assert period_of(dt.date(2019, 12, 30), "week") == "2020-W01"  # ISO year runs ahead
    assert period_of(dt.date(2021, 1, 1), "month") == "2021-01"
    assert period_range("2020-W52", "2021-W02", "week") == \
        ["2020-W52", "2020-W53", "2021-W01", "2021-W02"]
    assert period_range("2020-11", "2021-02", "month") == \
        ["2020-11", "2020-12", "2021-01", "2021-02"]
    path = write_batch_output(tmp_path / "in.jsonl", ARTICLES, "jsonl")
    run_trends(str(path), str(tmp_path / "out"), Options(by="week"), quiet=True)
    topics = tables_as_lists(tmp_path / "out")["topics"]
    # 2020-12-31 and 2021-01-01 fall in the same ISO week
    assert topics == [("2020-W53", "migration", 1), ("2020-W53", "training", 2),
                      ("2021-W02", "elections", 1)]


@pytest.mark.parametrize("text,expected", [
    ("2021-03-04", dt.date(2021, 3, 4)), ("20210304", dt.date(2021, 3, 4)),
    ("2021-03-04T23:30:00+05:00", dt.date(2021, 3, 4)), ("2021-03-04 10:00Z", dt.date(2021, 3, 4)),
    ("4 March 2021", dt.date(2021, 3, 4)), ("March 4, 2021", dt.date(2021, 3, 4)),
    ("Thu, 04 Mar 2021 10:00:00 +0000", dt.date(2021, 3, 4)),
    (dt.datetime(2021, 3, 4, 9), dt.date(2021, 3, 4))])
def test_dates_accepted(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("value,reason", [
    ("03/04/2021", "ambiguous"), ("2021-13-01", "unparseable"), ("", "missing date"),
    (None, "missing date"), (20210304, "not a string"), ("yesterday", "unparseable")])
def test_dates_refused_with_a_reason(value, reason):
    with pytest.raises(ValueError, match=reason):
        parse_date(value)


def test_filters_by_country_and_topic(tmp_path):
    path = write_batch_output(tmp_path / "in.jsonl", ARTICLES, "jsonl")
    summary = run_trends(str(path), str(tmp_path / "ita"), Options(country="ITA"), quiet=True)
    tables = tables_as_lists(tmp_path / "ita")
    assert tables["topics"] == [("2021-01", "migration", 1), ("2021-01", "training", 1)]
    assert {p[1:3] for p in tables["pairs"]} == {("EGY", "ITA"), ("EGY", "LBY"), ("ITA", "LBY")}
    assert (summary["rows_counted"], summary["rows_filtered_out"]) == (1, 3)
    run_trends(str(path), str(tmp_path / "tr"), Options(topics=("training",)), quiet=True)
    tables = tables_as_lists(tmp_path / "tr")
    assert tables["topics"] == [("2020-12", "training", 1), ("2021-01", "training", 1)]
    assert {row[3] for row in tables["pairs"]} == {"training"}


def test_sentence_units_count_the_countries_among_actors(tmp_path):
    rows = [{"id": "s1", "date": "2022-05-01", "topics": ["migration"],
             "actors": ["EU", "IOM", "ITA", "LBY"]},
            {"id": "s2", "date": "2022-05-02", "topics": ["migration"], "actors": ["UNHCR"]}]
    path = write_batch_output(tmp_path / "s.csv", rows, "csv", list_column="actors")
    summary = run_trends(str(path), str(tmp_path / "out"), Options(), quiet=True)
    tables = tables_as_lists(tmp_path / "out")
    assert tables["pairs"] == [("2022-05", "ITA", "LBY", "migration", 1)]  # IOM, EU: not
    assert tables["topics"] == [("2022-05", "migration", 2)]  # governments
    assert summary["unit"].startswith("sentence")


archive_rows = st.lists(st.fixed_dictionaries({
    "date": st.one_of(st.dates(dt.date(2019, 12, 20), dt.date(2021, 1, 10)).map(str),
                      st.sampled_from(["", "bad", None])),
    "topics": st.lists(st.sampled_from(["training", "migration", "elections"]), unique=True,
                       max_size=3),
    "partners": st.lists(st.sampled_from(["EGY", "ITA", "LBY", "TUN"]), unique=True,
                         max_size=4).map(sorted)}), max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=archive_rows, fmt=st.sampled_from(["jsonl", "csv", "parquet"]),
       by=st.sampled_from(["month", "week"]))
def test_chunk_size_never_changes_the_tables(tmp_path_factory, rows, fmt, by):
    records = [{"id": f"r{i}", **r} for i, r in enumerate(rows)]
    path = write_batch_output(tmp_path_factory.mktemp("arc") / f"in.{fmt}", records, fmt)
    source = inspect_source(str(path), None, "date") if records else None
    if source is None:
        return
    results = []
    for chunk in (1, 7, len(records) + 1):
        errors = io.BytesIO()
        tables, summary = run_local(source, Options(by=by), errors, chunk_size=chunk, quiet=True)
        results.append(({n: t.to_dict("list") for n, t in tables.items()}, summary,
                        errors.getvalue()))
    assert results[0] == results[1] == results[2]
    assert results[0][1]["rows_counted"] == sum(1 for r in records if parse_ok(r["date"]))
    assert sum(results[0][0]["topics"]["articles"]) == sum(
        len(r["topics"]) for r in records if parse_ok(r["date"]))


def parse_ok(value) -> bool:
    try:
        parse_date(value)
        return True
    except ValueError:
        return False


@pytest.fixture(scope="module")
def dask_cluster():
    import logging

    from dask.distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    yield cluster.scheduler_address
    cluster.close()


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_dask_engine_gives_identical_tables_and_errors(tmp_path, dask_cluster, fmt):
    from model.trends.dask_engine import run_dask

    records = [{**a, "id": f"{a['id']}-{i}"} for i in range(30) for a in ARTICLES]
    for i, r in enumerate(records):  # spread over two years and many weeks
        if r["date"] and r["date"][0] == "2":
            r["date"] = str(dt.date(2020, 1, 1) + dt.timedelta(days=(i * 37) % 700))
    path = write_batch_output(tmp_path / f"in.{fmt}", records, fmt)
    source = inspect_source(str(path), None, "date")
    local_errors, dask_errors = io.BytesIO(), io.BytesIO()
    local, local_summary = run_local(source, Options(by="week"), local_errors, chunk_size=50,
                                     quiet=True)
    dasked, dask_summary = run_dask(source, Options(by="week"), dask_errors,
                                    scheduler=dask_cluster, blocksize=1000, quiet=True)
    for name in TABLE_KEYS:
        pd.testing.assert_frame_equal(dasked[name], local[name])
    assert dask_summary == local_summary
    assert dask_errors.getvalue() == local_errors.getvalue()
    assert len(local["topics"]) > 20 and local_summary["rows_with_errors"] == 60


def test_page_is_self_contained(tmp_path):
    path = write_batch_output(tmp_path / "in.jsonl", ARTICLES, "jsonl")
    run_trends(str(path), str(tmp_path / "out"), Options(), quiet=True)
    page = (tmp_path / "out" / "trends.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    assert "<script" not in page and "<link" not in page
    assert page.count('src="data:image/png;base64,') == 3
    assert "rows with errors</th><td>2" in page


def run_cli(capsys, *argv):
    code = main(["trends", *map(str, argv)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_cli_summary_and_outputs(tmp_path, capsys):
    path = write_batch_output(tmp_path / "in.csv", ARTICLES, "csv")
    code, out, _ = run_cli(capsys, path, "--out", tmp_path / "out", "--by", "week",
                           "--country", "lby", "--quiet")
    assert code == 0
    assert "6 rows read: 3 counted, 1 filtered out, 2 refused" in out
    for name in ("topics", "partners", "pairs"):
        assert (tmp_path / "out" / f"{name}.csv").exists()
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["country"] == "LBY"


def test_cli_errors_are_clear_with_exit_code_2(tmp_path, capsys):
    code, _, err = run_cli(capsys, tmp_path / "missing.jsonl", "--out", tmp_path / "o")
    assert code == 2 and "no such file" in err and "missing.jsonl" in err
    path = write_batch_output(tmp_path / "in.csv", ARTICLES, "csv")
    code, _, err = run_cli(capsys, path, "--date-column", "published", "--out", tmp_path / "o")
    assert code == 2 and "no column 'published'" in err and "--date-column" in err
    no_partners = tmp_path / "np.jsonl"
    no_partners.write_text('{"id": "x", "date": "2020-01-01", "topics": []}\n')
    code, _, err = run_cli(capsys, no_partners, "--out", tmp_path / "o")
    assert code == 2 and "neither 'partners'" in err
    (tmp_path / "in.txt").write_text("x")
    code, _, err = run_cli(capsys, tmp_path / "in.txt", "--out", tmp_path / "o")
    assert code == 2 and "--format" in err
    (tmp_path / "empty.jsonl").write_text("")
    code, _, err = run_cli(capsys, tmp_path / "empty.jsonl", "--out", tmp_path / "o")
    assert code == 2 and "has no rows" in err
    code, _, err = run_cli(capsys, path, "--country", "Libya", "--out", tmp_path / "o")
    assert code == 2 and "not an ISO 3166 alpha-3 code" in err
    assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit) as exc:
        main(["trends", str(path), "--chunk-size", "0"])
    assert exc.value.code == 2 and "must be at least 1" in capsys.readouterr().err


def test_malformed_rows_go_to_the_errors_file(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "ok", "date": "2020-01-02", "topics": ["training"], '
                    '"partners": ["LBY"]}\n'
                    '{"id": "broken", "date": \n'
                    '\n'
                    '{"id": "n", "date": "2020-01-02", "topics": 3, "partners": ["LBY"]}\n'
                    '["not", "an", "object"]\n'
                    '{"id": 7, "date": "2020-01-02", "topics": ["training"], '
                    '"partners": [1]}\n', encoding="utf-8")
    summary = run_trends(str(path), str(tmp_path / "out"), Options(), quiet=True)
    errors = read_errors(tmp_path / "out")
    assert [(e["line"], e["id"]) for e in errors] == [(2, None), (4, "n"), (5, None), (6, "7")]
    assert errors[0]["reason"].startswith("invalid JSON")
    assert errors[1]["reason"] == "column 'topics' is int, not a list of codes"
    assert errors[2]["reason"] == "not a JSON object"
    assert "not a string" in errors[3]["reason"]
    assert (summary["rows_read"], summary["rows_counted"]) == (5, 1)


def test_csv_rows_with_the_wrong_field_count_and_parquet_timestamps(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('id,date,topics,partners\n'
                    'a,2020-03-01,training,EGY;LBY\n'
                    'b,2020-03-02,training\n'
                    '"c","2020-03-03","migration","ITA;LBY"\n', encoding="utf-8")
    run_trends(str(path), str(tmp_path / "out"), Options(), quiet=True)
    assert [(e["line"], e["reason"]) for e in read_errors(tmp_path / "out")] == \
        [(3, "3 fields, the header has 4")]
    assert tables_as_lists(tmp_path / "out")["topics"] == [("2020-03", "migration", 1),
                                                           ("2020-03", "training", 1)]
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["x", "y"], "published": pa.array(
        [dt.datetime(2024, 12, 30, 8), None], pa.timestamp("s")),
        "topics": [["elections"], ["elections"]], "partners": [["TUN"], ["TUN"]]}),
        tmp_path / "ts.parquet")
    run_trends(str(tmp_path / "ts.parquet"), str(tmp_path / "ts"), Options(by="week"),
               date_column="published", quiet=True)
    assert tables_as_lists(tmp_path / "ts")["pairs"] == [("2025-W01", "TUN", "", "elections", 1)]
    assert read_errors(tmp_path / "ts") == [
        {"line": 2, "id": "y", "reason": "missing date (column 'published')"}]
