"""count_on_plane: known counts, geometry, the region graph, bounds, samples, degenerate input."""

from __future__ import annotations

import itertools
import json
from math import comb

import networkx as nx
import numpy as np
import pytest
from _nets import hardtanh_leaky_net, he_net
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reluthe import InvalidInputError, RegionLimitError, regions
from reluthe.nets import as_plnet
from reluthe.symbolic.bounds import serra_upper  # Serra et al. (2018), Theorem 1

BOX = (-1.0, 1.0, -1.0, 1.0)
E1, E2, O2 = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.zeros(2)



def euler_characteristic(res) -> int:
    """V - E + F of the subdivided rectangle, read from the polygons (boundary edges once)."""
    polys = res.polygons
    xy = np.concatenate(polys)
    _, vid = np.unique(xy, axis=0, return_inverse=True)
    vid = vid.ravel()
    edges = set()
    start = 0
    for p in polys:
        ids = vid[start:start + len(p)]
        edges.update(tuple(sorted((int(a), int(b)))) for a, b in zip(ids, np.roll(ids, -1)))
        start += len(p)
    return int(vid.max() + 1) - len(edges) + len(polys)


@pytest.mark.parametrize("n", [6, 13])
def test_one_layer_gives_zaslavskys_number_when_the_box_holds_every_vertex(n):
    rng = np.random.default_rng(n)
    w, b = rng.normal(size=(n, 2)), rng.normal(size=n)
    vertices = np.array([np.linalg.solve(w[[i, j]], -b[[i, j]])
                         for i, j in itertools.combinations(range(n), 2)])
    lo, hi = vertices.min(axis=0) - 1, vertices.max(axis=0) + 1
    res = regions.count_on_plane([(w, b), (np.ones((1, n)), np.zeros(1))], O2, E1, E2,
                                 (lo[0], hi[0], lo[1], hi[1]))
    assert res.count == sum(comb(n, i) for i in range(3))
    assert res.linear_count == res.count


def test_geometry_graph_and_bounds_of_a_deep_net():
    widths = [2, 16, 16, 16]
    res = regions.count_on_plane(he_net(widths, 1), O2, E1, E2, BOX)
    assert 100 < res.count <= serra_upper(2, widths[1:])
    assert res.areas.sum() == pytest.approx(4.0, rel=1e-12)
    assert res.smallest_size == res.areas.min() > 0
    assert euler_characteristic(res) == 1
    assert res.f_vector[0] - res.f_vector[1] + res.f_vector[2] == 1
    assert len(res.polygons) == res.count
    for poly, area in zip(res.polygons[:50], res.areas[:50]):  # counter-clockwise, same area
        x, y = poly[:, 0], poly[:, 1]
        assert 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) == pytest.approx(area)
    g = res.graph
    assert g.number_of_nodes() == res.count and nx.is_connected(g)
    pats = res.patterns
    offsets = np.cumsum([0, *widths[1:]])
    for a, b, (layer, unit) in g.edges(data="neuron"):
        diff = np.flatnonzero(pats[a] != pats[b])
        assert diff.tolist() == [offsets[layer] + unit]
    # every region's interior point has the region's pattern
    net = as_plnet(he_net(widths, 1))
    np.testing.assert_array_equal(net.states(res.to_input(res.interior_points)), pats)
    assert json.loads(json.dumps(res.to_dict()))["count"] == res.count


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), w1=st.integers(1, 12), w2=st.integers(1, 12),
       depth=st.integers(1, 3))
def test_sampled_patterns_are_among_the_regions(seed, w1, w2, depth):
    widths = [2, w1] + [w2] * (depth - 1)
    pairs = he_net(widths, seed)
    res = regions.count_on_plane(pairs, O2, E1, E2, BOX)
    pts = np.random.default_rng(seed).uniform(-1, 1, size=(4000, 2))
    assert regions.count_patterns(pairs, pts) <= res.count <= serra_upper(2, widths[1:])
    net = as_plnet(pairs)
    sampled = {tuple(p) for p in net.states(pts).tolist()}
    assert sampled <= {tuple(p) for p in res.patterns.tolist()}
    assert res.areas.sum() == pytest.approx(4.0, rel=1e-12)


def test_linear_regions_merge_across_units_the_output_ignores():
    rng = np.random.default_rng(4)
    w, b = rng.normal(size=(6, 2)), rng.normal(scale=0.3, size=6)
    out = rng.normal(size=(2, 6))
    out[:, :2] = 0.0                      # units 0 and 1 change nothing downstream
    res = regions.count_on_plane([(w, b), (out, np.zeros(2))], O2, E1, E2, BOX)
    without = regions.count_on_plane([(w[2:], b[2:]), (out[:, 2:], np.zeros(2))], O2, E1, E2,
                                      BOX)
    assert res.count > without.count == res.linear_count
    # a dead second-layer unit: never on, so it splits nothing
    dead = [(w, b), (np.vstack([-np.abs(rng.normal(size=(1, 6))), rng.normal(size=(3, 6))]),
                     np.array([-1.0, 0.1, 0.0, -0.2])), (np.ones((1, 4)), np.zeros(1))]
    res = regions.count_on_plane(dead, O2, E1, E2, BOX)
    assert (res.patterns[:, 6] == 0).all()


