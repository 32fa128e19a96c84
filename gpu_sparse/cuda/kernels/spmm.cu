// gpu_sparse_spmm_csr: out = alpha * op(S) @ b + beta * c for a CSR matrix S.
//
// Used for float16/bfloat16 (cuSPARSE has no half-precision path through CuPy) and as
// the fallback when cuSPARSE refuses a call. Accumulates in acc_t<T> (float for halves).
//
// Arguments (T value type, I index type, VEC values per 16-byte load):
//   const I* crow   (n_rows + 1,)  row pointer
//   const I* col    (nnz,)         column of each entry (any order, repeats summed)
//   const T* vals   (*)            value of entry k: vals[perm[k]] if use_perm else vals[k]
//   const I* perm   (nnz,)         may be null when !use_perm
//   const T* b      (n, p)         C-contiguous
//   const T* c      (n_rows, p)    addend when use_c; may be the same array as out
//   T* out          (n_rows, p)    C-contiguous
//   long long n_rows; int p; acc_t<T> alpha, beta; int use_perm, conj, use_c
//
// Grid: one warp per (row, tile of 32 * VEC columns). Each lane owns VEC consecutive
// output columns and walks the row's nonzeros in storage order, so every output element
// is summed by one thread in a fixed order (deterministic). c[i, :] is read before
// out[i, :] is written by the same lane, so c may alias out.
#include "common.cuh"

template <typename T, typename I, int VEC>
__global__ void gpu_sparse_spmm_csr(const I* __restrict__ crow, const I* __restrict__ col,
                                    const T* __restrict__ vals, const I* __restrict__ perm,
                                    const T* __restrict__ b, const T* c, T* out,
                                    long long n_rows, int p, acc_t<T> alpha, acc_t<T> beta,
                                    int use_perm, int conj, int use_c) {
    typedef acc_t<T> A;
    const int lane = threadIdx.x & 31;
    const long long warp = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
    const int span = 32 * VEC;
    const long long tiles = (p + span - 1) / span;
    const long long row = warp / tiles;
    if (row >= n_rows) return;
    const int c0 = static_cast<int>(warp % tiles) * span + lane * VEC;
    if (c0 >= p) return;
    A acc[VEC];
#pragma unroll
    for (int q = 0; q < VEC; ++q) acc[q] = A(0);
    const long long e = static_cast<long long>(crow[row + 1]);
    for (long long k = static_cast<long long>(crow[row]); k < e; ++k) {
        A v = gs_load(vals[use_perm ? static_cast<long long>(perm[k]) : k]);
        if (conj) v = gs_conj(v);
        A bv[VEC];
        gs_load_vec<T, VEC>(b + static_cast<long long>(col[k]) * p + c0, bv);
#pragma unroll
        for (int q = 0; q < VEC; ++q) acc[q] += v * bv[q];
    }
    T* orow = out + row * p + c0;
    A res[VEC];
    if (use_c) {
        A cv[VEC];
        gs_load_vec<T, VEC>(c + row * p + c0, cv);
#pragma unroll
        for (int q = 0; q < VEC; ++q) res[q] = alpha * acc[q] + beta * cv[q];
    } else {
#pragma unroll
        for (int q = 0; q < VEC; ++q) res[q] = alpha * acc[q];
    }
    gs_store_vec<T, VEC>(orow, res);
}

#ifndef __CUDACC_RTC__
#define GS_SPMM_INST(T, I, V)                                                           \
    template __global__ void gpu_sparse_spmm_csr<T, I, V>(                              \
        const I*, const I*, const T*, const I*, const T*, const T*, T*, long long, int,  \
        acc_t<T>, acc_t<T>, int, int, int);
#define GS_SPMM_ALL(T, V) GS_SPMM_INST(T, int, 1) GS_SPMM_INST(T, long long, 1) \
    GS_SPMM_INST(T, int, V) GS_SPMM_INST(T, long long, V)
GS_SPMM_ALL(float, 4)
GS_SPMM_ALL(double, 2)
GS_SPMM_ALL(gs_c64, 2)
GS_SPMM_INST(gs_c128, int, 1)
GS_SPMM_INST(gs_c128, long long, 1)
#ifdef GPU_SPARSE_HALF
GS_SPMM_ALL(__half, 8)
GS_SPMM_ALL(__nv_bfloat16, 8)
#endif
#endif
