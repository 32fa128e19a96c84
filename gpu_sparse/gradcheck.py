"""``gradcheck``: backward's gradients against central finite differences."""

from __future__ import annotations

from typing import Any, Callable, List, Sequence, Union

import numpy as np

from .core.engine import no_grad
from .core.gradients import grad
from .core.tensor import Tensor


class GradcheckError(RuntimeError):
    """Analytical and numerical gradients disagree (raised by :func:`gradcheck`, with the
    input, the output degree of freedom and both values in the message). A subclass of
    RuntimeError, as PyTorch's.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> x = gs.tensor([1.0], dtype="float64", requires_grad=True)
    >>> try:  # backward sees only one factor of x * x
    ...     gs.autograd.gradcheck(lambda x: x.detach() * x, x)
    ... except gs.GradcheckError as e:
    ...     print(isinstance(e, RuntimeError), "mismatch" in str(e))
    True True
    """


def _real_view(a: np.ndarray) -> np.ndarray:
    """Complex (n,) -> real (2n,) as [re0, im0, re1, im1, ...]; real unchanged."""
    a = np.asarray(a)
    if np.iscomplexobj(a):
        return np.stack([a.real, a.imag], axis=-1).reshape(-1)
    return a.reshape(-1).astype(np.float64)


def _host(t: Tensor) -> np.ndarray:
    """A host copy of a tensor's array (dense data, or the stored values of a sparse
    tensor)."""
    return np.array(t.backend.to_numpy(t.array))


def _with_host_values(t: Tensor, host: np.ndarray) -> Tensor:
    """A tensor like ``t`` (layout, pattern, device) holding the host array ``host``."""
    return t.with_array(t.backend.asarray(host))


def gradcheck(fn: Callable[..., Any], inputs: Union[Tensor, Sequence[Any]],
              eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:
    """Compare backward's gradients with central finite differences.

    ``inputs`` is a tensor or a sequence; those with ``requires_grad`` are checked and
    must be float64 or complex128. Sparse inputs are perturbed only at their stored values
    (duplicates one at a time). Complex numbers are checked as pairs of reals, using
    PyTorch's convention that the gradient of a real loss L is dL/dRe + i dL/dIm.
    ``fn`` returns a tensor (dense, or sparse with a fixed pattern) or a tuple of them.

    Returns True, or raises :class:`GradcheckError` naming the input, the output and the
    worst element (returns False instead when ``raise_exception=False``).

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> a = gs.sparse_coo_tensor([[0, 1], [1, 0]], np.array([1.0, 2.0]), (2, 2),
    ...                          requires_grad=True)
    >>> b = gs.tensor(np.ones((2, 3)), requires_grad=True)
    >>> gs.autograd.gradcheck(lambda a, b: gs.sparse.mm(a, b), (a, b))
    True
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    for i in diff:
        if inputs[i].dtype not in (np.float64, np.complex128):
            raise TypeError(f"gradcheck: inputs[{i}] has dtype {inputs[i].dtype}; "
                            "gradcheck needs float64 or complex128")

    def call(args: Sequence[Any]) -> List[Tensor]:
        out = fn(*args)
        return list(out) if isinstance(out, (tuple, list)) else [out]

    def outputs_flat(args: Sequence[Any]) -> np.ndarray:
        with no_grad():
            return np.concatenate([_real_view(_host(o)) for o in call(args)])

    base_outs = call(inputs)
    n_out_real = sum(_real_view(_host(o)).size for o in base_outs)

    # numerical Jacobian, one column per real degree of freedom of each input
    for i in diff:
        t = inputs[i]
        host = _host(t)
        flat = host.reshape(-1)
        cplx = np.iscomplexobj(flat)
        n_real = flat.size * (2 if cplx else 1)
        num = np.zeros((n_out_real, n_real))
        for e in range(flat.size):
            for part, step in ((0, eps), (1, 1j * eps))[: 2 if cplx else 1]:
                plus = flat.copy()
                plus[e] += step
                minus = flat.copy()
                minus[e] -= step
                args_p = list(inputs)
                args_p[i] = _with_host_values(t, plus.reshape(host.shape))
                args_m = list(inputs)
                args_m[i] = _with_host_values(t, minus.reshape(host.shape))
                col = (outputs_flat(args_p) - outputs_flat(args_m)) / (2 * eps)
                num[:, e * (2 if cplx else 1) + part] = col
        # analytical Jacobian, one row per real output degree of freedom
        ana = np.zeros_like(num)
        row = 0
        for o in base_outs:
            ocplx = o.dtype.kind == "c"
            n_el = _host(o).size
            for e in range(n_el):
                for unit in (1.0, 1j)[: 2 if ocplx else 1]:
                    unit_host = np.zeros(o.array.shape, dtype=o.dtype)
                    unit_host.reshape(-1)[e] = unit
                    v = _with_host_values(o, unit_host)
                    (g,) = grad([o], [t], [v], retain_graph=True, allow_unused=True)
                    if g is not None:
                        gv = _host(g).reshape(-1)
                        if cplx:
                            ana[row, 0::2] = gv.real
                            ana[row, 1::2] = gv.imag
                        else:
                            ana[row, :] = gv.real
                    row += 1
        err = np.abs(ana - num)
        bound = atol + rtol * np.abs(num)
        bad = err > bound
        if np.any(bad) or not np.all(np.isfinite(ana)):
            idx = np.unravel_index(np.argmax(np.where(np.isfinite(err), err - bound, np.inf)),
                                   err.shape)
            msg = (f"gradcheck: Jacobian mismatch for inputs[{i}] "
                   f"(output degree of freedom {idx[0]}, input degree of freedom {idx[1]}): "
                   f"numerical {num[idx]:.6g}, analytical {ana[idx]:.6g}, "
                   f"|diff| {err[idx]:.3g} > atol + rtol*|numerical| = {bound[idx]:.3g}")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True

