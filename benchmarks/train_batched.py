"""Batched training (``train_mlps``) against one model after another (``fit``): throughput.

Trains 8 seeds of a 40-100-100-10 MLP on MNIST-1D with the same recipe (Adam, batch 128, 500
steps) twice: as one batched model with :func:`reluthe.train.train_mlps`, and one seed after
another with :func:`reluthe.train.fit` on ``reluthe.models.mlp(..., seed=s)`` (the ordinary
torch loop). The two arms are interleaved in one process and repeated; the script prints the
throughput ratio (sequential time / batched time) per repeat, in wall-clock and in process CPU
time (less sensitive to other processes on a shared machine), its geometric mean with a 95 %
interval, and the largest difference between the final weights of the two arms (they follow the
same trajectory, so it is at float rounding level). Goal: a ratio of at least 4.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/train_batched.py [--repeats 3] [--steps 500]``
(exit status 1 when the weights disagree by more than ``--tol``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import torch
from torch import nn

from reluthe import data, models
from reluthe.stats import mean_ci
from reluthe.train import Recipe, fit, train_mlps

WIDTHS = [40, 100, 100, 10]


def _clock():
    return time.perf_counter(), time.process_time()


def _since(start):
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def batched(ds, seeds, recipe):
    start = _clock()
    res = train_mlps(ds, WIDTHS, seeds=seeds, recipes=recipe)
    return _since(start), [[(w[k], b[k]) for w, b in res.weights] for k in range(len(seeds))]


def sequential(ds, seeds, recipe):
    start = _clock()
    out = []
    for s in seeds:
        net = fit(models.mlp(WIDTHS, seed=s), ds, recipe, seed=s).model
        out.append([(m.weight.detach(), m.bias.detach()) for m in net if isinstance(m, nn.Linear)])
    return _since(start), out


def max_weight_diff(a, b) -> float:
    return max(float((wa - wb).abs().max().item()) for ma, mb in zip(a, b)
               for pa, pb in zip(ma, mb) for wa, wb in zip(pa, pb))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--tol", type=float, default=1e-5)
    p.add_argument("--quick", action="store_true", help="2 repeats of 200 steps")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.steps = 2, 200
    ds = data.load("mnist1d")
    seeds = list(range(args.seeds))
    recipe = Recipe(optimizer="adam", lr=1e-3, batch_size=128, steps=args.steps,
                    eval_every=args.steps)
    print(f"{args.seeds} seeds of {'-'.join(map(str, WIDTHS))}, Adam, batch 128, {args.steps} "
          f"steps; torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    ratios, cpu_ratios, worst = [], [], 0.0
    for r in range(args.repeats):
        arms = [("batched", batched), ("sequential", sequential)]
        if r % 2:  # alternate which arm runs first
            arms.reverse()
        times, weights = {}, {}
        for name, func in arms:
            times[name], weights[name] = func(ds, seeds, recipe)
        diff = max_weight_diff(weights["batched"], weights["sequential"])
        worst = max(worst, diff)
        ratios.append(times["sequential"][0] / times["batched"][0])
        cpu_ratios.append(times["sequential"][1] / times["batched"][1])
        print(f"repeat {r}: batched {times['batched'][0]:.2f} s ({times['batched'][1]:.2f} s "
              f"CPU), sequential {times['sequential'][0]:.2f} s ({times['sequential'][1]:.2f} s "
              f"CPU), ratio {ratios[-1]:.2f} ({cpu_ratios[-1]:.2f} CPU), max |ΔW| {diff:.2e}")
    for label, values in (("wall-clock", ratios), ("process CPU time", cpu_ratios)):
        est = mean_ci([math.log(x) for x in values])
        spread = (f"[{math.exp(est.low):.2f}, {math.exp(est.high):.2f}]" if est.has_ci
                  else "(no interval: one repeat)")
        print(f"throughput ratio (sequential / batched), {label}: geometric mean "
              f"{math.exp(est.value):.2f}, 95% CI {spread}, min {min(values):.2f}, "
              f"max {max(values):.2f}; goal >= 4")
    print(f"final weights agree: max |ΔW| = {worst:.2e} (tolerance {args.tol:g})")
    return 0 if worst <= args.tol else 1


if __name__ == "__main__":
    sys.exit(main())
