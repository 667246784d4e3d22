"""Protocol primitives: validation curves, best-val and matched-fit checkpoints, select_lr."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from _close import assert_weights_close

from reluthe import data
from reluthe.errors import InvalidInputError
from reluthe.protocol import select_lr, select_lr_across
from reluthe.train import Recipe, TrainResult, train_mlps

WIDTHS = [2, 16, 2]
RECIPE = Recipe(steps=60, eval_every=20, batch_size=64)
LRS = [1e-3, 1e-2, 5e-2]
SEEDS = [0, 1]
nan = float("nan")


def _handmade(train_acc, val_acc=None, val_loss=None) -> TrainResult:
    """A TrainResult with given curves (steps 0, 10, 20, 30); test curves encode their index."""
    train_acc = np.asarray(train_acc, dtype=float)
    k, t = train_acc.shape
    code = np.arange(k)[:, None] * 10.0 + np.arange(t)[None]  # member * 10 + eval index
    val = {} if val_acc is None else {"val_acc": np.asarray(val_acc, dtype=float),
                                      "val_loss": np.asarray(val_loss, dtype=float)}
    return TrainResult((2, 2), "relu", {}, "default", tuple(range(k)), (Recipe(),) * k,
                       np.arange(t) * 10, train_loss=1 - train_acc, test_loss=-code,
                       train_acc=train_acc, test_acc=code, weights=[], **val)


@pytest.fixture(scope="module")
def ds():
    return data.load("spirals", seed=0, n_samples=400, val_size=0.25)


@pytest.fixture(scope="module")
def selection(ds):
    return select_lr(ds, WIDTHS, lrs=LRS, seeds=SEEDS, recipe=RECIPE)


def test_best_val_picks_the_earliest_of_ties():
    val_acc = [[0.5, 0.7, 0.7, 0.6], [0.9, 0.9, 0.9, 0.9], [0.1, 0.2, 0.3, 0.4]]
    val_loss = [[1.0, 0.5, 0.5, nan], [0.3, 0.2, 0.2, 0.4], [nan, nan, 0.9, 0.8]]
    res = _handmade(np.zeros((3, 4)), val_acc, val_loss)
    best = res.at_best_val()
    assert best.index.tolist() == [1, 0, 3] and best.step.tolist() == [10.0, 0.0, 30.0]
    assert best.test_acc.tolist() == [1.0, 10.0, 23.0]  # read at those steps
    assert best.val_acc.tolist() == [0.7, 0.9, 0.4] and best.reached.all()
    assert best.n_unreached == 0 and best.rule == "best val_acc"
    by_loss = res.at_best_val("val_loss")  # lowest; NaN (diverged) is the worst
    assert by_loss.index.tolist() == [1, 1, 3]
    assert by_loss.val_loss.tolist() == [0.5, 0.2, 0.8]


def test_matched_fit_keeps_members_that_never_reach_the_target():
    train_acc = [[0.5, 0.96, 0.99, 0.97], [0.2, 0.3, 0.4, 0.5], [0.95, 0.9, 1.0, 1.0]]
    res = _handmade(train_acc, np.zeros((3, 4)), np.zeros((3, 4)))
    fit = res.at_matched_fit(target=0.95)
    assert fit.index.tolist() == [1, -1, 0] and fit.reached.tolist() == [True, False, True]
    assert fit.n_unreached == 1 and len(fit.test_acc) == 3  # none dropped
    np.testing.assert_array_equal(fit.step, [10.0, nan, 0.0])
    np.testing.assert_array_equal(fit.test_acc, [1.0, nan, 20.0])
    np.testing.assert_array_equal(fit.val_acc, [0.0, nan, 0.0])
    by_loss = res.at_matched_fit(target=0.5, metric="train_loss")  # train_loss = 1 - train_acc
    assert by_loss.index.tolist() == [0, 3, 0]
    assert res.at_matched_fit(target=1.0).index.tolist() == [-1, -1, 2]


def test_checkpoint_errors_name_the_parameter():
    no_val = _handmade(np.zeros((1, 2)))
    assert no_val.val_acc is None and no_val.at_matched_fit(0.5).val_acc is None
    with pytest.raises(InvalidInputError, match="val_size"):
        no_val.at_best_val()
    res = _handmade(np.zeros((1, 2)), np.zeros((1, 2)), np.zeros((1, 2)))
    with pytest.raises(InvalidInputError, match="'metric'.*test_acc"):
        res.at_best_val("test_acc")  # the test set never chooses
    for target in (0.0, 1.5, nan, True):
        with pytest.raises(InvalidInputError, match="'target'"):
            res.at_matched_fit(target)
    with pytest.raises(InvalidInputError, match="'target'"):
        res.at_matched_fit(-1.0, metric="train_loss")
    regression = dataclasses.replace(res, val_acc=np.full((1, 2), nan))
    with pytest.raises(InvalidInputError, match="'val_loss'"):
        regression.at_best_val()


def test_val_curves_match_the_member_models_and_change_nothing_else(ds):
    res = train_mlps(ds, WIDTHS, seeds=SEEDS, recipes=RECIPE)
    assert res.val_acc.shape == res.val_loss.shape == res.test_acc.shape == (2, 4)
    for k in range(res.n_members):
        with torch.no_grad():
            logits = res.model(k)(ds.x_val)
        loss = float(torch.nn.functional.cross_entropy(logits, ds.y_val))
        acc = float((logits.argmax(1) == ds.y_val).float().mean())
        assert abs(res.val_loss[k, -1] - loss) <= 1e-5
        assert abs(res.val_acc[k, -1] - acc) <= 1 / len(ds.y_val)  # one tie may flip
    assert res.to_dict()["final_val_acc"] == res.val_acc[:, -1].tolist()
    without = train_mlps(dataclasses.replace(ds, x_val=None, y_val=None), WIDTHS, seeds=SEEDS,
                         recipes=RECIPE)
    assert without.val_acc is None and without.val_loss is None
    assert "final_val_acc" not in without.to_dict()
    assert all(torch.equal(a, b) for p, q in zip(res.weights, without.weights)
               for a, b in zip(p, q))
    assert np.array_equal(res.test_acc, without.test_acc)


def test_best_val_weights_reproduce_the_best_val_checkpoint(ds):
    """The weights kept at each member's best validation step give back that step's metrics
    (an independent forward pass), for classification (accuracy) and regression (loss)."""
    res = train_mlps(ds, WIDTHS, seeds=SEEDS, recipes=Recipe(lr=0.3, steps=60, eval_every=10))
    best = res.at_best_val()
    assert (best.index < len(res.steps) - 1).any()  # some member peaked before the end
    for k in range(res.n_members):
        with torch.no_grad():
            logits = res.model(k, at="best_val")(ds.x_val)
        assert abs(float((logits.argmax(1) == ds.y_val).float().mean()) - best.val_acc[k]) \
            <= 1 / len(ds.y_val)
        assert abs(float(torch.nn.functional.cross_entropy(logits, ds.y_val))
                   - best.val_loss[k]) <= 1e-5
    assert res.select([1]).best_val_weights[0][0].shape[0] == 1
    reg = data.load("teacher", seed=0, n_samples=300, val_size=0.2)
    rr = train_mlps(reg, [reg.input_dim, 8, 1], seeds=SEEDS,
                    recipes=Recipe(lr=3e-2, steps=40, eval_every=10))
    bl = rr.at_best_val("val_loss")
    out = rr.outputs(reg.x_val, at="best_val")
    mse = ((out[..., 0] - reg.y_val.reshape(1, -1)) ** 2).mean(1).numpy()
    assert np.allclose(mse, bl.val_loss, rtol=1e-4)
    without = train_mlps(dataclasses.replace(ds, x_val=None, y_val=None), WIDTHS, seeds=SEEDS,
                         recipes=RECIPE)
    with pytest.raises(InvalidInputError, match="validation split"):
        without.hidden(ds.x_test, at="best_val")
    with pytest.raises(InvalidInputError, match="'at'"):
        res.model(0, at="best")


def test_select_keeps_members_in_order(ds):
    res = train_mlps(ds, WIDTHS, seeds=[3, 4], recipes=[RECIPE, RECIPE], init=("he", "xavier"))
    sub = res.select([3, 0])
    assert sub.seeds == (4, 3) and sub.member_inits == ("xavier", "he")
    assert np.array_equal(sub.val_acc, res.val_acc[[3, 0]])
    assert torch.equal(sub.weights[0][0][0], res.weights[0][0][3])
    assert res.select([2, 3]).init == "xavier"
    with pytest.raises(InvalidInputError, match="'members'"):
        res.select([4])


def test_select_lr_picks_the_best_mean_validation_score(ds, selection):
    full = selection.full
    assert full.n_members == len(LRS) * len(SEEDS)
    assert [r.lr for r in full.recipes] == [lr for lr in LRS for _ in SEEDS]
    expected = full.at_best_val().val_acc.reshape(len(LRS), len(SEEDS))
    np.testing.assert_array_equal(selection.scores, expected)
    np.testing.assert_array_equal(selection.mean_scores, expected.mean(1))
    assert selection.index == int(np.argmax(expected.mean(1)))
    assert selection.lr == LRS[selection.index] and selection.dataset == "spirals"
    assert selection.result.seeds == tuple(SEEDS)
    assert {r.lr for r in selection.result.recipes} == {selection.lr}
    summary = selection.to_dict()
    assert summary["lr"] == selection.lr and summary["test_acc"] == (
        selection.checkpoint.test_acc.tolist())


def test_selected_members_equal_a_separate_run(ds, selection):
    alone = train_mlps(ds, WIDTHS, seeds=SEEDS, recipes=dataclasses.replace(RECIPE,
                                                                           lr=selection.lr))
    for k in range(len(SEEDS)):  # 6 members against 2: equal within rounding (see _close)
        assert_weights_close([t[k] for w, b in selection.result.weights for t in (w, b)],
                             [t[k] for w, b in alone.weights for t in (w, b)], RECIPE.steps)
    assert np.abs(selection.result.val_acc - alone.val_acc).max() <= 1 / len(ds.y_val)


def test_test_set_does_not_influence_the_choice(ds, selection):
    garbage = torch.randint(0, 2, ds.y_test.shape, generator=torch.Generator().manual_seed(9))
    before = torch.get_rng_state(), np.random.get_state()[1].copy()
    other = select_lr(dataclasses.replace(ds, y_test=garbage), WIDTHS, lrs=LRS, seeds=SEEDS,
                      recipe=RECIPE, device="cpu")
    assert torch.equal(before[0], torch.get_rng_state())  # no global RNG touched
    assert np.array_equal(before[1], np.random.get_state()[1])
    assert other.lr == selection.lr
    np.testing.assert_array_equal(other.scores, selection.scores)


def test_select_lr_refuses_bad_input(ds):
    no_val = data.load("spirals", seed=0, n_samples=200)
    with pytest.raises(InvalidInputError, match="'spirals'.*val_size"):
        select_lr(no_val, WIDTHS, lrs=LRS, seeds=SEEDS, recipe=RECIPE)
    for lrs in ([], [1e-3, 1e-3], [0.0], 1e-3):
        with pytest.raises(InvalidInputError, match="'lrs'"):
            select_lr(ds, WIDTHS, lrs=lrs, seeds=SEEDS, recipe=RECIPE)
    with pytest.raises(InvalidInputError, match="'metric'"):
        select_lr(ds, WIDTHS, lrs=LRS, seeds=SEEDS, recipe=RECIPE, metric="test_acc")
    with pytest.raises(InvalidInputError, match="'init'"):
        select_lr(ds, WIDTHS, lrs=LRS, seeds=SEEDS, recipe=RECIPE, init=("he", "xavier"))
    with pytest.raises(InvalidInputError, match="'recipe'"):
        select_lr(ds, WIDTHS, lrs=LRS, seeds=SEEDS, recipe={"lr": 1e-3})


def test_select_lr_across_chooses_one_rate_on_the_mean_over_all_data_and_model_seeds():
    sets = [data.load("spirals", seed=s, n_samples=300, val_size=0.25) for s in (0, 1, 2)]
    sel = select_lr_across(sets, WIDTHS, lrs=LRS, seeds=SEEDS, recipe=RECIPE)
    assert len(sel) == 3 and len({s.index for s in sel}) == 1
    joint = np.concatenate([s.scores for s in sel], axis=1).mean(1)
    assert sel[0].index == int(np.argmax(joint))
    for ds_, s in zip(sets, sel):  # each data seed's scores are its own run's
        alone = select_lr(ds_, WIDTHS, lrs=LRS, seeds=SEEDS, recipe=RECIPE)
        np.testing.assert_array_equal(s.scores, alone.scores)
        assert s.result.best_val_weights is not None
    with pytest.raises(InvalidInputError, match="'datasets'"):
        select_lr_across(sets[0], WIDTHS, lrs=LRS, seeds=SEEDS, recipe=RECIPE)
    with pytest.raises(InvalidInputError, match="validation split"):
        select_lr_across([data.load("spirals", seed=0, n_samples=300)], WIDTHS, lrs=LRS,
                         seeds=SEEDS, recipe=RECIPE)


def test_l2_activity_penalty_shrinks_activations_without_exact_zeros_of_its_own():
    ds = data.load("digits", seed=0)
    res = train_mlps(ds, [64, 32, 10], seeds=[0], activation="tanh",
                     recipes=[Recipe(lr=1e-2, steps=60, eval_every=60),
                              Recipe(lr=1e-2, steps=60, eval_every=60, l2_activity=1.0)])
    h = res.hidden(ds.x_test)[0]
    assert float(h[1].square().mean()) < 0.8 * float(h[0].square().mean())  # 0.24 vs 0.41
    assert float((h[1] == 0).float().mean()) == 0.0
    with pytest.raises(InvalidInputError, match="'l2_activity'"):
        Recipe(l2_activity=-1.0)
