"""reluthe.regions against regioncam (Rust, float32), the fastest public 2-D region counter.

Both count the activation regions of the same He-normal ReLU nets (biases U(+-1/sqrt(fan_in)),
torch's default; numpy seed 0) in [-1, 1]^2, timed in this process, one after the other (the
last net has biases N(0, 1e-3^2), where float32 geometry fails). The
table shows the counts and the times (best of ``--repeats`` rounds; a round runs regioncam,
reluthe and reluthe with its linear regions one after the other). ``time reluthe`` is
``count_on_plane``: the cells with their vertex cycles, areas, patterns, interior points and
adjacency, as regioncam's faces; ``+linear`` adds the first access to ``linear_counts`` (the exact
affine map of every region and their grouping into linear regions, which regioncam does not
compute). Where the counts differ, every region that
reluthe reports is checked: its pattern at its interior point is recomputed with a rigorous
floating-point error bound, and in exact rational arithmetic where that bound does not decide the
sign; the number of distinct certified patterns is a proven lower bound on the true count. The
same is done for regioncam's faces (at their vertex centroids): faces that repeat a pattern, and
regions no face centroid falls in, show where float32 geometry went wrong.

Memory: the peak of ``count_on_plane`` with its linear regions (tracemalloc, which sees numpy's
allocations; one further run) against the bytes of the polygons it returns (``sum(p.nbytes for p in
res.polygons)``), as a ratio.

Two further goals are measured: ``count_in_box`` in 3-D (regions per second) and
``count_patterns`` for 10^6 points through a 3 x 64 MLP.

Usage::

    python benchmarks/regions_vs_regioncam.py            # all five nets (minutes)
    python benchmarks/regions_vs_regioncam.py --quick    # the two smallest nets only
    python benchmarks/regions_vs_regioncam.py --big      # 2-1024-1024-1024 alone (minutes)
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
import tracemalloc
from fractions import Fraction

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from reluthe import regions  # noqa: E402

NETS = [  # (name, widths, bias standard deviation: None for torch's default U(+-1/sqrt(fan_in)))
    ("2-64x3", [2, 64, 64, 64], None),
    ("2-128x3", [2, 128, 128, 128], None),
    ("2-256x3", [2, 256, 256, 256], None),
    ("2-128x6", [2] + [128] * 6, None),
    ("2-512-512", [2, 512, 512], None),
    ("2-64x3 b~1e-3", [2, 64, 64, 64], 1e-3),    # tiny biases: near-coincident kinks
]


def he_net(widths, seed=0, bias_std=None):
    """Hidden layers (W, b): He-normal weights, biases U(+-1/sqrt(fan_in)) or N(0, bias_std^2)."""
    rng = np.random.default_rng(seed)
    pairs = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        w = rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_out, fan_in))
        b = (rng.uniform(-1 / np.sqrt(fan_in), 1 / np.sqrt(fan_in), fan_out) if bias_std is None
             else rng.normal(0.0, bias_std, fan_out))
        pairs.append((w, b))
    return pairs


def run_regioncam(hidden):
    import regioncam

    rc = regioncam.Regioncam(size=1.0)
    for w, b in hidden:
        rc.linear(w.T.astype(np.float32), b.astype(np.float32))
        rc.relu()
    return rc


def run_reluthe(hidden, linear=False):
    """``count_on_plane`` on [-1, 1]^2; with ``linear`` also its linear regions."""
    net = hidden + [(np.ones((1, hidden[-1][0].shape[0])), np.zeros(1))]  # output: not counted
    res = regions.count_on_plane(net, np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]),
                                 (-1.0, 1.0, -1.0, 1.0))
    if linear:
        assert res.linear_counts["activation"] == res.count
    return res


def memory_ratio(fn):
    """(peak bytes of ``fn()`` by tracemalloc, bytes of the polygons of its result)."""
    tracemalloc.start()
    try:
        res = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, sum(p.nbytes for p in res.polygons)


def timed_together(fns, repeats):
    """[(result, best wall time, best CPU time)] of every function in ``fns``, run in turn
    ``repeats`` times (one after the other within a round, so that a slow spell of the machine
    falls on all of them)."""
    best = [[None, np.inf, np.inf] for _ in fns]
    for _ in range(repeats):
        for slot, fn in zip(best, fns):
            out, wall, cpu = timed(fn, 1)
            slot[0] = out
            slot[1], slot[2] = min(slot[1], wall), min(slot[2], cpu)
    return [tuple(slot) for slot in best]


def timed(fn, repeats):
    """(result, best wall time, best CPU time of this process) over ``repeats`` runs."""
    wall, cpu, out = np.inf, np.inf, None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall = min(wall, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    return out, wall, cpu


# ----------------------------------------------------------------------------- certification

def _exact_states(hidden, x):
    h = [Fraction(float(v)) for v in x]
    bits = []
    for w, b in hidden:
        z = [sum((Fraction(float(wij)) * hj for wij, hj in zip(row, h) if hj), Fraction(0))
             + Fraction(float(bi)) for row, bi in zip(w, b)]
        if any(zi == 0 for zi in z):
            return None                       # on a kink: not an interior point
        bits.extend(int(zi > 0) for zi in z)
        h = [zi if zi > 0 else Fraction(0) for zi in z]
    return tuple(bits)


def certified_patterns(hidden, points):
    """Patterns at ``points`` whose every sign is proven (a rigorous floating-point error bound,
    else exact rational arithmetic); points on a kink are dropped. Returns (list of patterns,
    number of points that needed exact arithmetic)."""
    u = np.finfo(np.float64).eps / 2
    h = np.asarray(points, dtype=np.float64)
    err = np.zeros_like(h)
    cols, unsure = [], np.zeros(h.shape[0], dtype=bool)
    for w, b in hidden:
        n = w.shape[1] + 1
        gamma = n * u / (1 - n * u)
        z = h @ w.T + b
        bound = np.abs(err) @ np.abs(w).T + gamma * (np.abs(h) @ np.abs(w).T + np.abs(b))
        bound *= 1 + 4 * u
        unsure |= np.any(np.abs(z) <= bound, axis=1)
        cols.append(z > 0)
        h = np.maximum(z, 0)
        err = bound
    states = np.concatenate(cols, axis=1).astype(np.int8)
    pats = [tuple(row) for row in states[~unsure].tolist()]
    for i in np.flatnonzero(unsure):
        exact = _exact_states(hidden, points[i])
        if exact is not None:
            pats.append(exact)
    return pats, int(unsure.sum())


def regioncam_centroids(rc):
    verts = np.asarray(rc.vertex_inputs, dtype=np.float64)
    return np.array([verts[np.asarray(f.vertex_ids)].mean(axis=0) for f in rc.faces])


# ----------------------------------------------------------------------------- the big plane

def big_plane(tol) -> int:
    """Count 2-1024-1024-1024 in [-1, 1]^2 with the default memory budget; print the count, the
    wall time and the peak resident memory of this process, or the refusal and when it came;
    then the same for the linear regions of the count."""
    import resource

    from reluthe.errors import RegionLimitError
    from reluthe.regions._memory import default_budget, size_text

    def peak() -> str:
        return size_text(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)

    hidden = he_net([2, 1024, 1024, 1024])
    net = hidden + [(np.ones((1, 1024)), np.zeros(1))]
    kwargs = {} if tol is None else {"tol": tol}
    print(f"2-1024-1024-1024, default budget {size_text(default_budget())}, "
          f"tol={kwargs.get('tol', 'default')}", flush=True)
    t = time.perf_counter()
    try:
        res = regions.count_on_plane(net, np.zeros(2), np.array([1.0, 0.0]),
                                     np.array([0.0, 1.0]), (-1.0, 1.0, -1.0, 1.0), **kwargs)
    except RegionLimitError as err:
        print(f"refused: {err}\nafter {time.perf_counter() - t:.0f} s; peak resident memory "
              f"{peak()}", flush=True)
        return 0
    print(f"{res.count} regions (tol_merges={res.tol_merges}) after "
          f"{time.perf_counter() - t:.0f} s; peak resident memory {peak()}", flush=True)
    t = time.perf_counter()
    try:
        outcome = f"{res.linear_count} linear regions"
    except RegionLimitError as err:
        outcome = f"linear regions refused: {err}"
    print(f"{outcome} after {time.perf_counter() - t:.0f} s more; peak resident memory "
          f"{peak()}", flush=True)
    return 0


# ----------------------------------------------------------------------------- main

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the two smallest nets")
    parser.add_argument("--repeats", type=int, default=None,
                        help="rounds per net, best time kept (default: 9 for the nets with at "
                             "most 384 units, else 1)")
    parser.add_argument("--no-extra", action="store_true",
                        help="skip the count_in_box and count_patterns measurements")
    parser.add_argument("--big", action="store_true",
                        help="only the 2-1024-1024-1024 plane, with the default memory budget "
                             "(minutes): its count, time and peak resident memory, or the "
                             "refusal")
    parser.add_argument("--tol", type=float, default=None,
                        help="tol of count_on_plane for --big (default: its default)")
    args = parser.parse_args(argv)
    if args.big:
        return big_plane(args.tol)
    try:
        import regioncam  # noqa: F401
    except ImportError:
        print("regioncam is not installed (pip install regioncam): it is a dev dependency")
        return 1
    nets = NETS[:2] if args.quick else NETS
    print("wall-clock seconds, best of the runs; 'cpu ratio' compares CPU time of this process "
          "(less sensitive to other load on the machine)")
    print(f"{'net':<14} {'regions reluthe':>16} {'regions regioncam':>18} {'time reluthe':>13} "
          f"{'time regioncam':>15} {'ratio':>6} {'cpu ratio':>10} {'+linear':>8} "
          f"{'ratio':>6} {'peak MB':>8} {'polygons MB':>12} {'peak/polygons':>14}")
    for name, widths, bias_std in nets:
        hidden = he_net(widths, bias_std=bias_std)
        repeats = args.repeats or (9 if widths[1] * (len(widths) - 1) <= 384 else 1)
        (rc, t_rc, c_rc), (res, t_me, c_me), (_, t_lin, _) = timed_together(
            [functools.partial(run_regioncam, hidden), functools.partial(run_reluthe, hidden),
             functools.partial(run_reluthe, hidden, linear=True)], repeats)
        n_rc = rc.num_faces
        peak, poly = memory_ratio(functools.partial(run_reluthe, hidden, linear=True))
        print(f"{name:<14} {res.count:>16} {n_rc:>18} {t_me:>12.3f}s {t_rc:>14.3f}s "
              f"{t_me / t_rc:>6.2f} {c_me / c_rc:>10.2f} {t_lin:>7.3f}s {t_lin / t_rc:>6.2f} "
              f"{peak / 2**20:>8.1f} {poly / 2**20:>12.1f} {peak / poly:>14.1f}", flush=True)
        if res.count != n_rc:
            mine, unsure = certified_patterns(hidden, res.interior_points)
            mine = set(mine)
            theirs = certified_patterns(hidden, regioncam_centroids(rc))[0]
            distinct = set(theirs)
            repeats_rc = len(theirs) - len(distinct)
            print(f"  counts differ by {res.count - n_rc:+d}. Proven: {len(mine)} distinct "
                  f"patterns at reluthe's interior points ({unsure} needed exact arithmetic), so "
                  f"the true count is >= {len(mine)}. regioncam's {n_rc} faces show "
                  f"{len(distinct)} distinct patterns at their centroids ({repeats_rc} faces "
                  f"repeat another face's pattern); {len(mine - distinct)} of reluthe's regions "
                  f"hold no regioncam centroid; {len(distinct - mine)} regioncam patterns are not "
                  f"among reluthe's. Smallest reluthe region: area {res.smallest_size:.1e}.",
                  flush=True)
        del rc, res
    if args.no_extra:
        return 0
    # count_in_box in 3-D
    for widths in ([3, 16, 16, 16], [3, 32, 32, 32]):
        hidden = he_net(widths)
        net = hidden + [(np.ones((1, widths[-1])), np.zeros(1))]
        res, t, _ = timed(functools.partial(regions.count_in_box, net, -np.ones(3), np.ones(3)),
                          2)
        print(f"count_in_box {'-'.join(map(str, widths))} in [-1,1]^3: {res.count} regions in "
              f"{t:.3f}s = {res.count / t:,.0f} regions/s", flush=True)
    # count_patterns: 10^6 points through a 3 x 64 MLP
    hidden = he_net([2, 64, 64, 64])
    net = hidden + [(np.ones((1, 64)), np.zeros(1))]
    pts = np.random.default_rng(0).uniform(-1, 1, size=(1_000_000, 2))
    n, t, _ = timed(lambda: regions.count_patterns(net, pts), 2)
    print(f"count_patterns: 10^6 points through 2-64x3: {n} distinct patterns in {t:.3f}s",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
