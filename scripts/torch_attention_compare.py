#!/usr/bin/env python3
"""Times the same non-causal FAVOR+ computation in PyTorch (CPU) and in chronoscale, prints the ratio.

FAVOR+ as chronoscale computes it (SCIENCE.md section 5): x = q d^-1/4, y = k d^-1/4,
phi(x) = exp(W x - |x|^2/2 - max) (per-row max for queries, one global max for keys),
out = phi(Q) (phi(K)^T [V 1]), divided by the last column. fp32, iid Gaussian W.

Usage: scripts/torch_attention_compare.py [--binary build/app/cli/chronoscale] [--seq 4096]
           [--dim 64] [--features 256] [--heads 1] [--repeats 20] [--threads N]
Needs python3-torch (Debian: apt-get install python3-torch).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch


def favor(q, k, v, w):
    d = q.shape[-1]
    scale = d ** -0.25
    x = q * scale
    y = k * scale
    ex = x @ w.T - 0.5 * (x * x).sum(-1, keepdim=True)
    ey = y @ w.T - 0.5 * (y * y).sum(-1, keepdim=True)
    qf = torch.exp(ex - ex.amax(-1, keepdim=True))
    kf = torch.exp(ey - ey.amax())
    kv = kf.transpose(-1, -2) @ v                 # m x d
    ksum = kf.sum(-2)                             # m
    num = qf @ kv
    den = qf @ ksum.unsqueeze(-1)
    return num / den


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", "build", "app",
                                                     "cli", "chronoscale"))
    p.add_argument("--seq", type=int, default=4096)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--features", type=int, default=256)
    p.add_argument("--heads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--hardware", default="h100-sxm",
                   help="profile for chronoscale's prediction (irrelevant to the timing)")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    tau = 0.125
    shape = (a.heads, a.seq, a.dim)
    q = torch.randn(shape, generator=g) * tau ** 0.5
    k = torch.randn(shape, generator=g) * tau ** 0.5
    v = torch.randn(shape, generator=g)
    w = torch.randn((a.features, a.dim), generator=g)
    with torch.inference_mode():
        for _ in range(3):
            favor(q, k, v, w)
        times = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            favor(q, k, v, w)
            times.append(time.perf_counter() - t0)
    torch_s = statistics.median(times)

    cmd = [a.binary, "attention", "--kernel", "favor", "--seq", str(a.seq), "--dim", str(a.dim),
           "--features", str(a.features), "--heads", str(a.heads), "--repeats", str(a.repeats),
           "--threads", str(a.threads), "--hardware", a.hardware, "--format", "json"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"chronoscale failed ({res.returncode}): {res.stderr}")
    ours_s = json.loads(res.stdout)["time_s"]
    print(f"FAVOR+ L={a.seq} d={a.dim} m={a.features} heads={a.heads} fp32, {a.threads} threads")
    print(f"torch {torch.__version__}: {torch_s * 1e3:.2f} ms (median of {a.repeats}, "
          f"min {min(times) * 1e3:.2f})")
    print(f"chronoscale:   {ours_s * 1e3:.2f} ms (median of {a.repeats})")
    print(f"ratio torch / chronoscale = {torch_s / ours_s:.2f} (> 1: chronoscale is faster)")


if __name__ == "__main__":
    main()
