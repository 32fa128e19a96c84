"""The "device" of tests/test_cuda_host.py: runs a plan of kernel launches on the host
build of the CUDA kernels (shared libraries built with AddressSanitizer) and saves what
the kernels wrote.

    LD_PRELOAD=$(g++ -print-file-name=libasan.so) python host_launch.py PLAN DATA OUT

PLAN (JSON) lists launches: library, entry point, grid, block, buffers and arguments, in
the order of the kernel's parameters, as CuPy's RawKernel takes them. DATA (.npz) holds
the bytes of every initialised buffer. Each buffer is allocated with exactly its size
(an empty one is a null pointer, as CuPy's are), ``offset`` bytes into an allocation that
starts on 64 bytes, so a view can start misaligned with its end still at the end of the
allocation. Every launch runs ``runs`` times on fresh buffers; OUT (.npz) gets the bytes of
each output after each run. A buffer may instead start as an output of an earlier launch
in the same run (``"from": [launch id, buffer]``, same number of runs), as a second
kernel reads what a first one wrote on the device. A kernel that writes into an input, an
argument whose size differs from the kernel's parameter, or any sanitizer report fails
the process (non-zero exit, the reason on stderr); the last "gs_launch:" line on stderr
names the launch.

Only NumPy and ctypes here: nothing of gpu_sparse is imported under the preloaded ASan
runtime.
"""

from __future__ import annotations

import ctypes
import json
import sys

import numpy as np


def _fail(msg: str) -> None:
    print(f"gs_launch: FAILED: {msg}", file=sys.stderr, flush=True)
    sys.exit(3)


def _allocator():
    libc = ctypes.CDLL(None)  # malloc and free as ASan intercepts them
    memalign = libc.posix_memalign
    memalign.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t, ctypes.c_size_t]
    memalign.restype = ctypes.c_int
    free = libc.free
    free.argtypes = [ctypes.c_void_p]
    free.restype = None

    def alloc(nbytes: int) -> int:
        base = ctypes.c_void_p()
        if memalign(ctypes.byref(base), 64, nbytes) != 0 or not base.value:
            _fail(f"posix_memalign({nbytes}) failed")
        return int(base.value)

    return alloc, free


def _read(ptr: int, nbytes: int) -> np.ndarray:
    if nbytes == 0:
        return np.zeros(0, np.uint8)
    return np.ctypeslib.as_array((ctypes.c_uint8 * nbytes).from_address(ptr)).copy()


def run(plan_path: str, data_path: str, out_path: str) -> int:
    with open(plan_path) as f:
        plan = json.load(f)
    data = np.load(data_path)
    alloc, free = _allocator()
    libs: dict[str, ctypes.CDLL] = {}
    results: dict[str, np.ndarray] = {}
    for item in plan:
        name = item["id"]
        lib = libs.get(item["lib"])
        if lib is None:
            lib = libs[item["lib"]] = ctypes.CDLL(item["lib"])
        entry = getattr(lib, f"gs_launch_{item['entry']}")
        entry.argtypes = [ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_void_p)]
        entry.restype = ctypes.c_int
        sizes_fn = getattr(lib, f"gs_arg_sizes_{item['entry']}")
        sizes_fn.restype = ctypes.c_int
        sizes = (ctypes.c_size_t * 64)()
        n_params = sizes_fn(sizes, 64)
        args = item["args"]
        if n_params != len(args):
            _fail(f"{name}: the kernel takes {n_params} arguments, the plan passes {len(args)}")
        for i, arg in enumerate(args):
            size = 8 if arg[0] in ("buf", "null") else len(bytes.fromhex(arg[1]))
            if size != sizes[i]:
                _fail(f"{name}: argument {i} ({arg[0]}) has {size} bytes, the kernel's "
                      f"parameter {sizes[i]}")
        for r in range(item["runs"]):
            ptrs: dict[str, int] = {}
            bases: dict[str, int] = {}
            for bname, spec in item["buffers"].items():
                nbytes, offset = spec["nbytes"], spec["offset"]
                if nbytes == 0:
                    ptrs[bname] = 0
                    continue
                base = bases[bname] = alloc(offset + nbytes)
                ptr = ptrs[bname] = base + offset
                ctypes.memset(base, 0xA5, offset)
                if spec.get("from") is not None:  # what an earlier launch wrote
                    src = results[f"{spec['from'][0]}/{r}/{spec['from'][1]}"]
                    if src.nbytes != nbytes:
                        _fail(f"{name}: buffer {bname} has {src.nbytes} bytes, not {nbytes}")
                    ctypes.memmove(ptr, src.ctypes.data, nbytes)
                elif spec["key"] is None:  # uninitialised device memory: NaN bytes
                    ctypes.memset(ptr, 0xFF, nbytes)
                else:
                    src = np.ascontiguousarray(data[spec["key"]])
                    if src.nbytes != nbytes:
                        _fail(f"{name}: buffer {bname} has {src.nbytes} bytes, not {nbytes}")
                    ctypes.memmove(ptr, src.ctypes.data, nbytes)
            keep = []
            for arg in args:
                if arg[0] == "buf":
                    keep.append(ctypes.c_void_p(ptrs[arg[1]]))
                elif arg[0] == "null":
                    keep.append(ctypes.c_void_p(0))
                else:  # a by-value scalar: its bytes
                    raw = bytes.fromhex(arg[1])
                    keep.append((ctypes.c_uint8 * len(raw)).from_buffer_copy(raw))
            argv = (ctypes.c_void_p * max(1, len(keep)))(
                *[ctypes.cast(ctypes.pointer(k), ctypes.c_void_p) for k in keep])
            print(f"gs_launch: {name} ({item['expression']}) run {r}: grid {item['grid']} "
                  f"block {item['block']}", file=sys.stderr, flush=True)
            rc = entry(item["grid"], item["block"], argv)
            if rc != 0:
                _fail(f"{name}: launch returned {rc}")
            for bname, spec in item["buffers"].items():
                got = _read(ptrs[bname], spec["nbytes"])
                if bname in item["outputs"]:
                    results[f"{name}/{r}/{bname}"] = got
                else:
                    source = spec.get("from")
                    before = (data[spec["key"]] if spec["key"] is not None else
                              results[f"{source[0]}/{r}/{source[1]}"] if source else None)
                    if before is not None and not np.array_equal(got, before):
                        _fail(f"{name}: the kernel wrote into its input {bname}")
                if bname in bases and (_read(bases[bname], spec["offset"]) != 0xA5).any():
                    _fail(f"{name}: the kernel wrote in front of the view {bname}")
            for base in bases.values():
                free(base)
    np.savez(out_path, **results)
    print(json.dumps({"launches": len(plan), "outputs": len(results)}), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(run(*sys.argv[1:]))
