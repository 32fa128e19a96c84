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
// Mapping (sizes from p, VEC and GS_* only; gpu_sparse/cuda/launch.py computes the same
// numbers for the grid, spmm_blocks, and defines GS_*, see common.cuh):
//   C = gs_column_lanes<VEC>(p)          lanes across the columns, VEC columns each:
//                                        the smallest power of two >= ceil(p / VEC),
//                                        at most GS_WARP_SIZE
//   G = max(C, GS_SPMM_MIN_GROUP)        lanes per row (a sub-warp group)
//   S = G / C                            nonzero slots of a row (S > 1 only for tiny p)
//   R = GS_WARP_SIZE / G                 rows per warp
//   tiles = ceil(p / (C * VEC))          column tiles (> 1 only when C = GS_WARP_SIZE)
// Warp w takes rows [(w / tiles) * R, + R) and column tile w % tiles; lane l works on row
// (w / tiles) * R + l / G, columns tile * C * VEC + (l % C) * VEC + [0, VEC), and of the
// row's nonzeros (storage order) those with index = (l % G) / C modulo S. Each lane sums
// its nonzeros in storage order; the S partial sums of one output element are then added
// by a fixed butterfly within the group (gs_lanes_sum): every output element comes from a
// fixed sequence of operations, bitwise reproducible, no atomics. Lanes past the last row
// or column still take part in the shuffles and write nothing. Slot 0 writes: it reads
// c[i, j] before writing out[i, j], so c may alias out.
//
// The instantiations are listed by launch.instantiations(); NVRTC compiles the one CuPy
// asks for by name expression.
#include "common.cuh"

template <typename T, typename I, int VEC>
__global__ void gpu_sparse_spmm_csr(const I* __restrict__ crow, const I* __restrict__ col,
                                    const T* __restrict__ vals, const I* __restrict__ perm,
                                    const T* __restrict__ b, const T* c, T* out,
                                    long long n_rows, int p, acc_t<T> alpha, acc_t<T> beta,
                                    int use_perm, int conj, int use_c) {
    typedef acc_t<T> A;
    if (p <= 0) return;
    const int lane = gs_lane();
    const long long warp = gs_grid_warp();
    const int col_lanes = gs_column_lanes<VEC>(p);
    const int group = col_lanes > GS_SPMM_MIN_GROUP ? col_lanes : GS_SPMM_MIN_GROUP;
    const int slots = group / col_lanes;
    const int rows_per_warp = GS_WARP_SIZE / group;
    const int span = col_lanes * VEC;
    const long long tiles = (p - 1) / span + 1;
    const long long row0 = (warp / tiles) * rows_per_warp;
    if (row0 >= n_rows) return;  // the whole warp: no shuffle partner is left behind
    const int glane = lane & (group - 1);
    const long long row = row0 + lane / group;
    const int slot = glane / col_lanes;
    const int c0 = static_cast<int>(warp % tiles) * span + (glane & (col_lanes - 1)) * VEC;
    const bool active = row < n_rows && c0 < p;
    A acc[VEC];
#pragma unroll
    for (int q = 0; q < VEC; ++q) acc[q] = A(0);
    if (active) {
        const long long e = static_cast<long long>(crow[row + 1]);
        for (long long k = static_cast<long long>(crow[row]) + slot; k < e; k += slots) {
            A v = gs_load(vals[use_perm ? static_cast<long long>(perm[k]) : k]);
            if (conj) v = gs_conj(v);
            A bv[VEC];
            gs_load_vec<T, VEC>(b + static_cast<long long>(col[k]) * p + c0, bv);
#pragma unroll
            for (int q = 0; q < VEC; ++q) acc[q] += v * bv[q];
        }
    }
    if (slots > 1) {  // warp-uniform: every lane shuffles
#pragma unroll
        for (int q = 0; q < VEC; ++q) acc[q] = gs_lanes_sum(acc[q], col_lanes, group);
    }
    if (!active || slot != 0) return;
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
