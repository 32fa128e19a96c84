"""``gpu_sparse.autograd``: gradients without ``.grad`` (:func:`grad`), ``backward``,
grad mode, and :func:`gradcheck` (PyTorch's ``torch.autograd`` names).

The engine is :mod:`gpu_sparse.core.engine`; this module is its public face.
"""

from .core.engine import enable_grad, is_grad_enabled, no_grad
from .core.gradients import backward, grad
from .gradcheck import GradcheckError, gradcheck

__all__ = ["backward", "grad", "gradcheck", "GradcheckError", "no_grad", "enable_grad",
           "is_grad_enabled"]
