"""The local engine with several processes writes exactly what one process writes."""

from __future__ import annotations

import pytest

from model.batch import run_local
from test_batch import job_for, make_jsonl


@pytest.mark.parametrize("unit", ["sentence", "article"])
def test_two_processes_equal_one(tmp_path, tagger, labels, unit):
    texts = labels.texts[:300] + ["", "\u2028x\x1cy\x85z", "JNIM fighters attacked police."]
    one = job_for(tmp_path, f"one-{unit}", chunk_size=97, unit=unit)
    two = job_for(tmp_path, f"two-{unit}", chunk_size=97, unit=unit)
    make_jsonl(one.input, texts, 700, seed=5)
    make_jsonl(two.input, texts, 700, seed=5)
    first = run_local(one, tagger, quiet=True)
    second = run_local(two, tagger, quiet=True, workers=2)
    assert {k: v for k, v in first.items() if k not in ("output", "errors_file")} == \
        {k: v for k, v in second.items() if k not in ("output", "errors_file")}
    assert open(one.output, "rb").read() == open(two.output, "rb").read()
    assert open(one.errors_path, "rb").read() == open(two.errors_path, "rb").read()
