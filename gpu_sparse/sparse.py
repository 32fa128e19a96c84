"""``gpu_sparse.sparse``: the sparse operations under PyTorch's names
(``torch.sparse.addmm``, ``torch.sparse.mm``, ``torch.sparse.sampled_addmm``)."""

from .ops.products import sampled_addmm
from .ops.products import sparse_addmm as addmm
from .ops.products import sparse_mm as mm

__all__ = ["addmm", "mm", "sampled_addmm"]
