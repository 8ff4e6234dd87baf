"""The compiled featurizer equals the fitted pipeline; fast evidence equals the reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import LABELS
from model import featurizer_kernels as K
from model.kernel_constants import SCALARS
from model.evidence import FeatureIndex, reference_evidence
from model.featurizer import Featurizer, build_tables
from model.labels import read_labelled_file

# Characters that stress the analyzers: combining marks, emoji (and a ZWJ sequence), RTL
# scripts, digits of other scripts, apostrophes and hyphens, underscores, and every kind of
# whitespace str.split() knows (\x1c-\x1f, \x85, \u2028, \u3000 ...) beside ones it does not.
_SPECIAL = ("\u0301\u0308\u0323\u20dd\U0001F600\U0001F469\u200d\U0001F4BB\u05e9\u05dc"
            "\u05d5\u05dd\u0645\u0631\u062d\u0628\u0627\u0661\u0662\u0969\u0e53\uff11\u00b2"
            "'\u2019-\u2013_ \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u200a\u2028"
            "\u2029\u202f\u205f\u3000\u200b\ufeff.,;:!?\"()0123456789\u00e9\u00df\u0130\ufb01"
            "\u2460\u00bd")
_WORDS = ["counterterrorism", "police", "training", "elections", "embassy", "migrants",
          "Libya", "Egypt's", "al-Shabaab", "JNIM", "ISIS", "co-operation", "re-open", "e.g."]
_texts = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.sampled_from(_SPECIAL + "abcdefghij"), max_size=60),
    st.lists(st.one_of(st.sampled_from(_WORDS), st.text(alphabet=_SPECIAL, max_size=3)),
             max_size=12).map("".join),
    st.lists(st.sampled_from(_WORDS), max_size=10).map(" ".join),
)


@pytest.fixture(scope="session")
def reference_index(pipeline) -> FeatureIndex:
    """What the plain evidence reads the pipeline's columns with."""
    return FeatureIndex(pipeline.named_steps["features"])


def _corpus_texts(labels) -> list[str]:
    texts = list(labels.texts)
    for path in sorted((LABELS / "holdout").glob("*.csv")):
        try:
            texts += [r.text for r in read_labelled_file(path, labels.topic_names)]
        except Exception:  # a file of another shape (articles): its text column still counts
            import csv
            with open(path, encoding="utf-8", newline="") as handle:
                texts += [r["text"] for r in csv.DictReader(handle) if r.get("text")]
    return texts


def _assert_exact(tagger, pipeline, texts):
    """The tagger's feature rows equal the pipeline's bit for bit, its scores to 1e-9."""
    rows = tagger.featurizer.rows(texts)
    expected = pipeline.named_steps["features"].transform(texts).tocsr()
    got = rows.to_csr()
    assert got.shape == expected.shape
    assert (got != expected).nnz == 0  # every value, bit for bit
    np.testing.assert_allclose(tagger.featurizer.scores(rows),
                               pipeline.predict_proba(texts), rtol=0, atol=1e-9)
    np.testing.assert_allclose(tagger.scores(texts)[1], pipeline.predict_proba(texts),
                               rtol=0, atol=1e-9)


def test_compiled_path_is_used(each_tagger):
    assert each_tagger.featurizer.compiled


def test_whole_corpus_equals_the_pipeline(each_tagger, pipeline, labels):
    _assert_exact(each_tagger, pipeline, _corpus_texts(labels))


@settings(max_examples=300, deadline=None)
@given(st.lists(_texts, min_size=1, max_size=8))
def test_any_unicode_equals_the_pipeline(each_tagger, pipeline, texts):
    _assert_exact(each_tagger, pipeline, texts)


def test_edge_texts_equal_the_pipeline(each_tagger, pipeline):
    texts = ["", " ", "a", "\u0301", "_", "'", "-", "0", "\U0001F600", "a\u2028b", "x\x1cy",
             "x\x85y", "\u0661\u0662", "'s", "ab's", "-'a'-", "a" * 3000, "word " * 500]
    _assert_exact(each_tagger, pipeline, texts)


def test_a_batch_equals_each_text_alone(tagger, labels):
    texts = labels.texts[:50]
    batch = tagger.featurizer.rows(texts).to_csr()
    for i, text in enumerate(texts):
        assert (tagger.featurizer.rows([text]).to_csr() != batch[i]).nnz == 0


def test_lexicon_block_is_compiled_too(each_tagger, pipeline):
    tagger = each_tagger
    lexicon = pipeline.named_steps["features"].named_transformers["lexicon"]
    if not lexicon.columns_:
        pytest.skip("no lexicon in labels/lexicons")
    terms = [key for key in lexicon.table_][:40]
    texts = [f"Officials said {' '.join(key)} was named, and {' '.join(key)}'s again."
             for key in terms]
    _assert_exact(tagger, pipeline, texts)
    rows = tagger.featurizer.rows(texts)
    assert all(rows.matched_ptr[i + 1] > rows.matched_ptr[i] for i in range(len(texts)))


