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
// One thread per run, summing in input order: no atomics, so duplicates add up the same
// way on every run (cupy's sum_duplicates uses atomicAdd and is not reproducible).
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

#ifndef __CUDACC_RTC__
template __global__ void gpu_sparse_segment_sum<float>(const long long*, const long long*,
                                                       long long, long long, const float*,
                                                       float*);
template __global__ void gpu_sparse_segment_sum<double>(const long long*, const long long*,
                                                        long long, long long, const double*,
                                                        double*);
template __global__ void gpu_sparse_segment_sum<gs_c64>(const long long*, const long long*,
                                                        long long, long long, const gs_c64*,
                                                        gs_c64*);
template __global__ void gpu_sparse_segment_sum<gs_c128>(const long long*, const long long*,
                                                         long long, long long,
                                                         const gs_c128*, gs_c128*);
#ifdef GPU_SPARSE_HALF
template __global__ void gpu_sparse_segment_sum<__half>(const long long*, const long long*,
                                                        long long, long long, const __half*,
                                                        __half*);
template __global__ void gpu_sparse_segment_sum<__nv_bfloat16>(
    const long long*, const long long*, long long, long long, const __nv_bfloat16*,
    __nv_bfloat16*);
#endif
#endif
