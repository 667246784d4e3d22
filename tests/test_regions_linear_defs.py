"""Linear regions under the named definitions (activation, connected, pieces): hand-built nets
with counts known by hand, an independent computation of every region's affine map (torch
autograd at interior points), the rounding bound against exact rational arithmetic, and the
grouping of affine maps without pairwise comparisons."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction

import numpy as np
import pytest
import torch

from reluthe import InvalidInputError, RegionLimitError, regions
from reluthe.nets import Activation, PLLayer, PLNet, as_plnet
from reluthe.regions import _linear

E1, E2, O2 = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.zeros(2)


def min_abs_net(dead_unit: bool, d: int = 1):
    """f(x) = min(|x_0|, 1) = relu(|x_0|) - relu(|x_0| - 1), |x_0| = relu(x_0) + relu(-x_0).

    With ``dead_unit`` a third first-layer unit relu(x_0 - 2) that nothing downstream reads."""
    w1 = np.zeros((3 if dead_unit else 2, d))
    w1[:2, 0] = [1.0, -1.0]
    b1 = np.zeros(w1.shape[0])
    if dead_unit:
        w1[2, 0], b1[2] = 1.0, -2.0
    w2 = np.zeros((2, w1.shape[0]))
    w2[:, :2] = 1.0
    return [(w1, b1), (w2, np.array([0.0, -1.0])), (np.array([[1.0, -1.0]]), np.zeros(1))]


@pytest.mark.parametrize("dead_unit, counts", [
    (False, {"activation": 4, "connected": 4, "pieces": 3}),
    (True, {"activation": 5, "connected": 4, "pieces": 3}),
])
def test_min_abs_counts_by_hand(dead_unit, counts):
    # on [-3, 3]: f = 1 on (-3, -1), -x on (-1, 0), x on (0, 1), 1 on (1, 3) (cut at 2 by the
    # dead unit): the two outer intervals are one piece (the constant 1) but not connected
    res = regions.count_on_line(min_abs_net(dead_unit), [-3.0], [3.0])
    assert dict(res.linear_counts) == counts
    assert res.count == counts["activation"] and res.linear_count == counts["connected"]
    pieces = res.piece_labels.tolist()
    assert pieces[0] == pieces[-1] and len(set(pieces)) == counts["pieces"]
    if dead_unit:                                   # (1, 2) and (2, 3): one connected region
        np.testing.assert_allclose(res.breakpoints, [1 / 3, 1 / 2, 2 / 3, 5 / 6])
        assert res.linear_labels[3] == res.linear_labels[4] != res.linear_labels[0]
    out = json.loads(json.dumps(res.to_dict()))
    assert out["linear_counts"] == counts and out["linear_count"] == counts["connected"]
    assert set(out["linear_map_tol"]) == {"jacobian", "offset"}
    assert 0 < out["linear_map_tol"]["jacobian"] < 1e-13       # |J| <= 2 here: rounding only


def test_min_abs_on_a_plane_and_in_a_box():
    """The same function of x_0 alone: the regions are strips, the counts those of the line."""
    counts = {"activation": 5, "connected": 4, "pieces": 3}
    plane = regions.count_on_plane(min_abs_net(True, d=2), O2, E1, E2, (-3, 3, -1, 1))
    box = regions.count_in_box(min_abs_net(True, d=3), [-3, -1, -1], [3, 1, 1])
    assert dict(plane.linear_counts) == dict(box.linear_counts) == counts


def test_cancelling_weights_give_one_piece_within_the_rounding_bound():
    """relu(x)/10 + 0.7 relu(x-1) - 1.4 relu(x-2) + 0.7 relu(x-3): on (3, 4) the slope is
    0.1 + 0.7 - 1.4 + 0.7 = 0.1 and the offset 0 again, as on (0, 1), computed as a different
    sum; the tolerance (the rounding bound) makes them one piece, not one connected region."""
    w1 = np.ones((4, 1))
    b1 = -np.arange(4.0)
    res = regions.count_on_line([(w1, b1), (np.array([[0.1, 0.7, -1.4, 0.7]]), np.zeros(1))],
                                [-1.0], [4.0])
    assert dict(res.linear_counts) == {"activation": 5, "connected": 5, "pieces": 4}
    assert res.piece_labels[1] == res.piece_labels[4]


def test_a_small_but_real_difference_is_not_merged_unless_asked():
    """A unit whose output weight is 1e-7: its kink changes the slope by 1e-7, far above the
    rounding bound, so the two sides stay two linear regions; linear_tol=1e-6 merges them."""
    net = [(np.array([[1.0], [1.0]]), np.array([0.0, -0.5])), (np.array([[1.0, 1e-7]]),
                                                              np.zeros(1))]
    res = regions.count_on_line(net, [-1.0], [1.0])
    assert res.count == res.linear_count == 3
    loose = regions.count_on_line(net, [-1.0], [1.0], linear_tol=1e-6)
    assert loose.count == 3 and loose.linear_count == 2 == loose.linear_counts["pieces"]
    assert loose.linear_map_tol["jacobian"] == pytest.approx(1e-6 * 2 * (1 + 1e-7))


# ------------------------------------------------------------------ an independent computation

def _torch_model(pairs):
    mods = []
    for i, (w, b) in enumerate(pairs):
        lin = torch.nn.Linear(w.shape[1], w.shape[0]).double()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        mods += [lin] if i == len(pairs) - 1 else [lin, torch.nn.ReLU()]
    return torch.nn.Sequential(*mods)


def _autograd_maps(pairs, res):
    """J (in plane coordinates) and c of every region, by autograd at its interior point."""
    model = _torch_model(pairs)
    basis = torch.tensor(np.stack([res.u, res.v], axis=1))
    ab = torch.tensor(res.interior_points, requires_grad=True)
    y = model(torch.tensor(res.origin) + ab @ basis.T)
    J = torch.stack([torch.autograd.grad(y[:, j].sum(), ab, retain_graph=True)[0]
                     for j in range(y.shape[1])], dim=1)
    c = y - torch.einsum("nmd,nd->nm", J, ab)
    return J.detach().numpy(), c.detach().numpy()


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = {(int(x), int(y)) for x, y in zip(a, b)}
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def _random_net(seed: int, out: int):
    """2-8-6-out with ReLU; two first-layer units and one second-layer unit are ignored
    downstream (zero outgoing weights), so connected < activation."""
    rng = np.random.default_rng(seed)
    w1, b1 = rng.normal(size=(8, 2)), rng.normal(scale=0.5, size=8)
    w2, b2 = rng.normal(size=(6, 8)), rng.normal(scale=0.5, size=6)
    w2[:, :2] = 0.0
    w3 = rng.normal(size=(out, 6))
    w3[:, 0] = 0.0
    return [(w1, b1), (w2, b2), (w3, rng.normal(size=out))]


@pytest.mark.parametrize("pairs", [_random_net(s, out) for s, out in
                                   [(0, 1), (1, 1), (2, 2), (3, 4), (4, 4)]] +
                         [min_abs_net(True, d=2)])
def test_groupings_agree_with_maps_from_autograd(pairs):
    res = regions.count_on_plane(pairs, O2, E1, E2, (-2, 2.5, -1.5, 2))
    J, c = _autograd_maps(pairs, res)
    # the engine's maps (from the patterns) agree with autograd's within float64 rounding
    J_pat, c_pat = _linear.affine_maps(as_plnet(pairs).restrict(O2, np.eye(2)), res.patterns)
    scale = max(np.abs(J).max(), np.abs(c).max())
    np.testing.assert_allclose(J_pat, J, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(c_pat, c, rtol=0, atol=1e-12 * scale)
    # grouping autograd's maps with a tolerance far above rounding gives the same partitions
    ref = _linear.linear_counts(J, c, res.adjacency, tol=(1e-9 * scale, 1e-9 * scale))
    assert dict(ref.counts) == dict(res.linear_counts)
    assert _same_partition(ref.connected_labels, res.linear_labels)
    assert _same_partition(ref.piece_labels, res.piece_labels)
    assert res.linear_counts["pieces"] <= res.linear_count <= res.count


def test_the_random_nets_exercise_the_merges():
    counts = [regions.count_on_plane(_random_net(s, 1), O2, E1, E2, (-2, 2.5, -1.5, 2))
              .linear_counts for s in (0, 1)]
    assert all(c["connected"] < c["activation"] for c in counts)


# ------------------------------------------------------------------ the rounding bound

def _exact_maps(net: PLNet, states: np.ndarray):
    """J and c in rational arithmetic (every float64 is a rational): the exact maps."""
    F = np.vectorize(Fraction, otypes=[object])
    first = net.layers[0]
    out = []
    for pattern in states:
        T = np.concatenate([F(first.weight), F(first.bias)[:, None]], axis=1)
        col = 0
        after = [(F(la.weight), F(la.bias)) for la in net.layers[1:]] + [
            (F(net.output[0]), F(net.output[1]))]
        for layer, (w, b) in zip(net.layers, after):
            st = pattern[col:col + layer.width]
            col += layer.width
            s = F(np.asarray(layer.activation.slopes)[st])
            o = F(np.asarray(layer.activation.offsets)[st])
            T = s[:, None] * T
            T[:, -1] += o
            T = w.dot(T)
            T[:, -1] += b
        out.append(T)
    return out


@pytest.mark.parametrize("out", [1, 3])          # backward (1 < d + 1) and forward order
def test_rounding_bound_holds_against_exact_arithmetic(out):
    rng = np.random.default_rng(7)
    layers = (PLLayer(rng.normal(size=(6, 2)), rng.normal(size=6), Activation.relu()),
              PLLayer(rng.normal(size=(5, 6)) * 3, rng.normal(size=5),
                      Activation.hardtanh(-0.5, 0.7)),
              PLLayer(rng.normal(size=(4, 5)), rng.normal(size=4), Activation.leaky_relu(0.3)))
    net = PLNet(layers, (rng.normal(size=(out, 4)), rng.normal(size=out)), 2)
    states = net.states(rng.uniform(-3, 3, size=(40, 2)))
    J, c = _linear.affine_maps(net, states)
    e_j, e_c = _linear.rounding_error(net, *_linear.unit_bounds(net, states))
    worst_j = worst_c = 0.0
    for k, T in enumerate(_exact_maps(net, states)):
        worst_j = max(worst_j, max(abs(Fraction(x) - y) for x, y in zip(J[k].ravel(),
                                                                          T[:, :2].ravel())))
        worst_c = max(worst_c, max(abs(Fraction(x) - y) for x, y in zip(c[k], T[:, 2])))
    assert worst_j <= e_j and worst_c <= e_c
    assert e_j < 1e-11 * np.abs(J).max()           # and the bound is not vacuous


# ------------------------------------------------------------------ grouping the maps

def test_pieces_join_maps_straddling_a_rounding_boundary():
    tol = 1e-6
    c = np.array([[0.5 * tol - 1e-9], [0.5 * tol + 1e-9], [5 * tol], [7 * tol]])
    res = _linear.linear_counts(np.zeros((4, 1, 2)), c, np.zeros((0, 2)), tol=(tol, tol))
    assert dict(res.counts) == {"activation": 4, "connected": 4, "pieces": 3}
    assert res.piece_labels.tolist() == [0, 0, 1, 2]


def test_pieces_of_many_regions_by_sorting():
    """200,000 regions with three distinct maps (plus noise far below the tolerance): a
    pairwise comparison would take 2e10 steps; the sort takes a moment."""
    rng = np.random.default_rng(0)
    which = rng.integers(0, 3, 200_000)
    base = rng.normal(size=(3, 2, 3))
    J = base[which] + rng.normal(scale=1e-15, size=(which.size, 2, 3))
    c = np.array([[0.0, 1.0], [0.0, 1.0], [2.0, 0.0]])[which]
    res = _linear.linear_counts(J, c, np.stack([np.arange(9), np.arange(1, 10)], axis=1),
                                tol=(1e-12, 1e-12))
    assert res.pieces == 3 and res.activation == which.size
    assert _same_partition(res.piece_labels, which)
    assert res.connected == which.size - np.count_nonzero(which[:9] == which[1:10])


@pytest.mark.parametrize("kwargs, match", [
    (dict(jacobians=np.zeros((2, 1)), offsets=np.zeros((2, 1)), edges=[]), "jacobians"),
    (dict(jacobians=np.zeros((2, 1, 1)), offsets=np.zeros((2, 1)), edges=[[0, 2]]), "edges"),
    (dict(jacobians=np.full((1, 1, 1), np.nan), offsets=np.zeros((1, 1)), edges=[]), "finite"),
    (dict(jacobians=np.zeros((1, 1, 1)), offsets=np.zeros((1, 1)), edges=[], tol=1e-9),
     "'tol'"),
    (dict(jacobians=np.zeros((1, 1, 1)), offsets=np.zeros((1, 1)), edges=[], tol=(-1, 0)),
     "'tol'"),
])
def test_bad_maps_are_refused(kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        _linear.linear_counts(**kwargs)


def test_states_out_of_range_are_refused():
    net = as_plnet(min_abs_net(False))
    with pytest.raises(InvalidInputError, match="'states'"):
        _linear.affine_maps(net, np.array([[0, 2, 0, 0]]))
    with pytest.raises(InvalidInputError, match="'states'"):
        _linear.affine_maps(net, np.zeros((1, 3), dtype=int))


def test_linear_fields_are_computed_on_first_access(monkeypatch):
    """Counting the activation regions does not compute the affine maps; the first access to a
    linear field computes them once, on the line (renumbered along it), plane and box alike."""
    from reluthe.regions import _engine

    calls = []
    maps = _engine.region_maps
    monkeypatch.setattr(_engine, "region_maps", lambda *a: calls.append(1) or maps(*a))
    net = min_abs_net(dead_unit=True, d=2)
    results = [regions.count_on_line(net, [-3.0, 0.0], [3.0, 0.0]),
               regions.count_on_plane(net, O2, E1, E2, (-3, 3, -3, 3)),
               regions.count_in_box(net, [-3.0, -3.0], [3.0, 3.0])]
    assert [r.count for r in results] == [5, 5, 5] and calls == []
    for res in results:
        assert dict(res.linear_counts) == {"activation": 5, "connected": 4, "pieces": 3}
        assert res.linear_count == 4 and res.piece_labels.shape == (5,)
    assert len(calls) == 3
    line = results[0]
    # along x_0: 1, -x_0, x_0, 1, 1 (the dead unit splits the last interval at x_0 = 2)
    order = np.argsort(line.interior_points[:, 0])
    assert line.piece_labels[order].tolist() == [0, 1, 2, 0, 0]
    assert not line.linear_labels.flags.writeable


def test_the_linear_readout_keeps_the_memory_budget():
    """The affine maps are checked against ``max_memory`` when they are computed, and a refusal
    says that they were the step that needed the memory."""
    net = min_abs_net(dead_unit=True, d=2)
    res = regions.count_on_plane(net, O2, E1, E2, (-3, 3, -3, 3))
    tight = dataclasses.replace(res._linear, max_bytes=1000)
    with pytest.raises(RegionLimitError, match="the affine maps of the regions"):
        tight.counts()
