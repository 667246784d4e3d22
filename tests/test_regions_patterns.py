"""count_patterns: distinct certified patterns among points, chunked and bit-packed; a lower
bound on the exact counts (count_on_plane) even on points that lie on (concurrent) kinks."""

from __future__ import annotations

import pickle
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reluthe import InvalidInputError, regions
from reluthe.models import mlp
from reluthe.nets import as_plnet


def test_counts_distinct_patterns_whatever_the_chunk_size():
    net = mlp([3, 20, 20, 20, 1], seed=0)
    pts = np.random.default_rng(0).uniform(-1, 1, size=(20_000, 3))
    states = as_plnet(net).states(pts)
    expected = len(np.unique(states, axis=0))
    for chunk in (7, 1000, 1 << 20):
        n = regions.count_patterns(net, pts, chunk_size=chunk)
        assert n == expected and isinstance(n, int) and n.uncertified == 0
    assert regions.count_patterns(net, torch.tensor(pts)) == expected
    assert regions.count_patterns(net, pts[:0]) == 0
    codes = regions.pattern_codes(net, pts[:50])
    assert codes.shape == (50, 9) and len(np.unique(codes, axis=0)) == len(
        np.unique(states[:50], axis=0))


def test_a_lower_bound_on_the_exact_count():
    net = mlp([2, 16, 16, 1], init="he", seed=1)
    plane = regions.count_on_plane(net, np.zeros(2), np.array([1.0, 0]), np.array([0, 1.0]))
    pts = np.random.default_rng(1).uniform(-1, 1, size=(50_000, 2))
    assert regions.count_patterns(net, pts) <= plane.count


def test_three_state_units_are_told_apart():
    net = torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.ReLU6())
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.fill_(0.0)
    assert regions.count_patterns(net, np.array([[-1.0], [3.0], [7.0], [8.0]])) == 3


@pytest.mark.parametrize("points, match", [
    (np.zeros((4, 3)), "shape \\(n, 2\\)"),
    (np.array([[0.0, np.nan]]), "finite"),
])
def test_bad_points(points, match):
    with pytest.raises(InvalidInputError, match=match):
        regions.count_patterns(mlp([2, 4, 1]), points)


def test_hash_collisions_fall_back_to_an_exact_count(monkeypatch):
    from reluthe.regions import _patterns

    words = np.random.default_rng(0).integers(0, 3, size=(500, 3)).astype(np.uint64)
    expected = len(np.unique(words, axis=0))
    assert _patterns._distinct_rows(words) == expected
    monkeypatch.setattr(_patterns, "_mix", lambda x: x * np.uint64(0))  # every hash collides
    assert _patterns._distinct_rows(words) == expected


E1, E2, O2 = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.zeros(2)


def exact_count(net) -> int:
    return regions.count_on_plane(net, O2, E1, E2, (-1.0, 1.0, -1.0, 1.0)).count


def grid(n: int) -> np.ndarray:
    g = np.linspace(-1.0, 1.0, n)
    x, y = np.meshgrid(g, g)
    return np.c_[x.ravel(), y.ravel()]


def test_three_concurrent_kinks_on_a_grid_are_not_over_counted():
    """The issue's case: the old count was 7 (the origin's all-off pattern is no region)."""
    w = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    net = [(w, np.zeros(3)), (np.ones((1, 3)), np.zeros(1))]
    n = regions.count_patterns(net, grid(201))
    assert exact_count(net) == 6
    assert n == 6 and n.n_points == 201 * 201
    # the points on x = 0 and y = 0 (exact zeros of linspace) are left out, and those of the
    # diagonal whose -x - y is within rounding of 0 (linspace is not exactly symmetric)
    assert 2 * 201 - 1 <= n.uncertified <= 3 * 201 - 2
    assert n.certified == n.n_points - n.uncertified


def test_a_unit_that_is_zero_on_whole_regions_is_not_over_counted():
    """relu(x) + relu(y) - relu(x + y) is exactly 0 on two quadrants, where rounding gives
    +-1e-16: the old count was 9 against an exact 7; those points are never certified now."""
    w1 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    w2 = np.array([[1.0, 1.0, -1.0], [1.0, -1.0, 0.0]])
    net = [(w1, np.zeros(3)), (w2, np.zeros(2)), (np.ones((1, 2)), np.zeros(1))]
    pts = grid(201)
    n = regions.count_patterns(net, pts)
    assert exact_count(net) == 7
    assert n <= 7 and n.uncertified >= (pts.min(axis=1) >= 0).sum()   # the quadrant x, y >= 0


def test_concurrent_kinks_of_a_deep_integer_net():
    """A 2-5-3 integer net whose kinks meet at grid points: the old count was 32 (exact 27)."""
    w1 = np.array([[0, -2], [-1, -3], [-3, -3], [-2, 2], [1, 3]], dtype=float)
    w2 = np.array([[0, 0, 3, -2, 2], [1, -3, -1, 3, 0], [-3, 2, 2, 2, -2]], dtype=float)
    net = [(w1, np.array([0.0, 0, 1, 1, 0])), (w2, np.array([-1.0, 1, -1])),
           (np.ones((1, 3)), np.zeros(1))]
    n = regions.count_patterns(net, grid(201))
    assert exact_count(net) == 27 and n == 27 and n.uncertified > 0


def test_a_dead_unit_is_never_certified():
    net = [(np.array([[1.0, 0.0], [0.0, 0.0]]), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))]
    pts = np.random.default_rng(0).uniform(-1, 1, size=(100, 2))
    n = regions.count_patterns(net, pts)
    assert n == 0 and n.uncertified == 100 and n.to_dict() == {
        "count": 0, "uncertified": 100, "n_points": 100}


