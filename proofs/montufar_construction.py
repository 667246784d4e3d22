"""Montúfar et al.'s folding construction: L layers of width n give n^L regions on [0, 1].

Construction (input dimension 1, written as (W, b) pairs with ReLU between pairs and none after
the last): a layer of n units u_0 = relu(t + 1), u_i = relu(t - i/n) (i = 1..n-1) followed by the
linear map g(t) = n (u_0 - 1) + sum_i 2n (-1)^i u_i is the zigzag that maps each of
[0, 1/n], ..., [(n-1)/n, 1] onto [0, 1], alternately up and down (slopes ±n). The next layer
applies the same units to g, so the composition of L folds has n^L affine pieces on [0, 1], and
every activation region there is one piece (n - 1 breakpoints per fold, none at fold ends).
Replacing the last layer by n units with thresholds (i - 1/2)/n, strictly inside every fold,
gives n + 1 pieces per fold: n^(L-1) (n + 1) = montufar_lower(1, [n] * L) regions, at most
serra_upper(1, [n] * L) = (n + 1)^L.

Counted two ways: distinct consecutive activation patterns on a 200001-point grid of [0, 1]
(always), and reluthe.regions.count_on_line when the engine is available.

Run: ``python proofs/montufar_construction.py``.
"""

import numpy as np

from reluthe.symbolic import bounds


def regions_engine():
    """reluthe.regions if it provides count_on_line, else None (with a printed notice)."""
    try:
        from reluthe import regions

        regions.count_on_line  # noqa: B018 - probe the API
        return regions
    except (ImportError, AttributeError) as exc:
        print(f"SKIPPED: exact counts with reluthe.regions (engine not available: {exc!r})")
        return None


def zigzag_net(n: int, depth: int, montufar_last: bool = False) -> list[tuple]:
    """(W, b) pairs of the folding network; ``montufar_last`` swaps in the last hidden layer
    with thresholds (i - 1/2)/n."""
    c = np.array([n] + [2.0 * n * (-1) ** i for i in range(1, n)])  # g = c . u - n
    b_fold = np.array([1.0] + [-i / n for i in range(1, n)])
    b_last = np.array([-(i - 0.5) / n for i in range(1, n + 1)])
    net, fan_in = [], None
    for layer in range(depth):
        last = montufar_last and layer == depth - 1
        b_t = b_last if last else b_fold  # thresholds in terms of t
        if fan_in is None:  # t = x
            W, b = np.ones((n, 1)), b_t.copy()
        else:  # t = c . u_prev - n
            W, b = np.outer(np.ones(n), c), b_t - n
        net.append((W, b))
        fan_in = n
    out = (np.ones((1, n)), np.zeros(1)) if montufar_last else (c[None, :], np.array([-float(n)]))
    net.append(out)
    return net


def grid_pattern_count(net: list[tuple], points: int = 200001) -> tuple[int, np.ndarray]:
    """Number of runs of equal activation patterns along [0, 1], and the network output."""
    h = np.linspace(0.0, 1.0, points)[:, None]
    codes = []
    for W, b in net[:-1]:
        z = h @ W.T + b
        codes.append(z > 0)
        h = np.maximum(z, 0.0)
    pattern = np.concatenate(codes, axis=1)
    changes = np.any(pattern[1:] != pattern[:-1], axis=1).sum()
    W, b = net[-1]
    return int(changes) + 1, (h @ W.T + b)[:, 0]


def main() -> None:
    engine = regions_engine()
    for n in (2, 3):
        for depth in (1, 2, 3):
            net = zigzag_net(n, depth)
            count, out = grid_pattern_count(net)
            slopes = np.diff(out) / np.diff(np.linspace(0, 1, len(out)))
            jumps = np.flatnonzero(np.abs(np.diff(slopes)) > 1.0)
            # a breakpoint inside a grid cell shows as two adjacent slope changes: merge them
            n_linear = 1 + int(np.sum(np.diff(jumps) > 1) + (len(jumps) > 0))
            print(f"n={n}, L={depth}: grid patterns {count}, linear pieces of the output "
                  f"{n_linear}, n^L = {n ** depth}")
            assert count == n ** depth == n_linear
            assert out.min() >= -1e-9 and out.max() <= 1 + 1e-9
            if engine is not None:
                exact = engine.count_on_line(net, np.array([0.0]), np.array([1.0])).count
                print(f"    regions.count_on_line on [0, 1]: {exact}")
                assert exact == n ** depth
            lower, upper = bounds.montufar_lower(1, [n] * depth), bounds.serra_upper(1, [n] * depth)
            net_m = zigzag_net(n, depth, montufar_last=True)
            count_m, _ = grid_pattern_count(net_m)
            print(f"    last layer inside the folds: {count_m} regions = montufar_lower "
                  f"{lower} <= serra_upper {upper}")
            assert count_m == lower <= upper
            if engine is not None:
                exact = engine.count_on_line(net_m, np.array([0.0]), np.array([1.0])).count
                print(f"    regions.count_on_line on [0, 1]: {exact}")
                assert exact == lower
    print("QED: depth multiplies regions (n^L with n L units), and the Montúfar bound for n0 = 1 "
          "is attained.")


if __name__ == "__main__":
    main()
