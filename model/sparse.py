"""Column-stacking CSR feature blocks in about half the memory of scipy's hstack.

`scipy.sparse.hstack` first concatenates every block's data and indices, then interleaves
them into the result, so the blocks, the concatenation and the result are all alive at
once: three copies of the feature matrix. At 100 times the labelled corpus that was the
training run's memory peak (a fold worker at 2.7 GB of a 4.2 GB total). Here each block is
copied straight into the result, a bounded run of rows at a time, and dropped once copied.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

ROWS_PER_CHUNK = 16_384  # bounds the scatter's index temporaries to a few tens of MB


def hstack_csr(blocks: list) -> sp.csr_matrix:
    """The same arrays as `sp.hstack(blocks).tocsr()`; `blocks` is emptied as it goes."""
    if not blocks:
        raise ValueError("nothing to stack")
    blocks[:] = [sp.csr_matrix(b) for b in blocks]  # no copy for CSR input
    heights = {b.shape[0] for b in blocks}
    if len(heights) > 1:
        raise ValueError(f"blocks have different numbers of rows: {sorted(heights)}")
    n_rows = heights.pop()
    n_cols = sum(b.shape[1] for b in blocks)
    row_nnz = np.zeros(n_rows, dtype=np.int64)
    for b in blocks:
        row_nnz += np.diff(b.indptr)
    nnz = int(row_nnz.sum())
    index_dtype = np.int64 if max(nnz, n_cols - 1) > np.iinfo(np.int32).max else np.int32
    indptr = np.zeros(n_rows + 1, dtype=index_dtype)
    np.cumsum(row_nnz, out=indptr[1:])
    data = np.empty(nnz, dtype=np.result_type(*(b.dtype for b in blocks)))
    indices = np.empty(nnz, dtype=index_dtype)
    free = indptr[:-1].astype(np.int64)  # each row's next unfilled slot
    offset = 0
    while blocks:
        block = blocks.pop(0)
        counts = np.diff(block.indptr).astype(np.int64)
        starts = block.indptr.astype(np.int64)
        for first in range(0, n_rows, ROWS_PER_CHUNK):
            last = min(first + ROWS_PER_CHUNK, n_rows)
            lo, hi = starts[first], starts[last]
            if hi == lo:
                continue
            where = np.repeat(free[first:last] - starts[first:last], counts[first:last])
            where += np.arange(lo, hi)
            data[where] = block.data[lo:hi]
            indices[where] = block.indices[lo:hi].astype(index_dtype) + offset
        free += counts
        offset += block.shape[1]
        del block
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))
