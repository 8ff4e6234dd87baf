"""Label validation: the committed labels are clean; every fault is reported with its place."""

from __future__ import annotations

import pytest

from cli.main import main as sectag
from conftest import LABELS, SEEDS, write_sentences
from model.errors import LabelError
from model.labels import SENTENCES_DIR, load_labels, read_labelled_file


def problems_of(root, **kwargs):
    with pytest.raises(LabelError) as info:
        load_labels(root, seeds_dir=SEEDS, **kwargs)
    return info.value.problems


def test_committed_labels_are_valid(labels):
    assert len(labels.rows) > 0
    assert labels.topic_names, "topics come from labels/topics.csv"
    assert len(labels.data_sha256) == 64


def test_every_topic_has_positives(labels):
    Y = labels.indicator_matrix()
    assert (Y.sum(axis=0) > 0).all()


def test_clean_folder_loads(label_dir, topic_names):
    write_sentences(label_dir / SENTENCES_DIR / "a.csv",
                    [["a-1", "authored", "Ministers met in Rome.", ""],
                     ["a-2", "authored", "A second sentence here.", topic_names[0]],
                     ["a-3", "authored", "A third one with two topics.",
                      f"{topic_names[0]};{topic_names[1]}"]])
    loaded = load_labels(label_dir, seeds_dir=SEEDS)
    assert [r.topics for r in loaded.rows] == [(), (topic_names[0],),
                                               (topic_names[0], topic_names[1])]
    assert loaded.rows[2].line == 4


@pytest.mark.parametrize("row, column, fragment", [
    (["x-2", "authored", "Text with a bad topic.", "not_a_topic"], "topics", "unknown topic"),
    (["x-2", "authored", "   ", ""], "text", "empty text"),
    (["x-1", "authored", "Another sentence entirely.", ""], "id", "duplicate id"),
    (["x-2", "authored", "the first SENTENCE here.", ""], "text", "duplicate text"),
    (["", "authored", "No identifier on this row.", ""], "id", "empty id"),
    (["x-2", "nowhere.txt", "Unknown source file.", ""], "source", "unknown source"),
])
def test_row_faults_name_file_row_and_column(label_dir, row, column, fragment):
    write_sentences(label_dir / SENTENCES_DIR / "b.csv",
                    [["x-1", "authored", "The first sentence here.", ""], row])
    problems = problems_of(label_dir)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.file.endswith("sentences/b.csv")
    assert problem.row == 3 and problem.column == column
    assert fragment in problem.message


def test_repeated_topic_in_one_row(label_dir, topic_names):
    t = topic_names[0]
    write_sentences(label_dir / SENTENCES_DIR / "b.csv",
                    [["x-1", "authored", "A sentence.", f"{t};{t}"]])
    (problem,) = problems_of(label_dir)
    assert (problem.row, problem.column) == (2, "topics")


def test_missing_column(label_dir):
    write_sentences(label_dir / SENTENCES_DIR / "c.csv", [["x-1", "authored", "Words."]],
                    header=("id", "source", "text"))
    (problem,) = problems_of(label_dir)
    assert (problem.row, problem.column) == (1, "topics")
    assert "missing column" in problem.message


def test_bad_encoding_reports_line(label_dir):
    path = label_dir / SENTENCES_DIR / "d.csv"
    write_sentences(path, [["x-1", "authored", "Fine line.", ""],
                           ["x-2", "authored", "Caf\u00e9 line.", ""]])
    path.write_bytes(path.read_bytes().replace("\u00e9".encode(), b"\xe9"))
    problems = problems_of(label_dir)
    assert any(p.row == 3 and "not UTF-8" in p.message for p in problems), problems


def test_wrong_field_count(label_dir):
    path = label_dir / SENTENCES_DIR / "e.csv"
    path.write_text("id,source,text,topics\nx-1,authored,One,,extra\n", encoding="utf-8")
    (problem,) = problems_of(label_dir)
    assert problem.row == 2 and "fields" in problem.message


def test_shared_eight_word_run_between_authored_rows(label_dir):
    write_sentences(label_dir / SENTENCES_DIR / "f.csv", [
        ["x-1", "authored", "Officials from both countries said on Monday that talks went well.", ""],
        ["x-2", "authored", "Later, officials from both countries said on Monday that talks went well "
                            "enough.", ""]])
    (problem,) = problems_of(label_dir)
    assert problem.row == 3 and "8-word run" in problem.message


