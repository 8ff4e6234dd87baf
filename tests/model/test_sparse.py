"""Column-stacking feature blocks: scipy's result, array for array, whatever the blocks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st

from model import sparse
from model.sparse import hstack_csr


def _same(a, b) -> bool:
    return (a.shape == b.shape and a.dtype == b.dtype and a.indices.dtype == b.indices.dtype
            and np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
            and np.array_equal(a.data, b.data))


@st.composite
def _blocks(draw):
    rows = draw(st.integers(0, 40))
    shapes = draw(st.lists(st.integers(0, 30), min_size=1, max_size=5))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    out = []
    for cols in shapes:
        density = draw(st.sampled_from([0.0, 0.05, 0.3, 1.0]))
        block = sp.random(rows, cols, density=density, format="csr", dtype=dtype, rng=rng)
        if draw(st.booleans()):
            block = block.tocoo()  # not CSR: converted like hstack does
        out.append(block)
    return out


@settings(max_examples=200, deadline=None)
@given(_blocks(), st.integers(1, 7))
def test_equals_scipy_hstack(blocks, chunk):
    expected = sp.hstack(blocks).tocsr()
    original = sparse.ROWS_PER_CHUNK
    sparse.ROWS_PER_CHUNK = chunk  # several chunks even on small blocks
    try:
        given_blocks = list(blocks)
        stacked = hstack_csr(given_blocks)
    finally:
        sparse.ROWS_PER_CHUNK = original
    assert _same(stacked, expected)
    assert given_blocks == []  # each block let go once copied


def test_the_union_of_a_real_pipeline(tiny_labels):
    from model.pipeline import build_pipeline

    union = build_pipeline().named_steps["features"]
    blocks = [t.fit_transform(tiny_labels.texts) for _, t in union.transformer_list]
    assert _same(hstack_csr(list(blocks)), sp.hstack(blocks).tocsr())


def test_refuses_blocks_of_different_heights():
    with pytest.raises(ValueError, match="different numbers of rows"):
        hstack_csr([sp.csr_matrix((3, 2)), sp.csr_matrix((4, 2))])
    with pytest.raises(ValueError, match="nothing to stack"):
        hstack_csr([])
