// Kernels with planted defects (and one without) that prove the host shim and the
// sanitizers catch what tests/test_cuda_host.py relies on them to catch. Compiled like
// the project's kernels: after shim.cuh, with launch.compile_options().
#include "../../gpu_sparse/cuda/kernels/common.cuh"

// Correct: every lane gets the butterfly sum of the lane numbers, and 1 when a ballot of
// the odd lanes and a block barrier work. out: (gridDim.x * blockDim.x, 2)
__global__ void gs_selftest_ok(float* out) {
    const long long t = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    const long long first = static_cast<long long>(blockIdx.x) * blockDim.x;
    const float s = gs_warp_sum(static_cast<float>(gs_lane()));
    const unsigned odd = __ballot_sync(0xffffffffu, gs_lane() & 1);
    out[2 * t] = s;
    __syncthreads();  // every thread of the block has written its sum
    bool all = true;
    for (long long u = first; u < first + blockDim.x; ++u) all = all && out[2 * u] == s;
    out[2 * t + 1] = static_cast<float>(odd == 0xaaaaaaaau && all);
}

// Lane 5 of each warp returns before the full-warp shuffles of gs_warp_sum.
__global__ void gs_selftest_partial_warp(float* out) {
    if (gs_lane() == 5) return;
    out[threadIdx.x] = gs_warp_sum(1.0f);
}

// The two halves of a warp meet at different shuffle call sites.
__global__ void gs_selftest_divergent_sites(float* out) {
    float v = static_cast<float>(gs_lane());
    if (gs_lane() < 16) {
        v = __shfl_xor_sync(0xffffffffu, v, 1);
    } else {
        v = __shfl_xor_sync(0xffffffffu, v, 1);
    }
    out[threadIdx.x] = v;
}

// Reads one element past the end of out's n elements.
__global__ void gs_selftest_out_of_bounds(float* out, int n) {
    if (threadIdx.x == 0) out[0] = out[n];
}
