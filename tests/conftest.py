"""Shared fixtures: the real label folder, a tiny corpus cut from it, trained models."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from model.labels import SENTENCES_DIR, TOPICS_FILE, load_labels
from model.registry import Registry
from model.tagger import Tagger
from model.train import train

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "labels"
SEEDS = ROOT / "seeds"


def write_sentences(path: Path, rows: list[list[str]], header=("id", "source", "text", "topics")):
    """Write a sentence CSV the way a person would save one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture(scope="session")
def labels():
    return load_labels(LABELS, seeds_dir=SEEDS)


@pytest.fixture(scope="session")
def topic_names(labels):
    return labels.topic_names


@pytest.fixture
def label_dir(tmp_path) -> Path:
    """A label folder holding the real topics file and an empty sentences folder."""
    root = tmp_path / "labels"
    (root / SENTENCES_DIR).mkdir(parents=True)
    shutil.copy(LABELS / TOPICS_FILE, root / TOPICS_FILE)
    return root


@pytest.fixture(scope="session")
def tiny_label_dir(tmp_path_factory, labels) -> Path:
    """Every 6th real row (all seed rows kept), in its original files: fast to train on."""
    root = tmp_path_factory.mktemp("tiny") / "labels"
    shutil.copytree(LABELS, root)
    by_file: dict[str, list] = {}
    for i, row in enumerate(labels.rows):
        if row.source != "authored" or i % 6 == 0:
            by_file.setdefault(row.file.rsplit("/", 1)[-1], []).append(
                [row.id, row.source, row.text, ";".join(row.topics)])
    for path in (root / SENTENCES_DIR).glob("*.csv"):
        write_sentences(path, by_file.get(path.name, []))
    return root


@pytest.fixture(scope="session")
def tiny_labels(tiny_label_dir):
    return load_labels(tiny_label_dir, seeds_dir=SEEDS)


@pytest.fixture(scope="session")
def tiny_trained(tiny_labels):
    return train(tiny_labels, seed=0)


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(tmp_path / "registry")


@pytest.fixture(scope="session")
def full_registry(tmp_path_factory, labels) -> Registry:
    """A registry holding one model trained on all committed labels, promoted."""
    reg = Registry(tmp_path_factory.mktemp("reg") / "registry")
    trained = train(labels, seed=0)
    reg.add(trained.pipeline, trained.manifest, promote=True)
    return reg


@pytest.fixture(scope="session")
def tagger(full_registry) -> Tagger:
    return Tagger.from_registry(full_registry)
