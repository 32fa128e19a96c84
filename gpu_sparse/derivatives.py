"""Every gradient formula of the library, in one table (cf. PyTorch's derivatives.yaml).

``DERIVATIVES[op][input](ctx, G)`` returns the gradient of ``input`` given the upstream
gradient ``G`` (a Tensor already in the layout and pattern of the op's output) and what
the op saved in ``ctx``. One line per differentiable input; the harder ones call named
helpers below the table. Notation: ᴴ is the conjugate transpose, ``conj`` conjugation,
``sample(X, S)`` the values of X at the stored entries of S, ``on(S, v)`` a sparse tensor
with S's own index arrays and values v.
"""

from __future__ import annotations

from . import _impl as I
from .tensor import Layout, Tensor


def _conj(s):
    return s.conjugate() if isinstance(s, complex) else s


DERIVATIVES = {
    # out = beta * mat + alpha * (mat1 @ mat2)
    "addmm": {
        "mat": lambda c, g: _mat_grad(c, g),             # conj(beta) * G, summed to mat.shape
        "mat1": lambda c, g: _addmm_mat1(c, g),          # on(mat1, conj(alpha) * sample(G @ mat2ᴴ))
        "mat2": lambda c, g: _addmm_mat2(c, g),          # conj(alpha) * mat1ᴴ @ G
    },
    # out = mat1 @ mat2, both sparse COO
    "spspmm": {
        "mat1": lambda c, g: _spspmm_grad(c.mat1, g, c.mat2, left=True),   # sample(G @ mat2ᴴ, mat1)
        "mat2": lambda c, g: _spspmm_grad(c.mat2, g, c.mat1, left=False),  # sample(mat1ᴴ @ G, mat2)
    },
    # out = on(input, beta * input.values + alpha * sample(mat1 @ mat2, input))
    "sampled_addmm": {
        "input": lambda c, g: I.with_values(c.input, _scaled(g._values, _conj(c.beta))),
        "mat1": lambda c, g: _sampled_mat1(c, g),        # conj(alpha) * G_s @ mat2ᴴ
        "mat2": lambda c, g: _sampled_mat2(c, g),        # conj(alpha) * mat1ᴴ @ G_s
    },
    "add": {
        "input": lambda c, g: _reduced(g, c.a_shape),
        "other": lambda c, g: _reduced(g, c.b_shape),
    },
    "sub": {
        "input": lambda c, g: _reduced(g, c.a_shape),
        "other": lambda c, g: _reduced_arr(g, -g._data, c.b_shape),
    },
    "mul": {
        "input": lambda c, g: _reduced_arr(g, g._data * _conj_operand(c.b), c.a_shape),
        "other": lambda c, g: _reduced_arr(g, g._data * _conj_operand(c.a), c.b_shape),
    },
    "conj": {
        "input": lambda c, g: I.with_payload(g, I.payload(g).conj()),
    },
    "sum": {
        "input": lambda c, g: _sum_grad(c.x, g),         # G broadcast to every element
    },
    "values": {
        "input": lambda c, g: I.with_values(c.s, g._data),
    },
    "to_dense": {
        "input": lambda c, g: I.with_values(c.s, I.sample(g, *I.coo_rows_cols(c.s))),
    },
    # duplicates summed: every input entry gets the gradient of the entry it went into
    "coalesce": {
        "input": lambda c, g: I.with_values(c.s, g._values[c.inverse]),
    },
    # same entries in the same order
    "csr_to_coo": {
        "input": lambda c, g: I.with_values(c.input, g._values),
    },
    "dense_to_sparse": {
        "input": lambda c, g: _dense_to_sparse_grad(c, g),
    },
    "to_device": {
        "input": lambda c, g: I.with_payload(c.src, _moved(g, c.src.device)),
    },
}


def _scaled(arr, s):
    if s == 0:
        return arr * arr.dtype.type(0)
    return I.scale(arr, s)


def _mat_grad(c, g: Tensor) -> Tensor:
    arr = g._data
    if c.beta == 0:
        arr = I.backend_of(g).xp.zeros_like(arr)
    else:
        arr = I.scale(arr, _conj(c.beta))
    return I.dense(g.device, I.reduce_to_shape(arr, c.mat_shape))


