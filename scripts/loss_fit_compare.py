#!/usr/bin/env python3
"""The Approach 3 loss-law fit, chronoscale against scipy, in one run on one machine (issue 15).

Both fit L(N, D) = E + A/N^alpha + B/D^beta to Hoffmann et al.'s digitised runs the way Epoch AI
(Besiroglu et al. 2024) does: the 5 highest-loss runs dropped, D = C / (6 N), the Huber loss
(delta 1e-3) of log L against log-sum-exp(a - alpha log N, b - beta log D, e), from every start of
the same 4,500-point grid. scipy runs L-BFGS-B with the analytic gradient from each start, one
process, as Epoch's code does; chronoscale runs `fit-loss` (Levenberg-Marquardt, analytic
Jacobian, starts that cannot win abandoned after 10 iterations) with --threads 1 and with every
core. Times are wall clock of the whole fit; chronoscale's include starting the process and
reading the CSV. Prints both optima beside Epoch's published one and the speed-up.

  scripts/loss_fit_compare.py [--chronoscale build/app/cli/chronoscale] [--runs CSV]
                              [--repeats 3]

Needs numpy and scipy (Debian: python3-numpy python3-scipy).
"""
import argparse
import csv
import itertools
import json
import os
import subprocess
import sys
import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import huber, logsumexp

HERE = os.path.dirname(os.path.abspath(__file__))
EPOCH = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}
GRID = {
    "alpha": [0.0, 0.5, 1.0, 1.5, 2.0],
    "beta": [0.0, 0.5, 1.0, 1.5, 2.0],
    "e": [-1.0, -0.5, 0.0, 0.5, 1.0],
    "a": [0.0, 5.0, 10.0, 15.0, 20.0, 25.0],
    "b": [0.0, 5.0, 10.0, 15.0, 20.0, 25.0],
}
DELTA = 1e-3


def load(path):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            n = float(r["Model Size"])
            rows.append((n, float(r["Training FLOP"]) / (6 * n), float(r["loss"])))
    rows.sort(key=lambda r: r[2])
    rows = rows[: len(rows) - 5]  # Epoch: the 5 highest-loss runs dropped
    n, d, l = (np.array(c) for c in zip(*rows))
    return np.log(n), np.log(d), np.log(l)


def scipy_fit(log_n, log_d, log_l):
    def objective(x):
        a, b, e, alpha, beta = x
        t = np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)])
        lse = logsumexp(t, axis=0)
        r = lse - log_l
        w = np.exp(t - lse)  # softmax weights: d lse / d t
        dr = np.where(np.abs(r) <= DELTA, r, DELTA * np.sign(r))
        grad = np.array([
            np.sum(dr * w[0]), np.sum(dr * w[1]), np.sum(dr * w[2]),
            np.sum(dr * w[0] * -log_n), np.sum(dr * w[1] * -log_d)])
        return np.sum(huber(DELTA, r)), grad

    best = None
    for alpha, beta, e, a, b in itertools.product(
            GRID["alpha"], GRID["beta"], GRID["e"], GRID["a"], GRID["b"]):
        res = minimize(objective, [a, b, e, alpha, beta], jac=True, method="L-BFGS-B")
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
    a, b, e, alpha, beta = best.x
    return {"E": float(np.exp(e)), "A": float(np.exp(a)), "B": float(np.exp(b)),
            "alpha": float(alpha), "beta": float(beta), "objective": float(best.fun)}


def chronoscale_fit(binary, runs, threads, screen=1.0):
    cmd = [binary, "fit-loss", "--runs", runs, "--params-col", "Model Size", "--flops-col",
           "Training FLOP", "--loss-col", "loss", "--drop-highest", "5", "--format", "json",
           "--threads", str(threads), "--screen-starts", str(screen)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    doc = json.loads(out)
    law = doc.get("law", doc)
    return {k: float(law[k]) for k in ("E", "A", "B", "alpha", "beta")}


def timed(f, repeats):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = f()
        times.append(time.perf_counter() - t0)
    return min(times), times, result


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chronoscale", default=os.path.join(HERE, "..", "build", "app", "cli",
                                                          "chronoscale"))
    p.add_argument("--runs", default=os.path.join(HERE, "..", "..", "shared", "data",
                                                  "chinchilla_svg_extracted.csv"))
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    if not os.path.exists(a.runs):
        sys.exit(f"error: {a.runs}: no such file (Hoffmann's digitised runs; give --runs)")
    log_n, log_d, log_l = load(a.runs)
    cores = os.cpu_count() or 1
    rows = []
    best_c1, times_c1, law_c1 = timed(lambda: chronoscale_fit(a.chronoscale, a.runs, 1), a.repeats)
    rows.append(("chronoscale fit-loss, 1 thread", best_c1, times_c1, law_c1))
    best_cn, times_cn, law_cn = timed(lambda: chronoscale_fit(a.chronoscale, a.runs, 0), a.repeats)
    rows.append((f"chronoscale fit-loss, {cores} threads", best_cn, times_cn, law_cn))
    best_c10, times_c10, law_c10 = timed(
        lambda: chronoscale_fit(a.chronoscale, a.runs, 1, 0.1), a.repeats)
    rows.append(("chronoscale, 1 thread, --screen-starts 0.1", best_c10, times_c10, law_c10))
    best_s, times_s, law_s = timed(lambda: scipy_fit(log_n, log_d, log_l), 1)
    rows.append(("scipy L-BFGS-B, analytic gradient, 1 process", best_s, times_s, law_s))
    print(f"{len(log_n)} runs ({a.runs}), 4,500 starts, Huber delta {DELTA}")
    print(f"{'fit':<48} {'best s':>8} {'E':>7} {'A':>9} {'B':>9} {'alpha':>7} {'beta':>7}")
    for name, best, _, law in rows:
        print(f"{name:<48} {best:8.2f} {law['E']:7.4f} {law['A']:9.2f} {law['B']:9.2f} "
              f"{law['alpha']:7.4f} {law['beta']:7.4f}")
    print(f"{'Epoch AI, published (Besiroglu et al. 2024)':<48} {'':>8} {EPOCH['E']:7.4f} "
          f"{EPOCH['A']:9.2f} {EPOCH['B']:9.2f} {EPOCH['alpha']:7.4f} {EPOCH['beta']:7.4f}")
    print(f"speed-up over scipy: {best_s / best_c1:.1f}x on one thread, "
          f"{best_s / best_cn:.1f}x on {cores}, {best_s / best_c10:.1f}x screened on one thread")


if __name__ == "__main__":
    main()