def test_all_problems_reported_at_once(label_dir):
    write_sentences(label_dir / SENTENCES_DIR / "g.csv", [
        ["x-1", "authored", "", ""], ["x-2", "authored", "Fine.", "bogus"],
        ["x-2", "authored", "Also fine.", ""]])
    problems = problems_of(label_dir)
    assert sorted(p.row for p in problems) == [2, 3, 4]


def test_topics_file_faults(label_dir):
    (label_dir / "topics.csv").write_text(
        "name,description\nok_topic,Fine.\nBad Name,Something.\nok_topic,Again.\n"
        "empty_desc,\n", encoding="utf-8")
    write_sentences(label_dir / SENTENCES_DIR / "h.csv", [["x-1", "authored", "A text.", ""]])
    problems = problems_of(label_dir)
    assert {(p.row, p.column) for p in problems} == {(3, "name"), (4, "name"),
                                                     (5, "description")}


def test_a_sixth_topic_is_data_only(label_dir, topic_names):
    topics = label_dir / "topics.csv"
    topics.write_text(topics.read_text(encoding="utf-8")
                      + "maritime_security,Piracy and patrols at sea.,piracy\n", encoding="utf-8")
    write_sentences(label_dir / SENTENCES_DIR / "i.csv",
                    [["x-1", "authored", "Navies patrol the strait against pirates.",
                      "maritime_security"]])
    loaded = load_labels(label_dir, seeds_dir=SEEDS)
    assert loaded.topic_names == [*topic_names, "maritime_security"]


def test_external_file_is_validated_the_same_way(tmp_path, topic_names):
    path = tmp_path / "test.csv"
    write_sentences(path, [["t-1", "authored", "Ok.", topic_names[0]],
                           ["t-2", "authored", "Bad.", "nope"]])
    with pytest.raises(LabelError) as info:
        read_labelled_file(path, topic_names)
    (problem,) = info.value.problems
    assert (problem.row, problem.column) == (3, "topics")


def test_cli_check_passes_on_committed_labels(capsys):
    assert sectag(["labels", "check", "--labels", str(LABELS), "--seeds", str(SEEDS)]) == 0
    assert "no problems" in capsys.readouterr().out


def test_cli_check_reports_injected_fault_with_row(label_dir, capsys):
    write_sentences(label_dir / SENTENCES_DIR / "j.csv",
                    [["x-1", "authored", "Fine.", ""], ["x-2", "authored", "Bad.", "nope"]])
    assert sectag(["labels", "check", "--labels", str(label_dir), "--seeds", str(SEEDS)]) == 1
    err = capsys.readouterr().err
    assert "sentences/j.csv:3: column 'topics': unknown topic 'nope'" in err


def test_training_refuses_invalid_labels(label_dir, tmp_path, capsys):
    write_sentences(label_dir / SENTENCES_DIR / "k.csv",
                    [["x-1", "authored", "Fine.", ""], ["x-1", "authored", "Dup id.", ""]])
    code = sectag(["train", "--labels", str(label_dir), "--seeds", str(SEEDS),
                   "--registry", str(tmp_path / "reg")])
    assert code == 1
    assert "k.csv:3: column 'id': duplicate id" in capsys.readouterr().err
    assert not (tmp_path / "reg" / "versions").exists()


@pytest.mark.parametrize("name", ["holdout.csv", "news-dev.csv"])
def test_holdout_is_valid_and_never_trained_on(labels, topic_names, name):
    holdout = read_labelled_file(LABELS / "holdout" / name, topic_names)
    assert holdout
    trained = {" ".join(t.lower().split()) for t in labels.texts}
    assert not {" ".join(r.text.lower().split()) for r in holdout} & trained
    assert not {r.id for r in holdout} & {r.id for r in labels.rows}


