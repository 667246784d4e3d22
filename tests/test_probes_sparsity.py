"""Probes of sparsity and generalization on hand-built networks with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.linear_model import RidgeClassifier
from torch import nn

from reluthe import data
from reluthe.errors import InvalidInputError
from reluthe.models import mlp
from reluthe.probes.generalization import (
    chord_segments,
    ensemble_accuracy,
    generalization_gap,
    linear_probe,
    random_segments,
    region_density,
    rotated_segments,
    segment_crossings,
)
from reluthe.probes.sparsity import (
    sparsity_profile,
    sparsity_stats,
    stacked_forward,
    stacked_sparsity,
)
from reluthe.train import Recipe, train_mlps


def _net_with_dead_unit() -> nn.Sequential:
    """2 -> 3 ReLU -> 1; unit 0 = x0, unit 1 = x1, unit 2 has bias -100 (dead on |x| < 50)."""
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        net[0].bias.copy_(torch.tensor([0.0, 0.0, -100.0]))
    return net


X4 = torch.tensor([[1.0, 1.0], [-1.0, 2.0], [2.0, -3.0], [-1.0, -1.0]])


def test_dead_unit_and_zero_fraction_known():
    p = sparsity_profile(_net_with_dead_unit(), X4)
    # unit 0 off on rows 1, 3; unit 1 off on rows 2, 3; unit 2 off everywhere: 2 + 2 + 4 of 12
    assert p.zero_fraction == [8 / 12]
    assert p.negative_fraction == [8 / 12]
    assert p.dead_fraction == [1 / 3] and p.dead_units == [[2]]
    assert p.layers == ["relu"] and p.n_units == [3] and p.n_inputs == 4


def test_zero_pre_activation_counts_as_zero_not_negative():
    net = nn.Sequential(nn.Linear(1, 1), nn.ReLU())
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.zero_()
    p = sparsity_profile(net, torch.tensor([[0.0], [1.0]]))
    assert p.zero_fraction == [0.5] and p.negative_fraction == [0.0]


class _Functional(nn.Module):
    """The article's style: F.relu inside forward, plus an in-place ReLU module."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 3)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(3, 3)
        self.fc3 = nn.Linear(3, 1)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(self.act(self.fc1(x)))))


def test_functional_and_inplace_relu_are_measured_like_direct_computation():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = _Functional()
        x = torch.randn(64, 2)
    p = sparsity_profile(model, x)
    with torch.no_grad():
        h1 = torch.relu(model.fc1(x))
        h2 = torch.relu(model.fc2(h1))
    assert p.layers == ["relu", "relu"]
    assert p.zero_fraction == pytest.approx([float((h1 == 0).double().mean()),
                                             float((h2 == 0).double().mean())])
    assert p.dead_fraction == pytest.approx([float((h1 == 0).all(0).double().mean()),
                                             float((h2 == 0).all(0).double().mean())])


def test_leaky_relu_has_no_exact_zeros_but_a_negative_regime():
    net = mlp([3, 50, 2], "leaky_relu", seed=0, activation_params={"alpha": 0.1})
    x = torch.randn(200, 3, generator=torch.Generator().manual_seed(1))
    p = sparsity_profile(net, x)
    with torch.no_grad():
        pre = net[0](x)
    assert p.zero_fraction == [0.0] and p.dead_fraction == [0.0]
    assert p.negative_fraction[0] == pytest.approx(float((pre < 0).double().mean()))
    assert 0.2 < p.negative_fraction[0] < 0.8


def test_profile_leaves_model_mode_parameters_and_rng_alone():
    net = mlp([4, 8, 8, 2], seed=0)
    net.append(nn.Dropout(0.5))
    net.train()
    before = [q.clone() for q in net.parameters()]
    state = torch.random.get_rng_state()
    sparsity_profile(net, torch.ones(5, 4))
    assert net.training
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize("bad", [torch.zeros(0, 2), torch.tensor([[float("nan"), 0.0]]),
                                 [[1.0, 2.0]]])
def test_profile_rejects_bad_inputs(bad):
    with pytest.raises(InvalidInputError, match="'x' parameter of sparsity_profile"):
        sparsity_profile(_net_with_dead_unit(), bad)


def test_profile_rejects_non_module_and_activation_free_model():
    with pytest.raises(InvalidInputError, match="'model'"):
        sparsity_profile(lambda x: x, X4)
    with pytest.raises(InvalidInputError, match="calls no activation"):
        sparsity_profile(nn.Linear(2, 2), X4)


