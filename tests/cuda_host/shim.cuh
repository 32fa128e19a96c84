// A CUDA shim for running gpu_sparse's kernels, unchanged, on the host (g++, C++20).
//
// tests/test_cuda_host.py compiles each kernel source (launch.kernel_source: the .cu file
// with the project's headers inlined) after this header, with launch.compile_options and
// -fsanitize=address,alignment, and launches every instantiation through gs_host::launch.
//
// What it models:
//   * qualifiers (__global__, __device__, __host__, __forceinline__, __align__) compile
//     away; __restrict__ is g++'s own keyword;
//   * threadIdx/blockIdx/blockDim/gridDim are thread_local: one OS thread per CUDA thread;
//     the blocks of a grid run one after another, the threads of a block all at once;
//   * __syncthreads is a block barrier (std::barrier; a thread that returns drops out);
//   * warp shuffles, ballots and __syncwarp go through a per-warp exchange that refuses
//     (prints "gs_host:" and aborts) what the hardware leaves undefined: a lane that calls
//     with a mask without its own bit, lanes of one exchange with different masks or at
//     different call sites (file:line:column), a lane of the mask that has returned (or
//     returns while others wait), a source lane outside the mask, and lanes that do not
//     all arrive within GS_HOST_TIMEOUT_S seconds;
//   * 16-byte vector types (float4, double2, int4, ...) with CUDA's alignment, when no
//     CUDA header has defined them (cuda_fp16.h does, for the half instantiations).
#pragma once

#if defined(__CUDACC__)
#error "shim.cuh is for host compilers (g++), not nvcc"
#endif

#include <array>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <source_location>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#ifdef GPU_SPARSE_HALF
// host-usable conversions; they also define the qualifiers and vector types below
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#endif

// ---- qualifiers ------------------------------------------------------------------------
#undef __global__
#define __global__
#ifndef __device__
#define __device__
#endif
#ifndef __host__
#define __host__
#endif
#ifndef __forceinline__
#define __forceinline__ inline __attribute__((always_inline))
#endif
#ifndef __align__
#define __align__(n) __attribute__((aligned(n)))
#endif

#ifndef GS_HOST_TIMEOUT_S
#define GS_HOST_TIMEOUT_S 60
#endif

// ---- vector types ----------------------------------------------------------------------
#if !defined(__VECTOR_TYPES_H__)
#define GS_HOST_VEC2(T, N) \
    struct alignas(2 * sizeof(T)) N##2 { T x, y; }; \
    inline N##2 make_##N##2(T x, T y) { return N##2{x, y}; }
#define GS_HOST_VEC4(T, N, A) \
    struct alignas(A) N##4 { T x, y, z, w; }; \
    inline N##4 make_##N##4(T x, T y, T z, T w) { return N##4{x, y, z, w}; }
GS_HOST_VEC2(float, float)
GS_HOST_VEC2(double, double)
GS_HOST_VEC2(int, int)
GS_HOST_VEC2(unsigned, uint)
GS_HOST_VEC2(long long, longlong)
GS_HOST_VEC4(float, float, 16)
GS_HOST_VEC4(int, int, 16)
GS_HOST_VEC4(unsigned, uint, 16)
GS_HOST_VEC4(double, double, 16)  // CUDA 13's double4 is 16-byte aligned too
#undef GS_HOST_VEC2
#undef GS_HOST_VEC4
static_assert(sizeof(float4) == 16 && alignof(float4) == 16, "float4");
static_assert(sizeof(double2) == 16 && alignof(double2) == 16, "double2");
static_assert(sizeof(int4) == 16 && alignof(int4) == 16, "int4");
#endif