def test_kinks_of_other_activations_are_certified_too():
    """Points on a kink of either layer (``z1 = x``, ``z2 = act(x) + 0.25``) are left out,
    also where the second layer's kink is reached through a rounded LeakyReLU slope."""
    for act, kinks in ((torch.nn.ReLU6(), (0.0, 6.0, 5.75)),
                       (torch.nn.Hardtanh(), (-1.0, 1.0, 0.75)),
                       (torch.nn.LeakyReLU(0.1), (0.0, -2.5))):
        net = torch.nn.Sequential(torch.nn.Linear(1, 1), act, torch.nn.Linear(1, 1), act)
        with torch.no_grad():
            for lin, bias in ((net[0], 0.0), (net[2], 0.25)):
                lin.weight.fill_(1.0)
                lin.bias.fill_(bias)
        pts = np.array([[-7.0], [-0.5], [0.5], [3.0], [7.0], *([k] for k in kinks)])
        n = regions.count_patterns(net, pts)
        assert n.uncertified == len(kinks) and n <= 5, act


def test_the_result_is_an_int_that_pickles():
    net = [(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))]
    n = regions.count_patterns(net, [[0.0, 0.5], [0.5, 0.5], [-0.5, 0.5]])
    assert (int(n), n.uncertified, n.n_points, repr(n)) == (2, 1, 3, "2")
    back = pickle.loads(pickle.dumps(n))
    assert back == 2 and back.uncertified == 1 and back.n_points == 3
    assert regions.count_patterns(net, np.zeros((0, 2))).uncertified == 0


def test_tight_on_a_generic_float_net_and_a_dense_grid():
    net = mlp([2, 6, 1], init="he", seed=0)
    n = regions.count_patterns(net, grid(400))
    assert n == exact_count(net) and n.uncertified == 0


def test_a_certified_point_has_its_exact_pattern_even_within_ulps_of_a_kink():
    """Points bisected onto kinks of either layer (to the last ulp) of a float net, and moved off
    them by 1e-15 to 1e-13: wherever the pattern is certified, exact rational arithmetic agrees
    with it and no unit is exactly 0."""
    rng = np.random.default_rng(3)
    pairs = [(rng.normal(size=(3, 2)), rng.normal(size=3)),
             (rng.normal(size=(3, 3)), rng.normal(size=3))]
    net = pairs + [(np.ones((1, 3)), np.zeros(1))]
    pl = as_plnet(net)

    def exact_z(p):
        h, out = [Fraction(float(v)) for v in p], []
        for w, b in pairs:
            z = [sum((Fraction(float(wij)) * hj for wij, hj in zip(row, h)), Fraction(float(bi)))
                 for row, bi in zip(w, b)]
            out += z
            h = [max(v, Fraction(0)) for v in z]
        return np.array([float(np.sign(v)) for v in out])

    pts, certified_near = [], 0
    while len(pts) < 240:
        a, b = rng.uniform(-2, 2, size=(2, 2))
        unit = int(rng.integers(6))
        za, zb = (pl.preactivations(np.array([a, b]))[unit // 3][:, unit % 3])
        if za * zb >= 0:
            continue
        for _ in range(70):                         # bisect the computed z onto its kink
            m = (a + b) / 2
            zm = pl.preactivations(m[None])[unit // 3][0, unit % 3]
            a, b = (m, b) if (zm > 0) == (za > 0) else (a, m)
        pts += [a, b] + [a + t * rng.normal(size=2) for t in (1e-15, 1e-14, 3e-14, 1e-13)]
    for p in pts:
        n = regions.count_patterns(net, p[None])
        if n.uncertified == 0:
            certified_near += 1
            s = exact_z(p)
            assert np.all(s != 0) and np.array_equal(s > 0, pl.states(p[None])[0] > 0)
    assert 0 < certified_near < len(pts)            # the bound is neither void nor trivial


@st.composite
def integer_nets(draw):
    widths = [2] + draw(st.lists(st.integers(1, 4), min_size=1, max_size=2))
    pairs = []
    for fi, fo in zip(widths[:-1], widths[1:]):
        w = draw(st.lists(st.integers(-3, 3), min_size=fi * fo, max_size=fi * fo))
        b = draw(st.lists(st.integers(-3, 3), min_size=fo, max_size=fo))
        pairs.append((np.array(w, dtype=np.int64).reshape(fo, fi), np.array(b, dtype=np.int64)))
    return pairs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(integer_nets(), st.sampled_from([4, 8, 16]))
def test_never_more_than_the_exact_count_on_integer_nets(pairs, k):
    """Grid points i / k (exact dyadic numbers) include the lattice points where kinks meet; the
    forward pass is then exact, so a point is uncertified exactly when it lies on a kink, and the
    certified patterns are the exact patterns of the points off every kink."""
    ij = np.stack(np.meshgrid(np.arange(-k, k + 1), np.arange(-k, k + 1)), -1).reshape(-1, 2)
    net = [(w.astype(float), b.astype(float)) for w, b in pairs] + [
        (np.ones((1, pairs[-1][0].shape[0])), np.zeros(1))]
    n = regions.count_patterns(net, ij / k)
    h, cols = ij, []                       # the exact pre-activations, scaled by k (integers)
    for w, b in pairs:
        z = h @ w.T + k * b
        cols.append(z)
        h = np.maximum(z, 0)
    z = np.concatenate(cols, axis=1)
    on_kink = (z == 0).any(axis=1)
    assert n.uncertified == on_kink.sum() and n.n_points == len(ij)
    assert n == len(np.unique(z[~on_kink] > 0, axis=0))
    assert n <= exact_count(net)