def test_sparsity_stats_rejects_mismatched_shapes():
    with pytest.raises(InvalidInputError, match="same shape"):
        sparsity_stats(torch.zeros(2, 3), torch.zeros(3, 2))


def test_stacked_forward_and_sparsity_match_each_member():
    ds = data.load("spirals", seed=0, n_samples=200)
    res = train_mlps(ds, [2, 16, 16, 2], seeds=[0, 1, 2],
                     recipes=Recipe(steps=30, eval_every=30, lr=1e-2))
    x = ds.x_test
    logits, pre, post = stacked_forward(res.weights, x)
    stacked = stacked_sparsity(res.weights, x)
    assert len(pre) == len(post) == 2 and logits.shape == (3, len(x), 2)
    for k in range(3):
        model = res.model(k)
        with torch.no_grad():
            assert torch.allclose(logits[k], model(x), atol=1e-5)
        p = sparsity_profile(model, x)
        assert stacked["zero_fraction"][k].tolist() == pytest.approx(p.zero_fraction)
        assert stacked["dead_fraction"][k].tolist() == pytest.approx(p.dead_fraction)
    assert torch.allclose(post[0], res.hidden(x)[0])


def test_stacked_forward_rejects_bad_weights():
    with pytest.raises(InvalidInputError, match="'weights'"):
        stacked_forward([(torch.zeros(2, 3), torch.zeros(2))], torch.zeros(1, 3))
    w = [(torch.zeros(1, 4, 3), torch.zeros(1, 4)), (torch.zeros(1, 2, 5), torch.zeros(1, 2))]
    with pytest.raises(InvalidInputError, match="takes 5 inputs"):
        stacked_forward(w, torch.zeros(1, 3))


def test_linear_probe_equals_sklearn_ridge_classifier():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 200, 12, generator=gen)
    y = torch.randint(0, 4, (200,), generator=gen)
    xt = torch.randn(3, 80, 12, generator=gen)
    yt = torch.randint(0, 4, (80,), generator=gen)
    r = linear_probe(x, y, xt, yt, alpha=2.5)
    for k in range(3):
        ref = RidgeClassifier(alpha=2.5).fit(x[k].double().numpy(), y.numpy())
        assert r.train_acc[k] == pytest.approx(ref.score(x[k].double().numpy(), y.numpy()))
        assert r.test_acc[k] == pytest.approx(ref.score(xt[k].double().numpy(), yt.numpy()))


def test_linear_probe_separates_separable_features_and_validates():
    x = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    y = torch.tensor([0, 1, 0, 1])
    assert float(linear_probe(x, y, x, y).test_acc) == 1.0
    with pytest.raises(InvalidInputError, match="'y_train'"):
        linear_probe(x, y.float(), x, y)
    with pytest.raises(InvalidInputError, match="share leading"):
        linear_probe(x, y, x[:, :1], y)
    with pytest.raises(InvalidInputError, match="'alpha'"):
        linear_probe(x, y, x, y, alpha=0.0)


def test_ensemble_accuracy_averages_probabilities():
    # member 0 is confidently wrong on input 0, member 1 mildly right: the average is wrong
    logits = torch.tensor([[[5.0, 0.0]], [[0.0, 1.0]]])
    assert ensemble_accuracy(logits, torch.tensor([1])) == 0.0
    assert ensemble_accuracy(logits[1:], torch.tensor([1])) == 1.0
    with pytest.raises(InvalidInputError, match="'logits'"):
        ensemble_accuracy(logits[0], torch.tensor([1]))


def test_generalization_gap_is_train_minus_test():
    ds = data.load("digits", seed=0)
    r = train_mlps(ds, [64, 16, 10], seeds=[0, 1], recipes=Recipe(steps=40, eval_every=40))
    assert np.allclose(generalization_gap(r), r.train_acc[:, -1] - r.test_acc[:, -1])
    with pytest.raises(InvalidInputError, match="TrainResult"):
        generalization_gap(object())


