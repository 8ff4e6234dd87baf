"""Actors: each ambiguity rule, the data files' validation, spans, and the batch fast path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from model.actors import DEFAULT_DATA_DIR, ActorMatcher, codes, read_actor_data
from model.errors import LabelError
from model.evaluation.partner_fit import exact_matches, fit_partner_rule, training_articles
from model.partners import PartnerRule, mention_role, rank_partners, unit_of


@pytest.fixture(scope="module")
def matcher() -> ActorMatcher:
    return ActorMatcher.from_dir()


def found(matcher, text: str) -> list[str]:
    return codes(matcher.find(text))


@pytest.mark.parametrize("text, expected", [
    # names, short names, demonyms, capitals, datelines, seats, titles
    ("TRIPOLI - The Libyan interior minister met South Korean officials.", ["KOR", "LBY"]),
    ("Italy's defence minister flew to Ankara.", ["ITA", "TUR"]),
    ("The Kremlin and the White House traded statements.", ["RUS", "USA"]),
    ("Downing Street, Whitehall and the Elysee agreed; so did the Farnesina.",
     ["FRA", "GBR", "ITA"]),
    ("Talks at the Quai d'Orsay and in Beijing.", ["CHN", "FRA"]),
    ("Britain, the UK and the U.K. are one country.", ["GBR"]),
    ("Turkey, Turkiye and Türkiye are one country.", ["TUR"]),
    ("Emirati and Egyptian officers met Libyans in Cairo.", ["ARE", "EGY", "LBY"]),
    ("The Libyan National Army and the Libyan Coast Guard.", ["LBY"]),
    ("Korea International Cooperation Agency staff arrived.", ["KOR"]),
    # Korea and North Korea
    ("Korean engineers and North Korean hackers.", ["KOR", "PRK"]),
    ("North Korea fired a missile.", ["PRK"]),
    # Guinea variants
    ("Guinea held a vote.", ["GIN"]),
    ("Equatorial Guinea, Guinea-Bissau and Papua New Guinea.", ["GNB", "GNQ", "PNG"]),
    ("Pirates struck in the Gulf of Guinea.", []),
    # Niger
    ("Niger expelled the envoy.", ["NER"]),
    ("Oil spills in the Niger Delta and floods on the Niger River.", []),
    ("Nigeria and Niger signed a pact.", ["NER", "NGA"]),
    # Georgia
    ("Georgia applied to join the EU.", ["EU", "GEO"]),
    ("The company moved to Atlanta, Georgia.", []),
    ("The governor of Georgia signed the bill.", []),
    ("Tbilisi said Georgia would not.", ["GEO"]),
    # Jordan and Chad as people; lakes and rivers
    ("Michael Jordan visited the team.", []),
    ("Jordan Smith wrote the report.", []),
    ("Egypt and Jordan agreed; Jordan Armed Forces will train.", ["EGY", "JOR"]),
    ("Chad Johnson scored.", []),
    ("Chad's army and Lake Chad.", ["TCD"]),
    ("Egypt, Jordan Sign Security Pact", ["EGY", "JOR"]),
    # Turkey the bird, case
    ("We ate turkey and china plates.", []),
    # US and us, UN and un-
    ("Let us go with them.", []),
    ("The US and the U.S. Navy.", ["USA"]),
    ("LET US PRAY", []),
    ("THE US AND LIBYA SIGN", ["LBY", "USA"]),
    ("An un-named official and the UN envoy.", ["UN"]),
    ("Au revoir, said the AU delegate.", ["AU"]),
    # Congo
    ("Congo and Rwanda met.", ["COD", "RWA"]),
    ("Troops in Kinshasa and Brazzaville.", ["COD", "COG"]),
    ("Brazzaville said Congo would host the summit.", ["COG"]),
    ("The Democratic Republic of the Congo and the Republic of the Congo.", ["COD", "COG"]),
    # organisations
    ("The UN refugee agency, UNHCR and IOM with UNSMIL.", ["IOM", "UN", "UNHCR"]),
    ("Frontex and the European Border and Coast Guard Agency.", ["FRONTEX"]),
    ("EUNAVFOR MED Operation Irini and the European Commission.", ["EU"]),
    ("The National Security Council met; the Security Council did not.", ["UN"]),
    ("NATO, the African Union and ECOWAS.", ["AU", "ECOWAS", "NATO"]),
    ("European leaders met in Europe.", []),
    # regions and seas
    ("The Sahel, the Maghreb, Benghazi and Darfur.", []),
    ("Ships in the South China Sea and the Indian Ocean.", []),
    ("Latin America and North American markets.", []),
])
def test_ambiguity_rules(matcher, text, expected):
    assert found(matcher, text) == expected


def test_mentions_and_names(matcher):
    summary = matcher.summary(matcher.find("Libya and Libyan officials in Tripoli; Libya."))
    assert summary == [{"code": "LBY", "name": "Libya", "type": "country",
                        "mentions": ["Libya", "Libyan", "Tripoli"]}]
    assert matcher.actor("KOR").name == "South Korea"
    assert matcher.actor("XKX").name == "Kosovo"
    assert matcher.fields("NATO") == {"code": "NATO", "name": "NATO", "type": "organisation"}


def test_every_un_member_has_a_demonym_and_most_a_capital():
    aliases, _ = read_actor_data()
    demonyms = {a.code for a in aliases if a.kind == "demonym"}
    capitals = {a.code for a in aliases if a.kind == "capital"}
    assert len(demonyms) >= 190 and len(capitals) >= 190


text_chars = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
words = st.sampled_from(["Libya", "Jordan", "Chad", "Georgia", "US", "us", "UN", "Congo",
                         "Brazzaville", "Guinea", "-Bissau", " ", ", ", "Niger", " River",
                         "North", "Korean", "Atlanta", "Michael", "'s", "\x00", "É", "Élysée",
                         "Gulf of", "New", "Mexico", "a", "THE"])
mixed = st.lists(st.one_of(words, text_chars), max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(mixed)
def test_any_text_spans_are_consistent(matcher, text):
    mentions = matcher.find(text)
    previous_end = 0
    for m in mentions:
        assert 0 <= previous_end <= m.start < m.end <= len(text)
        assert text[m.start:m.end] == m.text
        previous_end = m.end
    assert matcher.codes_many([text]) == [codes(mentions)]


@settings(max_examples=100, deadline=None)
@given(st.lists(mixed, max_size=6))
def test_batch_fast_path_equals_find(matcher, texts):
    assert matcher.codes_many(texts) == [codes(matcher.find(t)) for t in texts]


def copy_data(tmp_path: Path) -> Path:
    folder = tmp_path / "labels" / "actors"
    shutil.copytree(DEFAULT_DATA_DIR, folder)
    return folder


@pytest.mark.parametrize("row, column, message", [
    ("QQQ,Qland,name,x", "code", "unknown country code 'QQQ'"),
    ("LBY,,capital,x", "alias", "empty alias"),
    ("EGY,Tripoli,capital,x", "alias", "maps to EGY and to LBY"),
    ("LBY,Libyaland,nickname,x", "kind", "unknown kind 'nickname'"),
    ("ZZORG,Zed Org,org_name,x", "code", "unknown organisation code 'ZZORG'"),
])
def test_data_file_errors_name_file_line_and_column(tmp_path, row, column, message):
    folder = copy_data(tmp_path)
    path = folder / "countries.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines + [row]) + "\n", encoding="utf-8")
    with pytest.raises(LabelError) as err:
        read_actor_data(folder)
    problem, = err.value.problems
    assert (problem.file, problem.row, problem.column) == ("labels/actors/countries.csv",
                                                           len(lines) + 1, column)
    assert message in problem.message


def test_not_actor_file_errors(tmp_path):
    folder = copy_data(tmp_path)
    path = folder / "not-actors.csv"
    path.write_text("phrase,reason,source\nLake Chad,a lake,x\nlake chad,again,x\n,empty,x\n")
    with pytest.raises(LabelError) as err:
        read_actor_data(folder)
    assert [(p.row, p.column) for p in err.value.problems] == [(3, "phrase"), (4, "phrase")]


def test_labels_check_reports_the_data_file(tmp_path, labels):
    from model.labels import load_labels

    root = tmp_path / "labels"
    shutil.copytree(Path("labels"), root)
    with open(root / "actors" / "countries.csv", "a", encoding="utf-8") as out:
        out.write("LBY,Libyaland,nickname,x\n")
    with pytest.raises(LabelError) as err:
        load_labels(root, check_runs=False)
    assert any(p.file == "labels/actors/countries.csv" and p.column == "kind"
               for p in err.value.problems)


def _units(*codes_per_unit):
    """Units naming each country as a government (not only as a place)."""
    return [dict.fromkeys(codes, False) for codes in codes_per_unit]


@pytest.mark.parametrize("units, expected", [
    # The guide's pact: both named in the headline and the lead, then each again.
    (_units(["JOR", "OMN"], ["JOR", "OMN"], ["JOR"], ["OMN"], []), ["JOR", "OMN"]),
    # One country's own affairs; a foreign army named once, late, as background.
    (_units(["MLI"], ["MLI"], ["MLI"], [], ["MLI"], ["FRA"]), ["MLI"]),
    # A handover between two governments; a neighbour named only as a place.
    ([{"ESP": False, "MAR": False}, {"MAR": False, "ESP": False}, {"MAR": False},
      {"ESP": False, "DZA": True}, {}], ["ESP", "MAR"]),
    ([], []),
    # Named only as a place and never in the headline, Tunisia is no partner.
    ([{"ITA": False}, {"ITA": False, "TUN": True}, {"TUN": True}, {"ITA": False}], ["ITA"]),
    # Nobody scores past the cut: the best one alone.
    (_units([], ["EGY", "LBY"], ["LBY"], ["EGY"]), ["EGY"]),
])
def test_partner_ranking(units, expected):
    assert rank_partners(units, PartnerRule()) == expected


def test_partner_rule_defaults_are_the_fit_on_the_training_articles():
    """Refitting on labels/ gives the weights the code ships: data and rule agree."""
    articles = training_articles()
    fitted, cv = fit_partner_rule(articles)
    assert fitted == PartnerRule()
    assert exact_matches(articles, fitted) >= 0.85 * len(articles)
    assert max(cv.values()) >= 0.85 * len(articles)


@pytest.mark.parametrize("text, country, place", [
    ("Most boats set out from Sfax in Tunisia overnight.", "Tunisia", True),
    ("A group crossed from the Philippines by speedboat.", "Philippines", True),
    ("Soldiers found a Pakistan-made pistol on the body.", "Pakistan", True),
    ("Troops from Kyrgyzstan joined the drill.", "Kyrgyzstan", False),
    ("The Armed Forces of the Philippines passed on the tip.", "Philippines", False),
    ("Refugees who fled to Jordan's army posts were fed.", "Jordan", False),
    ("Tunisia agreed to take back its nationals.", "Tunisia", False),
    ("Talks with Tunisia resumed on Monday.", "Tunisia", False),
])
def test_named_as_place(text, country, place):
    start = text.index(country)
    assert (mention_role(text, start, start + len(country)) == "place") is place


def test_unit_counts_a_country_as_a_place_only_when_every_mention_is():
    matcher = ActorMatcher.from_dir()
    text = "Migrants left from Libya, and Libya's coast guard later stopped a boat off Malta."
    unit = unit_of(text, matcher.find(text), matcher.is_country)
    assert unit == {"LBY": False, "MLT": True}


def test_a_country_listed_after_a_place_is_a_place():
    matcher = ActorMatcher.from_dir()
    text = "A boat carrying migrants from Egypt and Syria capsized; Egypt said it would help."
    assert unit_of(text, matcher.find(text), matcher.is_country) == {"EGY": False, "SYR": True}
    text = "Ministers of Egypt and Syria met."
    assert unit_of(text, matcher.find(text), matcher.is_country) == {"EGY": False, "SYR": False}