def test_fast_evidence_equals_the_reference(each_tagger, reference_index, labels):
    tagger = each_tagger
    texts = _corpus_texts(labels)[::3] + ["JNIM and ISIS fighters; police training in Niger."]
    rows, probs = tagger.scores(texts)
    finder = tagger._evidence_finder
    compared = 0
    for i, text in enumerate(texts):
        found = np.flatnonzero(probs[i] >= tagger.thresholds).tolist() or [0]
        columns, values = rows.row(i)
        expected = reference_evidence(reference_index, tagger.featurizer.coef_t, text,
                                      rows.normalized[i], columns, values, found,
                                      tagger.evidence_terms)
        assert finder.find(rows, i, found) == expected, text
        compared += 1
    assert compared == len(texts)


@settings(max_examples=150, deadline=None)
@given(st.lists(_texts, min_size=1, max_size=5))
def test_fast_evidence_equals_the_reference_on_any_text(each_tagger, reference_index, texts):
    tagger = each_tagger
    rows, _ = tagger.scores(texts)
    finder = tagger._evidence_finder
    every_topic = list(range(len(tagger.topics)))
    for i, text in enumerate(texts):
        columns, values = rows.row(i)
        assert finder.find(rows, i, every_topic) == reference_evidence(
            reference_index, tagger.featurizer.coef_t, text, rows.normalized[i], columns, values,
            every_topic, tagger.evidence_terms)


@pytest.mark.parametrize("text", [
    "police, police police. Police-training (police)",  # one word spelled by several chunks
    "zzqx zzqx, zzqx; xqzz",  # unknown words, repeated: equal strings are one word
    "\u00b2\u00b2 0\u00b20 00 0 ? ... -- training \u0661\u0662",  # digit-like and empty words
    "JNIM JNIM's jnim al-Shabaab AL-SHABAAB elections election",
])
def test_compiled_evidence_equals_the_reference_on_tricky_words(each_tagger, reference_index,
                                                                text):
    tagger = each_tagger
    rows, _ = tagger.scores([text])
    finder = tagger._evidence_finder
    every_topic = list(range(len(tagger.topics)))
    columns, values = rows.row(0)
    assert finder.find(rows, 0, every_topic) == reference_evidence(
        reference_index, tagger.featurizer.coef_t, text, rows.normalized[0], columns, values,
        every_topic, tagger.evidence_terms)


def test_batch_evidence_equals_each_text_alone(tagger, labels):
    texts = labels.texts[:200]
    batch = tagger.predict(texts)
    assert [p.evidence for p in batch] == [tagger.predict([t])[0].evidence for t in texts]


def test_lexicon_evidence_names_the_entry(each_tagger, pipeline):
    tagger = each_tagger
    lexicon = pipeline.named_steps["features"].named_transformers["lexicon"]
    if not lexicon.columns_:
        pytest.skip("no lexicon in labels/lexicons")
    key, entries = next((k, v) for k, v in lexicon.table_.items() if len(k) == 1)
    rows, _ = tagger.scores([f"Troops fought {key[0]} near the border."])
    column = tagger.featurizer.tables["scalars"][SCALARS.index("lex_offset")] \
        + lexicon.entries_[entries[0]][0]
    names = tagger._evidence_finder._entry_names(rows, 0, column - tagger._evidence_finder.lex_start)
    assert lexicon.entries_[entries[0]][1] in names


def test_tables_are_cached_and_a_read_only_cache_is_no_error(pipeline, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # a cache dir beneath a file can never be created, even by root
    monkeypatch.setenv("SECTAG_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    sha = "0" * 64
    first = Featurizer.load(pipeline, artifact_sha256=sha)
    assert list((tmp_path / "user-cache" / "sectag").glob(f"featurizer-{sha}-*.npz"))
    again = Featurizer.load(pipeline, artifact_sha256=sha)
    built = build_tables(pipeline)
    for name, array in built.items():
        np.testing.assert_array_equal(again.tables[name], array)
        np.testing.assert_array_equal(first.tables[name], array)


def test_token_hash_collisions_are_verified():
    """Tokens sharing one hash: lookups compare code points, so each finds its own id."""
    from model.featurizer import code_points

    tokens = ["ab", "cd", "abc"]
    tok_cp = code_points("".join(tokens)).astype(np.int64)
    tok_off = np.array([0, 2, 4, 7], np.int64)
    for want, token in enumerate(tokens):
        query = code_points(token).astype(np.int64)
        tok_hash = np.full(3, K.token_hash(query, 0, len(token)), np.int64)  # all collide
        slots = K.token_slots(tok_hash, 16).astype(np.int64)
        assert K.token_id(query, 0, len(token), slots, tok_hash, tok_cp, tok_off) == want
        other = code_points("zz").astype(np.int64)
        assert K.token_id(other, 0, 2, slots, tok_hash, tok_cp, tok_off) == -1
