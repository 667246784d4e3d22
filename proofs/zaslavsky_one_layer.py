"""One hidden ReLU layer: Serra et al.'s upper bound equals Zaslavsky's count, and it is attained.

Derivation: for L = 1, Serra et al. (2018, Thm 1) sum over J = {j : 0 <= j <= min(n0, n)} of
C(n, j), which is sum_{j=0}^{n0} C(n, j) because C(n, j) = 0 for j > n: Zaslavsky's number of
regions of n hyperplanes in general position in R^n0. A layer with Gaussian weights is in general
position with probability 1, so its activation regions attain the bound. The count is checked
two ways: an independent exact enumeration (in R^2 every region of an arrangement of n >= 2 lines
in general position has a vertex on its boundary, so the sign patterns in the four quadrants
around each vertex are all the regions; in R^1 the n breakpoints cut the line into n + 1
pieces), and, when available, the regions engine (reluthe.regions.count_in_box / count_on_line).

Run: ``python proofs/zaslavsky_one_layer.py``.
"""

import itertools

import numpy as np
import sympy as sp

from reluthe.symbolic import bounds


def regions_engine():
    """reluthe.regions if it provides the counting API, else None (with a printed notice)."""
    try:
        from reluthe import regions

        regions.count_in_box, regions.count_on_line  # noqa: B018 - probe the API
        return regions
    except (ImportError, AttributeError) as exc:
        print(f"SKIPPED: exact counts with reluthe.regions (engine not available: {exc!r})")
        return None


def vertex_patterns(W: np.ndarray, b: np.ndarray) -> tuple[int, np.ndarray]:
    """Distinct activation patterns next to the vertices of the line arrangement W x + b = 0."""
    n = len(b)
    patterns, vertices = set(), []
    for i, j in itertools.combinations(range(n), 2):
        A = W[[i, j]]
        v = np.linalg.solve(A, -b[[i, j]])
        vertices.append(v)
        # the step p - v = A^-1 (eps s) moves line k's value by at most
        # |W_k| |A^-1| sqrt(2) eps: keep that below half its value at v
        k = [m for m in range(n) if m not in (i, j)]
        reach = np.linalg.norm(W[k], axis=1) * np.linalg.norm(np.linalg.inv(A), 2) * np.sqrt(2)
        eps = 0.5 * np.min(np.abs(W[k] @ v + b[k]) / reach) if k else 1.0
        for s in itertools.product((-1.0, 1.0), repeat=2):
            p = np.linalg.solve(A, -b[[i, j]] + eps * np.array(s))
            patterns.add(tuple(W @ p + b > 0))
    return len(patterns), np.array(vertices)


def main() -> None:
    n, d = sp.symbols("n d", integer=True, positive=True)
    for n0 in range(1, 7):
        general = sp.expand(bounds.serra_upper(n0, [n + n0]) - bounds.zaslavsky(n + n0, n0))
        assert general == 0
    print("serra_upper(n0, [n + n0]) - zaslavsky(n + n0, n0) = 0 as polynomials in n, n0 = 1..6")
    table = [(w, k) for w in range(1, 13) for k in range(1, 8)]
    assert all(bounds.serra_upper(k, [w]) == bounds.zaslavsky(w, k) for w, k in table)
    print(f"serra_upper(n0, [n]) == zaslavsky(n, n0) for all {len(table)} pairs n<=12, n0<=7")

    engine = regions_engine()
    rng = np.random.default_rng(0)
    for width in (2, 5, 8):
        W1, b1 = rng.normal(size=(width, 2)), rng.normal(size=width)
        count, vertices = vertex_patterns(W1, b1)
        expected = bounds.zaslavsky(width, 2)
        print(f"R^2, {width} units: vertex enumeration {count} regions, zaslavsky {expected}")
        assert count == expected
        if engine is not None:
            net = [(W1, b1), (rng.normal(size=(1, width)), rng.normal(size=1))]
            span = np.ptp(vertices, axis=0) + 1.0
            low, high = vertices.min(0) - span, vertices.max(0) + span
            exact = engine.count_in_box(net, low, high).count
            print(f"    regions.count_in_box over a box holding every vertex: {exact}")
            assert exact == expected
    for width in (1, 4, 9):
        W1, b1 = rng.normal(size=(width, 1)), rng.normal(size=width)
        breaks = np.sort(-b1 / W1[:, 0])
        assert np.all(np.diff(breaks) > 0)
        print(f"R^1, {width} units: {width} distinct breakpoints -> {width + 1} pieces, "
              f"zaslavsky {bounds.zaslavsky(width, 1)}")
        assert width + 1 == bounds.zaslavsky(width, 1)
        if engine is not None:
            net = [(W1, b1), (rng.normal(size=(1, width)), rng.normal(size=1))]
            exact = engine.count_on_line(net, [breaks[0] - 1.0], [breaks[-1] + 1.0]).count
            print(f"    regions.count_on_line: {exact}")
            assert exact == width + 1
    print("QED: for one layer the Serra bound is Zaslavsky's number, attained in general position.")


if __name__ == "__main__":
    main()
