"""``input_shape=`` on every counter of reluthe.regions and on plane_through: a convolutional torch
module read with ``input_shape`` and points in its input shape give the counts of the same module
converted once with ``nets.as_plnet(model, input_shape)`` and flat points; shapes that do not fit
are named errors that say what is accepted."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from reluthe import nets, regions
from reluthe.errors import InvalidInputError

SHAPE = (1, 5, 5)


def _seeded(model: nn.Module, seed: int) -> nn.Module:
    """``model`` with normal weights from a numpy generator (the global torch RNG untouched)."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.normal(size=tuple(p.shape))))
    return model


CONV = _seeded(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(18, 4),
                             nn.ReLU(), nn.Linear(4, 1)), 0)
CONV1D = _seeded(nn.Sequential(nn.Conv1d(1, 2, 2), nn.ReLU(), nn.Flatten(), nn.Linear(4, 1)), 1)
IMGS = np.random.default_rng(2).normal(size=(3, *SHAPE))


def _same_regions(a, b):
    assert a.count == b.count > 1
    assert a.linear_counts == b.linear_counts
    np.testing.assert_array_equal(a.patterns, b.patterns)


def test_a_segment_in_the_input_shape_counts_as_the_flat_segment_of_the_converted_net():
    flat_net = nets.as_plnet(CONV, SHAPE)
    shaped = regions.count_on_line(CONV, IMGS[0], IMGS[1], input_shape=SHAPE)
    flat = regions.count_on_line(flat_net, IMGS[0].reshape(-1), IMGS[1].reshape(-1))
    _same_regions(shaped, flat)
    np.testing.assert_array_equal(shaped.start, IMGS[0].reshape(-1))
    mixed = regions.count_on_line(flat_net, IMGS[0], IMGS[1].reshape(-1))   # net's own shape
    _same_regions(mixed, flat)


def test_a_plane_through_three_images_counts_as_the_flat_plane_of_the_converted_net():
    origin, u, v, extent = regions.plane_through(*IMGS, input_shape=SHAPE)
    flat_net = nets.as_plnet(CONV, SHAPE)
    flat = regions.count_on_plane(flat_net, origin, u, v, extent)
    shaped = regions.count_on_plane(CONV, origin.reshape(SHAPE), u.reshape(SHAPE),
                                    v.reshape(SHAPE), extent, input_shape=SHAPE)
    _same_regions(shaped, flat)
    np.testing.assert_allclose(shaped.areas.sum(), (extent[1] - extent[0])
                               * (extent[3] - extent[2]), rtol=1e-9)


def test_plane_through_points_in_any_shape_equals_plane_through_the_flattened_points():
    imgs = np.random.default_rng(3).normal(size=(3, 1, 8, 8))
    flat = regions.plane_through(*(p.reshape(-1) for p in imgs), margin=0.1)
    for kwargs in ({}, {"input_shape": (1, 8, 8)}):
        shaped = regions.plane_through(*imgs, margin=0.1, **kwargs)
        for got, want in zip(shaped[:3], flat[:3]):
            assert got.shape == (64,)
            np.testing.assert_array_equal(got, want)
        assert shaped[3] == flat[3]
    mixed = regions.plane_through(imgs[0], imgs[1].reshape(8, 8), imgs[2].reshape(-1),
                                  margin=0.1)                  # one size, any shapes
    np.testing.assert_array_equal(mixed[1], flat[1])


@pytest.mark.parametrize("model, shape, engine", [(CONV, SHAPE, "search"),
                                                  (CONV1D, (1, 3), "lattice")])
def test_a_box_in_the_input_shape_counts_as_the_flat_box_of_the_converted_net(model, shape,
                                                                               engine):
    center = np.random.default_rng(4).normal(size=shape)
    half = 0.2 if engine == "search" else 1.0
    shaped = regions.count_in_box(model, center - half, center + half, input_shape=shape)
    flat = regions.count_in_box(nets.as_plnet(model, shape), (center - half).reshape(-1),
                                (center + half).reshape(-1))
    assert shaped.engine == flat.engine == engine
    _same_regions(shaped, flat)


