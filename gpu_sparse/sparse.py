"""``gpu_sparse.sparse``: the sparse operations under PyTorch's names
(``torch.sparse.addmm``, ``torch.sparse.mm``, ``torch.sparse.sampled_addmm``,
``torch.sparse.sum``, ``torch.sparse.softmax``, ``torch.sparse.log_softmax``)."""

from .ops.products import sampled_addmm
from .ops.products import sparse_addmm as addmm
from .ops.products import sparse_mm as mm
from .ops.sparse_reductions import log_softmax, softmax, sum

__all__ = ["addmm", "mm", "sampled_addmm", "sum", "softmax", "log_softmax"]
