// gpu_sparse common device helpers: launch-geometry checks, value types, accumulator
// types, conversions, conjugation, warp indexing, sub-warp group sizes and deterministic
// (fixed butterfly) warp and sub-warp sums.
//
// Value types T: float, double, gs_complex<float>, gs_complex<double>, and with
// GPU_SPARSE_HALF defined also __half and __nv_bfloat16 (accumulated in float).
// Index types I: int (int32) and long long (int64).
//
// The numbers the kernels share with their launches come from gpu_sparse/cuda/launch.py:
// as -D options (compile_options) for NVRTC, and through launch.cuh, which launch.py
// generates, for a plain nvcc; so the grid the backend computes and the indexing here
// cannot drift apart:
//   GS_WARP_SIZE          lanes per warp
//   GS_THREADS_PER_BLOCK  threads per block of every launch
//   GS_SDDMM_CHUNK        nonzeros per SDDMM warp
//   GS_SDDMM_TILES        column tiles an SDDMM warp keeps in registers
//   GS_SPMM_MIN_GROUP     fewest lanes per SpMM row group (a power of two <= GS_WARP_SIZE)
//   GS_SPMM_SEGMENT       nonzeros per segment of the split SpMM (spmm.cu)
//   GS_LOAD_BYTES         bytes of one vector load (VEC * sizeof(T) when VEC > 1)
#pragma once

#include "launch.cuh"

// The shuffles below use the full-warp mask 0xffffffff, which names exactly 32 lanes;
// another width would need other masks.
static_assert(GS_WARP_SIZE == 32, "the warp shuffles assume 32 lanes (mask 0xffffffff)");
// Kernels number warps from the global thread index, which matches the hardware warps
// only when every block holds whole warps.
static_assert(GS_THREADS_PER_BLOCK % GS_WARP_SIZE == 0,
              "a block must hold a whole number of warps");
static_assert(GS_SDDMM_CHUNK > 0 && GS_SDDMM_TILES > 0, "empty SDDMM chunk or tiling");
// SpMM row groups tile the warp exactly (a power of two that divides GS_WARP_SIZE).
static_assert(GS_SPMM_MIN_GROUP >= 1 && GS_SPMM_MIN_GROUP <= GS_WARP_SIZE &&
                  (GS_SPMM_MIN_GROUP & (GS_SPMM_MIN_GROUP - 1)) == 0,
              "GS_SPMM_MIN_GROUP must be a power of two in [1, GS_WARP_SIZE]");
static_assert(GS_SPMM_SEGMENT > 0, "empty SpMM segment");

#ifdef GPU_SPARSE_HALF
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#endif

// A complex number with the memory layout of numpy/CuPy complex64/complex128
// (two reals, aligned to their sum), so device arrays and by-value kernel scalars match.
template <typename R>
struct __align__(2 * sizeof(R)) gs_complex {
    R re, im;
    __device__ __forceinline__ gs_complex() : re(0), im(0) {}
    __device__ __forceinline__ gs_complex(R r) : re(r), im(0) {}
    __device__ __forceinline__ gs_complex(R r, R i) : re(r), im(i) {}
};

template <typename R>
__device__ __forceinline__ gs_complex<R> operator+(gs_complex<R> a, gs_complex<R> b) {
    return gs_complex<R>(a.re + b.re, a.im + b.im);
}
template <typename R>
__device__ __forceinline__ gs_complex<R> operator*(gs_complex<R> a, gs_complex<R> b) {
    return gs_complex<R>(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re);
}
template <typename R>
__device__ __forceinline__ gs_complex<R>& operator+=(gs_complex<R>& a, gs_complex<R> b) {
    a.re += b.re;
    a.im += b.im;
    return a;
}

typedef gs_complex<float> gs_c64;
typedef gs_complex<double> gs_c128;

// Accumulator type of each value type.
template <typename T> struct gs_acc { typedef T type; };
#ifdef GPU_SPARSE_HALF
template <> struct gs_acc<__half> { typedef float type; };
template <> struct gs_acc<__nv_bfloat16> { typedef float type; };
#endif

template <typename T> using acc_t = typename gs_acc<T>::type;

// value -> accumulator
__device__ __forceinline__ float gs_load(float x) { return x; }
__device__ __forceinline__ double gs_load(double x) { return x; }
__device__ __forceinline__ gs_c64 gs_load(gs_c64 x) { return x; }
__device__ __forceinline__ gs_c128 gs_load(gs_c128 x) { return x; }
#ifdef GPU_SPARSE_HALF
__device__ __forceinline__ float gs_load(__half x) { return __half2float(x); }
__device__ __forceinline__ float gs_load(__nv_bfloat16 x) { return __bfloat162float(x); }
#endif

// accumulator -> value (round to nearest)
template <typename T> __device__ __forceinline__ T gs_store(acc_t<T> x) { return x; }
#ifdef GPU_SPARSE_HALF
template <> __device__ __forceinline__ __half gs_store<__half>(float x) {
    return __float2half_rn(x);
}
template <> __device__ __forceinline__ __nv_bfloat16 gs_store<__nv_bfloat16>(float x) {
    return __float2bfloat16_rn(x);
}
#endif

