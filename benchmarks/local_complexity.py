"""Exact local complexity (``regions.count_near``) against input dimension and radius, against a
sampling estimate at equal time, and the lattice / search crossover of ``count_in_box``.

Local complexity: for a d-64-64 ReLU MLP (d = 64: trained for a few hundred Adam steps on
scikit-learn's digits scaled to [0, 1]; other d: He-normal weights, N(0, 0.1^2) biases, numpy
seed 0) the regions meeting the box (L-inf ball) of each radius around a point (a test digit;
elsewhere a uniform point of [0, 1]^d) are counted exactly. The table gives the count, the LPs
solved, the time, regions/s, and a sampling estimate at equal time: ``count_patterns`` on as
many uniform points of the box as it handles in the same time (calibrated on 20,000 points),
as the ratio sampled / exact (a lower bound: <= 1).

Crossover: ``count_in_box(engine="lattice")`` against ``engine="search"`` on one-layer nets of
``n`` units in ``[-1, 1]^d`` (the same count is asserted), the time ratio lattice / search.
``engine="auto"`` uses the lattice up to ``reluthe.regions._box.LATTICE_MAX_DIM`` dimensions.

Usage::

    python benchmarks/local_complexity.py            # d = 2, 8, 64; crossover d = 3..6 (~1-2 min)
    python benchmarks/local_complexity.py --full     # adds d = 100 and 784, larger radii
    python benchmarks/local_complexity.py --crossover-only
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from reluthe import regions  # noqa: E402
from reluthe.errors import RegionLimitError  # noqa: E402

RADII = {2: (0.05, 0.2), 8: (0.02, 0.05), 64: (0.002, 0.005, 0.01), 100: (0.002, 0.005),
         784: (0.0005, 0.001)}
FULL_RADII = {64: (0.002, 0.005, 0.01, 0.02), 100: (0.002, 0.005, 0.01),
              784: (0.0005, 0.001, 0.002)}
MAX_REGIONS = 5_000


def he_mlp(d: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    widths = [d, 64, 64]
    pairs = [(rng.normal(0, np.sqrt(2 / fi), (fo, fi)), rng.normal(0, 0.1, fo))
             for fi, fo in zip(widths[:-1], widths[1:])]
    return pairs + [(rng.normal(0, np.sqrt(1 / 64), (10, 64)), np.zeros(10))]


def digits_mlp(steps: int = 300):
    """A 64-64-64-10 MLP trained on sklearn's digits (pixels / 16); returns (net, test x)."""
    import torch
    from sklearn.datasets import load_digits

    from reluthe.models import mlp

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    train, test = order[:1400], order[1400:]
    model = mlp([64, 64, 64, 10], seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    xt, yt = torch.from_numpy(x[train]), torch.from_numpy(y[train])
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
    with torch.no_grad():
        acc = float((model(torch.from_numpy(x[test])).argmax(1).numpy() == y[test]).mean())
    print(f"digits MLP 64-64-64-10: {steps} Adam steps, test accuracy {acc:.3f}")
    return model, x[test].astype(np.float64)


def sampled_at_equal_time(net, center, radius, seconds, rng) -> tuple[int, int]:
    """Distinct patterns among as many uniform box points as count_patterns handles in
    ``seconds`` (calibrated on 20,000 points): (count, points)."""
    d = center.size
    calib = center + radius * rng.uniform(-1, 1, (20_000, d))
    t0 = time.perf_counter()
    regions.count_patterns(net, calib)
    per_point = (time.perf_counter() - t0) / 20_000
    n = int(min(max(20_000, seconds / per_point), 2_000_000))
    pts = center + radius * rng.uniform(-1, 1, (n, d))
    return int(regions.count_patterns(net, pts)), n


def local_table(dims, radii, digits_steps: int):
    rng = np.random.default_rng(1)
    print(f"{'d':>4} {'radius':>8} {'count':>6} {'LPs':>7} {'time s':>7} {'regions/s':>9} "
          f"{'sampled/exact':>13} {'points':>8}")
    for d in dims:
        if d == 64:
            net, test = digits_mlp(digits_steps)
            center = test[0]
        else:
            net, center = he_mlp(d), rng.uniform(0, 1, d)
        for r in radii[d]:
            t0 = time.perf_counter()
            try:
                res = regions.count_near(net, center, r, max_regions=MAX_REGIONS)
            except RegionLimitError as exc:
                print(f"{d:>4} {r:>8g} > {MAX_REGIONS} (stopped at {exc.found} after "
                      f"{time.perf_counter() - t0:.1f} s)")
                break
            el = time.perf_counter() - t0
            sampled, n = sampled_at_equal_time(net, center, r, el, rng)
            print(f"{d:>4} {r:>8g} {res.count:>6} {res.n_lps:>7} {el:>7.2f} "
                  f"{res.count / el:>9.0f} {sampled / res.count:>13.3f} {n:>8}", flush=True)


def crossover(cases):
    print(f"\n{'d':>3} {'units':>5} {'count':>6} {'lattice s':>9} {'search s':>9} "
          f"{'lattice/search':>14}")
    for d, n in cases:
        rng = np.random.default_rng(10 * d + n)
        net = [(rng.normal(size=(n, d)), 0.5 * rng.normal(size=n)),
               (np.ones((1, n)), np.zeros(1))]
        lo, hi = -np.ones(d), np.ones(d)
        t0 = time.perf_counter()
        lat = regions.count_in_box(net, lo, hi, engine="lattice")
        t1 = time.perf_counter()
        sea = regions.count_in_box(net, lo, hi, engine="search")
        t2 = time.perf_counter()
        assert lat.count == sea.count, (d, n, lat.count, sea.count)
        print(f"{d:>3} {n:>5} {lat.count:>6} {t1 - t0:>9.3f} {t2 - t1:>9.3f} "
              f"{(t1 - t0) / (t2 - t1):>14.2f}", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help="d = 100 and 784, larger radii")
    size.add_argument("--quick", action="store_true",
                      help="a short pass: d = 2 and 8, two crossover cases")
    parser.add_argument("--crossover-only", action="store_true")
    parser.add_argument("--digits-steps", type=int, default=300)
    args = parser.parse_args(argv)
    if not args.crossover_only:
        dims = (2, 8, 64, 100, 784) if args.full else (2, 8) if args.quick else (2, 8, 64)
        radii = {**RADII, **FULL_RADII} if args.full else RADII
        local_table(dims, radii, args.digits_steps)
    cases = [(3, 10), (4, 10)] if args.quick else [(3, 10), (4, 10), (5, 10), (6, 10)]
    if args.full:
        cases += [(4, 16), (5, 14), (6, 12), (7, 10), (8, 10)]
    crossover(cases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
