"""The search engine (count_near, count_in_box(engine="search")): Zaslavsky's count, agreement
with the lattice engine and with 2-D/3-D slices, sampled lower bounds in 64-D and 784-D, the L1
ball against clipped plane polygons, and bad input."""

from __future__ import annotations

import itertools
import json
from math import comb

import numpy as np
import pytest

from reluthe import InvalidInputError, RegionLimitError, regions
from reluthe.nets import as_plnet


def he_net(widths, seed, out=1, bias=None):
    rng = np.random.default_rng(seed)
    pairs = []
    for fi, fo in zip(widths[:-1], widths[1:]):
        b = (rng.uniform(-1 / np.sqrt(fi), 1 / np.sqrt(fi), fo) if bias is None
             else rng.normal(0, bias, fo))
        pairs.append((rng.normal(0, np.sqrt(2 / fi), (fo, fi)), b))
    return pairs + [(rng.normal(size=(out, widths[-1])), np.zeros(out))]


def pattern_set(patterns) -> set:
    return {tuple(p) for p in np.asarray(patterns).tolist()}


def edge_set(res) -> set:
    pats = res.patterns
    return {frozenset((tuple(pats[a]), tuple(pats[b]))) for a, b in res.adjacency.tolist()}


def zaslavsky_case(d, n):
    """One layer of n units in general position and a box holding every vertex."""
    rng = np.random.default_rng(10 * d + n)
    w, b = rng.normal(size=(n, d)), rng.normal(size=n)
    vertices = np.array([np.linalg.solve(w[list(s)], -b[list(s)])
                         for s in itertools.combinations(range(n), d)])
    return [(w, b), (np.ones((1, n)), np.zeros(1))], vertices.min(0) - 1, vertices.max(0) + 1


def check_zaslavsky(d, n):
    net, low, high = zaslavsky_case(d, n)
    res = regions.count_in_box(net, low, high, engine="search")
    assert res.engine == "search"
    assert res.count == sum(comb(n, k) for k in range(d + 1))
    # every hyperplane is cut by the other n - 1 into the regions of a (d-1)-arrangement
    assert res.adjacency.shape[0] == n * sum(comb(n - 1, k) for k in range(d))
    np.testing.assert_array_equal(as_plnet(net).states(res.interior_points), res.patterns)
    return res


def test_one_layer_in_6d_gives_zaslavskys_number():
    check_zaslavsky(6, 8)


@pytest.mark.slow
@pytest.mark.parametrize("d, n", [(10, 12), (12, 14)])
def test_one_layer_in_10d_and_12d_gives_zaslavskys_number(d, n):
    res = check_zaslavsky(d, n)
    assert res.count in (4083, 16369)


@pytest.mark.parametrize("widths, seed", [([2, 8, 8, 8], 0), ([3, 8, 8], 1), ([4, 6, 6], 2)])
def test_search_and_lattice_find_the_same_regions_and_graph(widths, seed):
    net = he_net(widths, seed)
    d = widths[0]
    lat = regions.count_in_box(net, -np.ones(d), np.ones(d), engine="lattice")
    sea = regions.count_in_box(net, -np.ones(d), np.ones(d), engine="search")
    assert lat.engine == "lattice" and sea.engine == "search"
    assert sea.count == lat.count > 20
    assert pattern_set(sea.patterns) == pattern_set(lat.patterns)
    assert edge_set(sea) == edge_set(lat)
    assert sea.linear_count == lat.linear_count
    assert np.all(np.isnan(sea.volumes)) and sea.f_vector == ()


def test_hardtanh_units_with_two_kinks_agree_with_the_lattice():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 6), torch.nn.Hardtanh(-0.3, 0.4),
                                torch.nn.Linear(6, 5), torch.nn.ReLU6(), torch.nn.Linear(5, 1))
    lat = regions.count_in_box(model, [-2, -2], [2, 2], engine="lattice")
    sea = regions.count_in_box(model, [-2, -2], [2, 2], engine="search")
    assert sea.count == lat.count > 10 and sea.patterns.max() == 2
    assert pattern_set(sea.patterns) == pattern_set(lat.patterns)
    assert edge_set(sea) == edge_set(lat)


def test_a_10d_net_that_ignores_8_inputs_has_the_regions_of_its_plane():
    pairs = he_net([10, 10, 10], 3)
    pairs[0][0][:, 2:] = 0.0
    near = regions.count_near(pairs, np.zeros(10), 1.0)
    plane = regions.count_on_plane(pairs, np.zeros(10), np.eye(10)[0], np.eye(10)[1],
                                   (-1, 1, -1, 1))
    assert near.count == plane.count > 20
    assert pattern_set(near.patterns) == pattern_set(plane.patterns)
    assert edge_set(near) == edge_set(plane)
    assert near.linear_count == plane.linear_count


