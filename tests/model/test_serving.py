"""The serving form: written beside the artifact, hash-checked, loaded without scikit-learn,
and tagging exactly as the pipeline it was derived from."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import ROOT, SEEDS
from model import serving
from model.errors import IntegrityError
from model.registry import ARTIFACT, MANIFEST, SERVING
from model.tagger import Tagger


@pytest.fixture
def version(registry, tiny_trained) -> str:
    return registry.add(tiny_trained.pipeline, tiny_trained.manifest, promote=True)


def test_form_is_written_and_listed_with_its_sha256(registry, version):
    import hashlib

    manifest = registry.manifest(version)
    data = (registry.version_dir(version) / SERVING).read_bytes()
    assert manifest["files"][SERVING] == {"sha256": hashlib.sha256(data).hexdigest(),
                                          "bytes": len(data)}
    assert manifest["serving_format"] == serving.FORMAT
    assert (registry.version_dir(version) / ARTIFACT).is_file()  # the reference stays


def test_round_trip_keeps_every_array(tiny_trained):
    form = serving.derive(tiny_trained.pipeline)
    again = serving.from_bytes(serving.to_bytes(form))
    assert again.topics == form.topics and again.article_support == form.article_support
    for name in ("thresholds", "article_thresholds", "coef_t", "intercept"):
        np.testing.assert_array_equal(getattr(again, name), getattr(form, name))
    for block in ("featurizer_tables", "evidence_tables"):
        mine, theirs = getattr(form, block), getattr(again, block)
        assert mine.keys() == theirs.keys()
        for key in mine:
            np.testing.assert_array_equal(theirs[key], mine[key])
            assert theirs[key].dtype == np.asarray(mine[key]).dtype


def test_the_file_holds_no_pickles(registry, version):
    path = registry.version_dir(version) / SERVING
    with np.load(path, allow_pickle=False) as npz:
        assert all(npz[name].dtype != object for name in npz.files)


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_corrupted_form_is_refused_with_the_hash_error(registry, version, damage):
    path = registry.version_dir(version) / SERVING
    data = path.read_bytes()
    data = data[:500] + bytes([data[500] ^ 1]) + data[501:] if damage == "flip" \
        else data[:len(data) // 2]
    path.write_bytes(data)
    with pytest.raises(IntegrityError, match="serving.npz of .* sha256"):
        Tagger.from_registry(registry, version)
    with pytest.raises(IntegrityError, match="sha256"):
        registry.promote(version)


def test_a_version_without_a_form_loads_through_the_pipeline(registry, version, tiny_labels):
    """Versions made before serving forms (no serving_* keys, no file) still load."""
    served = Tagger.from_registry(registry, version)
    path = registry.version_dir(version) / MANIFEST
    manifest = json.loads(path.read_text())
    manifest.pop("serving_format")
    del manifest["files"][SERVING]
    path.write_text(json.dumps(manifest))
    (registry.version_dir(version) / SERVING).unlink()
    old = Tagger.from_registry(registry, version)
    assert old.pipeline is not None and served.pipeline is None
    texts = tiny_labels.texts[:100]
    assert [p.to_dict() for p in old.predict(texts)] == [p.to_dict() for p in served.predict(texts)]


def test_a_form_of_another_format_falls_back_to_the_pipeline(registry, version):
    import io

    path = registry.version_dir(version) / MANIFEST
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "serving_format": "serving-0.tables-0"}))
    assert Tagger.from_registry(registry, version).pipeline is not None
    buffer = io.BytesIO()
    np.savez(buffer, format=np.asarray("serving-0.tables-0"))
    with pytest.raises(serving.FormatMismatch, match="serving-0.tables-0"):
        serving.from_bytes(buffer.getvalue())


def test_a_worker_never_imports_scikit_learn(registry, version):
    """Load and tag as the service does (the app factory, a predict and an article): neither
    scikit-learn nor pandas nor pyarrow (nor joblib, nor scipy.sparse) is imported."""
    code = (
        "import json, sys\n"
        "from service import create_app\n"
        f"app = create_app({{'REGISTRY': {str(registry.root)!r}}})\n"
        "client = app.test_client()\n"
        "r = client.post('/v1/predict', json={'texts': ['Egypt will train Libyan police.']})\n"
        "assert r.status_code == 200, r.get_data()\n"
        "r = client.post('/v1/tag-article', json={'text': 'Polls open. Police train.'})\n"
        "assert r.status_code == 200, r.get_data()\n"
        "heavy = ('sklearn', 'pandas', 'pyarrow', 'joblib', 'scipy.sparse')\n"
        "print(json.dumps(sorted({m for m in sys.modules for h in heavy\n"
        "                         if m == h or m.startswith(h + '.')})))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


_texts = st.lists(st.one_of(st.text(max_size=200),
                            st.sampled_from(["JNIM fighters attacked", "police training",
                                             "the electoral commission", "UNHCR said",
                                             "the embassy in Tripoli reopened"])),
                  min_size=1, max_size=6)


def test_served_and_reference_taggers_agree_on_the_corpus(tagger, reference_tagger, labels):
    texts = labels.texts
    assert tagger.pipeline is None and reference_tagger.pipeline is not None
    assert [p.to_dict() for p in tagger.predict(texts)] == \
        [p.to_dict() for p in reference_tagger.predict(texts)]
    assert tagger.topics == reference_tagger.topics
    np.testing.assert_array_equal(tagger.thresholds, reference_tagger.thresholds)
    np.testing.assert_array_equal(tagger.article_thresholds, reference_tagger.article_thresholds)


@settings(max_examples=150, deadline=None)
@given(_texts)
def test_served_and_reference_taggers_agree_on_any_text(tagger, reference_tagger, pipeline,
                                                        texts):
    assert [p.to_dict() for p in tagger.predict(texts)] == \
        [p.to_dict() for p in reference_tagger.predict(texts)]
    np.testing.assert_allclose(tagger.scores(texts)[1], pipeline.predict_proba(texts),
                               rtol=0, atol=1e-9)


def test_served_and_reference_articles_agree(tagger, reference_tagger, labels):
    article = (SEEDS / next(r.source for r in labels.rows if r.source != "authored")
               ).read_text(encoding="utf-8")
    assert tagger.tag_article(article, title="A headline") == \
        reference_tagger.tag_article(article, title="A headline")
