"""Benchmarks of gpu_sparse against PyTorch and SciPy/NumPy: ``python -m bench``."""
