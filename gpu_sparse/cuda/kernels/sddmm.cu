// gpu_sparse_sddmm_coo: sampled dense-dense product on a COO pattern.
//
//   out[k] = alpha * sum_l a[rows[k], l] * op(b[cols[k], l]) + beta * c[k]
//   op = conj when conj_b, else identity; c is read only when use_c.
//
// Arguments (T value type, I index type, VEC values per 16-byte load):
//   const I* rows      (nnz,)   row of each stored entry
//   const I* cols      (nnz,)   column of each stored entry
//   const T* a         (m, p)   C-contiguous
//   const T* b         (n, p)   C-contiguous
//   const T* c         (nnz,)   addend (may be null when !use_c)
//   T* out             (nnz,)
//   long long nnz; int p; acc_t<T> alpha, beta; int use_c, conj_b
//
// Mapping (sizes from p, VEC and GS_* only): warp w takes the GS_SDDMM_CHUNK consecutive
// nonzeros [w * GS_SDDMM_CHUNK, + GS_SDDMM_CHUNK), so the grid depends on nnz alone
// (launch.sddmm_blocks). Within the warp:
//   G = gs_column_lanes<VEC>(p)          lanes per nonzero (a sub-warp group): the
//                                        smallest power of two >= ceil(p / VEC), at most
//                                        GS_WARP_SIZE
//   N = GS_WARP_SIZE / G                 groups, i.e. nonzeros in flight per warp
//   K = ceil(GS_SDDMM_CHUNK / N)         consecutive nonzeros per group
// Group g (lanes [g * G, + G)) takes nonzeros [w * GS_SDDMM_CHUNK + g * K, + K) of the
// chunk, one per step, so the warp takes K steps instead of GS_SDDMM_CHUNK. Its lanes
// split the p columns, VEC consecutive columns each (p % VEC == 0 when VEC > 1), in tiles
// of G * VEC columns (more than one tile only when G = GS_WARP_SIZE). When p fits in
// GS_SDDMM_TILES tiles (always when G < GS_WARP_SIZE), the group keeps row a[i, :] in
// registers and reloads it only when the row changes, so on row-sorted input each row of
// a is read once per run of nonzeros. Each product is reduced by a fixed butterfly within
// the group (log2 G shuffles, gs_lanes_sum): deterministic, no atomics. Groups past the
// chunk or past nnz still take part in the shuffles and write nothing. GS_* come from
// gpu_sparse/cuda/launch.py (see common.cuh), which also sizes the grid (sddmm_blocks)
// and lists the instantiations (instantiations()); NVRTC compiles the one CuPy asks for
// by name expression.
#include "common.cuh"

template <typename T, typename I, int VEC>
__global__ void gpu_sparse_sddmm_coo(const I* __restrict__ rows, const I* __restrict__ cols,
                                     const T* __restrict__ a, const T* __restrict__ b,
                                     const T* __restrict__ c, T* __restrict__ out,
                                     long long nnz, int p, acc_t<T> alpha, acc_t<T> beta,
                                     int use_c, int conj_b) {
    typedef acc_t<T> A;
    const int lane = gs_lane();
    const long long k0 = gs_grid_warp() * GS_SDDMM_CHUNK;
    if (k0 >= nnz) return;  // the whole warp
    const long long k1 = k0 + GS_SDDMM_CHUNK < nnz ? k0 + GS_SDDMM_CHUNK : nnz;
    const int group = gs_column_lanes<VEC>(p);
    const int groups = GS_WARP_SIZE / group;
    const int per = (GS_SDDMM_CHUNK + groups - 1) / groups;
    const int glane = lane & (group - 1);
    const long long gk0 = k0 + static_cast<long long>(lane / group) * per;
    const long long gk1 = gk0 + per < k1 ? gk0 + per : k1;
    const int span = group * VEC;
    const bool cached = p <= GS_SDDMM_TILES * span;
    A areg[GS_SDDMM_TILES][VEC];
    long long cur = -1;
    // a warp-uniform number of steps (group 0 has the most work): every lane reaches
    // every shuffle
    for (int t = 0; t < per && k0 + t < k1; ++t) {
        const long long k = gk0 + t;
        const bool live = k < gk1;
        A s = A(0);
        if (live) {
            const long long i = static_cast<long long>(rows[k]);
            const long long j = static_cast<long long>(cols[k]);
            const T* __restrict__ brow = b + j * p;
            if (cached) {
                if (i != cur) {
                    const T* __restrict__ arow = a + i * p;
#pragma unroll
                    for (int u = 0; u < GS_SDDMM_TILES; ++u) {
                        const int c0 = u * span + glane * VEC;
                        if (c0 < p) {
                            gs_load_vec<T, VEC>(arow + c0, areg[u]);
                        } else {
#pragma unroll
                            for (int q = 0; q < VEC; ++q) areg[u][q] = A(0);
                        }
                    }
                    cur = i;
                }
#pragma unroll
                for (int u = 0; u < GS_SDDMM_TILES; ++u) {
                    const int c0 = u * span + glane * VEC;
                    if (c0 < p) {
                        A bv[VEC];
                        gs_load_vec<T, VEC>(brow + c0, bv);
#pragma unroll
                        for (int q = 0; q < VEC; ++q)
                            s += areg[u][q] * (conj_b ? gs_conj(bv[q]) : bv[q]);
                    }
                }
            } else {
                const T* __restrict__ arow = a + i * p;
                for (int c0 = glane * VEC; c0 < p; c0 += span) {
                    A av[VEC], bv[VEC];
                    gs_load_vec<T, VEC>(arow + c0, av);
                    gs_load_vec<T, VEC>(brow + c0, bv);
#pragma unroll
                    for (int q = 0; q < VEC; ++q)
                        s += av[q] * (conj_b ? gs_conj(bv[q]) : bv[q]);
                }
            }
        }
        s = gs_lanes_sum(s, 1, group);
        if (live && glane == 0) {
            A r = alpha * s;
            if (use_c) r += beta * gs_load(c[k]);
            out[k] = gs_store<T>(r);
        }
    }
}
