"""Max-pooling (``MaxPool1d/2d``, ``F.max_pool1d/2d``, ``torch.amax`` over units) in the region
engine.

A pooled unit's state is the position of its argmax in its window (the first on ties, as in
torch); the PLNet computes the max by a tournament of ReLU layers whose cells with one argmax
are merged into one region. Checked against torch (values and argmax indices), regioncam's
``max_pool`` on the plane, pattern changes on a fine line grid and dense sampling; functions that
do not read max-pool patterns refuse such nets by name.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reluthe import regions
from reluthe.errors import UnsupportedNetworkError
from reluthe.nets import from_torch

BOX = (-1.0, 1.0, -1.0, 1.0)
F32_TOL = 1e-5          # float32 torch against the float64 PLNet: values of order 1


def _seeded(build, seed: int):
    torch.manual_seed(seed)
    return build()


class PoolMLP(nn.Module):
    """``F.max_pool1d`` over pairs of units, then ``torch.amax`` over groups of three."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(2, 12), nn.Linear(6, 6), nn.Linear(2, 2)

    def forward(self, x):
        h = F.max_pool1d(torch.relu(self.a(x)), 2)
        h = torch.relu(self.b(h))
        return self.c(torch.amax(h.view(-1, 2, 3), dim=-1))


class GlobalMax(nn.Module):
    """``Linear -> ReLU -> Linear -> max over the units``: what regioncam's max_pool reads."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(2, 10), nn.Linear(10, 5)
        with torch.no_grad():
            self.a.weight.mul_(3.0)

    def forward(self, x):
        return torch.amax(self.b(torch.relu(self.a(x))), dim=1, keepdim=True)


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(8, 3))


def _assert_same_forward(model, net, x: torch.Tensor):
    """``net.forward`` on ``x`` (flattened, float64) equals the float32 torch ``model``."""
    with torch.no_grad():
        out = model(x).numpy()
    flat = x.reshape(x.shape[0], -1).double().numpy()
    assert np.allclose(net.forward(flat), out, atol=F32_TOL * (1 + np.abs(out).max()))


def _runs(states: np.ndarray) -> int:
    return 1 + int(np.count_nonzero(np.any(states[1:] != states[:-1], axis=1)))


def test_forward_equals_torch_and_the_pattern_records_torchs_argmax():
    cnn = _seeded(_cnn, 0)
    net = from_torch(cnn, input_shape=(1, 6, 6))
    x = torch.randn(200, 1, 6, 6)
    _assert_same_forward(cnn, net, x)
    with torch.no_grad():
        _, idx = F.max_pool2d(copy.deepcopy(cnn[:2]).double()(x.double()), 2,
                              return_indices=True)
    flat = x.reshape(200, -1).double().numpy()
    assert net.pattern_layout == ((32, 1), (8, 3))      # 32 ReLUs, 8 pooled units of 4 states
    rows, cols = idx // 4, idx % 4                      # flat index in the 4 x 4 map
    position = ((rows % 2) * 2 + cols % 2).reshape(200, -1).numpy()
    assert np.array_equal(net.pattern(flat)[:, 32:], position)

    mlp = _seeded(PoolMLP, 1)
    pl = from_torch(mlp)
    _assert_same_forward(mlp, pl, torch.randn(300, 2))
    assert pl.pattern_layout == ((12, 1), (6, 1), (6, 1), (2, 2))


def test_ties_go_to_the_first_argmax_as_in_torch():
    class Tie(nn.Module):
        def forward(self, x):
            return F.max_pool1d(x.view(-1, 1, 3), 3).flatten(1)

    net = from_torch(Tie(), input_shape=(3,))
    x = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0], [5.0, 5.0, 5.0], [0.0, 1.0, 3.0]])
    _, idx = F.max_pool1d(torch.from_numpy(x)[:, None], 3, return_indices=True)
    assert net.pattern(x)[:, 0].tolist() == idx.reshape(-1).tolist() == [0, 1, 0, 2]


@pytest.mark.parametrize("build, seed", [(PoolMLP, 1), (GlobalMax, 2)])
def test_line_count_equals_pattern_changes_on_a_fine_grid(build, seed):
    model = _seeded(build, seed)
    start, end = np.array([-1.0, 0.4]), np.array([1.0, -0.7])
    line = regions.count_on_line(model, start, end)
    t = np.linspace(0.0, 1.0, 40001)
    runs = _runs(from_torch(model).pattern(start + t[:, None] * (end - start)))
    widths = np.diff(np.r_[0.0, line.breakpoints, 1.0])
    assert int(np.count_nonzero(widths > 2 / 40000)) <= runs <= line.count
    assert line.count > 3
    # every region's pattern is the pattern at its interior point
    assert np.array_equal(np.asarray(line.patterns),
                          from_torch(model).pattern(np.asarray(line.interior_points)))


def test_active_units_leave_out_the_pooled_units():
    model = _seeded(PoolMLP, 1)
    line = regions.count_on_line(model, [-1.0, 0.4], [1.0, -0.7])
    pl = from_torch(model)
    pats = np.asarray(line.patterns)
    assert pl.pooled.shape == (pats.shape[1],) and pl.pooled.any() and not pl.pooled.all()
    frame = line.to_frame()
    assert frame["active"].tolist() == np.count_nonzero(pats[:, ~pl.pooled], axis=1).tolist()
    assert not from_torch(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))).pooled.any()


@pytest.mark.parametrize("seed", [0, 2])
def test_plane_count_equals_regioncam_max_pool(seed):
    rc_mod = pytest.importorskip("regioncam")
    model = _seeded(GlobalMax, seed)
    rc = rc_mod.Regioncam(size=1.0)
    rc.add([rc_mod.nn.convert(model.a), rc_mod.nn.ReLU(), rc_mod.nn.convert(model.b)])
    before = rc.num_faces
    rc.max_pool()
    res = regions.count_on_plane(model, np.zeros(2), [1.0, 0.0], [0.0, 1.0], BOX)
    assert res.count == rc.num_faces > before          # the max-pool kinks cut regions
    assert res.widths == (10, 1)


def test_box_lattice_agrees_with_the_plane_and_bounds_samples():
    model = _seeded(PoolMLP, 3)
    plane = regions.count_on_plane(model, np.zeros(2), [1.0, 0.0], [0.0, 1.0], BOX)
    box = regions.count_in_box(model, [-1, -1], [1, 1])
    assert box.count == plane.count > 5
    assert np.isclose(box.volumes.sum(), 4.0)
    pts = np.random.default_rng(4).uniform(-1, 1, size=(20000, 2))
    sampled = {tuple(row) for row in from_torch(model).pattern(pts)}
    assert len(sampled) <= box.count
    assert {tuple(row) for row in np.asarray(box.patterns)} >= sampled
    codes = regions.pattern_codes(model, pts)          # the argmax patterns, packed
    assert len({row.tobytes() for row in codes}) == len(sampled)
    # every edge names a unit (a pooled unit: its argmax) that differs between its regions
    patterns, starts = np.asarray(plane.patterns), np.cumsum([0, *plane.widths])
    for a, b, data in plane.graph.edges(data=True):
        part, unit = data["neuron"]
        assert patterns[a, starts[part] + unit] != patterns[b, starts[part] + unit]


def test_box_in_three_dimensions_bounds_samples():
    class Pool3(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 8), nn.Linear(4, 1)

        def forward(self, x):
            return self.b(F.max_pool1d(torch.relu(self.a(x)), 2))

    model = _seeded(Pool3, 6)
    box = regions.count_in_box(model, [-1, -1, -1], [1, 1, 1])
    pts = np.random.default_rng(6).uniform(-1, 1, size=(50000, 3))
    sampled = {tuple(row) for row in from_torch(model).pattern(pts)}
    assert 5 < len(sampled) <= box.count
    assert np.isclose(box.volumes.sum(), 8.0)


class SkipOverPool(nn.Module):
    """A skip connection from the input around a max-pool: ``x`` rides through the tournament."""

    def __init__(self):
        super().__init__()
        self.a, self.c, self.d = nn.Linear(2, 9), nn.Linear(3, 2), nn.Linear(2, 2)

    def forward(self, x):
        p = F.max_pool1d(torch.relu(self.a(x)).view(-1, 1, 9), 3).flatten(1)
        return torch.relu(self.c(p) + self.d(x))


def test_a_skip_connection_around_a_max_pool():
    model = _seeded(SkipOverPool, 0)
    net = from_torch(model)
    _assert_same_forward(model, net, torch.randn(500, 2))
    assert net.pattern_layout == ((9, 1), (3, 2), (2, 1))
    plane = regions.count_on_plane(model, np.zeros(2), [1.0, 0.0], [0.0, 1.0], BOX)
    assert regions.count_in_box(model, [-1, -1], [1, 1]).count == plane.count > 10
    assert len(plane.polygons) == plane.count and np.isclose(plane.areas.sum(), 4.0)
    start, end = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    line = regions.count_on_line(model, start, end)
    t = np.linspace(0.0, 1.0, 40001)
    runs = _runs(net.pattern(start + t[:, None] * (end - start)))
    widths = np.diff(np.r_[0.0, line.breakpoints, 1.0])
    assert int(np.count_nonzero(widths > 2 / 40000)) <= runs <= line.count


def test_conv_net_on_a_line_through_image_space():
    cnn = _seeded(_cnn, 5)
    rng = np.random.default_rng(5)
    start, end = rng.normal(size=(1, 6, 6)), rng.normal(size=(1, 6, 6))
    line = regions.count_on_line(cnn, start, end, input_shape=(1, 6, 6))
    t = np.linspace(0.0, 1.0, 20001)
    a, b = start.reshape(-1), end.reshape(-1)
    runs = _runs(from_torch(cnn, input_shape=(1, 6, 6)).pattern(a + t[:, None] * (b - a)))
    widths = np.diff(np.r_[0.0, line.breakpoints, 1.0])
    assert int(np.count_nonzero(widths > 2 / 20000)) <= runs <= line.count


@pytest.mark.parametrize("call", [
    lambda m: regions.count_patterns(m, np.zeros((3, 2))),
    lambda m: regions.count_near(m, [0.0, 0.0], 0.5),
    lambda m: regions.count_near_many(m, np.zeros((2, 2)), 0.5),
    lambda m: regions.count_in_box(m, [-1, -1], [1, 1], engine="search"),
])
def test_functions_without_max_pool_support_refuse_by_name(call):
    with pytest.raises(UnsupportedNetworkError, match="max-pool") as info:
        call(_seeded(PoolMLP, 0))
    assert "count_on_line" in str(info.value)


def test_maxpool3d_and_batch_reductions_are_refused():
    with pytest.raises(UnsupportedNetworkError, match="MaxPool3d"):
        from_torch(nn.Sequential(nn.MaxPool3d(2)), input_shape=(1, 2, 2, 2))

    class OverBatch(nn.Module):
        def forward(self, x):
            return torch.amax(x, dim=0, keepdim=True)

    with pytest.raises(UnsupportedNetworkError, match="batch"):
        from_torch(OverBatch(), input_shape=(3,))


def test_conversion_leaves_the_model_and_the_rngs_alone():
    cnn = _seeded(_cnn, 7).train()
    before = {k: v.clone() for k, v in cnn.state_dict().items()}
    torch_rng, np_rng = torch.get_rng_state(), np.random.get_state()[1].copy()
    from_torch(cnn, input_shape=(1, 6, 6))
    assert cnn.training and all(torch.equal(before[k], v) for k, v in cnn.state_dict().items())
    assert torch.equal(torch.get_rng_state(), torch_rng)
    assert np.array_equal(np.random.get_state()[1], np_rng)
