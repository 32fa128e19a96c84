"""Benchmark cases: sizes, sparsity patterns and the problem data of one case."""

from __future__ import annotations

import dataclasses
from typing import List

import numpy as np


@dataclasses.dataclass(frozen=True)
class Case:
    m: int
    nnz: int
    p: int
    dist: str  # "uniform" or "powerlaw"
    dtype: str = "float32"

    @property
    def n(self) -> int:
        return self.m

    @property
    def name(self) -> str:
        def pow2(x):
            return f"2^{int(np.log2(x))}" if x & (x - 1) == 0 else str(x)
        return (f"m=n={pow2(self.m)} nnz={pow2(self.nnz)} p={self.p} {self.dist}"
                + ("" if self.dtype == "float32" else f" {self.dtype}"))


def cpu_cases(quick: bool) -> List[Case]:
    if quick:
        return [Case(2**14, 2**20, p, d) for d in ("uniform", "powerlaw") for p in (16, 128)]
    return [Case(m, nnz, p, d) for m in (2**14, 2**17) for nnz in (2**20, 2**22)
            for p in (16, 128) for d in ("uniform", "powerlaw")]


def gpu_cases(quick: bool) -> List[Case]:
    if quick:
        return [Case(2**18, 2**22, 32, "uniform"), Case(2**18, 2**22, 32, "uniform", "float16")]
    return [Case(2**20, 2**24, p, d, dt) for dt in ("float32", "float16") for p in (32, 128)
            for d in ("uniform", "powerlaw")]


def make_problem(case: Case, seed: int = 0):
    """COO indices (2, nnz) int64 in random order (duplicates possible), values and the
    dense operands B (n, p), C (m, p), G (m, p), float32 (the dtype conversion is the
    caller's).

    "powerlaw": 90% of the nonzeros at uniform positions, 10% in rows drawn with
    probability proportional to 1/rank (rows shuffled), so a few rows hold tens of
    thousands of nonzeros, as in real graphs.
    """
    rng = np.random.default_rng(seed)
    m, n, nnz, p = case.m, case.n, case.nnz, case.p
    if case.dist == "uniform":
        rows = rng.integers(0, m, nnz)
    else:
        n_skew = nnz // 10
        w = 1.0 / np.arange(1, m + 1)
        skew = rng.choice(m, size=n_skew, p=w / w.sum())
        rows = np.concatenate([rng.integers(0, m, nnz - n_skew), rng.permutation(m)[skew]])
    cols = rng.integers(0, n, nnz)
    order = rng.permutation(nnz)
    idx = np.stack([rows[order], cols[order]]).astype(np.int64)
    vals = rng.standard_normal(nnz).astype(np.float32)
    B = rng.standard_normal((n, p)).astype(np.float32)
    C = rng.standard_normal((m, p)).astype(np.float32)
    G = rng.standard_normal((m, p)).astype(np.float32)
    return idx, vals, B, C, G
