"""The compiled kernels of the plane engine on hand-made input: the answers of small cases
worked out by hand, and the refusals that send a non-generic cut to the sequential engine (the
engine-level agreement is in tests/test_regions_plane_fast.py)."""

from __future__ import annotations

import numpy as np

from reluthe.regions._plane_chords import chords_and_crossings, insert_points
from reluthe.regions._plane_edges import (
    cell_points,
    count_crossings,
    edge_cells,
    edge_crossings,
    edges_of_cycles,
    polygon_areas,
)
from reluthe.regions._plane_faces import trace_faces
from reluthe.regions._plane_values import blend, signs_and_nearest


def _no_limit(n, what):
    assert n >= 0 and what


# the unit square 0-1-2-3 (counter-clockwise), points 4..7 on its sides, centre 8
SQUARE_PTR, SQUARE_CYCLE = np.array([0, 8]), np.array([0, 4, 1, 5, 2, 6, 3, 7])
SQUARE_SPLIT = np.array([-1, 0, -1, 1, -1, 0, -1, 1])       # split 0: 4-6, split 1: 5-7
CROSS = (np.array([0]), np.array([1]), np.array([0.5]), np.array([0.5]), np.array([True]),
         np.array([False]), np.array([8]))


def test_edges_of_cycles_of_two_triangles_sharing_a_side():
    cycle = np.array([0, 1, 2, 2, 1, 3])
    succ = np.array([1, 2, 0, 4, 5, 3])
    e0, e1, first, inverse = edges_of_cycles(cycle, cycle[succ], 4)
    assert sorted(zip(e0.tolist(), e1.tolist())) == [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]
    assert np.all(e0 < e1) and inverse[1] == inverse[3]           # side 1-2 and side 2-1
    np.testing.assert_array_equal(inverse[first], np.arange(e0.size))
    ca, cb = edge_cells(inverse, np.array([0, 0, 0, 1, 1, 1]), e0.size)
    shared = inverse[1]
    assert (ca[shared], cb[shared]) == (0, 1) and np.sum(cb >= 0) == 1


def test_edge_crossings_are_sorted_along_each_edge():
    # one edge from value -1 to 3 for three splits with breakpoints 0, 2 and -3 (no crossing)
    Z = np.array([[-1.0], [3.0]])
    unit, bp = np.zeros(3, dtype=np.int64), np.array([2.0, 0.0, -3.0])
    signs = np.packbits(Z[:, unit] - bp > 0, axis=1)
    ea, eb = np.array([0]), np.array([1])
    n = count_crossings(signs, ea, eb)
    e, s, t = edge_crossings(signs, ea, eb, 3, Z, unit, bp, n)
    assert n == 2 and e.tolist() == [0, 0] and s.tolist() == [1, 0]
    assert t.tolist() == [0.25, 0.75]


def test_areas_and_points_of_a_square_and_a_triangle():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [3.0, 0.0]])
    ptr, cycle = np.array([0, 4, 7]), np.array([0, 1, 2, 3, 1, 4, 2])
    assert polygon_areas(X, ptr, cycle).tolist() == [1.0, 1.0]
    succ = np.array([1, 2, 3, 0, 5, 6, 4])
    e0, e1, _, inverse = edges_of_cycles(cycle, cycle[succ], 5)
    np.testing.assert_allclose(cell_points(X, ptr, e0, e1, inverse),
                               [[0.5, 0.5], [1 + 2 / 3, 1 / 3]], rtol=1e-15)


def test_inserted_points_follow_each_side_in_its_own_direction():
    # a square whose edge 0-1 (stored 0 -> 1) holds points 4, 5 in that order: the side 0 -> 1
    # takes them forwards, a neighbour's side 1 -> 0 would take them backwards
    ptr, cycle, labels = np.array([0, 4]), np.array([0, 1, 2, 3]), np.array([10, 11, 12, 13])
    entry_edge = np.array([0, 1, 2, 3])
    counts, starts = np.array([2, 0, 0, 0]), np.array([0, 2, 2, 2])
    for forward, expected in ((True, [0, 4, 5, 1, 2, 3]), (False, [0, 5, 4, 1, 2, 3])):
        fwd = np.array([forward, True, True, True])
        ptr2, cyc2, lab2, split, cells2 = insert_points(
            ptr, cycle, labels, entry_edge, fwd, counts, starts, np.array([4, 5]),
            np.array([7, 8]), _no_limit)
        assert cyc2.tolist() == expected and lab2.tolist() == [10, 10, 10, 11, 12, 13]
        assert ptr2.tolist() == [0, 6] and cells2.tolist() == [0] * 6