def test_optional_columns_carry_article_and_provenance(label_dir, topic_names):
    header = ("id", "source", "text", "topics", "article", "origin", "reviewer")
    write_sentences(label_dir / SENTENCES_DIR / "arts.csv",
                    [["a-1", "authored", "Headline of the first story.", "", "s1", "", ""],
                     ["a-2", "authored", "Body of the first story here.", topic_names[0], "s1",
                      "", ""],
                     ["a-3", "authored", "Headline of a second story.", "", "s2", "", ""],
                     ["r-1", "review", "A reviewed sentence from the news.", "", "",
                      "https://example.org/a", "alice"],
                     ["r-2", "review", "Another reviewed sentence, no article.", "", "", "",
                      "bob"]], header=header)
    rows = load_labels(label_dir, seeds_dir=SEEDS).rows
    assert rows[0].group == rows[1].group != rows[2].group
    assert rows[0].article.endswith(":s1")
    assert rows[3].get("origin") == "https://example.org/a" and rows[3].get("reviewer") == "alice"
    assert rows[3].group != rows[4].group, "review rows without an article stand alone"
    assert rows[4].get("article") == ""


def test_unknown_column_is_named(label_dir):
    write_sentences(label_dir / SENTENCES_DIR / "c.csv",
                    [["c-1", "authored", "Some sentence.", "", "x"]],
                    header=("id", "source", "text", "topics", "colour"))
    problems = problems_of(label_dir)
    assert [(p.row, p.column) for p in problems] == [(1, "colour")]
    assert "unknown column" in problems[0].message


def write_lexicon(root, name, rows):
    write_sentences(root / "lexicons" / name, rows, header=("entry", "aliases", "source"))


def test_lexicons_load_per_topic_and_are_optional(label_dir, topic_names):
    write_sentences(label_dir / SENTENCES_DIR / "a.csv",
                    [["a-1", "authored", "Ministers met in Rome.", ""]])
    assert load_labels(label_dir, seeds_dir=SEEDS).lexicons == []
    write_lexicon(label_dir, f"{topic_names[1]}.csv",
                  [["Jama'at Nusrat al-Islam wal-Muslimin", "JNIM;GSIM", "UN 1267 list"]])
    loaded = load_labels(label_dir, seeds_dir=SEEDS)
    [entry] = loaded.lexicons
    assert entry.topic == topic_names[1] and entry.terms[1:] == ("JNIM", "GSIM")
    assert entry.source == "UN 1267 list"


@pytest.mark.parametrize("name, rows, line, column, fragment", [
    ("counterterrorism.csv", [["Boko Haram", "", "x"], ["", "JAS", "x"]], 3, "entry",
     "empty entry"),
    ("counterterrorism.csv", [["Boko Haram", "", "x"], ["Jama'atu Ahlis Sunna", "boko haram",
                                                        "x"]], 3, "aliases", "duplicate term"),
    ("counterterrorism.csv", [["Islamic State", "IS;ISIS", "x"]], 2, "aliases", "too short"),
    ("counterterrorism.csv", [["Islamic State", "ISIS;;ISIL", "x"]], 2, "aliases", "empty alias"),
    ("not_a_topic.csv", [["Something", "", "x"]], 0, "", "unknown topic"),
])
def test_lexicon_faults_name_file_row_and_column(label_dir, name, rows, line, column, fragment):
    write_sentences(label_dir / SENTENCES_DIR / "a.csv",
                    [["a-1", "authored", "Ministers met in Rome.", ""]])
    write_lexicon(label_dir, name, rows)
    problems = problems_of(label_dir)
    assert len(problems) == 1, problems
    assert problems[0].file.endswith(f"lexicons/{name}")
    assert (problems[0].row, problems[0].column) == (line, column)
    assert fragment in problems[0].message


ACTOR_HEADER = ("id", "source", "text", "topics", "article", "actors", "partners")


def write_actor_data(label_dir, countries="code,alias,kind,source\n"
                     "UN,United Nations,organisation,spec\n"):
    """A one-organisation actor data folder (countries come from pycountry)."""
    (label_dir / "actors").mkdir(exist_ok=True)
    (label_dir / "actors" / "countries.csv").write_text(countries, encoding="utf-8")
    (label_dir / "actors" / "not-actors.csv").write_text("phrase,reason,source\n",
                                                         encoding="utf-8")


def actor_problems(label_dir, rows, **data):
    """Problems of one article file with actor columns (and a one-code actor data folder)."""
    write_actor_data(label_dir, **data)
    write_sentences(label_dir / SENTENCES_DIR / "art.csv", rows, header=ACTOR_HEADER)
    return problems_of(label_dir)