def test_a_9d_net_that_ignores_6_inputs_has_the_regions_of_its_3d_box():
    pairs = he_net([9, 8, 8], 4)
    small = [(pairs[0][0][:, :3].copy(), pairs[0][1]), *pairs[1:]]
    pairs[0][0][:, 3:] = 0.0
    low, high = np.array([-1.0, -0.5, -2.0]), np.array([1.0, 1.5, 0.0])
    full = regions.count_in_box(pairs, np.r_[low, -np.ones(6)], np.r_[high, np.ones(6)])
    box = regions.count_in_box(small, low, high)
    assert full.engine == "search" and box.engine == "lattice"
    assert full.count == box.count > 20
    assert pattern_set(full.patterns) == pattern_set(box.patterns)


@pytest.mark.parametrize("d, radius", [(64, 0.01), (784, 0.002)])
def test_sampled_patterns_are_among_the_regions_in_high_dimension(d, radius):
    net = as_plnet(he_net([d, 32, 32], 5, out=10, bias=0.1))
    rng = np.random.default_rng(d)
    center = rng.uniform(0, 1, d)
    res = regions.count_near(net, center, radius)
    samples = center + radius * rng.uniform(-1, 1, (4000, d))
    assert regions.count_patterns(net, samples) <= res.count
    assert pattern_set(net.states(samples)) <= pattern_set(res.patterns)
    np.testing.assert_array_equal(net.states(res.interior_points), res.patterns)
    assert np.all(np.abs(res.interior_points - center).max(axis=1) <= radius)
    assert np.all(res.radii >= res.tol * radius * (1 - 1e-6))
    assert res.graph.number_of_nodes() == res.count > 1


def _clip(poly: np.ndarray, normal: np.ndarray, offset: float) -> np.ndarray:
    """The part of a convex polygon with ``normal . p <= offset`` (Sutherland-Hodgman)."""
    out = []
    for p, q in zip(poly, np.roll(poly, -1, axis=0)):
        fp, fq = normal @ p - offset, normal @ q - offset
        if fp <= 0:
            out.append(p)
        if fp * fq < 0:
            out.append(p + fp / (fp - fq) * (q - p))
    return np.array(out).reshape(-1, 2)


def _area(poly: np.ndarray) -> float:
    if len(poly) < 3:
        return 0.0
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(x @ np.roll(y, -1) - y @ np.roll(x, -1)))


def test_l1_ball_in_2d_matches_the_plane_polygons_clipped_to_the_diamond():
    pairs = he_net([2, 10, 10], 6)
    center, r = np.array([0.2, -0.1]), 0.8
    near = regions.count_near(pairs, center, r, norm="1")
    plane = regions.count_on_plane(pairs, center, [1, 0], [0, 1], (-r, r, -r, r))
    meets = set()
    for poly, pat in zip(plane.polygons, plane.patterns.tolist()):
        for sx, sy in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
            poly = _clip(poly, np.array([sx, sy], dtype=float), r)
        if _area(poly) > 1e-9:
            meets.add(tuple(pat))
    assert near.count == len(meets) < plane.count
    assert pattern_set(near.patterns) == meets
    assert np.all(np.abs(near.interior_points - center).sum(axis=1) <= r)


def test_many_points_in_parallel_give_the_counts_of_one_point_each():
    pairs = he_net([12, 16, 16], 7)
    pts = np.random.default_rng(0).normal(size=(4, 12))
    one = [regions.count_near(pairs, p, 0.05).count for p in pts]
    many = regions.count_near_many(pairs, pts, 0.05, progress=False)
    par = regions.count_near_many(pairs, pts, 0.05, jobs=2, backend="threading",
                                  progress=False)
    assert [r.count for r in many] == [r.count for r in par] == one and max(one) > 5
    assert [pattern_set(a.patterns) == pattern_set(b.patterns) for a, b in zip(many, par)] == \
        [True] * 4