def test_chords_and_crossings_of_the_square():
    chords, crossings = chords_and_crossings(SQUARE_PTR, SQUARE_SPLIT, _no_limit)
    assert [c.tolist() for c in chords] == [[0, 0], [0, 1], [1, 3], [5, 7]]
    assert [c.tolist() for c in crossings] == [[0], [1], [True], [False]]
    parallel = np.array([-1, 0, 1, -1, -1, 1, 0, -1])           # 0: slots 1-6, 1: 2-5
    chords, crossings = chords_and_crossings(SQUARE_PTR, parallel, _no_limit)
    assert chords[0].size == 2 and crossings[0].size == 0


def test_a_split_meeting_a_cell_other_than_twice_is_refused():
    for split in ([-1, 0, -1, 0, -1, 0, -1, 1],      # three points of split 0, one of split 1
                  [-1, 0, -1, 1, -1, 2, -1, 3],      # every split once
                  [-1, 0, -1, 0, -1, 0, -1, 0]):     # split 0 four times
        assert chords_and_crossings(SQUARE_PTR, np.array(split), _no_limit) == (None, None)


def test_faces_of_the_square_cut_by_a_cross():
    chords, _ = chords_and_crossings(SQUARE_PTR, SQUARE_SPLIT, _no_limit)
    zeros = np.zeros(8, dtype=np.int64)
    ptr, origin, labels, parent = trace_faces(SQUARE_PTR, SQUARE_CYCLE, zeros + 5, zeros,
                                              SQUARE_SPLIT, chords, CROSS, 10)
    faces = {tuple(origin[a:b]) for a, b in zip(ptr[:-1], ptr[1:])}
    # counter-clockwise quadrants around the centre 8, each from its first boundary piece
    assert faces == {(0, 4, 8, 7), (4, 1, 5, 8), (5, 2, 6, 8), (6, 3, 7, 8)}
    assert parent.tolist() == [0, 0, 0, 0]
    # box sides keep their label, chord pieces get label0 + split
    assert sorted(labels.tolist()) == [5] * 8 + [10] * 4 + [11] * 4


def test_crossings_out_of_order_along_a_chord_are_refused():
    chords, _ = chords_and_crossings(SQUARE_PTR, SQUARE_SPLIT, _no_limit)
    zeros = np.zeros(8, dtype=np.int64)
    for u in (0.0, 1.0, 1.5):                     # on or beyond a chord's end
        bad = (CROSS[0], CROSS[1], np.array([u]), *CROSS[3:])
        assert trace_faces(SQUARE_PTR, SQUARE_CYCLE, zeros, zeros, SQUARE_SPLIT, chords, bad,
                           10) is None


def test_steps_that_are_no_permutation_are_refused():
    """Two chords ending at one boundary point: two half-edges step onto one, so the faces
    cannot be traced."""
    zeros = np.zeros(8, dtype=np.int64)
    chords = (np.array([0, 0]), np.array([0, 1]), np.array([1, 3]), np.array([3, 7]))
    assert trace_faces(SQUARE_PTR, SQUARE_CYCLE, zeros, zeros, SQUARE_SPLIT, chords, CROSS,
                       10) is None


def test_blend_and_the_signs_against_numpy():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(50, 19))
    ia, ib, t = rng.integers(0, 50, 40), rng.integers(0, 50, 40), rng.uniform(size=40)
    rows = blend(Z, ia, Z, ib, t)
    np.testing.assert_array_equal(rows, Z[ia] + t[:, None] * (Z[ib] - Z[ia]))
    unit, bp = np.repeat(np.arange(19), 2), np.tile([0.0, 0.5], 19)
    own = np.stack([rng.integers(0, 38, 40), np.full(40, -1)], axis=1)
    near = np.full(38, np.inf)
    signs = signs_and_nearest(rows, unit, bp, False, own, near)
    D = rows[:, unit] - bp
    np.testing.assert_array_equal(signs, np.packbits(D > 0, axis=1))
    masked = np.abs(D)
    masked[np.arange(40), own[:, 0]] = np.inf
    np.testing.assert_array_equal(near, masked.min(axis=0))
