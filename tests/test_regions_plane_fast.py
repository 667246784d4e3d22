"""The plane engine (all kinks of a layer at once) against the sequential engine.

Both cut the same rectangle; where no vertex comes within the tolerance of a kink they must find
the same subdivision: the same f-vector, the same set of patterns, the same areas (up to
rounding: the new vertices are interpolated along different edges) and the same facets with the
same labels. Where a vertex does come that close, the plane engine hands over to the sequential
one (exact tolerance semantics).
"""

from __future__ import annotations

import numpy as np
import pytest
from _nets import hardtanh_leaky_net
from _nets import he_net as _he_pairs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reluthe import RegionLimitError, regions
from reluthe.nets import as_plnet
from reluthe.regions import _plane_cut, _plane_depth
from reluthe.regions._engine import face_points, subdivide
from reluthe.regions._plane import _cell_areas, _edge_areas
from reluthe.regions._plane_cut import PlaneCells
from reluthe.regions._plane_depth import cut_plane


def he_net(widths, seed, bias_std=None):
    """A He net (tests/_nets.py) as a PLNet."""
    return as_plnet(_he_pairs(widths, seed, bias_std))


LOW, HIGH = -np.ones(2), np.ones(2)
EPS = np.finfo(np.float64).eps


def _facets(sub, patterns):
    """Interior facets as {(pattern a, pattern b) sorted: label}."""
    ca, cb, labels = sub.facet_cells()
    return {tuple(sorted((patterns[a], patterns[b]))): int(lab)
            for a, b, lab in zip(ca, cb, labels)}


def assert_same_subdivision(net, low=LOW, high=HIGH):
    fast = cut_plane(net, low, high, tol=1e-10, max_cells=10 ** 6).sub
    ref = subdivide(net, low, high, tol=1e-10, max_cells=10 ** 6).sub
    assert isinstance(fast, PlaneCells)
    assert list(fast.N) == list(ref.N)
    pf = [bytes(r) for r in fast.cell_patterns()]
    pr = [bytes(r) for r in ref.cell_patterns()]
    assert len(set(pf)) == len(pf) and set(pf) == set(pr)
    area_f = dict(zip(pf, fast.cell_areas()))        # shoelace on the ordered cycles
    area_r = dict(zip(pr, _cell_areas(ref)))         # triangles from the cell's edges
    box = float(np.prod(high - low))
    # areas from interpolated vertices: rounding of a few ulps of the box's coordinates
    tol = 64 * EPS * box
    assert max(abs(area_f[p] - area_r[p]) for p in pf) <= tol
    assert sum(area_f.values()) == pytest.approx(box, rel=1e-12)
    assert _facets(fast, pf) == _facets(ref, pr)
    return fast


@pytest.mark.parametrize("widths, bias_std", [
    ([2, 12], None), ([2, 16, 16, 16], None), ([2, 32, 32], None), ([2] + [6] * 7, None),
    ([2, 20, 20, 20], 1e-3), ([2, 24, 24], 1e-4)], ids=["one-layer", "3x16", "2x32", "deep-7",
                                                       "tiny-bias-3x20", "tiny-bias-2x24"])
def test_same_subdivision_as_the_sequential_engine(widths, bias_std):
    assert_same_subdivision(he_net(widths, 3, bias_std))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), width=st.integers(1, 14), depth=st.integers(1, 5),
       tiny=st.booleans())
def test_random_nets_match_the_sequential_engine(seed, width, depth, tiny):
    net = he_net([2] + [width] * depth, seed, 1e-3 if tiny else None)
    rng = np.random.default_rng(seed)
    low = rng.uniform(-2, 0, 2)
    assert_same_subdivision(net, low, low + rng.uniform(0.1, 3, 2))


def test_several_breakpoints_and_slopes():
    assert_same_subdivision(hardtanh_leaky_net(5, 6, 5))


def test_public_result_is_the_same_with_either_engine(monkeypatch):
    net = he_net([2, 24, 24], 8)
    fast = regions.count_on_plane(net, np.zeros(2), [1, 0], [0, 1])
    monkeypatch.setattr(_plane_depth, "_cut_generic", _not_generic)
    ref = regions.count_on_plane(net, np.zeros(2), [1, 0], [0, 1])
    assert (fast.engine, ref.engine) == ("plane", "lattice")
    assert fast.to_dict()["engine"] == "plane"
    assert (fast.count, fast.linear_count, fast.f_vector) == (ref.count, ref.linear_count,
                                                             ref.f_vector)
    order_f = np.lexsort(fast.patterns.T)
    order_r = np.lexsort(ref.patterns.T)
    np.testing.assert_array_equal(fast.patterns[order_f], ref.patterns[order_r])
    np.testing.assert_allclose(fast.areas[order_f], ref.areas[order_r], rtol=0,
                               atol=64 * EPS * 4)
    edges = {tuple(sorted((tuple(fast.patterns[a]), tuple(fast.patterns[b])))): n
             for a, b, n in fast.graph.edges(data="neuron")}
    edges_ref = {tuple(sorted((tuple(ref.patterns[a]), tuple(ref.patterns[b])))): n
                 for a, b, n in ref.graph.edges(data="neuron")}
    assert edges == edges_ref


