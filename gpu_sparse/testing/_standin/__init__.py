"""The CuPy stand-in (see :mod:`gpu_sparse.testing`)."""
