"""``gpu_sparse.distributed``: ``sparse.addmm``, ``sparse.mm``, ``sparse.sampled_addmm`` and
their gradients on matrices partitioned in row blocks across Dask workers, bitwise equal
to one device. Optional: needs ``dask[distributed]`` (``pip install
gpu_sparse[distributed]``); ``import gpu_sparse`` never imports it.

Tensors live on the current ``dask.distributed`` client (each block pinned to one worker)
or, without a client, on Dask's local threaded scheduler. The public ops take the
distributed path when an operand is a :class:`DistributedTensor`; a GCN layer's other
pieces (``x @ weight`` with a local or distributed weight, a broadcast bias, ``+ - *``,
``relu()``, ``sum()``) are its methods. Build tensors with :func:`from_scipy`,
:func:`from_numpy`, :func:`from_tensor`, :func:`from_dask` or, from blocks already on
the workers, :func:`from_futures`. On a client, ``backward()`` submits every gradient
task, then waits once for all the distributed leaves' gradients. A large local tensor
mixed with distributed ones is a TypeError naming the constructor to use.

Products gather the chunks of the dense operand a row block touches and run one local
product per block (bitwise equal to one device). When that operand does not fit a
worker, :func:`set_memory_budget` / :func:`memory_budget` opt in to the *tiled form*
(one task per chunk, partials added in a fixed order on the owner): deterministic and
within float tolerance of one device, not bitwise equal to it.

>>> import numpy as np, scipy.sparse as sp, gpu_sparse as gs
>>> from gpu_sparse import distributed as gd
>>> a = sp.random(8, 8, density=0.3, format="coo", random_state=0)
>>> x = np.random.default_rng(0).standard_normal((8, 4))
>>> S = gd.from_scipy(a, n_blocks=2).requires_grad_()
>>> X = gd.from_numpy(x, n_blocks=2).requires_grad_()
>>> out = gs.sparse.mm(S, X)
>>> local = gs.sparse.mm(gs.from_scipy(a), gs.tensor(x))
>>> bool((out.compute().numpy() == local.numpy()).all())
True
>>> out.sum().backward()
>>> S.grad.compute().layout, X.grad.row_bounds
(gpu_sparse.sparse_coo, (0, 4, 8))
"""

from . import _backward, _dispatch
from ._constructors import from_dask, from_futures, from_numpy, from_scipy, from_tensor
from ._tensor import DistributedTensor
from ._tiled import get_memory_budget, memory_budget, set_memory_budget

__all__ = ["DistributedTensor", "from_dask", "from_futures", "from_numpy", "from_scipy",
           "from_tensor",
           "get_memory_budget", "memory_budget", "set_memory_budget"]

del _backward, _dispatch  # imported to bind the operations onto DistributedTensor
