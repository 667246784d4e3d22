"""reluthe.train: batched training agrees with the ordinary torch loop, is seeded and validated."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from _close import assert_weights_close, trained_atol
from torch import nn

from reluthe import data, models
from reluthe.errors import InvalidInputError
from reluthe.train import Recipe, TrainResult, batch_order, fit, train_mlps

WIDTHS = [2, 16, 16, 3]


@pytest.fixture(scope="module")
def ds():
    return data.load("spirals", seed=0, n_samples=600, n_classes=3)


def _linears(net):
    return [m for m in net if isinstance(m, nn.Linear)]


def _member(res: TrainResult, k: int) -> list[torch.Tensor]:
    return [t for w, b in res.weights for t in (w[k], b[k])]


def _params(net: nn.Module) -> list[torch.Tensor]:
    return [t.detach() for lin in _linears(net) for t in (lin.weight, lin.bias)]


@pytest.mark.parametrize("recipe", [
    Recipe(optimizer="adam", lr=3e-3, weight_decay=1e-3, steps=60, eval_every=30),
    Recipe(optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=1e-3, steps=60, eval_every=30),
], ids=["adam", "sgd"])
def test_batched_equals_sequential(ds, recipe):
    seeds = [3, 7]
    res = train_mlps(ds, WIDTHS, seeds=seeds, recipes=recipe, init="he")
    for k, s in enumerate(seeds):
        seq = fit(models.mlp(WIDTHS, init="he", seed=s), ds, recipe, seed=s)
        assert_weights_close(_member(res, k), _params(seq.model), recipe.steps)
        n_test = len(ds.y_test)
        assert np.abs(res.test_acc[k] - seq.test_acc).max() <= 1 / n_test  # one tie may flip
        loss_tol = trained_atol(recipe.steps, float(np.abs(seq.train_loss).max()))
        assert np.abs(res.train_loss[k] - seq.train_loss).max() <= loss_tol
        assert res.steps.tolist() == seq.steps.tolist() == [0, 30, 60]


def test_per_member_recipes_match_their_own_runs(ds):
    recipes = [Recipe(lr=1e-3, steps=40, eval_every=40), Recipe(lr=1e-2, steps=40, eval_every=40)]
    both = train_mlps(ds, WIDTHS, seeds=[1], recipes=recipes)
    for r, recipe in enumerate(recipes):
        alone = train_mlps(ds, WIDTHS, seeds=[1], recipes=recipe)
        assert_weights_close(_member(both, r), _member(alone, 0), recipe.steps)
    assert both.recipes == tuple(recipes)


def test_deterministic_and_seeds_differ(ds):
    recipe = Recipe(steps=30, eval_every=30)
    a = train_mlps(ds, WIDTHS, seeds=[0, 1], recipes=recipe)
    b = train_mlps(ds, WIDTHS, seeds=[0, 1], recipes=recipe)
    for (wa, ba), (wb, bb) in zip(a.weights, b.weights):
        assert torch.equal(wa, wb) and torch.equal(ba, bb)
    assert np.array_equal(a.test_acc, b.test_acc)
    w0, w1 = a.weights[0][0]
    assert not torch.allclose(w0, w1)
    assert not torch.equal(batch_order(100, 10, 5, 0), batch_order(100, 10, 5, 1))


def test_fit_is_deterministic(ds):
    recipe = Recipe(steps=20, eval_every=20)
    net = models.mlp(WIDTHS, seed=0)
    a, b = fit(net, ds, recipe, seed=4), fit(net, ds, recipe, seed=4)
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)


@pytest.mark.parametrize("field, value", [
    ("optimizer", "rmsprop"), ("lr", 0.0), ("lr", float("nan")), ("momentum", -0.1),
    ("weight_decay", -1.0), ("l1_activity", -1e-3), ("dropout", 1.0), ("dropout", -0.1),
    ("bias_shift", float("inf")), ("batch_size", 0), ("steps", 2.5), ("eval_every", True),
])
def test_recipe_validation_names_the_field(field, value):
    with pytest.raises(InvalidInputError, match=repr(field)):
        Recipe(**{field: value})


def test_train_mlps_bad_input(ds):
    recipe = Recipe(steps=2, eval_every=2)
    with pytest.raises(InvalidInputError, match="widths"):
        train_mlps(ds, [5, 8, 3], seeds=[0], recipes=recipe)  # input dim is 2
    with pytest.raises(InvalidInputError, match="widths"):
        train_mlps(ds, [2, 8, 4], seeds=[0], recipes=recipe)  # 3 classes
    bad_x = ds.x_train.clone()
    bad_x[3, 1] = float("nan")
    with pytest.raises(InvalidInputError, match="x_train"):
        train_mlps(dataclasses.replace(ds, x_train=bad_x), WIDTHS, seeds=[0], recipes=recipe)
    with pytest.raises(InvalidInputError, match="seeds"):
        train_mlps(ds, WIDTHS, seeds=[], recipes=recipe)
    with pytest.raises(InvalidInputError, match="seeds"):
        train_mlps(ds, WIDTHS, seeds=[0, 1.5], recipes=recipe)
    with pytest.raises(InvalidInputError, match="seeds"):
        train_mlps(ds, WIDTHS, seeds=3, recipes=recipe)
    with pytest.raises(InvalidInputError, match="recipes"):
        train_mlps(ds, WIDTHS, seeds=[0], recipes=[])
    with pytest.raises(InvalidInputError, match="share"):
        train_mlps(ds, WIDTHS, seeds=[0], recipes=[recipe, Recipe(steps=3, eval_every=3)])
    with pytest.raises(InvalidInputError, match="dataset"):
        train_mlps((ds.x_train, ds.y_train), WIDTHS, seeds=[0], recipes=recipe)


def test_caller_rng_state_unchanged(ds):
    recipe = Recipe(steps=5, eval_every=5, dropout=0.2)
    before = torch.get_rng_state()
    train_mlps(ds, WIDTHS, seeds=[0], recipes=recipe)
    fit(models.mlp(WIDTHS, seed=0), ds, Recipe(steps=5, eval_every=5), seed=0)
    assert torch.equal(before, torch.get_rng_state())


def test_fit_leaves_model_and_mode_unchanged(ds):
    net = models.mlp(WIDTHS, seed=2)
    net.eval()
    snapshot = [p.detach().clone() for p in net.parameters()]
    res = fit(net, ds, Recipe(steps=10, eval_every=10), seed=0)
    assert not net.training
    assert all(torch.equal(a, p) for a, p in zip(snapshot, net.parameters()))
    assert all(p.grad is None for p in net.parameters())
    assert not all(torch.equal(a, p) for a, p in zip(snapshot, res.model.parameters()))
    net.train()
    fit(net, ds, Recipe(steps=2, eval_every=2), seed=0)
    assert net.training


def test_member_model_reproduces_logits(ds):
    res = train_mlps(ds, WIDTHS, seeds=[0, 5], recipes=Recipe(steps=20, eval_every=20))
    x = ds.x_test[:50]
    for k in range(2):
        net = res.model(k)
        with torch.no_grad():
            logits = net(x)
        h = x
        for i, (w, b) in enumerate(res.weights):
            h = h @ w[k].T + b[k]
            if i < len(res.weights) - 1:
                h = torch.relu(h)
        assert torch.allclose(logits, h, atol=1e-6)
        acc = float((logits.argmax(1) == ds.y_test[:50]).float().mean())
        assert 0.0 <= acc <= 1.0
    with pytest.raises(InvalidInputError):
        res.model(2)
    hidden = res.hidden(x)
    assert [tuple(h.shape) for h in hidden] == [(2, 50, 16), (2, 50, 16)]
    assert bool((hidden[0] >= 0).all())


def test_output_activation_follows_fit_of_the_same_mlp():
    ds = data.load("digits", seed=0)
    recipe = Recipe(lr=2e-3, steps=15, eval_every=15)
    widths = [64, 12, 10]
    res = train_mlps(ds, widths, seeds=[3, 4], recipes=recipe, output_activation="relu")
    assert (res.outputs(ds.x_test) >= 0).all()
    for k, seed in enumerate((3, 4)):
        net = models.mlp(widths, seed=seed, output_activation="relu")
        ref = fit(net, ds, recipe, seed=seed).model
        # The batched and the sequential trainer sum in different orders (BLAS blocking differs
        # by CPU and shape): weights agree within rounding, not bit for bit.
        assert_weights_close(_member(res, k), _params(ref), recipe.steps)
        member = res.model(k)
        assert type(member[-1]) is type(ref[-1]) is torch.nn.ReLU
        with torch.no_grad():  # the same module on the same input: the same kernels, bit-exact
            assert torch.equal(member(ds.x_test), torch.relu(member[:-1](ds.x_test)))


def test_init_weights_replace_the_seeded_init():
    ds = data.load("digits", seed=0)
    recipe = Recipe(steps=10, eval_every=10)
    widths = [64, 12, 10]
    seeded = train_mlps(ds, widths, seeds=[0, 1], recipes=Recipe(steps=1, lr=1e-30))
    start = [(w.clone(), b.clone()) for w, b in seeded.weights]
    a = train_mlps(ds, widths, seeds=[5, 6], recipes=recipe, init_weights=start)
    b = train_mlps(ds, widths, seeds=[5, 6], recipes=recipe, init_weights=start)
    assert all(torch.equal(x, y) for p, q in zip(a.weights, b.weights) for x, y in zip(p, q))
    assert all(torch.equal(w, v) for (w, _), (v, _) in zip(start, seeded.weights))  # not mutated
    with pytest.raises(InvalidInputError, match="init_weights"):
        train_mlps(ds, widths, seeds=[5], recipes=recipe, init_weights=start)
    bad = [(w.clone(), b.clone()) for w, b in start]
    bad[0][0][0, 0, 0] = float("nan")
    with pytest.raises(InvalidInputError, match="finite"):
        train_mlps(ds, widths, seeds=[5, 6], recipes=recipe, init_weights=bad)


def test_one_init_per_recipe_equals_separate_runs():
    ds = data.load("digits", seed=0)
    widths = [64, 16, 16, 10]
    recipe = Recipe(optimizer="sgd", lr=0.05, momentum=0.9, steps=20, eval_every=10)
    inits = ("default", "he", "xavier")
    both = train_mlps(ds, widths, seeds=[3, 4], recipes=[recipe] * 3, init=inits)
    assert both.member_inits == ("default",) * 2 + ("he",) * 2 + ("xavier",) * 2
    assert both.to_dict()["init"] == list(inits)
    assert 0 < both.train_time_s < both.time_s  # evaluation (3 times) excluded
    assert 0 < both.train_cpu_s
    for r, init in enumerate(inits):
        alone = train_mlps(ds, widths, seeds=[3, 4], recipes=recipe, init=init)
        assert alone.member_inits == (init, init)
        # 6 members against 2: other matrix shapes, so equal within rounding (see _close).
        acc_diff = np.abs(both.test_acc[2 * r:2 * r + 2] - alone.test_acc).max()
        assert acc_diff <= 1 / len(ds.y_test)
        for k in range(2):
            assert_weights_close(_member(both, 2 * r + k), _member(alone, k), recipe.steps)
    with pytest.raises(InvalidInputError, match="one name per recipe"):
        train_mlps(ds, widths, seeds=[3], recipes=recipe, init=("he", "xavier"))
    with pytest.raises(InvalidInputError, match="init"):
        train_mlps(ds, widths, seeds=[3], recipes=recipe, init="glorious")


def test_max_time_stops_early_and_evaluates_the_last_step():
    ds = data.load("digits", seed=0)
    res = train_mlps(ds, [64, 16, 10], seeds=[0], max_time_s=0.05,
                     recipes=Recipe(steps=100_000, eval_every=100_000))
    assert 0 < res.steps[-1] < 100_000 and res.steps[0] == 0
    assert np.isfinite(res.test_acc[:, -1]).all()
    assert res.train_time_s <= res.time_s < 5.0
    with pytest.raises(InvalidInputError, match="max_time_s"):
        train_mlps(ds, [64, 16, 10], seeds=[0], max_time_s=0.0)