__device__ __forceinline__ float gs_conj(float x) { return x; }
__device__ __forceinline__ double gs_conj(double x) { return x; }
template <typename R>
__device__ __forceinline__ gs_complex<R> gs_conj(gs_complex<R> x) {
    return gs_complex<R>(x.re, -x.im);
}

__device__ __forceinline__ float gs_shfl_xor(float v, int m) {
    return __shfl_xor_sync(0xffffffffu, v, m);
}
__device__ __forceinline__ double gs_shfl_xor(double v, int m) {
    return __shfl_xor_sync(0xffffffffu, v, m);
}
template <typename R>
__device__ __forceinline__ gs_complex<R> gs_shfl_xor(gs_complex<R> v, int m) {
    return gs_complex<R>(__shfl_xor_sync(0xffffffffu, v.re, m),
                         __shfl_xor_sync(0xffffffffu, v.im, m));
}

// Sum over the lanes of a warp with a fixed butterfly: every lane gets the same,
// bitwise reproducible result (no atomics, no order that depends on scheduling).
template <typename A>
__device__ __forceinline__ A gs_warp_sum(A v) {
#pragma unroll
    for (int m = GS_WARP_SIZE / 2; m > 0; m >>= 1) v += gs_shfl_xor(v, m);
    return v;
}

// Sum over the lanes whose lane index differs from this lane's only in the bits lo .. hi/2
// (lo, hi powers of two, 1 <= lo <= hi <= GS_WARP_SIZE): within aligned groups of hi
// lanes, over the lanes congruent modulo lo. A fixed butterfly (xor offsets hi/2 down to
// lo), so every lane of a subgroup gets the same, bitwise reproducible result. Full-warp
// shuffles: every lane of the warp must call it, with the same lo and hi (lanes without
// work pass zero).
template <typename A>
__device__ __forceinline__ A gs_lanes_sum(A v, int lo, int hi) {
    for (int m = hi >> 1; m >= lo; m >>= 1) v += gs_shfl_xor(v, m);
    return v;
}

// Lanes that split p columns, VEC consecutive columns each: the smallest power of two
// >= ceil(p / VEC), at least 1, at most GS_WARP_SIZE (wider rows come in tiles of
// GS_WARP_SIZE * VEC columns). The kernels' sub-warp groups derive from it;
// launch.column_lanes computes the same number for the grids.
template <int VEC>
__device__ __forceinline__ int gs_column_lanes(int p) {
    const int need = p > 0 ? (p - 1) / VEC + 1 : 1;
    int g = 1;
    while (g < need && g < GS_WARP_SIZE) g <<= 1;
    return g;
}

// This thread's lane, and the index of its warp in the whole (1-D) grid. Unsigned
// arithmetic: the division by the power-of-two warp width compiles to a shift.
__device__ __forceinline__ int gs_lane() {
    return static_cast<int>(threadIdx.x % GS_WARP_SIZE);
}
__device__ __forceinline__ long long gs_grid_warp() {
    const unsigned long long t =
        static_cast<unsigned long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    return static_cast<long long>(t / GS_WARP_SIZE);
}

// VEC consecutive values from ptr (one GS_LOAD_BYTES vector load when VEC > 1: the
// caller guarantees ptr is aligned to sizeof(T) * VEC), converted to the accumulator type.
template <typename T, int VEC>
struct __align__(sizeof(T) * VEC) gs_vec {
    // launch.vec_width picks VEC = GS_LOAD_BYTES / sizeof(T) or 1; anything else would be
    // a load the alignment checks in Python did not vouch for
    static_assert(VEC == 1 || sizeof(T) * VEC == GS_LOAD_BYTES,
                  "VEC must be 1 or fill one GS_LOAD_BYTES load");
    T v[VEC];
};

template <typename T, int VEC>
__device__ __forceinline__ void gs_load_vec(const T* __restrict__ ptr, acc_t<T> (&out)[VEC]) {
    if (VEC == 1) {
        out[0] = gs_load(ptr[0]);
    } else {
        gs_vec<T, VEC> x = *reinterpret_cast<const gs_vec<T, VEC>*>(ptr);
#pragma unroll
        for (int q = 0; q < VEC; ++q) out[q] = gs_load(x.v[q]);
    }
}

template <typename T, int VEC>
__device__ __forceinline__ void gs_store_vec(T* __restrict__ ptr, const acc_t<T> (&in)[VEC]) {
    if (VEC == 1) {
        ptr[0] = gs_store<T>(in[0]);
    } else {
        gs_vec<T, VEC> x;
#pragma unroll
        for (int q = 0; q < VEC; ++q) x.v[q] = gs_store<T>(in[q]);
        *reinterpret_cast<gs_vec<T, VEC>*>(ptr) = x;
    }
}
