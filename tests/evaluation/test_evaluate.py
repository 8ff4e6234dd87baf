"""The evaluation report: honest figures, baselines on the same folds, comparison, files."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, hamming_loss

from cli.main import main as sectag
from conftest import SEEDS, write_sentences
from model.evaluation.baselines import KeywordBaseline, MajorityBaseline
from model.crossval import multilabel_metrics
from model.errors import LabelError
from model.evaluation.evaluate import evaluate
from model.registry import Registry
from model.evaluation.report import write_report
from model.train import train


@pytest.fixture(scope="module")
def eval_registry(tmp_path_factory, tiny_labels, tiny_trained):
    """v1: a deliberately crippled model; v2: the normal tiny model (current)."""
    registry = Registry(tmp_path_factory.mktemp("eval") / "registry")
    crippled = train(tiny_labels, params={"clf__C": 1e-6, "clf__class_weight": None})
    registry.add(crippled.pipeline, crippled.manifest)
    registry.add(tiny_trained.pipeline, tiny_trained.manifest, promote=True)
    return registry


@pytest.fixture(scope="module")
def report(eval_registry, tiny_labels):
    return evaluate(tiny_labels, eval_registry)


def test_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(0)
    Y = rng.integers(0, 2, size=(40, 3))
    S = np.clip(Y * 0.4 + rng.random((40, 3)) * 0.7, 0, 1)
    P = (S >= 0.5).astype(int)
    m = multilabel_metrics(Y, P, ["a", "b", "c"], S)
    assert m["macro_f1"] == pytest.approx(f1_score(Y, P, average="macro"))
    assert m["micro_f1"] == pytest.approx(f1_score(Y, P, average="micro"))
    assert m["hamming_loss"] == pytest.approx(hamming_loss(Y, P))
    for j, t in enumerate("abc"):
        assert m["per_topic"][t]["average_precision"] == pytest.approx(
            average_precision_score(Y[:, j], S[:, j]))


def test_keyword_baseline_matches_whole_words(labels):
    baseline = KeywordBaseline(labels.topics)
    topic = next(t for t in labels.topics if t.keywords)
    word = topic.keywords[0]
    j = labels.topic_names.index(topic.name)
    pred = baseline.predict([f"They spoke of {word.upper()} today.", f"x{word}x"])
    assert pred[0, j] == 1 and pred[1, j] == 0


def test_majority_baseline_predicts_the_commonest_set():
    Y = np.array([[0, 0], [0, 0], [1, 0]])
    assert MajorityBaseline().fit(["a"] * 3, Y).predict(["q", "r"]).tolist() == [[0, 0], [0, 0]]


def test_report_has_every_section(report, tiny_labels):
    topics = tiny_labels.topic_names
    for block in (report["cv"]["all"], report["cv"]["seed"]):
        for system in ("model", "keywords", "majority"):
            assert set(block[system]["per_topic"]) == set(topics)
    n_seed = sum(r.source != "authored" for r in tiny_labels.rows)
    assert report["cv"]["seed"]["rows"] == n_seed
    assert report["cv"]["all"]["rows"] == len(tiny_labels.rows)
    assert report["model_version"] == "v2" and report["comparison"]["old"] == "v1"
    assert set(report["cv"]["errors"]) == set(topics)


def test_worse_model_is_shown_worse_than_keywords(eval_registry, tiny_labels):
    crippled = evaluate(tiny_labels, eval_registry, version="v1")
    block = crippled["cv"]["all"]
    assert block["model"]["macro_f1"] < block["keywords"]["macro_f1"]


def test_errors_are_real_mistakes_worst_first(report, tiny_labels):
    by_id = {r.id: r for r in tiny_labels.rows}
    for topic, kinds in report["cv"]["errors"].items():
        fp = kinds["false_positives"]
        assert all(topic not in by_id[e["id"]].topics for e in fp)
        assert [e["score"] for e in fp] == sorted((e["score"] for e in fp), reverse=True)
        fn = kinds["false_negatives"]
        assert all(topic in by_id[e["id"]].topics for e in fn)
        assert [e["score"] for e in fn] == sorted(e["score"] for e in fn)


def test_error_counts_match_metrics(report):
    for topic, kinds in report["cv"]["errors"].items():
        m = report["cv"]["all"]["model"]["per_topic"][topic]
        tp = m["recall"] * m["support"]
        assert len(kinds["false_negatives"]) == pytest.approx(m["support"] - tp)


def test_comparison_lists_changed_sentences(report, eval_registry, tiny_labels):
    from model.tagger import Tagger

    new = Tagger.from_registry(eval_registry, "v2").predict(tiny_labels.texts, evidence=False)
    old = Tagger.from_registry(eval_registry, "v1").predict(tiny_labels.texts, evidence=False)
    expected = sum(a.topics != b.topics for a, b in zip(new, old))
    assert len(report["comparison"]["changed"]) == expected > 0


def test_report_is_reproducible(report, eval_registry, tiny_labels):
    again = evaluate(tiny_labels, eval_registry)
    assert json.dumps(again, sort_keys=True) == json.dumps(report, sort_keys=True)


def test_files_written_and_html_self_contained(report, tmp_path):
    write_report(report, tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') >= 3
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert (tmp_path / "pr_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["model_version"] == "v2" and metrics["data_sha256"]
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    macro = f"{report['cv']['all']['model']['macro_f1']:.3f}"
    assert macro in markdown and macro in page


def test_external_test_file(eval_registry, tiny_labels, tmp_path):
    path = tmp_path / "external.csv"
    rows = [r for r in tiny_labels.rows][:30]
    write_sentences(path, [[r.id, r.source, r.text, ";".join(r.topics)] for r in rows])
    result = evaluate(tiny_labels, eval_registry, test_file=str(path))
    assert result["test"]["rows"] == 30
    assert result["test"]["model"]["per_topic"].keys() == set(tiny_labels.topic_names)
    write_report(result, tmp_path / "report")
    markdown = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert f"Errors (test file {path}" in markdown and "Errors (test file" in page
    missed = [e["text"] for kinds in result["test"]["errors"].values()
              for e in kinds["false_negatives"] + kinds["false_positives"]]
    assert all(text in markdown for text in missed[:5])


def test_bad_test_file_gets_row_and_column_errors(eval_registry, tiny_labels, tmp_path):
    path = tmp_path / "bad.csv"
    write_sentences(path, [["t-1", "authored", "Fine.", ""], ["t-2", "authored", "Bad.", "nope"],
                           ["t-1", "authored", "Again.", ""]])
    with pytest.raises(LabelError) as info:
        evaluate(tiny_labels, eval_registry, test_file=str(path))
    assert {(p.row, p.column) for p in info.value.problems} == {(3, "topics"), (4, "id")}


def test_cli_writes_files_with_progress(eval_registry, tiny_label_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code = sectag(["evaluate", "--labels", str(tiny_label_dir), "--seeds", str(SEEDS),
                   "--registry", str(eval_registry.root), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0
    assert "cross-validation fold 5/5" in captured.err
    assert "keywords / majority" in captured.out
    assert {p.name for p in out.iterdir()} >= {"report.html", "report.md", "metrics.json"}


def test_article_tables_in_cv_and_on_a_test_file(report, eval_registry, tiny_labels, tmp_path):
    articles = {r.article for r in tiny_labels.rows if r.article}
    assert report["cv"]["articles"]["articles"] == len(articles)
    path = tmp_path / "articles.csv"
    seeds = [r for r in tiny_labels.rows if r.source not in ("authored", "review")]
    write_sentences(path, [[r.id, r.source, r.text, ";".join(r.topics), r.source] for r in seeds],
                    header=("id", "source", "text", "topics", "article"))
    result = evaluate(tiny_labels, eval_registry, test_file=str(path))
    block = result["test"]["articles"]
    assert block["articles"] == len({r.source for r in seeds})
    for topic in tiny_labels.topic_names:
        truth = sum(any(topic in r.topics for r in seeds if r.source == a)
                    for a in {r.source for r in seeds})
        assert block["any_sentence"]["per_topic"][topic]["support"] == truth
        # The rule only ever removes topics that "any sentence" found.
        rule, loose = block["article_rule"]["per_topic"][topic], block["any_sentence"]["per_topic"][topic]
        assert rule["recall"] <= loose["recall"]
    write_report(result, tmp_path / "report")
    markdown = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert f"## Articles: {path}" in markdown and "model, article rule" in markdown
    assert "## Articles: labelled articles in the training data" in markdown
