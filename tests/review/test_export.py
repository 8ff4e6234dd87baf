"""Export of reviewers' answers: a valid label file, written whole, the latest answer winning."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest

from cli.main import main as sectag
from conftest import ROOT, write_sentences
from model.labels import load_labels
from model.review import Correction, ReviewStore
from model.review.export import COLUMNS, export, row_id

AUTHORED_TEXT = ("The Italian coast guard trained Libyan crews in search and rescue at sea "
                 "off Tripoli last spring.")


@pytest.fixture
def labels_dir(label_dir):
    write_sentences(label_dir / "sentences" / "authored-a.csv", [
        ["a-1", "authored", AUTHORED_TEXT, "training;migration"],
        ["a-2", "authored", "Voters in Dakar chose a new mayor on Sunday.", "elections"]])
    return label_dir


@pytest.fixture
def store(tmp_path):
    return ReviewStore(tmp_path / "reviews.sqlite3")


def read(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def save(store, reviewer, text, topics, **extra):
    store.save(reviewer, [Correction(text, tuple(topics), **extra)])


def test_export_writes_a_label_file_that_loads(labels_dir, store):
    save(store, "ana", "Gunmen attacked an army post near the border with Niger.",
         ["counterterrorism"], source="https://example.org/a", article_id="x-1",
         model_version="v3", model_topics=(), model_scores={"counterterrorism": 0.31})
    save(store, "bob", "The minister spoke about the weather.", [])
    result = export(store, labels_dir)
    path = labels_dir / "sentences" / "reviewed.csv"
    assert result.path == path and result.written == 2 and not result.skipped
    rows = read(path)
    assert list(rows[0]) == list(COLUMNS)
    first = rows[0]
    assert first["id"] == row_id(first["text"]) and first["id"].startswith("rev-")
    assert (first["source"], first["topics"], first["article"], first["origin"],
            first["reviewer"], first["model_version"]) == (
        "review", "counterterrorism", "x-1", "https://example.org/a", "ana", "v3")
    assert first["reviewed_at"].startswith("20")
    assert rows[1]["topics"] == ""
    labels = load_labels(labels_dir)
    reviewed = [r for r in labels.rows if r.source == "review"]
    assert [r.text for r in reviewed] == [r["text"] for r in rows]
    assert reviewed[0].group == reviewed[0].article  # the article is the CV group
    assert reviewed[1].group != reviewed[0].group


def test_the_latest_answer_wins_whoever_gave_it(labels_dir, store):
    text = "Police officers from Chad attended a course on forensic evidence."
    save(store, "ana", text, ["training"])
    save(store, "bob", "  police officers from CHAD attended a course on forensic evidence. ",
         ["training", "counterterrorism"])
    save(store, "cyd", "Another sentence about nothing in particular here.", [])
    rows = read(export(store, labels_dir).path)
    assert len(rows) == 2
    mine = next(r for r in rows if r["reviewer"] == "bob")
    assert mine["topics"] == "training;counterterrorism"
    save(store, "ana", text, ["migration"])  # ana changes her mind, now the latest
    rows = read(export(store, labels_dir).path)
    assert [(r["reviewer"], r["topics"]) for r in rows if "Chad" in r["text"]] == [
        ("ana", "migration")]
    assert len({r["id"] for r in rows}) == len(rows) == 2


def test_labelled_texts_runs_and_unknown_topics_are_skipped_and_reported(labels_dir, store):
    save(store, "ana", AUTHORED_TEXT.upper(), ["training"])  # already in authored-a.csv
    save(store, "ana", "Reporters said the Italian coast guard trained Libyan crews in search "
                       "and rescue at sea yesterday.", ["training"])  # an 8-word run
    save(store, "ana", "Drones were seen over the harbour at night.", ["piracy"])
    save(store, "ana", "Drones were seen over the airport at dawn on Monday.", ["counterterrorism"])
    result = export(store, labels_dir)
    reasons = {text.split()[0]: reason for text, reason in result.skipped}
    assert result.written == 1 and len(result.skipped) == 3
    assert "already labelled in" in reasons["THE"] and "authored-a.csv" in reasons["THE"]
    assert "shares the 8-word run" in reasons["Reporters"]
    assert "unknown topic 'piracy'" in reasons["Drones"]
    load_labels(labels_dir)  # `sectag labels check` is happy


def test_a_crash_mid_export_leaves_the_old_file_whole(labels_dir, store):
    save(store, "ana", "Gunmen attacked an army post near the border with Niger.",
         ["counterterrorism"])
    path = export(store, labels_dir).path
    before = path.read_bytes()
    save(store, "bob", "Soldiers from Ghana joined a drill on the coast last week.", ["training"])
    # A process killed after writing the new file, before renaming it over the old one.
    script = ("import os, sys\n"
              "from model.review import ReviewStore\n"
              "import model.review.export as mod\n"
              "mod.os.fsync = lambda fd: os._exit(9)\n"
              "mod.export(ReviewStore(sys.argv[1]), sys.argv[2])\n")
    done = subprocess.run([sys.executable, "-c", script, str(store.path), str(labels_dir)],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 9, done.stderr
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.glob(".reviewed.csv.*.tmp")]  # the partial write
    assert len([r for r in load_labels(labels_dir).rows if r.source == "review"]) == 1
    assert export(store, labels_dir).written == 2


def test_a_failed_rename_leaves_no_temporary_file(labels_dir, store, monkeypatch):
    save(store, "ana", "Gunmen attacked an army post near the border with Niger.", [])
    import model.review.export as mod

    def broken(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mod.os, "replace", broken)
    with pytest.raises(OSError):
        export(store, labels_dir)
    assert os.listdir(labels_dir / "sentences") == ["authored-a.csv"]


def test_export_command(labels_dir, store, capsys):
    save(store, "ana", "Gunmen attacked an army post near the border with Niger.", ["nonsense"])
    save(store, "ana", "Drones were seen over the airport at dawn on Monday.", [])
    out = labels_dir / "sentences" / "custom.csv"
    assert sectag(["review", "export", "--review-db", str(store.path), "--labels",
                   str(labels_dir), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 reviewed sentences: 1 written" in printed and "unknown topic 'nonsense'" in printed
    assert len(read(out)) == 1


def test_the_report_scores_exported_rows_held_out_by_group(tmp_path, tiny_label_dir,
                                                           tiny_labels, tiny_trained, registry,
                                                           store):
    import shutil

    from conftest import LABELS, SEEDS
    from model.evaluation.evaluate import evaluate
    from model.evaluation.report import render_markdown
    from model.labels import read_labelled_file

    root = tmp_path / "labels"
    shutil.copytree(tiny_label_dir, root)
    shutil.rmtree(root / "holdout")  # the pool comes from there: it would be refused
    pool = read_labelled_file(LABELS / "holdout" / "holdout.csv", tiny_labels.topic_names)[:8]
    for row in pool:
        save(store, "ana", row.text, row.topics)
    assert export(store, root).written == 8
    labels = load_labels(root, seeds_dir=SEEDS)
    registry.add(tiny_trained.pipeline, tiny_trained.manifest, promote=True)
    report = evaluate(labels, registry)
    block = report["cv"]["review"]
    assert block["rows"] == 8 and report["model_review_rows"] == 0
    support = sum(m["support"] for m in block["model"]["per_topic"].values())
    assert support == sum(len(r.topics) for r in pool)
    text = render_markdown(report)
    assert "## Reviewed rows (source review, grouped CV: held out by group)" in text
    assert "the model saw 0; the labels hold 8" in text