def _not_generic(*args, **kwargs):
    raise _plane_cut._NotGeneric


@pytest.mark.parametrize("pairs", [
    # kinks through one point (zero biases, the box centre)
    [(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.zeros(3))],
    # a kink through a corner of the box
    [(np.array([[1.0, 1.0], [1.0, -0.3]]), np.array([-2.0, 0.1]))],
    # two units with the same kink
    [(np.array([[1.0, 0.5], [2.0, 1.0]]), np.array([0.1, 0.2]))],
], ids=["concurrent", "corner", "coincident"])
def test_degenerate_layers_go_to_the_sequential_engine(pairs, monkeypatch):
    calls = []

    def counting(*args, **kwargs):
        calls.append(1)
        return subdivide(*args, **kwargs)

    monkeypatch.setattr(_plane_depth, "subdivide", counting)
    net = as_plnet(pairs + [(np.ones((1, pairs[-1][0].shape[0])), np.zeros(1))])
    cut = cut_plane(net, LOW, HIGH, tol=1e-10, max_cells=100)
    assert calls == [1] and not isinstance(cut.sub, PlaneCells)


def test_region_limit_reports_the_count_reached():
    with pytest.raises(RegionLimitError, match="max_regions=40") as info:
        cut_plane(he_net([2, 16, 16], 1), LOW, HIGH, tol=1e-10, max_cells=40)
    assert info.value.found > 40


# --------------------------------------------------------------- depth first, a group at a time

@pytest.fixture
def small_groups(monkeypatch):
    """Groups of a few of the first layer's cells (the default makes one group for these nets);
    returns the list of group sizes the cut used."""
    sizes = []
    group = _plane_depth._Deeper._group

    def counting(self, start, stop):
        sizes.append(stop - start)
        return group(self, start, stop)

    monkeypatch.setattr(_plane_depth, "_GROUP_BYTES", 1)
    monkeypatch.setattr(_plane_depth._Deeper, "_output_bytes", lambda self: 1)
    monkeypatch.setattr(_plane_depth._Deeper, "_group", counting)
    return sizes


@pytest.mark.parametrize("widths, bias_std", [
    ([2, 16, 16, 16], None), ([2] + [6] * 7, None), ([2, 20, 20, 20], 1e-3), ([2, 24, 24], 1e-4)],
    ids=["3x16", "deep-7", "tiny-bias-3x20", "tiny-bias-2x24"])
def test_groups_give_the_same_subdivision(widths, bias_std, small_groups):
    """The first layer's cells a few at a time: every vertex two groups make on their common
    edge is matched, so the cells, facets and areas are those of the sequential engine."""
    assert_same_subdivision(he_net(widths, 3, bias_std))
    assert len(small_groups) > 10 and max(small_groups) <= 2


def test_long_chords_and_crowded_cells_match_the_sequential_engine():
    """48 lines through the middle of the box: the box cell holds 96 points and a chord crosses
    up to 47 others, so the kernels sort them by merge sort, not insertion (32 at most)."""
    assert_same_subdivision(he_net([2, 48, 6], 2, 1e-3))


@pytest.mark.parametrize("widths, bias_std", [([2, 16, 16, 16], None), ([2, 20, 20, 20], 1e-3)],
                         ids=["3x16", "tiny-bias-3x20"])
def test_recomputed_values_in_small_chunks_give_the_same_subdivision(widths, bias_std,
                                                                    monkeypatch):
    """Values at the boundary points too many to keep (recomputed where they are needed, the
    next layer's values there made while they are scanned) and working arrays of two rows."""
    monkeypatch.setattr(_plane_cut, "_KEPT_VALUES", 0)
    monkeypatch.setattr(_plane_cut, "_CHUNK_VALUES", 40)
    assert_same_subdivision(he_net(widths, 5, bias_std))


@pytest.mark.parametrize("seed", range(6))
def test_groups_in_random_boxes_match_the_sequential_engine(seed, small_groups):
    rng = np.random.default_rng(100 + seed)
    net = he_net([2] + [int(rng.integers(3, 15))] * int(rng.integers(2, 5)), seed,
                 1e-3 if seed % 2 else None)
    low = rng.uniform(-2, 0, 2)
    assert_same_subdivision(net, low, low + rng.uniform(0.1, 3, 2))
    assert len(small_groups) >= 1


