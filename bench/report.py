"""Markdown table and PNG plot of a benchmark run."""

from __future__ import annotations

import pathlib
from typing import Dict, List, Tuple

MIB = 2**20


def _ms(r, k):
    return f"{r[k] * 1e3:.2f}" if k in r else "–"


def _x(r, k):
    return f"{r[k]:.2f}x" if k in r else "–"


def _find(rows, case, impl, layout):
    for r in rows:
        if r["case"] == case and r["impl"] == impl and r["layout"] == layout:
            return r
    return None


def targets(rows: List[Dict], device: str) -> List[str]:
    """One line per target of the performance issue, with the cases that miss it."""
    lines = []
    cases = list(dict.fromkeys(r["case"] for r in rows))
    for layout, what in (("csr", "gpu_sparse CSR vs torch CSR (like for like)"),
                         ("coo", "gpu_sparse COO, uncoalesced random order, vs torch CSR")):
        miss = {"fwd": [], "fb": []}
        worst = {"fwd": float("inf"), "fb": float("inf")}
        for c in cases:
            tc = _find(rows, c, "torch", "csr")
            o = _find(rows, c, "gpu_sparse", layout)
            if o is None or tc is None:
                continue
            for k in ("fwd", "fb"):
                if k in tc and k in o:
                    ratio = tc[k] / o[k]
                    worst[k] = min(worst[k], ratio)
                    if ratio < 1:
                        miss[k].append(f"{c} ({ratio:.2f}x)")
        for k, label in (("fwd", "forward"), ("fb", "forward + backward")):
            if worst[k] == float("inf"):
                continue
            verdict = ("met on every case" if not miss[k]
                       else "missed on " + "; ".join(miss[k]))
            lines.append(f"- {what}, {label} at least as fast: {verdict} "
                         f"(smallest speedup {worst[k]:.2f}x)")
    if device == "cpu":
        over = [f"{r['case']} ({r['layout']}: {r['mem_ratio']:.2f})" for r in rows
                if r["impl"] == "gpu_sparse" and r.get("mem_ratio", 0) > 2]
        worst_mem = max([r.get("mem_ratio", 0) for r in rows if r["impl"] == "gpu_sparse"],
                        default=0)
        lines.append("- gpu_sparse peak memory within 2x of inputs + outputs: " +
                     ("met on every case" if not over else "missed on " + "; ".join(over))
                     + f" (largest ratio {worst_mem:.2f})")
    return lines


def markdown(rows, kernel_rows, meta, device: str) -> str:
    out = [f"# gpu_sparse benchmark ({device})", "",
           f"- date: {meta['date']}",
           f"- machine: {meta['machine']}",
           f"- command: `{meta['command']}`",
           f"- versions: {meta['versions']}",
           f"- float32 unless noted, beta = 0.5, alpha = 2; times are medians of "
           f"{meta['repeats']} repeats after a warm-up; run took {meta['seconds']:.0f} s",
           "- speedup = peer time / gpu_sparse time with the same mat1 layout (> 1: we "
           "are faster); COO inputs are uncoalesced, in random order",
           "- mem: peak extra bytes during the first forward + backward (RSS on the CPU, "
           "allocator high-water mark on the GPU); mem ratio = (inputs + extra) / "
           "(inputs + outputs)",
           "- every gpu_sparse result was checked against a float64 reference first "
           "(check = largest error relative to the largest reference value)", "",
           "## Targets", ""] + targets(rows, device) + ["", "## All results", "",
           "| case | impl | mat1 | fwd ms | bwd ms | fwd+bwd ms | mem MiB | mem ratio "
           "| fwd speedup | bwd speedup | fwd+bwd speedup | check / note |",
           "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        note = r.get("note") or (f"{r['check']:.1e}" if "check" in r else "")
        mem = f"{r['mem'] / MIB:.0f}" if "mem" in r else "–"
        memr = f"{r['mem_ratio']:.2f}" if "mem_ratio" in r else "–"
        out.append(f"| {r['case']} | {r['impl']} | {r['layout']} | {_ms(r, 'fwd')} | "
                   f"{_ms(r, 'bwd')} | {_ms(r, 'fb')} | {mem} | {memr} | "
                   f"{_x(r, 'ratio_fwd')} | {_x(r, 'ratio_bwd')} | {_x(r, 'ratio_fb')} | "
                   f"{note} |")
    if kernel_rows:
        out += ["", "## Kernels against the bytes-moved roofline (4.3 TB/s measured copy)",
                "", "Bytes a kernel cannot avoid when nothing is reused from cache: SpMM "
                "reads indices and values once, one row of B per nonzero, C once, writes "
                "the output once; SDDMM reads indices once, each row of G once, one row of "
                "mat2 per nonzero, writes one value per nonzero.", "",
                "| case | kernel | ms | model bytes | TB/s | fraction |",
                "|---|---|---:|---:|---:|---:|"]
        for k in kernel_rows:
            out.append(f"| {k['case']} | {k['kernel']} | {k['ms']:.3f} | "
                       f"{k['bytes'] / 1e9:.2f} GB | {k['tbps']:.2f} | "
                       f"{100 * k['frac']:.0f}% |")
    return "\n".join(out) + "\n"


def plot(rows, path: pathlib.Path) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    cases = list(dict.fromkeys(r["case"] for r in rows))
    series = [("torch", "csr", "ratio_fwd", "forward vs torch CSR"),
              ("torch", "csr", "ratio_fb", "forward + backward vs torch CSR"),
              ("torch", "coo", "ratio_fwd", "forward vs torch COO"),
              ("scipy", "csr", "ratio_fb", "forward + backward vs SciPy/NumPy")]
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(cases)), 5))
    width = 0.8 / len(series)
    for si, (impl, layout, key, label) in enumerate(series):
        xs, ys = [], []
        for ci, c in enumerate(cases):
            r = _find(rows, c, impl, layout)
            if r and key in r:
                xs.append(ci + (si - len(series) / 2 + 0.5) * width)
                ys.append(r[key])
        ax.bar(xs, ys, width, label=label)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_yscale("log")
    ax.set_ylabel("speedup of gpu_sparse (peer time / ours)")
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels([c.replace(" ", "\n", 2) for c in cases], fontsize=7)
    ax.legend(fontsize=8)
    ax.set_title("gpu_sparse sparse.addmm, same mat1 layout as the peer")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_report(rows, kernel_rows, meta, device, quick, out_dir: pathlib.Path):
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{device}{'-quick' if quick else ''}-{meta['date']}"
    md = markdown(rows, kernel_rows, meta, device)
    png = out_dir / f"{stem}.png"
    if plot(rows, png):
        md += f"\n![speedups]({png.name})\n"
    path = out_dir / f"{stem}.md"
    path.write_text(md)
    return path


def epoch_table(rows: List[Tuple[str, float]]) -> str:
    """A Markdown table of seconds per epoch, in ms, with each row's time over the
    first row's (the ratio PyTorch / gpu_sparse when gpu_sparse comes first)."""
    base = rows[0][1]
    lines = ["| implementation | ms per epoch | PyTorch / gpu_sparse |", "|---|---:|---:|"]
    lines += [f"| {name} | {1e3 * sec:.2f} | {sec / base:.2f}x |" for name, sec in rows]
    return "\n".join(lines)