def test_hardtanh_and_leaky_relu_units():
    net = hardtanh_leaky_net(2, 5, 4)
    res = regions.count_on_plane(net, O2, E1, E2, BOX)
    pats = res.patterns
    assert pats[:, :5].max() == 2 and pats[:, 5:].max() == 1
    for a, b, (layer, unit) in res.graph.edges(data="neuron"):
        diff = np.flatnonzero(pats[a] != pats[b])
        assert diff.tolist() == [5 * layer + unit] and abs(int(pats[a, diff[0]])
                                                           - int(pats[b, diff[0]])) == 1
    pts = np.random.default_rng(0).uniform(-1, 1, size=(20000, 2))
    sampled = {tuple(p) for p in net.states(pts).tolist()}
    assert sampled <= {tuple(p) for p in pats.tolist()}
    assert res.areas.sum() == pytest.approx(4.0)


def test_count_matches_regioncam_on_a_small_net():
    regioncam = pytest.importorskip("regioncam")
    pairs = he_net([2, 32, 32], 0)
    rc = regioncam.Regioncam(size=1.0)
    for w, b in pairs[:-1]:
        rc.linear(w.T.astype(np.float32), b.astype(np.float32))
        rc.relu()
    assert regions.count_on_plane(pairs, O2, E1, E2, BOX).count == rc.num_faces


def test_plot_draws_one_polygon_per_region_without_pyplot(tmp_path):
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    figs = plt.get_fignums()
    res = regions.count_on_plane(he_net([2, 8, 8], 3), O2, E1, E2, BOX)
    ax = res.plot()
    (coll,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(coll.get_paths()) == res.count
    ax.figure.savefig(tmp_path / "r.png", dpi=50)
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    assert plt.get_fignums() == figs


def test_plane_through_three_points():
    rng = np.random.default_rng(0)
    p = rng.normal(size=(3, 5))
    origin, u, v, extent = regions.plane_through(*p)
    assert abs(u @ v) < 1e-12 and np.linalg.norm(u) == pytest.approx(1)
    for q in p:
        a, b = (q - origin) @ u, (q - origin) @ v
        np.testing.assert_allclose(origin + a * u + b * v, q, atol=1e-12)
        assert extent[0] < a < extent[1] and extent[2] < b < extent[3]
    with pytest.raises(InvalidInputError, match="collinear"):
        regions.plane_through(p[0], p[1], 2 * p[1] - p[0])


@pytest.mark.parametrize("kwargs, match", [
    ({"u": np.array([1.0, 1.0]), "v": np.array([2.0, 2.0])}, "'u' and 'v'"),
    ({"v": np.zeros(2)}, "'u' and 'v'"),
    ({"extent": (1.0, -1.0, -1.0, 1.0)}, "'extent'"),
    ({"extent": (0.0, 0.0, -1.0, 1.0)}, "'extent'"),
    ({"extent": (0.0, 1.0)}, "'extent'"),
    ({"origin": np.zeros(3)}, "'origin'.*dimension 2"),
    ({"origin": np.array([np.nan, 0.0])}, "'origin'.*finite"),
    ({"tol": -1.0}, "'tol'"),
    ({"max_regions": 0}, "'max_regions'"),
])
def test_bad_input_names_the_argument(kwargs, match):
    args = {"origin": O2, "u": E1, "v": E2, "extent": BOX, **kwargs}
    with pytest.raises(InvalidInputError, match=match):
        regions.count_on_plane(he_net([2, 4], 0), **args)


def test_nan_weights_and_region_limit():
    bad = he_net([2, 4], 0)
    bad[0][0][1, 1] = np.inf
    with pytest.raises(InvalidInputError, match="finite"):
        regions.count_on_plane(bad, O2, E1, E2, BOX)
    with pytest.raises(RegionLimitError, match="max_regions=50") as info:
        regions.count_on_plane(he_net([2, 32, 32], 0), O2, E1, E2, BOX, max_regions=50)
    assert info.value.found > 50


def test_polygons_of_cells_merged_into_one_region_are_their_convex_hull():
    from reluthe.regions._engine import subdivide
    from reluthe.regions._plane import _Polygons

    net = as_plnet([(np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2)), (np.ones((1, 2)),
                                                                          np.zeros(1))])
    cut = subdivide(net, -np.ones(2), np.ones(2), tol=1e-10, max_cells=100)
    assert cut.sub.N[2] == 4
    cells = _Polygons(cut.sub, np.arange(4)).build()
    right = [i for i, p in enumerate(cells) if p[:, 0].min() >= 0]       # the two right cells
    region = np.array([0, 1, 2, 3])
    region[right[1]] = region[right[0]]
    region = np.unique(region, return_inverse=True)[1].ravel()
    merged = _Polygons(cut.sub, region).build()
    assert len(merged) == 3
    hull = merged[region[right[0]]]
    x, y = hull[:, 0], hull[:, 1]
    assert 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) == pytest.approx(2.0)


def test_cells_with_one_pattern_form_one_region():
    """The tolerance path: cells that end with equal patterns are one region (sizes add up)."""
    from reluthe.regions._engine import subdivide, summarize

    net = as_plnet([(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.0, 0.5])),
                    (np.ones((1, 2)), np.zeros(1))])
    cut = subdivide(net, -np.ones(2), np.ones(2), tol=1e-10, max_cells=100)
    full = summarize(cut, 1e-9)
    assert full.rep_cell.size == 4
    a, b = full.edges[0]                       # two neighbouring cells get the same pattern
    cut.sub.packed[:, b] = cut.sub.packed[:, a]
    merged = summarize(cut, 1e-9)
    assert merged.rep_cell.size == 3 and merged.sizes.sum() == pytest.approx(4.0)
    assert merged.region_of_cell[a] == merged.region_of_cell[b]
    assert merged.edges.shape[0] == full.edges.shape[0] - 1
