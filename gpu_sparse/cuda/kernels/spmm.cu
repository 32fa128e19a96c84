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
// Split SpMM (two passes), for patterns with rows much longer than the rest: launch.py's
// spmm_split decides from the longest row, so one warp never walks a power-law row alone.
// Every row i is cut into fixed segments of GS_SPMM_SEGMENT consecutive nonzeros (storage
// order; the last one shorter), ceil(len_i / GS_SPMM_SEGMENT) of them, numbered row after
// row: seg_off = exclusive cumulative sum of those counts, seg_row = the row of each.
//
// gpu_sparse_spmm_csr_partial: partial[s, :] = sum over the nonzeros k of segment s of
// op(vals)[k] * b[col[k], :], unscaled, in acc_t<T>.
//   const I* crow     (n_rows + 1,)  row pointer
//   const I* col      (nnz,)         as for gpu_sparse_spmm_csr
//   const T* vals     (*)            as for gpu_sparse_spmm_csr
//   const I* perm     (nnz,)         may be null when !use_perm
//   const T* b        (n, p)         C-contiguous
//   const I* seg_off  (n_rows + 1,)  first segment of each row; seg_off[n_rows] = n_seg
//   const I* seg_row  (n_seg,)       row of each segment (non-decreasing)
//   acc_t<T>* partial (n_seg, p)     C-contiguous scratch, every element written
//   long long n_seg; int p; int use_perm, conj
// Segments take the place of rows in the mapping above (same C, G, S, R, tiles, grid
// launch.spmm_partial_blocks): lane l sums, in storage order, the nonzeros of its segment
// with index = slot modulo S, and the S slots are added by the same fixed butterfly.
//
// gpu_sparse_spmm_csr_combine: out[i, j] = alpha * (((0 + partial[seg_off[i], j]) +
// partial[seg_off[i] + 1, j]) + ...) + beta * c[i, j], the row's segments added in
// segment order (an empty row gives alpha * 0).
//   const I* seg_off        (n_rows + 1,)  as above
//   const acc_t<T>* partial (n_seg, p)     what gpu_sparse_spmm_csr_partial wrote
//   const T* c              (n_rows, p)    addend when use_c; may be the same array as out
//   T* out                  (n_rows, p)    C-contiguous
//   long long n_rows; int p; acc_t<T> alpha, beta; int use_c
// One thread per output element (grid launch.spmm_combine_blocks): it reads c[i, j]
// before writing out[i, j]. Both passes are fixed sequences of operations: the result is
// bitwise reproducible, no atomics.
//
// The instantiations are listed by launch.instantiations(); NVRTC compiles the one CuPy
// asks for by name expression.
#include "common.cuh"

// This lane's place in the SpMM mapping of n_units units (rows, or segments of the split
// SpMM) of p columns; see the comment at the top.
struct gs_spmm_lane {
    long long unit;  // the unit this lane works on
    int col_lanes;   // C
    int group;       // G
    int slot;        // which of the S nonzero slots
    int slots;       // S
    int c0;          // first of its VEC columns
    bool live;       // false: the whole warp is past the last unit (no shuffle partner)
    bool active;     // a unit and columns to work on
};

template <int VEC>
__device__ __forceinline__ gs_spmm_lane gs_spmm_map(long long n_units, int p) {
    gs_spmm_lane m;
    const int lane = gs_lane();
    const long long warp = gs_grid_warp();
    m.col_lanes = gs_column_lanes<VEC>(p);
    m.group = m.col_lanes > GS_SPMM_MIN_GROUP ? m.col_lanes : GS_SPMM_MIN_GROUP;
    m.slots = m.group / m.col_lanes;
    const int units_per_warp = GS_WARP_SIZE / m.group;
    const int span = m.col_lanes * VEC;
    const long long tiles = (p - 1) / span + 1;
    const long long unit0 = (warp / tiles) * units_per_warp;
    m.live = unit0 < n_units;
    const int glane = lane & (m.group - 1);
    m.unit = unit0 + lane / m.group;
    m.slot = glane / m.col_lanes;
    m.c0 = static_cast<int>(warp % tiles) * span + (glane & (m.col_lanes - 1)) * VEC;
    m.active = m.live && m.unit < n_units && m.c0 < p;
    return m;
}

// acc[q] = sum of op(vals)[k] * b[col[k], m.c0 + q] over the nonzeros k in [k0, k1) of
// this lane's slot (storage order), then over the slots of its group (fixed butterfly).
// Every lane of a live warp calls it (inactive lanes with an empty range).
template <typename T, typename I, int VEC>
__device__ __forceinline__ void gs_spmm_sum(const I* __restrict__ col,
                                            const T* __restrict__ vals,
                                            const I* __restrict__ perm,
                                            const T* __restrict__ b, long long k0,
                                            long long k1, const gs_spmm_lane& m, int p,
                                            int use_perm, int conj, acc_t<T> (&acc)[VEC]) {
    typedef acc_t<T> A;
#pragma unroll
    for (int q = 0; q < VEC; ++q) acc[q] = A(0);
    for (long long k = k0 + m.slot; k < k1; k += m.slots) {
        A v = gs_load(vals[use_perm ? static_cast<long long>(perm[k]) : k]);
        if (conj) v = gs_conj(v);
        A bv[VEC];
        gs_load_vec<T, VEC>(b + static_cast<long long>(col[k]) * p + m.c0, bv);
#pragma unroll
        for (int q = 0; q < VEC; ++q) acc[q] += v * bv[q];
    }
    if (m.slots > 1) {  // warp-uniform: every lane shuffles
#pragma unroll
        for (int q = 0; q < VEC; ++q) acc[q] = gs_lanes_sum(acc[q], m.col_lanes, m.group);
    }
}

