"""The review-loop simulation: pool splits and both learning curves, shaped as promised."""

from __future__ import annotations

import json

from cli.main import main as sectag
from conftest import LABELS, SEEDS
from model.labels import Row
from model.review.simulate import render_table, split_pool, summary

POOL = LABELS / "holdout" / "holdout.csv"


def row(i: int, article: str = "") -> Row:
    return Row(f"r{i}", "authored", f"text {i}", (), "pool.csv", i + 2,
               (("article", article),) if article else ())


def test_split_by_row_is_seeded_disjoint_and_halves_the_pool():
    rows = [row(i) for i in range(11)]
    cand, held = split_pool(rows, 3)
    assert sorted([*cand, *held]) == list(range(11)) and len(cand) == 6
    again, _ = split_pool(rows, 3)
    assert again.tolist() == cand.tolist()
    assert split_pool(rows, 4)[0].tolist() != cand.tolist()


def test_split_keeps_articles_whole():
    rows = [row(i, f"a{i // 3}") for i in range(12)]
    for seed in range(5):
        cand, held = split_pool(rows, seed)
        assert {i // 3 for i in cand}.isdisjoint({i // 3 for i in held})
        assert len(cand) == len(held) == 6


def test_simulate_writes_both_curves_with_one_value_per_seed_and_budget(
        tmp_path, tiny_label_dir, tiny_labels, tiny_trained, monkeypatch):
    import model.review.simulate as simulation

    # The starting model is the session's tiny model (trained on these labels already).
    monkeypatch.setattr(simulation, "train", lambda labels, **kw: tiny_trained)
    simulated = tmp_path / "sim"
    assert sectag(["review", "simulate", "--labels", str(tiny_label_dir), "--seeds-dir",
                   str(SEEDS), "--pool", str(POOL), "--budget", "10,5", "--seeds", "2",
                   "--eval", "both", "--jobs", "1", "--out", str(simulated)]) == 0
    result = json.loads((simulated / "simulation.json").read_text())
    assert result["budgets"] == [5, 10] and result["seeds"] == [0, 1]
    assert result["pool_rows"] == 75 and result["review_weight"] == 3.0
    assert list(result["evaluations"]) == ["rest", "half"]
    for evaluation, block in result["evaluations"].items():
        for strategy in ("queue", "random"):
            for budget in ("5", "10"):
                values = block["curves"][strategy][budget]
                assert len(values) == 2 and all(0 <= v <= 1 for v in values)
                assert all(0 <= v <= 1 for v in block["start"][strategy][budget])
                assert block["picked"][strategy][budget] == [int(budget)] * 2
                assert all(0 <= c <= int(budget)
                           for c in block["corrections"][strategy][budget])
                # The rest of the pool loses the picks; the fixed half is always the same size.
                expected = 75 - int(budget) if evaluation == "rest" else 37
                assert block["eval_rows"][strategy][budget] == [expected] * 2
        assert [r["budget"] for r in summary(result, evaluation)] == [5, 10]
    table = render_table(result)
    assert "queue" in table and "random" in table and "rest:" in table and "half:" in table
    assert len(table.splitlines()) == 1 + 2 * 5
    assert (simulated / "simulation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_default_evaluation_is_the_rest_of_the_pool(tiny_labels, tiny_trained):
    from model.labels import read_labelled_file
    from model.review.simulate import simulate

    pool = read_labelled_file(POOL, tiny_labels.topic_names)[:30]
    result = simulate(tiny_labels, pool, [20], 2, n_jobs=1, start=tiny_trained)
    block = result["evaluations"]["rest"]
    assert list(result["evaluations"]) == ["rest"] and not block["capped"]
    assert block["picked"]["queue"]["20"] == block["picked"]["random"]["20"] == [20, 20]
    assert block["eval_rows"]["random"]["20"] == [10, 10]
    # The queue's picks over the whole pool do not depend on the seed: that fit runs once.
    assert block["curves"]["queue"]["20"][0] == block["curves"]["queue"]["20"][1]
    assert result["fits"] == 3


def test_a_budget_above_the_candidates_is_capped_and_said(tiny_labels, tiny_trained):
    from model.labels import read_labelled_file
    from model.review.simulate import simulate

    pool = read_labelled_file(POOL, tiny_labels.topic_names)[:12]
    result = simulate(tiny_labels, pool, [20], 1, n_jobs=1, start=tiny_trained,
                      evaluations=("half",))
    block = result["evaluations"]["half"]
    assert block["capped"] == {"20": 6}
    assert block["picked"]["random"]["20"] == [6]
    assert "capped at 6 candidates" in render_table(result)
    # Queue and random both take every candidate: one fit serves both.
    assert result["fits"] == 1


def test_held_out_files_leave_training_and_become_the_pool(tiny_labels):
    kept, held = tiny_labels.hold_out(["labels/sentences/articles-wire-b.csv"])
    assert held and all(r.file.endswith("/articles-wire-b.csv") for r in held)
    assert len(kept.rows) + len(held) == len(tiny_labels.rows)
    assert "articles-wire-b.csv" not in kept.files
    assert not {r.id for r in kept.rows} & {r.id for r in held}
    assert kept.data_sha256 != tiny_labels.data_sha256  # a model trained on it says so


def test_a_held_out_file_that_is_not_in_the_labels_is_an_error(tiny_labels):
    import pytest

    from model.errors import LabelError

    with pytest.raises(LabelError, match="not a sentence file"):
        tiny_labels.hold_out(["articles-wire-z.csv"])


def test_a_register_family_leaves_training_by_its_wording(tiny_labels):
    kept, held = tiny_labels.hold_out_matching("embass|consulat")
    assert held and all(("embass" in r.text.lower() or "consulat" in r.text.lower())
                        for r in held)
    assert not any("embass" in r.text.lower() or "consulat" in r.text.lower()
                   for r in kept.rows)
    assert len(kept.rows) + len(held) == len(tiny_labels.rows)
    assert kept.files == tiny_labels.files  # rows leave, files stay
    other = tiny_labels.hold_out_matching("consulat")[0]
    assert len({kept.data_sha256, other.data_sha256, tiny_labels.data_sha256}) == 3


def test_a_bad_or_empty_register_pattern_is_an_error_that_says_so(tiny_labels):
    import pytest

    from model.errors import LabelError

    with pytest.raises(LabelError, match="not a regular expression"):
        tiny_labels.hold_out_matching("embass(")
    with pytest.raises(LabelError, match="matches no labelled sentence"):
        tiny_labels.hold_out_matching("qqzx-no-such-word")


def test_simulate_on_a_register_family_trains_without_it(
        tmp_path, tiny_label_dir, tiny_trained, monkeypatch, capsys):
    import model.review.simulate as simulation

    seen = {}

    def fake_train(labels, **kw):
        seen["texts"] = [t.lower() for t in labels.texts]
        return tiny_trained

    monkeypatch.setattr(simulation, "train", fake_train)
    out = tmp_path / "family"
    assert sectag(["review", "simulate", "--labels", str(tiny_label_dir), "--seeds-dir",
                   str(SEEDS), "--hold-out-matching", "Embass", "--budget", "5",
                   "--seeds", "2", "--eval", "half", "--jobs", "1", "--out", str(out)]) == 0
    result = json.loads((out / "simulation.json").read_text())
    assert seen["texts"] and not any("embass" in t for t in seen["texts"])
    assert result["held_out_matching"] == "Embass" and result["pool_rows"] > 0
    capsys.readouterr()
    assert sectag(["review", "simulate", "--labels", str(tiny_label_dir), "--seeds-dir",
                   str(SEEDS), "--hold-out-matching", "[", "--out", str(out)]) != 0
    err = capsys.readouterr().err
    assert "not a regular expression" in err and "Traceback" not in err


def test_simulate_on_a_held_out_stream_trains_without_it(
        tmp_path, tiny_label_dir, tiny_trained, monkeypatch):
    import model.review.simulate as simulation

    seen = {}

    def fake_train(labels, **kw):
        seen["files"] = labels.files
        return tiny_trained

    monkeypatch.setattr(simulation, "train", fake_train)
    out = tmp_path / "drift"
    assert sectag(["review", "simulate", "--labels", str(tiny_label_dir), "--seeds-dir",
                   str(SEEDS), "--hold-out-files", "articles-wire-b.csv", "--budget", "5",
                   "--seeds", "2", "--eval", "half", "--jobs", "1", "--out", str(out)]) == 0
    result = json.loads((out / "simulation.json").read_text())
    assert "articles-wire-b.csv" not in seen["files"]
    assert result["held_out_files"] == ["articles-wire-b.csv"] and result["pool"] is None
    assert result["pool_rows"] > 0


def test_simulate_needs_a_pool_or_a_held_out_file(tiny_label_dir, capsys):
    assert sectag(["review", "simulate", "--labels", str(tiny_label_dir), "--seeds-dir",
                   str(SEEDS)]) != 0
    assert "--pool" in capsys.readouterr().err