def test_actor_columns_load_when_valid(label_dir):
    rows = [["r-1", "authored", "Rome and Tripoli met the UN envoy.", "", "a1", "ITA;LBY;UN",
             "ITA;LBY"],
            ["r-2", "authored", "A second sentence of the story.", "", "a1", "", "ITA;LBY"],
            ["r-3", "authored", "Kosovo police joined.", "", "a2", "XKX", "XKX"]]
    write_actor_data(label_dir)
    write_sentences(label_dir / SENTENCES_DIR / "art.csv", rows, header=ACTOR_HEADER)
    loaded = load_labels(label_dir, seeds_dir=SEEDS)
    assert [r.get("actors") for r in loaded.rows] == ["ITA;LBY;UN", "", "XKX"]


@pytest.mark.parametrize("actors, partners, column, fragment", [
    ("LBA", "LBY", "actors", "unknown code 'LBA'"),
    ("NATO", "LBY", "actors", "unknown code 'NATO'"),       # not in this organisation file
    ("LBY;ITA", "LBY", "actors", "not sorted"),
    ("LBY;LBY", "LBY", "actors", "listed twice"),
    ("LBY", "LBY;UN", "partners", "unknown code 'UN'"),     # partners are countries only
    ("LBY", "lby", "partners", "unknown code 'lby'"),
    ("LBY", "LBY;ITA", "partners", "not sorted"),
])
def test_bad_actor_codes_name_file_line_and_column(label_dir, actors, partners, column,
                                                   fragment):
    problems = actor_problems(label_dir, [["r-1", "authored", "A sentence about Libya.", "",
                                           "a1", actors, partners]])
    assert [(p.file, p.row, p.column) for p in problems] == [("labels/sentences/art.csv", 2,
                                                              column)], problems
    assert fragment in problems[0].message


def test_partners_must_be_the_same_on_every_row_of_an_article(label_dir):
    problems = actor_problems(label_dir, [
        ["r-1", "authored", "Greece and Libya met.", "", "a1", "GRC;LBY", "GRC;LBY"],
        ["r-2", "authored", "Talks went on.", "", "a1", "", "GRC;LBY"],
        ["r-3", "authored", "Turkey was named too.", "", "a1", "TUR", "GRC;LBY;TUR"],
        ["r-4", "authored", "Another article entirely.", "", "a2", "", "TUR"]])
    assert [(p.row, p.column) for p in problems] == [(4, "partners")], problems
    assert "differ from 'GRC;LBY' at labels/sentences/art.csv:2" in problems[0].message


def test_partners_on_a_row_of_no_article_is_an_error(label_dir):
    write_sentences(label_dir / SENTENCES_DIR / "loose.csv",
                    [["r-1", "authored", "A loose sentence on Libya.", "", "LBY", "LBY"]],
                    header=("id", "source", "text", "topics", "actors", "partners"))
    problems = problems_of(label_dir)
    assert [(p.file, p.row, p.column) for p in problems] == [("labels/sentences/loose.csv", 2,
                                                              "partners")]


def test_held_out_actor_labels_are_checked_too(label_dir):
    write_sentences(label_dir / SENTENCES_DIR / "a.csv",
                    [["a-1", "authored", "Ministers met in Rome.", ""]])
    write_sentences(label_dir / "holdout" / "h.csv",
                    [["h-1", "authored", "Held-out sentence.", "", "h1", "XYZ", ""]],
                    header=ACTOR_HEADER)
    problems = problems_of(label_dir)
    assert [(p.file, p.row, p.column) for p in problems] == [("labels/holdout/h.csv", 2,
                                                              "actors")]


def test_organisation_file_faults_are_located(label_dir):
    problems = actor_problems(label_dir, [["r-1", "authored", "The UN spoke.", "", "a1", "UN",
                                           ""]],
                              countries="code,alias,kind,source\n"
                              "UN,United Nations,organisation,x\n"
                              "NATOO,Atlantic Alliance,org_name,x\n")
    assert [(p.file, p.row, p.column) for p in problems] == [
        ("labels/actors/countries.csv", 3, "code")]
    assert "unknown organisation code 'NATOO'" in problems[0].message


def test_seed_articles_carry_their_partners(labels):
    assert {r.get("partners") for r in labels.rows if r.source.endswith(".txt")} >= {
        "KOR;LBY", "EGY;LBY", "LBY;RUS", "GBR;LBY"}