def test_groups_give_the_same_public_result(small_groups):
    net = he_net([2, 24, 24, 24], 8)
    grouped = regions.count_on_plane(net, np.zeros(2), [1, 0], [0, 1])
    assert len(small_groups) > 10
    small_groups.clear()
    _plane_depth._GROUP_BYTES = 1 << 40                     # one group
    whole = regions.count_on_plane(net, np.zeros(2), [1, 0], [0, 1])
    assert small_groups == [] or len(small_groups) == 1
    assert (grouped.count, grouped.linear_counts, grouped.f_vector) == (
        whole.count, whole.linear_counts, whole.f_vector)
    order_g, order_w = np.lexsort(grouped.patterns.T), np.lexsort(whole.patterns.T)
    np.testing.assert_array_equal(grouped.patterns[order_g], whole.patterns[order_w])
    np.testing.assert_allclose(grouped.areas[order_g], whole.areas[order_w], rtol=0,
                               atol=64 * EPS * 4)


def test_genericity_is_decided_over_all_groups():
    """A vertex farther than a group's own margin but within the margin of the split's scale
    over the whole rectangle is not generic (as one cut of the layer would decide)."""

    class Lay:
        def __init__(self, scale, nearest):
            self.scale, self.nearest = np.array(scale), np.array(nearest)

    generic = _plane_depth._Generic(1e-10)
    generic.note(1, Lay([1.0, 1.0], [1e-3, 5e-10]))      # generic for a group of scale 1
    generic.verify()
    generic.note(1, Lay([0.5, 10.0], [1e-2, 1e-2]))      # another group: split 1 has scale 10
    with pytest.raises(_plane_cut._NotGeneric):
        generic.verify()


def test_a_forecast_beyond_the_budget_is_refused_early(monkeypatch):
    """The cells found in the first sixteenth of the area, extrapolated to the whole rectangle,
    need more than ``_EARLY_FACTOR`` budgets (0.1 here: on a net this small the arrays held
    for the first layer outweigh the cells): refused before the budget itself is reached."""
    net = he_net([2, 48, 48, 48], 2)
    monkeypatch.setattr(_plane_depth, "_GROUP_BYTES", 1 << 14)
    full = cut_plane(net, LOW, HIGH, tol=1e-10, max_cells=10 ** 6).sub
    monkeypatch.setattr(_plane_depth, "_EARLY_FACTOR", 0.1)
    with pytest.raises(RegionLimitError, match="forecasts about") as info:
        cut_plane(net, LOW, HIGH, tol=1e-10, max_cells=10 ** 6, max_bytes=2 << 20)
    assert 0 < info.value.found < full.N[2] / 4
    cut_plane(net, LOW, HIGH, tol=1e-10, max_cells=10 ** 6, max_bytes=1 << 30)   # fits


def test_polygon_areas_against_the_triangles_of_the_edges():
    sub = cut_plane(he_net([2, 16, 16], 4), LOW, HIGH, tol=1e-10, max_cells=10 ** 6).sub
    assert isinstance(sub, PlaneCells)
    np.testing.assert_allclose(sub.cell_areas(), _edge_areas(sub), rtol=0,
                               atol=64 * EPS * 4)
    assert sub.cell_areas().min() > 0


def test_cell_points_are_the_face_lattice_points_and_inside_their_cells():
    """The compiled interior points equal the face lattice's (the same sums in the same
    order), and each lies strictly inside its convex cell (left of every side)."""
    sub = cut_plane(he_net([2, 16, 16], 4), LOW, HIGH, tol=1e-10, max_cells=10 ** 6).sub
    pts = sub.cell_points()
    np.testing.assert_array_equal(pts, face_points(sub)[2])
    cell = np.repeat(np.arange(sub.N[2]), np.diff(sub.ptr))
    a = sub.X[sub.cycle]
    b = sub.X[sub.cycle[_plane_cut._successor(sub.ptr)]]
    rel = pts[cell] - a
    assert np.all((b - a)[:, 0] * rel[:, 1] - (b - a)[:, 1] * rel[:, 0] > 0)



def test_a_refusal_after_the_handover_says_why_the_sequential_engine_ran():
    net = as_plnet([(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.zeros(3)),
                    (np.ones((1, 3)), np.zeros(1))])          # three kinks through one point
    with pytest.raises(RegionLimitError, match="sequential engine ran because") as info:
        cut_plane(net, LOW, HIGH, tol=1e-10, max_cells=2)
    assert info.value.found > 2
