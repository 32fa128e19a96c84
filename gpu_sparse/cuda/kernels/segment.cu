// gpu_sparse_segment_sum: deterministic sums of runs of equal keys (coalescing).
//
//   out[s] = sum_{q = starts[s]}^{ends[s]-1} vals[order[q]]   in increasing q
//
// Arguments (T value type):
//   const long long* order   (nnz,)    input positions in sorted-key order (stable)
//   const long long* starts  (n_seg,)  first sorted position of each run
//   long long n_seg, nnz               the run s ends at starts[s + 1] (or nnz)
//   const T* vals            (nnz,)
//   T* out                   (n_seg,)
//
// One thread per run (grid: gpu_sparse/cuda/launch.py segment_blocks), summing in input
// order: no atomics, so duplicates add up the same way on every run (cupy's
// sum_duplicates uses atomicAdd and is not reproducible). launch.py also lists the
// instantiations (instantiations()); NVRTC compiles the one CuPy asks for by name
// expression.
#include "common.cuh"

template <typename T>
__global__ void gpu_sparse_segment_sum(const long long* __restrict__ order,
                                       const long long* __restrict__ starts, long long n_seg,
                                       long long nnz, const T* __restrict__ vals,
                                       T* __restrict__ out) {
    const long long s = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (s >= n_seg) return;
    const long long e = s + 1 < n_seg ? starts[s + 1] : nnz;
    acc_t<T> acc = gs_load(vals[order[starts[s]]]);
    for (long long q = starts[s] + 1; q < e; ++q) acc += gs_load(vals[order[q]]);
    out[s] = gs_store<T>(acc);
}
