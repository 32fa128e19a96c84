"""Small real graphs shipped with the package: Cora (Planetoid, MIT licence; see
``gpu_sparse/data/LICENSE-planetoid``), with the standard split of Kipf & Welling's GCN
paper (ICLR 2017)."""

from __future__ import annotations

import pathlib
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from .core.tensor import Tensor
from .ops.constructors import from_scipy

DATA = pathlib.Path(__file__).resolve().parent / "data"


class Graph(NamedTuple):
    """A node-classification graph (a named tuple, as :func:`load_cora` returns it),
    tensors on one device.

    ``adj``: the renormalised adjacency D^-1/2 (A + I) D^-1/2 as a CSR Tensor (n, n);
    ``features``: row-normalised bag-of-words features as a CSR Tensor (n, f);
    ``labels`` (n,) int64 and ``idx_train``/``idx_val``/``idx_test`` (int64 node ids)
    host NumPy arrays; ``n_classes`` an int.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> g = gs.datasets.load_cora(device="cpu")
    >>> g.adj.layout, g.labels.shape, int(g.labels.max()) + 1 == g.n_classes
    (gpu_sparse.sparse_csr, (2708,), True)
    """

    adj: Tensor
    features: Tensor
    labels: np.ndarray
    idx_train: np.ndarray
    idx_val: np.ndarray
    idx_test: np.ndarray
    n_classes: int


def load_cora(device: Any = None, dtype: Any = np.float32) -> Graph:
    """Cora (2708 nodes, 5278 undirected edges, 1433 features, 7 classes; split 140 /
    500 / 1000), preprocessed as in the GCN paper: features row-normalised, adjacency
    with self-loops and symmetric normalisation.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> g = gs.datasets.load_cora(device="cpu")
    >>> g.adj.shape, g.features.shape, g.n_classes, len(g.idx_train)
    ((2708, 2708), (2708, 1433), 7, 140)
    """
    with np.load(DATA / "cora.npz") as z:
        n = int(z["n_nodes"])
        a = sp.csr_matrix((np.ones(z["adj_indices"].shape[0]), z["adj_indices"],
                           z["adj_indptr"]), shape=(n, n))
        x = sp.csr_matrix((z["feat_data"].astype(np.float64), z["feat_indices"],
                           z["feat_indptr"]), shape=(n, int(z["n_features"])))
        labels = z["labels"].astype(np.int64)
        split = [z[k].astype(np.int64) for k in ("idx_train", "idx_val", "idx_test")]
    a = a + sp.eye(n)
    d = np.asarray(a.sum(axis=1)).ravel() ** -0.5
    a_hat = sp.diags(d) @ a @ sp.diags(d)
    rows = np.asarray(x.sum(axis=1)).ravel()
    rows[rows == 0] = 1
    x = sp.diags(1 / rows) @ x
    adj = from_scipy(sp.csr_matrix(a_hat).astype(dtype))
    feats = from_scipy(sp.csr_matrix(x).astype(dtype))
    if device is not None:
        adj, feats = adj.to(device), feats.to(device)
    return Graph(adj, feats, labels, split[0], split[1], split[2], int(labels.max()) + 1)


__all__ = ["Graph", "load_cora"]