namespace gs_host {

[[noreturn]] inline void fail(const char* fmt, ...) {
    std::va_list ap;
    va_start(ap, fmt);
    std::fputs("gs_host: ", stderr);
    std::vfprintf(stderr, fmt, ap);
    std::fputc('\n', stderr);
    va_end(ap);
    std::fflush(stderr);
    std::abort();
}

struct Idx3 {
    unsigned x = 0, y = 0, z = 0;
};
struct Dim3 {
    unsigned x = 1, y = 1, z = 1;
};

constexpr int kWarp = 32;

}  // namespace gs_host

// ---- the CUDA built-in variables -------------------------------------------------------
inline thread_local gs_host::Idx3 threadIdx;
inline thread_local gs_host::Idx3 blockIdx;
inline thread_local gs_host::Dim3 blockDim;
inline thread_local gs_host::Dim3 gridDim;
constexpr int warpSize = gs_host::kWarp;

namespace gs_host {

// The rendezvous of one warp's lanes at a warp-synchronous intrinsic.
class Warp {
public:
    Warp(int id, unsigned live) : id_(id), live_(live) {}

    // Every lane of `mask` passes its value; each gets all 32 (lanes outside the mask
    // read as zero, and reading one is refused by the callers through `mask`).
    std::array<std::uint64_t, kWarp> exchange(int lane, unsigned mask, std::uint64_t v,
                                              const std::source_location& site,
                                              const char* what) {
        const unsigned bit = 1u << lane;
        std::unique_lock<std::mutex> lock(m_);
        if (!(mask & bit))
            fail("%s at %s: lane %d of warp %d calls with mask 0x%08x without its own bit",
                 what, where(site).c_str(), lane, id_, mask);
        if (mask & ~live_)
            fail("%s at %s: lanes 0x%08x of mask 0x%08x of warp %d have returned (only "
                 "part of the warp arrives)", what, where(site).c_str(), mask & ~live_,
                 mask, id_);
        if (arrived_ == 0) {
            mask_ = mask;
            site_ = site;
            what_ = what;
        } else if (mask != mask_ || !same(site, site_) || std::strcmp(what, what_) != 0) {
            fail("lanes of warp %d meet at different call sites or masks: lane %d at %s "
                 "%s (mask 0x%08x), lanes 0x%08x at %s %s (mask 0x%08x)", id_, lane, what,
                 where(site).c_str(), mask, arrived_, what_, where(site_).c_str(), mask_);
        }
        vals_[lane] = v;
        arrived_ |= bit;
        if (arrived_ == mask_) {
            for (int l = 0; l < kWarp; ++l) snap_[l] = (mask_ >> l) & 1u ? vals_[l] : 0;
            arrived_ = 0;
            ++gen_;
            cv_.notify_all();
            return snap_;
        }
        const std::uint64_t gen = gen_;
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::seconds(GS_HOST_TIMEOUT_S);
        while (gen_ == gen) {
            if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && gen_ == gen)
                fail("%s at %s: warp %d waited %d s for lanes 0x%08x of mask 0x%08x",
                     what_, where(site_).c_str(), id_, GS_HOST_TIMEOUT_S,
                     mask_ & ~arrived_, mask_);
        }
        // snap_ stays until every lane of this round has read it: the next round cannot
        // complete without this lane
        return snap_;
    }

    // The lane's thread returned from the kernel.
    void exit(int lane) {
        const unsigned bit = 1u << lane;
        std::lock_guard<std::mutex> lock(m_);
        live_ &= ~bit;
        if (arrived_ != 0 && (mask_ & bit))
            fail("lane %d of warp %d returned while lanes 0x%08x wait at %s %s (mask "
                 "0x%08x): only part of the warp arrives", lane, id_, arrived_, what_,
                 where(site_).c_str(), mask_);
    }

private:
    static bool same(const std::source_location& a, const std::source_location& b) {
        return a.line() == b.line() && a.column() == b.column() &&
               std::strcmp(a.file_name(), b.file_name()) == 0 &&
               std::strcmp(a.function_name(), b.function_name()) == 0;
    }
    static std::string where(const std::source_location& s) {
        return std::string(s.file_name()) + ":" + std::to_string(s.line()) + ":" +
               std::to_string(s.column()) + " (" + s.function_name() + ")";
    }