template <typename T, typename I, int VEC>
__global__ void gpu_sparse_spmm_csr(const I* __restrict__ crow, const I* __restrict__ col,
                                    const T* __restrict__ vals, const I* __restrict__ perm,
                                    const T* __restrict__ b, const T* c, T* out,
                                    long long n_rows, int p, acc_t<T> alpha, acc_t<T> beta,
                                    int use_perm, int conj, int use_c) {
    typedef acc_t<T> A;
    if (p <= 0) return;
    const gs_spmm_lane m = gs_spmm_map<VEC>(n_rows, p);
    if (!m.live) return;  // the whole warp: no shuffle partner is left behind
    const long long row = m.unit;
    long long k0 = 0, k1 = 0;
    if (m.active) {
        k0 = static_cast<long long>(crow[row]);
        k1 = static_cast<long long>(crow[row + 1]);
    }
    A acc[VEC];
    gs_spmm_sum<T, I, VEC>(col, vals, perm, b, k0, k1, m, p, use_perm, conj, acc);
    if (!m.active || m.slot != 0) return;
    T* orow = out + row * p + m.c0;
    A res[VEC];
    if (use_c) {
        A cv[VEC];
        gs_load_vec<T, VEC>(c + row * p + m.c0, cv);
#pragma unroll
        for (int q = 0; q < VEC; ++q) res[q] = alpha * acc[q] + beta * cv[q];
    } else {
#pragma unroll
        for (int q = 0; q < VEC; ++q) res[q] = alpha * acc[q];
    }
    gs_store_vec<T, VEC>(orow, res);
}

template <typename T, typename I, int VEC>
__global__ void gpu_sparse_spmm_csr_partial(const I* __restrict__ crow,
                                            const I* __restrict__ col,
                                            const T* __restrict__ vals,
                                            const I* __restrict__ perm,
                                            const T* __restrict__ b,
                                            const I* __restrict__ seg_off,
                                            const I* __restrict__ seg_row,
                                            acc_t<T>* __restrict__ partial, long long n_seg,
                                            int p, int use_perm, int conj) {
    typedef acc_t<T> A;
    if (p <= 0) return;
    const gs_spmm_lane m = gs_spmm_map<VEC>(n_seg, p);
    if (!m.live) return;  // the whole warp: no shuffle partner is left behind
    const long long s = m.unit;
    long long k0 = 0, k1 = 0;
    if (m.active) {
        const long long row = static_cast<long long>(seg_row[s]);
        const long long end = static_cast<long long>(crow[row + 1]);
        k0 = static_cast<long long>(crow[row]) +
             (s - static_cast<long long>(seg_off[row])) * GS_SPMM_SEGMENT;
        k1 = k0 + GS_SPMM_SEGMENT < end ? k0 + GS_SPMM_SEGMENT : end;
    }
    A acc[VEC];
    gs_spmm_sum<T, I, VEC>(col, vals, perm, b, k0, k1, m, p, use_perm, conj, acc);
    if (!m.active || m.slot != 0) return;
    A* prow = partial + s * p + m.c0;
#pragma unroll
    for (int q = 0; q < VEC; ++q) prow[q] = acc[q];
}

template <typename T, typename I>
__global__ void gpu_sparse_spmm_csr_combine(const I* __restrict__ seg_off,
                                            const acc_t<T>* __restrict__ partial,
                                            const T* c, T* out, long long n_rows, int p,
                                            acc_t<T> alpha, acc_t<T> beta, int use_c) {
    typedef acc_t<T> A;
    if (p <= 0) return;
    const unsigned long long t =
        static_cast<unsigned long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (t >= static_cast<unsigned long long>(n_rows) * static_cast<unsigned long long>(p))
        return;
    const long long row = static_cast<long long>(t / static_cast<unsigned long long>(p));
    const long long j = static_cast<long long>(t % static_cast<unsigned long long>(p));
    A acc = A(0);
    const long long e = static_cast<long long>(seg_off[row + 1]);
    for (long long s = static_cast<long long>(seg_off[row]); s < e; ++s)
        acc += partial[s * p + j];
    const long long o = row * p + j;
    A res;
    if (use_c) {
        res = alpha * acc + beta * gs_load(c[o]);
    } else {
        res = alpha * acc;
    }
    out[o] = gs_store<T>(res);
}