def test_segments_are_seeded_distinct_and_of_matched_length():
    x = np.random.default_rng(0).normal(size=(30, 5))
    state = np.random.get_state()
    s1, e1 = chord_segments(x, 10, seed=3)
    s2, e2 = chord_segments(x, 10, seed=3)
    assert np.array_equal(s1, s2) and np.array_equal(e1, e2)
    assert (np.linalg.norm(e1 - s1, axis=1) > 0).all()
    lengths = np.linalg.norm(e1 - s1, axis=1)
    rs, re = random_segments(x, lengths, seed=4)
    assert np.allclose(np.linalg.norm(re - rs, axis=1), lengths)
    assert np.array_equal(state[1], np.random.get_state()[1])
    with pytest.raises(InvalidInputError, match="at least 2 rows"):
        chord_segments(x[:1], 3, seed=0)
    with pytest.raises(InvalidInputError, match="'lengths'"):
        random_segments(x, [1.0, -1.0], seed=0)


def test_region_density_on_a_known_net_and_by_dense_sampling():
    net = [(np.array([[1.0], [1.0]]), np.array([0.0, -1.0])), (np.ones((1, 2)), np.zeros(1))]
    assert region_density(net, [[-1.0]], [[3.0]]).tolist() == [0.5]  # kinks at 0 and 1
    # a random 3-D net: count pattern changes on a fine grid along the segment
    model = mlp([3, 6, 6, 1], seed=2)
    start, end = np.array([-2.0, -1.0, 0.5]), np.array([2.0, 1.5, -0.5])
    t = np.linspace(0, 1, 200001)[:, None]
    pts = torch.as_tensor(start + t * (end - start), dtype=torch.float64)
    with torch.no_grad():
        h1 = model[0].double()(pts)
        h2 = model[2].double()(torch.relu(h1))
    pattern = torch.cat([h1 > 0, h2 > 0], 1)
    changes = int((pattern[1:] != pattern[:-1]).any(1).sum())
    d = region_density(model, start[None], end[None])[0]
    assert d * np.linalg.norm(end - start) == pytest.approx(changes)


def test_segment_crossings_per_layer_match_dense_sampling():
    """Per-layer boundary counts against an independent count of pattern changes on a grid."""
    model = mlp([3, 5, 7, 1], seed=4)
    start, end = np.array([[-2.0, 1.0, 0.5], [1.0, -1.0, 2.0]]), np.array([[2.0, -1.5, -0.5],
                                                                           [-1.0, 2.0, -2.0]])
    c = segment_crossings(model, start, end)
    t = np.linspace(0, 1, 200001)[:, None]
    for i in range(2):
        pts = torch.as_tensor(start[i] + t * (end[i] - start[i]), dtype=torch.float64)
        with torch.no_grad():
            h1 = model[0].double()(pts)
            h2 = model[2].double()(torch.relu(h1))
        per_layer = [int(((h[1:] > 0) != (h[:-1] > 0)).any(1).sum()) for h in (h1, h2)]
        assert c.layer_boundaries[i].tolist() == per_layer
        pattern = torch.cat([h1 > 0, h2 > 0], 1)
        assert c.boundaries[i] == int((pattern[1:] != pattern[:-1]).any(1).sum())
    assert c.widths == (5, 7)
    assert np.allclose(c.density, region_density(model, start, end))
    assert np.allclose(c.density_per_neuron,
                       c.layer_boundaries / c.lengths[:, None] / np.array([5, 7]))


def test_rotated_segments_keep_the_geometry_and_are_seeded():
    a, b = np.random.default_rng(0).normal(size=(2, 20, 6))
    state = np.random.get_state()
    ra, rb = rotated_segments(a, b, seed=3)
    assert np.array_equal(ra, rotated_segments(a, b, seed=3)[0])
    assert np.array_equal(state[1], np.random.get_state()[1])
    for u, v in ((ra, a), (rb, b), (rb - ra, b - a)):  # norms of the ends and the length
        assert np.allclose(np.linalg.norm(u, axis=1), np.linalg.norm(v, axis=1))
    assert np.allclose(np.einsum("ij,ij->i", ra, rb), np.einsum("ij,ij->i", a, b))
    assert not np.allclose(ra, a)
    # uniformly random directions: the mean of rotated unit vectors is near 0
    ua, _ = rotated_segments(np.tile(np.eye(6)[:1], (4000, 1)), np.ones((4000, 6)), seed=1)
    assert np.abs(ua.mean(0)).max() < 0.05
    with pytest.raises(InvalidInputError, match="same shape"):
        rotated_segments(a, b[:3], seed=0)