    std::mutex m_;
    std::condition_variable cv_;
    int id_;
    unsigned live_;
    unsigned arrived_ = 0, mask_ = 0;
    std::source_location site_;
    const char* what_ = "";
    std::uint64_t gen_ = 0;
    std::array<std::uint64_t, kWarp> vals_{}, snap_{};
};

struct Block {
    explicit Block(unsigned threads, unsigned first_warp)
        : bar(static_cast<std::ptrdiff_t>(threads)) {
        const unsigned n = (threads + kWarp - 1) / kWarp;
        warps.reserve(n);
        for (unsigned w = 0; w < n; ++w) {
            const unsigned lanes = threads - w * kWarp < kWarp ? threads - w * kWarp : kWarp;
            const unsigned live = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1u;
            warps.emplace_back(std::make_unique<Warp>(static_cast<int>(first_warp + w), live));
        }
    }
    std::barrier<> bar;
    std::vector<std::unique_ptr<Warp>> warps;
};

inline thread_local Block* tl_block = nullptr;
inline thread_local int tl_lane = 0;
inline thread_local Warp* tl_warp = nullptr;

inline Warp& warp(const char* what, const std::source_location& site) {
    if (tl_warp == nullptr)
        fail("%s at %s:%u outside a kernel launch", what, site.file_name(), site.line());
    return *tl_warp;
}

template <typename T>
std::uint64_t to_bits(T v) {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8,
                  "warp intrinsics take values of at most 8 bytes");
    std::uint64_t b = 0;
    std::memcpy(&b, &v, sizeof(T));
    return b;
}
template <typename T>
T from_bits(std::uint64_t b) {
    T v;
    std::memcpy(&v, &b, sizeof(T));
    return v;
}

inline void check_width(int width, const char* what) {
    if (width <= 0 || width > kWarp || (width & (width - 1)))
        fail("%s: width %d is not a power of two in [1, 32]", what, width);
}

// Lane `src` (or the caller's own lane when src < 0) after a full exchange.
template <typename T>
T shuffle(unsigned mask, T var, int src, const std::source_location& site,
          const char* what) {
    const int lane = tl_lane;
    const auto all = warp(what, site).exchange(lane, mask, to_bits(var), site, what);
    if (src < 0 || src == lane) return var;
    if (!((mask >> src) & 1u))
        fail("%s at %s:%u: lane %d reads lane %d, outside mask 0x%08x", what,
             site.file_name(), site.line(), lane, src, mask);
    return from_bits<T>(all[src]);
}

// ---- launch ----------------------------------------------------------------------------
template <typename... P, std::size_t... K>
std::tuple<std::decay_t<P>...> unpack(void** args, std::index_sequence<K...>) {
    return std::tuple<std::decay_t<P>...>(
        *static_cast<std::decay_t<P>*>(args[K])...);
}

// sizeof each kernel parameter (what a launcher must pack); returns their number.
template <typename... P>
int arg_sizes(void (*)(P...), std::size_t* out, int n) {
    const std::size_t sizes[] = {sizeof(std::decay_t<P>)..., 0};
    for (int i = 0; i < n && i < static_cast<int>(sizeof...(P)); ++i) out[i] = sizes[i];
    return static_cast<int>(sizeof...(P));
}