def _addmm_mat1(c, g: Tensor) -> Tensor:
    alpha = _conj(c.alpha)
    mat1, mat2 = c.mat1, c.mat2
    if mat1.layout is Layout.strided:
        xp = I.backend_of(g).xp
        return I.dense(g.device, I.scale(xp.matmul(g._data, mat2._data.conj().T), alpha))
    # (G @ mat2ᴴ)[i, j] = sum_l G[i, l] conj(mat2[j, l]) at each stored (i, j)
    vals = I.sddmm_on(mat1, g._data, mat2._data, alpha=alpha, conj_b=True)
    return I.with_values(mat1, vals)


def _addmm_mat2(c, g: Tensor) -> Tensor:
    alpha = _conj(c.alpha)
    mat1 = c.mat1
    if mat1.layout is Layout.strided:
        xp = I.backend_of(g).xp
        return I.dense(g.device, I.scale(xp.matmul(mat1._data.conj().T, g._data), alpha))
    return I.dense(g.device, I.spmm_h(mat1, g._data, alpha=alpha))


def _sampled_mat1(c, g: Tensor) -> Tensor:
    # (G_s @ mat2ᴴ): G_s has input's pattern; mat2ᴴ is (n, k)
    xp = I.backend_of(g).xp
    crow, col, perm = I.row_pattern(c.input)
    b = xp.ascontiguousarray(c.mat2._data.conj().T)
    arr = I.backend_of(g).spmm(crow, col, g._values, b, alpha=_conj(c.alpha), perm=perm)
    return I.dense(g.device, arr)


def _sampled_mat2(c, g: Tensor) -> Tensor:
    # (mat1ᴴ @ G_s) = (G_sᵀ @ conj(mat1))ᵀ, G_sᵀ from the cached transposed pattern
    xp = I.backend_of(g).xp
    crow, col, perm = I.col_pattern(c.input)
    b = c.mat1._data.conj()
    arr = I.backend_of(g).spmm(crow, col, g._values, b, alpha=_conj(c.alpha), perm=perm)
    return I.dense(g.device, xp.ascontiguousarray(arr.T))


def _spspmm_grad(own: Tensor, g: Tensor, other: Tensor, left: bool) -> Tensor:
    """Masked gradient of one factor of a sparse @ sparse product.

    left:  sample(G @ otherᴴ, own)      (own = mat1, other = mat2)
    right: sample(otherᴴ @ G, own)      (own = mat2, other = mat1)
    """
    be = I.backend_of(g)
    crow_t, col_t, perm_t = I.col_pattern(other)
    vals_t = other._values if perm_t is None else other._values[perm_t]
    other_h = (crow_t, col_t, vals_t.conj())
    oh_shape = (other.shape[1], other.shape[0])
    g_csr = I.csr_triple(g)
    if left:
        rows, cols, vals = be.spgemm(g_csr, g.shape, other_h, oh_shape)
        shape = (g.shape[0], oh_shape[1])
    else:
        rows, cols, vals = be.spgemm(other_h, oh_shape, g_csr, g.shape)
        shape = (oh_shape[0], g.shape[1])
    prod = I.coo(g.device, be.xp.stack([rows, cols]), vals, shape, coalesced=True)
    return I.with_values(own, I.sample(prod, *I.coo_rows_cols(own)))


def _conj_operand(x):
    return x._data.conj() if isinstance(x, Tensor) else _conj(x)


def _reduced(g: Tensor, shape):
    return _reduced_arr(g, g._data, shape)


def _reduced_arr(g: Tensor, arr, shape):
    if shape is None:
        return None
    arr = I.backend_of(g).xp.asarray(arr, dtype=g.dtype)
    return I.dense(g.device, I.reduce_to_shape(arr, shape))


def _sum_grad(x: Tensor, g: Tensor) -> Tensor:
    xp = I.backend_of(g).xp
    arr = xp.zeros(I.payload(x).shape, dtype=x.dtype) + g._data.reshape(())
    return I.with_payload(x, arr)


def _dense_to_sparse_grad(c, g: Tensor) -> Tensor:
    xp = I.backend_of(g).xp
    shape = g.shape
    arr = xp.zeros(shape, dtype=g.dtype)
    arr[c.rows, c.cols] = g._values
    return I.dense(g.device, arr)


def _moved(g: Tensor, device: str):
    return I.payload(g.to(device))