def test_points_in_the_input_shape_of_a_conv_net_are_flattened():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(72, 3))
    x = np.random.default_rng(1).uniform(0, 1, (1, 8, 8))
    shaped = regions.count_near(model, x, 0.05, input_shape=(1, 8, 8))
    flat = regions.count_near(model, x.reshape(-1), 0.05, input_shape=(1, 8, 8))
    assert shaped.count == flat.count > 1
    np.testing.assert_array_equal(shaped.center, x.reshape(-1))
    many = regions.count_near_many(model, np.stack([x, x]), 0.05, input_shape=(1, 8, 8),
                                   progress=False)
    assert [r.count for r in many] == [flat.count] * 2


def test_results_are_json_ready_and_say_which_engine_ran():
    pairs = he_net([8, 6, 6], 8)
    near = regions.count_near(pairs, np.zeros(8), 0.3, norm="1")
    d = json.loads(json.dumps(near.to_dict(), allow_nan=False))
    assert d["count"] == near.count and d["engine"] == "search" and d["norm"] == "1"
    assert len(d["patterns"]) == len(d["radii"]) == near.count
    assert {len(p) for p in d["patterns"]} == {12}
    box = regions.count_in_box(pairs, -np.ones(8), np.ones(8))
    b = json.loads(json.dumps(box.to_dict(), allow_nan=False))
    assert box.engine == b["engine"] == "search" and b["total_size"] is None
    assert regions.count_in_box(he_net([3, 4], 0), -np.ones(3), np.ones(3)).engine == "lattice"


# ----------------------------------------------------------------------------- bad input

NET = he_net([4, 5], 9)
C4 = np.zeros(4)


@pytest.mark.parametrize("kwargs, fragments", [
    ({"radius": 0.0}, ("'radius'", "> 0")),
    ({"radius": -1.0}, ("'radius'", "> 0")),
    ({"radius": np.inf}, ("'radius'", "finite")),
    ({"radius": np.nan}, ("'radius'", "finite")),
    ({"radius": "1"}, ("'radius'",)),
    ({"radius": 1.0, "center": np.full(4, 1e20)}, ("'radius'", "degenerate")),
    ({"radius": 1e-200}, ("'radius'", "degenerate")),
    ({"radius": 1.0, "center": np.zeros(5)}, ("'center'", "4 values")),
    ({"radius": 1.0, "center": np.zeros((2, 2, 1))}, ("'center'",)),
    ({"radius": 1.0, "center": [0, 0, np.nan, 0]}, ("'center'",)),
    ({"radius": 1.0, "norm": "2"}, ("'norm'", "'inf', '1'", "L2")),
    ({"radius": 1.0, "norm": 1}, ("'norm'",)),
    ({"radius": 1.0, "tol": 1e-9}, ("'tol'", "1e-07")),
    ({"radius": 1.0, "tol": 0.5}, ("'tol'",)),
    ({"radius": 1.0, "max_regions": 0}, ("'max_regions'",)),
])
def test_bad_neighbourhoods_are_named_errors(kwargs, fragments):
    kwargs = {"center": C4, **kwargs}
    with pytest.raises(InvalidInputError) as err:
        regions.count_near(NET, **kwargs)
    for frag in fragments:
        assert frag in str(err.value)


def test_bad_inputs_of_many_points_and_of_the_engine():
    with pytest.raises(InvalidInputError, match="'points'"):
        regions.count_near_many(NET, np.zeros((3, 5)), 1.0)
    with pytest.raises(InvalidInputError, match="'points'"):
        regions.count_near_many(NET, np.zeros((0, 4)), 1.0)
    with pytest.raises(InvalidInputError, match="'jobs'"):
        regions.count_near_many(NET, np.zeros((2, 4)), 1.0, jobs=0)
    with pytest.raises(InvalidInputError, match="'backend'"):
        regions.count_near_many(NET, np.zeros((2, 4)), 1.0, jobs=2, backend="nope")
    with pytest.raises(InvalidInputError, match="'engine'.*lattice"):
        regions.count_in_box(NET, -np.ones(4), np.ones(4), engine="fast")


def test_an_exploding_count_stops_at_the_guard_with_the_number_reached():
    net = he_net([20, 40, 40], 10)
    with pytest.raises(RegionLimitError, match="max_regions=50") as err:
        regions.count_near(net, np.zeros(20), 1.0, max_regions=50)
    assert err.value.found > 50
    with pytest.raises(RegionLimitError) as err:
        regions.count_in_box(net, -np.ones(20), np.ones(20), max_regions=50)
    assert err.value.found > 50


def test_the_memory_budget_stops_the_frontier():
    with pytest.raises(RegionLimitError, match="max_memory") as err:
        regions.count_near(he_net([20, 40, 40], 10), np.zeros(20), 1.0, max_memory=20_000)
    assert err.value.found is not None
