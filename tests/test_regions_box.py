"""count_in_box: Zaslavsky's count, agreement with the 2-D slice, geometry, graph, bounds."""

from __future__ import annotations

import itertools
import json
from math import comb

import networkx as nx
import numpy as np
import pytest
from _nets import he_net
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reluthe import InvalidInputError, RegionLimitError, regions
from reluthe.nets import as_plnet
from reluthe.symbolic.bounds import serra_upper  # Serra et al. (2018), Theorem 1


@pytest.mark.parametrize("d, n", [(2, 9), (3, 8), (4, 7), (5, 7), (6, 8)])
def test_one_layer_gives_zaslavskys_number_when_the_box_holds_every_vertex(d, n):
    rng = np.random.default_rng(10 * d + n)
    w, b = rng.normal(size=(n, d)), rng.normal(size=n)
    vertices = np.array([np.linalg.solve(w[list(s)], -b[list(s)])
                         for s in itertools.combinations(range(n), d)])
    low, high = vertices.min(axis=0) - 1, vertices.max(axis=0) + 1
    res = regions.count_in_box([(w, b), (np.ones((1, n)), np.zeros(1))], low, high)
    assert res.count == sum(comb(n, i) for i in range(d + 1))
    assert sum((-1) ** k * f for k, f in enumerate(res.f_vector)) == 1
    assert res.volumes.sum() == pytest.approx(np.prod(high - low), rel=1e-9)
    # a smaller box holds fewer regions
    mid = (low + high) / 2
    assert regions.count_in_box([(w, b), (np.ones((1, n)), np.zeros(1))], mid - 0.01,
                                mid + 0.01).count < res.count


def test_a_net_that_ignores_x3_has_the_regions_of_its_2d_slice():
    pairs = he_net([3, 10, 10, 10], 2)
    pairs[0][0][:, 2] = 0.0
    box = regions.count_in_box(pairs, [-1, -1, -1], [1, 1, 1])
    plane = regions.count_on_plane(pairs, np.zeros(3), np.array([1.0, 0, 0]),
                                   np.array([0, 1.0, 0]), (-1, 1, -1, 1))
    assert box.count == plane.count > 50
    assert {tuple(p) for p in box.patterns.tolist()} == {tuple(p) for p in plane.patterns.tolist()}
    np.testing.assert_allclose(np.sort(box.volumes), 2 * np.sort(plane.areas), rtol=1e-9,
                               atol=1e-15)
    assert box.linear_count == plane.linear_count
    assert box.graph.number_of_edges() == plane.graph.number_of_edges()


def test_box_in_2d_equals_the_plane():
    pairs = he_net([2, 12, 12], 8)
    box = regions.count_in_box(pairs, [-1, -2], [2, 1])
    plane = regions.count_on_plane(pairs, np.zeros(2), np.array([1.0, 0]), np.array([0, 1.0]),
                                   (-1, 2, -2, 1))
    assert box.count == plane.count and box.linear_count == plane.linear_count


def test_geometry_and_graph_of_a_3d_net():
    widths = [3, 12, 12, 12]
    pairs = he_net(widths, 4)
    res = regions.count_in_box(pairs, [-1, -1, -1], [1, 1, 1])
    assert 100 < res.count <= serra_upper(3, widths[1:])
    assert res.volumes.sum() == pytest.approx(8.0, rel=1e-10)
    assert res.smallest_size > 0
    f = res.f_vector                      # vertices, edges, 2-faces, cells of the subdivision
    assert len(f) == 4 and f[3] == res.count and f[0] - f[1] + f[2] - f[3] == 1
    g = res.graph
    assert nx.is_connected(g) and g.number_of_nodes() == res.count
    pats = res.patterns
    for a, b, (layer, unit) in g.edges(data="neuron"):
        assert np.flatnonzero(pats[a] != pats[b]).tolist() == [12 * layer + unit]
    net = as_plnet(pairs)
    np.testing.assert_array_equal(net.states(res.interior_points), pats)
    assert json.loads(json.dumps(res.to_dict()))["count"] == res.count


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), width=st.integers(1, 8), depth=st.integers(1, 3))
def test_sampled_patterns_are_among_the_regions_in_3d(seed, width, depth):
    widths = [3] + [width] * depth
    pairs = he_net(widths, seed)
    res = regions.count_in_box(pairs, [-1, -1, -1], [1, 1, 1])
    pts = np.random.default_rng(seed).uniform(-1, 1, size=(3000, 3))
    sampled = {tuple(p) for p in as_plnet(pairs).states(pts).tolist()}
    assert sampled <= {tuple(p) for p in res.patterns.tolist()}
    assert len(sampled) <= res.count <= serra_upper(3, widths[1:])
    assert res.volumes.sum() == pytest.approx(8.0, rel=1e-9)


def test_degenerate_planes_through_the_centre_in_3d():
    # six planes through the origin (box centre), two of them equal, plus a zero row
    w = np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [2, 2, 2], [0, 0, 0]])
    res = regions.count_in_box([(w, np.zeros(6)), (np.ones((1, 6)), np.zeros(1))],
                               [-1, -1, -1], [1, 1, 1])
    # octants (8); x+y+z=0 cuts the 6 octants with mixed signs in two
    assert res.count == 14
    assert res.volumes.sum() == pytest.approx(8.0)
    assert sum((-1) ** k * f for k, f in enumerate(res.f_vector)) == 1


@pytest.mark.parametrize("low, high, match", [
    ([1, 0, 0], [0, 1, 1], "low < high"),
    ([0, 0, 0], [0, 1, 1], "low < high"),
    ([0, 0], [1, 1], "'low'.*dimension 3"),
    ([0, 0, np.nan], [1, 1, 1], "'low'.*finite"),
])
def test_bad_boxes_are_rejected(low, high, match):
    with pytest.raises(InvalidInputError, match=match):
        regions.count_in_box(he_net([3, 4], 0), low, high)


def test_region_limit_in_3d():
    with pytest.raises(RegionLimitError) as info:
        regions.count_in_box(he_net([3, 16, 16], 0), [-1, -1, -1], [1, 1, 1], max_regions=40)
    assert info.value.found > 40
