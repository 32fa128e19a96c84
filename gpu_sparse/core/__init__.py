"""The tensor layer: :class:`Tensor`, the autograd engine, and argument checks.

Written once for every device; it reaches devices only through the sparse formats and the
backend interface below it, and knows nothing of the ops above it.
"""
