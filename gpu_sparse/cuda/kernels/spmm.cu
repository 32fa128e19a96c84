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
// Grid: one warp per (row, tile of GS_WARP_SIZE * VEC columns), sized by
// gpu_sparse/cuda/launch.py (spmm_blocks), which also defines GS_* (see common.cuh) and
// lists the instantiations (instantiations()); NVRTC compiles the one CuPy asks for by
// name expression. Each lane owns VEC consecutive output columns and walks the row's
// nonzeros in storage order, so every output element is summed by one thread in a fixed
// order (deterministic). c[i, :] is read before out[i, :] is written by the same lane, so
// c may alias out.
#include "common.cuh"

template <typename T, typename I, int VEC>
__global__ void gpu_sparse_spmm_csr(const I* __restrict__ crow, const I* __restrict__ col,
                                    const T* __restrict__ vals, const I* __restrict__ perm,
                                    const T* __restrict__ b, const T* c, T* out,
                                    long long n_rows, int p, acc_t<T> alpha, acc_t<T> beta,
                                    int use_perm, int conj, int use_c) {
    typedef acc_t<T> A;
    const int lane = gs_lane();
    const long long warp = gs_grid_warp();
    const int span = GS_WARP_SIZE * VEC;
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
