"""Implementations under test and the measurement loop (times, peak memory, checks)."""

from __future__ import annotations

import gc
import threading
import time
from typing import Callable, Dict, List, Optional

import numpy as np

import gpu_sparse as gs
from gpu_sparse.formats import COOPattern

BETA, ALPHA = 0.5, 2.0
_PAGE = 4096


# ---- memory -----------------------------------------------------------------------------
def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def _trim() -> None:
    """Return freed heap pages to the OS, so new allocations show up in the RSS."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


class PeakRSS:
    """Samples the process RSS every 0.5 ms on a thread; ``peak - base`` afterwards."""

    def __enter__(self):
        gc.collect()
        _trim()
        self.base = self.peak = _rss()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(0.0005)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, _rss())

    @property
    def extra(self) -> int:
        return self.peak - self.base


class GpuPeak:
    """Peak bytes held by CuPy's or PyTorch's allocator during the block."""

    def __init__(self, kind: str):
        self.kind = kind

    def __enter__(self):
        if self.kind == "cupy":
            import cupy
            self.pool = cupy.get_default_memory_pool()
            self.pool.free_all_blocks()
            self.base = self.pool.used_bytes()
        else:
            import torch
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        return self

    def __exit__(self, *exc):
        if self.kind == "cupy":
            # total_bytes: what the pool had to obtain, i.e. its high-water mark
            self.peak = self.pool.total_bytes()
        else:
            import torch
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated()

    @property
    def extra(self) -> int:
        return self.peak - self.base


# ---- implementations ----------------------------------------------------------------------
class Impl:
    """One way of computing the case: forward, backward, and the results for the check."""

    name = "?"
    layout = "-"

    def forward(self):
        raise NotImplementedError

    def backward(self, out) -> None:
        raise NotImplementedError

    def results(self):
        """(out, mat1 grad at each stored entry in the given COO order or None, mat2 grad)."""
        raise NotImplementedError

    def sync(self) -> None:
        pass


class Ours(Impl):
    def __init__(self, device, layout, idx, vals, B, C, G, dtype):
        self.name = "gpu_sparse"
        self.layout = layout
        self.device = device
        a = gs.sparse_coo_tensor(idx, vals.astype(dtype), (C.shape[0], B.shape[0]),
                                 device=device, check_invariants=True)
        if layout == "csr":
            a = a.to_sparse_csr()
        self.a = a.requires_grad_()
        self.b = gs.tensor(B.astype(dtype), device=device, requires_grad=True)
        self.c = gs.tensor(C.astype(dtype), device=device)
        self.g = gs.tensor(G.astype(dtype), device=device)
        self.idx = idx

    def sync(self):
        if self.device != "cpu":
            import cupy
            cupy.cuda.get_current_stream().synchronize()

    def forward(self):
        return gs.sparse.addmm(self.c, self.a, self.b, beta=BETA, alpha=ALPHA)

    def backward(self, out):
        self.a.grad = None
        self.b.grad = None
        out.backward(self.g)

    def results(self):
        out = self.forward()
        self.backward(out)
        o = out.detach().cpu().numpy()
        gb = self.b.grad.cpu().numpy()
        if self.layout == "coo":
            ga = self.a.grad.cpu().values().numpy()
        else:  # CSR grad values at each (row, col) of the original COO order
            grad = self.a.grad.cpu()
            at = COOPattern(self.idx, grad.shape, "cpu")
            ga = at.gather_sparse(grad.pattern, grad.array)
        return o, ga, gb


class Torch(Impl):
    def __init__(self, device, layout, idx, vals, B, C, G, dtype):
        import torch
        self.torch = torch
        self.name = "torch"
        self.layout = layout
        dev = "cuda" if device != "cpu" else "cpu"
        tdt = getattr(torch, dtype)
        m, n = C.shape[0], B.shape[0]
        a = torch.sparse_coo_tensor(torch.from_numpy(idx), torch.from_numpy(vals), (m, n),
                                    check_invariants=False).to(tdt).to(dev)
        if layout == "csr":
            a = a.coalesce().to_sparse_csr()
        self.a = a.detach().requires_grad_()
        self.b = torch.from_numpy(B).to(tdt).to(dev).requires_grad_()
        self.c = torch.from_numpy(C).to(tdt).to(dev)
        self.g = torch.from_numpy(G).to(tdt).to(dev)
        self.dev = dev

    def sync(self):
        if self.dev == "cuda":
            self.torch.cuda.synchronize()

    def forward(self):
        return self.torch.sparse.addmm(self.c, self.a, self.b, beta=BETA, alpha=ALPHA)

    def backward(self, out):
        self.a.grad = None
        self.b.grad = None
        out.backward(self.g)

    def results(self):
        out = self.forward().detach().float().cpu().numpy()
        return out, None, None


class SciPy(Impl):
    """The SciPy/NumPy building blocks: csr @ dense (one thread), csr.T @ dense, and a
    chunked NumPy gather-and-einsum SDDMM for the sparse gradient."""

    def __init__(self, idx, vals, B, C, G):
        import scipy.sparse as sp
        m, n = C.shape[0], B.shape[0]
        self.name = "scipy"
        self.layout = "csr"
        self.A = sp.csr_matrix((vals, (idx[0], idx[1])), shape=(m, n))
        self.AT = self.A.T.tocsr()
        self.rows, self.cols = idx
        self.B, self.C, self.G = B, C, G

    def forward(self):
        out = self.A @ self.B
        out *= np.float32(ALPHA)
        out += np.float32(BETA) * self.C
        return out

    def backward(self, out):
        self.gb = self.AT @ self.G
        self.gb *= np.float32(ALPHA)
        ga = np.empty(self.rows.shape[0], np.float32)
        step = 1 << 16
        for s in range(0, ga.shape[0], step):
            r, c = self.rows[s:s + step], self.cols[s:s + step]
            ga[s:s + step] = np.einsum("ij,ij->i", self.G[r], self.B[c])
        ga *= np.float32(ALPHA)
        self.ga = ga

    def results(self):
        out = self.forward()
        self.backward(out)
        return out, self.ga, self.gb


# ---- reference and checks ---------------------------------------------------------------
def reference(idx, vals, B, C, G):
    """float64 out, mat1 grad (per stored entry, COO order) and mat2 grad."""
    import scipy.sparse as sp
    m, n = C.shape[0], B.shape[0]
    A = sp.csr_matrix((vals.astype(np.float64), (idx[0], idx[1])), shape=(m, n))
    B64, G64 = B.astype(np.float64), G.astype(np.float64)
    out = BETA * C.astype(np.float64) + ALPHA * (A @ B64)
    gb = ALPHA * (A.T @ G64)
    ga = np.empty(idx.shape[1])
    step = 1 << 16
    for s in range(0, ga.shape[0], step):
        r, c = idx[0, s:s + step], idx[1, s:s + step]
        ga[s:s + step] = ALPHA * np.einsum("ij,ij->i", G64[r], B64[c])
    return out, ga, gb


def rel_err(x, ref) -> float:
    scale = max(float(np.abs(ref).max(initial=0.0)), 1e-30)
    return float(np.abs(np.asarray(x, np.float64) - ref).max(initial=0.0)) / scale


# ---- timing -------------------------------------------------------------------------------
# Each measurement aims at this much time: fast calls repeat more (up to 50 times, to
# steady the median on a noisy machine), slow ones fewer (at least once).
TIME_BUDGET_S = 3.0


def _repeats(requested: int, first: float) -> int:
    per = max(first, 1e-9)
    return max(1, min(50, max(requested, int(TIME_BUDGET_S / per)),
                      int(3 * TIME_BUDGET_S / per)))


def timed(fn: Callable[[], None], sync: Callable[[], None], repeats: int,
          warmup: int = 1) -> List[float]:
    t0 = time.perf_counter()
    for _ in range(warmup):
        fn()
        sync()
    first = (time.perf_counter() - t0) / max(warmup, 1)
    repeats = _repeats(repeats, first)
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return times


def first_call_memory(impl: Impl, gpu_mem: Optional[str] = None,
                      backward: bool = True) -> int:
    """Peak extra bytes of the first forward (+ backward) of a fresh implementation,
    caches it builds included."""
    with (GpuPeak(gpu_mem) if gpu_mem else PeakRSS()) as mem:
        out = impl.forward()
        if backward:
            impl.backward(out)
        impl.sync()
        del out
    return mem.extra


def measure(impl: Impl, repeats: int, backward: bool = True) -> Dict[str, float]:
    """Median seconds of forward, backward, forward + backward."""
    res: Dict[str, float] = {}
    res["fwd"] = float(np.median(timed(impl.forward, impl.sync, repeats)))
    if not backward:
        return res

    def bwd_only():
        out = impl.forward()
        impl.sync()
        t0 = time.perf_counter()
        impl.backward(out)
        impl.sync()
        return time.perf_counter() - t0

    first = bwd_only()
    n = _repeats(repeats, first)
    res["bwd"] = float(np.median([bwd_only() for _ in range(n)]))

    def fb():
        impl.backward(impl.forward())

    res["fb"] = float(np.median(timed(fb, impl.sync, repeats)))
    return res