// kernel<<<grid, block>>>(*args[0], *args[1], ...), as cudaLaunchKernel takes them.
template <typename... P>
int launch(void (*kernel)(P...), unsigned grid, unsigned block, void** args) {
    if (grid == 0 || block == 0 || block > 1024)
        fail("launch: bad geometry grid=%u block=%u", grid, block);
    const auto params = unpack<P...>(args, std::index_sequence_for<P...>{});
    for (unsigned b = 0; b < grid; ++b) {
        Block blk(block, b * ((block + kWarp - 1) / kWarp));
        std::vector<std::thread> threads;
        threads.reserve(block);
        for (unsigned t = 0; t < block; ++t) {
            try {
                threads.emplace_back([&blk, &params, kernel, grid, block, b, t] {
                    threadIdx = Idx3{t, 0, 0};
                    blockIdx = Idx3{b, 0, 0};
                    blockDim = Dim3{block, 1, 1};
                    gridDim = Dim3{grid, 1, 1};
                    tl_block = &blk;
                    tl_lane = static_cast<int>(t % kWarp);
                    tl_warp = blk.warps[t / kWarp].get();
                    auto copy = params;  // each thread its own copy of the parameters
                    std::apply(kernel, copy);
                    tl_warp->exit(tl_lane);
                    blk.bar.arrive_and_drop();
                    tl_warp = nullptr;
                    tl_block = nullptr;
                });
            } catch (const std::system_error& e) {
                fail("launch: cannot start thread %u of block %u: %s", t, b, e.what());
            }
        }
        for (auto& th : threads) th.join();
    }
    return 0;
}

}  // namespace gs_host

// ---- the CUDA built-in functions -------------------------------------------------------

inline void __syncthreads() {
    if (gs_host::tl_block == nullptr) gs_host::fail("__syncthreads outside a kernel launch");
    gs_host::tl_block->bar.arrive_and_wait();
}

inline void __syncwarp(unsigned mask = 0xffffffffu,
                       std::source_location site = std::source_location::current()) {
    gs_host::shuffle(mask, 0, -1, site, "__syncwarp");
}

template <typename T>
T __shfl_sync(unsigned mask, T var, int src, int width = warpSize,
              std::source_location site = std::source_location::current()) {
    gs_host::check_width(width, "__shfl_sync");
    const int lane = gs_host::tl_lane;
    const int from = (lane & ~(width - 1)) + (src & (width - 1));
    return gs_host::shuffle(mask, var, from, site, "__shfl_sync");
}

template <typename T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize,
                  std::source_location site = std::source_location::current()) {
    gs_host::check_width(width, "__shfl_xor_sync");
    const int lane = gs_host::tl_lane;
    int from = lane ^ lane_mask;
    if ((from & ~(width - 1)) != (lane & ~(width - 1))) from = lane;  // outside the group
    return gs_host::shuffle(mask, var, from, site, "__shfl_xor_sync");
}

template <typename T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                   std::source_location site = std::source_location::current()) {
    gs_host::check_width(width, "__shfl_down_sync");
    const int lane = gs_host::tl_lane;
    int from = lane + static_cast<int>(delta);
    if ((from & ~(width - 1)) != (lane & ~(width - 1))) from = lane;
    return gs_host::shuffle(mask, var, from, site, "__shfl_down_sync");
}

template <typename T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                 std::source_location site = std::source_location::current()) {
    gs_host::check_width(width, "__shfl_up_sync");
    const int lane = gs_host::tl_lane;
    int from = lane - static_cast<int>(delta);
    if (from < 0 || (from & ~(width - 1)) != (lane & ~(width - 1))) from = lane;
    return gs_host::shuffle(mask, var, from, site, "__shfl_up_sync");
}

inline unsigned __ballot_sync(unsigned mask, int pred,
                              std::source_location site = std::source_location::current()) {
    const auto all = gs_host::warp("__ballot_sync", site)
                         .exchange(gs_host::tl_lane, mask, pred != 0, site, "__ballot_sync");
    unsigned out = 0;
    for (int l = 0; l < gs_host::kWarp; ++l) out |= (all[l] != 0 ? 1u : 0u) << l;
    return out & mask;
}

inline int __all_sync(unsigned mask, int pred,
                      std::source_location site = std::source_location::current()) {
    return __ballot_sync(mask, pred, site) == mask;
}

inline int __any_sync(unsigned mask, int pred,
                      std::source_location site = std::source_location::current()) {
    return __ballot_sync(mask, pred, site) != 0;
}
