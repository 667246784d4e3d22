"""Residual connections (``x + f(x)`` in ``forward``) in the region engine.

A residual net is converted into a chain whose layers carry pass-through units (the skip
stream). Its counts are checked against an independent net: the same function on the domain
written as a plain ReLU chain (``from_pairs``), where the skip stream travels through ReLU units
shifted by a bound ``c`` of its values (``relu(x + c) - c = x`` where ``x > -c``: those units
never change state in the domain, so the activation regions are the same); and against
regioncam's residual blocks, dense sampling (a lower bound) and pattern changes on a line grid.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reluthe import regions
from reluthe.errors import UnsupportedNetworkError
from reluthe.nets import Activation, PLLayer, from_torch

WIDTH = 6
BOX = (-1.0, 1.0, -1.0, 1.0)


class ResMLP(nn.Module):
    """``h = relu(inp(x))``, then per block ``h = relu(h + b(relu(a(h))))``, then ``out(h)``."""

    def __init__(self, d_in: int, seed: int, blocks: int = 2):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.inp = nn.Linear(d_in, WIDTH)
        self.a = nn.ModuleList(nn.Linear(WIDTH, WIDTH) for _ in range(blocks))
        self.b = nn.ModuleList(nn.Linear(WIDTH, WIDTH) for _ in range(blocks))
        self.out = nn.Linear(WIDTH, 2)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) / np.sqrt(WIDTH))

    def forward(self, x):
        h = F.relu(self.inp(x))
        for a, b in zip(self.a, self.b):
            h = h + b(F.relu(a(h)))
            h = F.relu(h)
        return self.out(h)


def _np(layer: nn.Linear) -> tuple[np.ndarray, np.ndarray]:
    return layer.weight.detach().double().numpy(), layer.bias.detach().double().numpy()


def _bound(w, b, lo, hi):
    """Interval of ``w x + b`` for ``x`` in ``[lo, hi]``."""
    wp, wn = np.maximum(w, 0), np.minimum(w, 0)
    return wp @ lo + wn @ hi + b, wp @ hi + wn @ lo + b


def shifted_chain(model: ResMLP, low, high) -> list:
    """``model`` on the box ``[low, high]`` as (W, b) pairs with ReLU between them: the skip
    stream ``h`` rides along block ``a`` as ``relu(h + c)``, ``c`` above ``max |h|`` on the box
    (interval arithmetic), so those units are on everywhere in the box."""
    w, b = _np(model.inp)
    pairs = [(w, b)]
    lo, hi = _bound(w, b, np.asarray(low, float), np.asarray(high, float))
    lo, hi = np.maximum(lo, 0), np.maximum(hi, 0)
    eye = np.eye(WIDTH)
    for a, blk in zip(model.a, model.b):
        wa, ba = _np(a)
        wb, bb = _np(blk)
        c = float(np.max(np.abs([lo, hi]))) * 2 + 1.0
        pairs.append((np.vstack([wa, eye]), np.concatenate([ba, np.full(WIDTH, c)])))
        # next pre-activation: (h + c) - c + wb relu(a h) + bb
        pairs.append((np.hstack([wb, eye]), bb - c))
        alo, ahi = _bound(wa, ba, lo, hi)
        zlo, zhi = _bound(wb, bb, np.maximum(alo, 0), np.maximum(ahi, 0))
        lo, hi = np.maximum(lo + zlo, 0), np.maximum(hi + zhi, 0)
    pairs.append(_np(model.out))
    return pairs


@pytest.fixture(scope="module")
def model():
    return ResMLP(2, seed=3)


def test_conversion_carries_the_skip_stream_and_matches_torch(model):
    net = from_torch(model)
    assert net.widths == (WIDTH,) * 5
    assert [layer.passthrough for layer in net.layers] == [0, WIDTH, 0, WIDTH, 0]
    x = np.random.default_rng(0).uniform(-2, 2, size=(500, 2))
    with torch.no_grad():
        expected = model(torch.from_numpy(x).float()).double().numpy()
    scale = np.abs(expected).max() + 1.0
    # float32 torch vs float64 numpy: a few float32 roundings per layer
    assert np.allclose(net.forward(x), expected, rtol=0, atol=1e-5 * scale)
    assert net.states(x).shape == (500, net.n_units)
    assert [z.shape[1] for z in net.preactivations(x)] == list(net.widths)


def test_pass_through_units_are_linear_and_not_in_the_pattern():
    layer = PLLayer(np.eye(3), np.zeros(3), Activation.relu(), passthrough=2)
    z = np.array([[-1.0, -2.0, 3.0]])
    assert layer.width == 1 and layer.out_dim == 3
    assert layer.apply(z).tolist() == [[0.0, -2.0, 3.0]]
    assert layer.apply(z[:, 1:], lo=1).tolist() == [[-2.0, 3.0]]


def test_every_engine_counts_as_the_shifted_chain(model):
    chain = shifted_chain(model, [-1, -1], [1, 1])
    o, e1, e2 = np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0])
    x = np.random.default_rng(1).uniform(-1, 1, size=(200, 2))
    assert np.allclose(from_torch(model).forward(x), regions_forward(chain, x), atol=1e-9)
    res = regions.count_on_plane(model, o, e1, e2, BOX)
    ref = regions.count_on_plane(chain, o, e1, e2, BOX)
    assert res.count == ref.count > 10
    assert res.linear_count == ref.linear_count
    assert res.areas.sum() == pytest.approx(4.0, abs=1e-9)
    line = regions.count_on_line(model, [-1, -0.7], [1, 0.9])
    assert line.count == regions.count_on_line(chain, [-1, -0.7], [1, 0.9]).count > 3
    for engine in ("lattice", "search"):
        box = regions.count_in_box(model, [-1, -1], [1, 1], engine=engine)
        assert box.count == res.count, engine
    near = regions.count_near(model, [0.1, -0.2], 0.5)
    assert near.count == regions.count_near(chain, [0.1, -0.2], 0.5).count > 1


def regions_forward(pairs, x):
    h = x
    for w, b in pairs[:-1]:
        h = np.maximum(h @ w.T + b, 0)
    return h @ pairs[-1][0].T + pairs[-1][1]


def test_plane_count_matches_regioncam(model):
    rc_mod = pytest.importorskip("regioncam")
    rc = rc_mod.Regioncam(size=1.0)
    layers = [rc_mod.nn.convert(model.inp), rc_mod.nn.ReLU()]
    for a, b in zip(model.a, model.b):
        layers += [rc_mod.nn.Residual(rc_mod.nn.convert(nn.Sequential(a, nn.ReLU(), b))),
                   rc_mod.nn.ReLU()]
    rc.add(layers)
    res = regions.count_on_plane(model, np.zeros(2), [1.0, 0.0], [0.0, 1.0], BOX)
    assert res.count == rc.num_faces


def test_samples_and_a_line_grid_never_exceed_the_counts(model):
    box = regions.count_in_box(model, [-1, -1], [1, 1])
    pts = np.random.default_rng(2).uniform(-1, 1, size=(20000, 2))
    assert regions.count_patterns(model, pts) <= box.count
    start, end = np.array([-1.0, 0.3]), np.array([1.0, -0.6])
    t = np.linspace(0, 1, 20001)
    states = from_torch(model).states(start + t[:, None] * (end - start))
    runs = 1 + int(np.count_nonzero(np.any(states[1:] != states[:-1], axis=1)))
    line = regions.count_on_line(model, start, end)
    assert runs <= line.count
    # every region of the line wider than two grid steps shows up on the grid
    widths = np.diff(np.r_[0.0, line.breakpoints, 1.0])
    assert runs >= int(np.count_nonzero(widths > 2 / 20000))


def test_skip_from_the_input_and_a_projection():
    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.f, self.g, self.proj = nn.Linear(3, 3), nn.Linear(3, 4), nn.Linear(3, 4)

        def forward(self, x):
            x = x + F.relu(self.f(x))              # skip from the input
            return self.proj(x) - F.relu(self.g(x))  # projection shortcut, a difference

    model = Skip()
    net = from_torch(model)
    x = np.random.default_rng(3).normal(size=(100, 3))
    with torch.no_grad():
        expected = model(torch.from_numpy(x).float()).double().numpy()
    assert np.allclose(net.forward(x), expected, atol=1e-5 * (np.abs(expected).max() + 1))
    assert net.widths == (3, 4) and net.output is not None
    box = regions.count_in_box(net, -np.ones(3), np.ones(3))
    assert box.count >= regions.count_patterns(
        net, np.random.default_rng(4).uniform(-1, 1, size=(5000, 3)))


def test_refusals_name_the_operation():
    class Broadcast(nn.Module):
        def __init__(self):
            super().__init__()
            self.f = nn.Linear(3, 1)

        def forward(self, x):
            return x + self.f(x)

    class Product(nn.Module):
        def __init__(self):
            super().__init__()
            self.f = nn.Linear(3, 3)

        def forward(self, x):
            return x * self.f(x)

    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.f, self.g = nn.Linear(3, 3), nn.Linear(3, 3)

        def forward(self, x):
            self.g(x)
            return self.f(x)

    with pytest.raises(UnsupportedNetworkError, match="broadcasting"):
        from_torch(Broadcast(), input_shape=(3,))
    with pytest.raises(UnsupportedNetworkError, match="mul.*residual connections"):
        from_torch(Product())
    with pytest.raises(UnsupportedNetworkError, match="does not use"):
        from_torch(Unused())


class _HardtanhSkip(nn.Module):
    """A skip past the last layer: the output is ``h + leaky_relu(g(h))`` (5 outputs, so the
    affine maps are composed forward, not backward)."""

    def __init__(self):
        super().__init__()
        gen = torch.Generator().manual_seed(1)
        self.f, self.g = nn.Linear(2, 5), nn.Linear(5, 5)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(2 * torch.randn(p.shape, generator=gen))

    def forward(self, x):
        h = F.hardtanh(self.f(x))
        return h + F.leaky_relu(self.g(h), 0.1)


@pytest.mark.parametrize("make", [_HardtanhSkip, lambda: ResMLP(2, seed=5)])
def test_affine_maps_of_the_patterns_reproduce_the_output(make):
    from reluthe.regions._linear import affine_maps

    net = from_torch(make())
    x = np.random.default_rng(5).uniform(-1, 1, size=(300, 2))
    J, c = affine_maps(net, net.states(x))
    y = net.forward(x)
    assert np.allclose(np.einsum("nmd,nd->nm", J, x) + c, y, rtol=0,
                       atol=1e-12 * (np.abs(y).max() + 1))
    box = regions.count_in_box(net, [-1, -1], [1, 1])
    assert box.count == regions.count_in_box(net, [-1, -1], [1, 1], engine="search").count
    assert box.count == regions.count_on_plane(net, np.zeros(2), [1.0, 0.0], [0.0, 1.0],
                                               BOX).count
    assert regions.count_patterns(net, x) <= box.count


def test_a_convolutional_residual_block():
    class ConvBlock(nn.Module):
        def __init__(self):
            super().__init__()
            gen = torch.Generator().manual_seed(7)
            self.c1, self.c2 = nn.Conv2d(1, 2, 3, padding=1), nn.Conv2d(2, 1, 3, padding=1)
            self.fc = nn.Linear(16, 2)
            with torch.no_grad():
                for p in self.parameters():
                    p.copy_(torch.randn(p.shape, generator=gen) / 3)

        def forward(self, x):
            x = F.relu(x + self.c2(F.relu(self.c1(x))))
            return self.fc(x.flatten(1))

    model = ConvBlock()
    net = from_torch(model, input_shape=(1, 4, 4))
    assert net.widths == (32, 16) and net.layers[0].passthrough == 16
    x = np.random.default_rng(6).normal(size=(50, 16))
    with torch.no_grad():
        expected = model(torch.from_numpy(x).float().reshape(50, 1, 4, 4)).double().numpy()
    assert np.allclose(net.forward(x), expected, atol=1e-5 * (np.abs(expected).max() + 1))
    start, end = -np.ones(16), np.linspace(-1, 2, 16)
    line = regions.count_on_line(model, start, end, input_shape=(1, 4, 4))
    t = np.linspace(0, 1, 20001)
    states = net.states(start + t[:, None] * (end - start))
    runs = 1 + int(np.count_nonzero(np.any(states[1:] != states[:-1], axis=1)))
    widths = np.diff(np.r_[0.0, line.breakpoints, 1.0])
    assert int(np.count_nonzero(widths > 2 / 20000)) <= runs <= line.count