def test_patterns_of_images_count_as_the_flat_points_of_the_converted_net():
    imgs = np.random.default_rng(5).normal(size=(200, *SHAPE))
    flat_net = nets.as_plnet(CONV, SHAPE)
    flat_pts = imgs.reshape(200, -1)
    shaped = regions.count_patterns(CONV, imgs, input_shape=SHAPE)
    flat = regions.count_patterns(flat_net, flat_pts)
    assert int(shaped) == int(flat) > 1 and shaped.n_points == flat.n_points == 200
    np.testing.assert_array_equal(regions.pattern_codes(CONV, imgs, input_shape=SHAPE),
                                  regions.pattern_codes(flat_net, flat_pts))


def test_pairs_take_an_input_shape_for_their_points():
    rng = np.random.default_rng(6)
    pairs = [(rng.normal(size=(6, 4)), rng.normal(size=6)), (rng.normal(size=(1, 6)), [0.0])]
    pts = rng.normal(size=(50, 2, 2))
    assert regions.count_patterns(pairs, pts, input_shape=(2, 2)) == \
        regions.count_patterns(pairs, pts.reshape(50, 4))
    _same_regions(regions.count_on_line(pairs, -pts[0], pts[0], input_shape=[2, 2]),
                  regions.count_on_line(pairs, -pts[0].reshape(-1), pts[0].reshape(-1)))


# ----------------------------------------------------------------------------- bad input

PTS = np.zeros((4, *SHAPE))
ACCEPTED = "[(25,), (1, 5, 5)]"
WRONG = [
    (regions.count_on_line, (CONV, IMGS[0], np.zeros((5, 5))), "'end'"),
    (regions.count_on_plane, (CONV, IMGS[0], np.zeros((5, 5)), IMGS[2]), "'u'"),
    (regions.count_in_box, (CONV, np.zeros((1, 25)), np.ones(25)), "'low'"),
    (regions.count_patterns, (CONV, np.zeros((4, 5, 5))), "'points'"),
    (regions.pattern_codes, (CONV, np.zeros((4, 1, 25))), "'points'"),
    (regions.plane_through, (IMGS[0], IMGS[1], np.zeros((5, 5))), "'p2'"),
]


@pytest.mark.parametrize("fn, args, param", WRONG, ids=[w[0].__name__ for w in WRONG])
def test_a_point_outside_the_input_shapes_names_the_parameter_and_the_accepted_shapes(fn, args,
                                                                                      param):
    with pytest.raises(InvalidInputError) as err:
        fn(*args, input_shape=SHAPE)
    assert param in str(err.value) and ACCEPTED in str(err.value), str(err.value)


def test_plane_through_points_of_different_sizes_are_refused():
    with pytest.raises(InvalidInputError, match=r"'p1'.*as many values as 'p0' \(25.*24 values"):
        regions.plane_through(IMGS[0], np.zeros(24), IMGS[2])


@pytest.mark.parametrize("fn, args", [
    (regions.count_on_line, (np.zeros(25), np.ones(25))),
    (regions.count_on_plane, (np.zeros(25), np.eye(25)[0], np.eye(25)[1])),
    (regions.count_in_box, (np.zeros(25), np.ones(25))),
    (regions.count_patterns, (PTS,)),
    (regions.pattern_codes, (PTS,)),
])
def test_an_input_shape_that_does_not_fit_is_named(fn, args):
    pairs = [(np.eye(25), np.zeros(25)), (np.ones((1, 25)), [0.0])]
    with pytest.raises(InvalidInputError, match=r"'input_shape'.*25 inputs.*\(1, 4, 4\)"):
        fn(pairs, *args, input_shape=(1, 4, 4))
    with pytest.raises(InvalidInputError, match=r"'input_shape'.*cannot take a sample"):
        fn(CONV, *args, input_shape=(2, 5, 5))
    with pytest.raises(InvalidInputError, match=r"'input_shape'.*integers >= 1"):
        fn(pairs, *args, input_shape=(25.0,))
    with pytest.raises(InvalidInputError) as err:
        fn(CONV, *args)
    msg = str(err.value)
    assert "Conv2d" in msg and "input shape is needed" in msg   # nets' error, kept
    assert f"to {fn.__module__.rsplit('._', 1)[0]}.{fn.__name__} itself" in msg
    assert "input_shape=(1, 8, 8)" in msg
