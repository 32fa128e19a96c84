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
// One warp takes GS_SDDMM_CHUNK consecutive nonzeros. Lanes split the p columns, VEC
// consecutive columns each (p % VEC == 0 when VEC > 1). When p fits in GS_SDDMM_TILES
// tiles of GS_WARP_SIZE * VEC columns, the warp keeps row a[i, :] in registers and
// reloads it only when the row changes, so on row-sorted input each row of a is read once
// per run of nonzeros. Each product is reduced with a fixed butterfly: deterministic, no
// atomics. GS_* come from gpu_sparse/cuda/launch.py (see common.cuh), which also sizes
// the grid (sddmm_blocks) and lists the instantiations (instantiations()); NVRTC compiles
// the one CuPy asks for by name expression.
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
    if (k0 >= nnz) return;
    const long long k1 = k0 + GS_SDDMM_CHUNK < nnz ? k0 + GS_SDDMM_CHUNK : nnz;
    const int span = GS_WARP_SIZE * VEC;
    const bool cached = p <= GS_SDDMM_TILES * span;
    A areg[GS_SDDMM_TILES][VEC];
    long long cur = -1;
    for (long long k = k0; k < k1; ++k) {
        const long long i = static_cast<long long>(rows[k]);
        const long long j = static_cast<long long>(cols[k]);
        const T* __restrict__ brow = b + j * p;
        A s = A(0);
        if (cached) {
            if (i != cur) {
                const T* __restrict__ arow = a + i * p;
#pragma unroll
                for (int t = 0; t < GS_SDDMM_TILES; ++t) {
                    const int c0 = t * span + lane * VEC;
                    if (c0 < p) {
                        gs_load_vec<T, VEC>(arow + c0, areg[t]);
                    } else {
#pragma unroll
                        for (int q = 0; q < VEC; ++q) areg[t][q] = A(0);
                    }
                }
                cur = i;
            }
#pragma unroll
            for (int t = 0; t < GS_SDDMM_TILES; ++t) {
                const int c0 = t * span + lane * VEC;
                if (c0 < p) {
                    A bv[VEC];
                    gs_load_vec<T, VEC>(brow + c0, bv);
#pragma unroll
                    for (int q = 0; q < VEC; ++q)
                        s += areg[t][q] * (conj_b ? gs_conj(bv[q]) : bv[q]);
                }
            }
        } else {
            const T* __restrict__ arow = a + i * p;
            for (int c0 = lane * VEC; c0 < p; c0 += span) {
                A av[VEC], bv[VEC];
                gs_load_vec<T, VEC>(arow + c0, av);
                gs_load_vec<T, VEC>(brow + c0, bv);
#pragma unroll
                for (int q = 0; q < VEC; ++q) s += av[q] * (conj_b ? gs_conj(bv[q]) : bv[q]);
            }
        }
        s = gs_warp_sum(s);
        if (lane == 0) {
            A r = alpha * s;
            if (use_c) r += beta * gs_load(c[k]);
            out[k] = gs_store<T>(r);
        }
    }
}
