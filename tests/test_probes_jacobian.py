"""The Jacobian-norm probe against torch.autograd.functional.jacobian, one model at a time."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reluthe import data
from reluthe.errors import InvalidInputError
from reluthe.probes.jacobian import jacobian_norms
from reluthe.train import Recipe, train_mlps


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
def test_norms_equal_the_autograd_jacobian_of_each_member(activation):
    ds = data.load("digits", seed=0)
    res = train_mlps(ds, [64, 16, 16, 10], seeds=[0, 1], recipes=Recipe(steps=20, eval_every=20),
                     activation=activation)
    x = ds.x_test[:7]
    got = jacobian_norms(res.weights, x, activation)
    for k in range(res.n_members):
        net = res.model(k).double()
        want = [float(torch.linalg.norm(torch.autograd.functional.jacobian(net, p.double())))
                for p in x]
        # float64 throughout: the two computations differ only by summation order
        assert np.allclose(got[k], want, rtol=1e-10, atol=0)


def test_weights_and_inputs_are_left_alone_and_bad_input_is_named():
    ds = data.load("digits", seed=0)
    res = train_mlps(ds, [64, 8, 10], seeds=[0], recipes=Recipe(steps=5, eval_every=5))
    before = [(w.clone(), b.clone()) for w, b in res.weights]
    x = ds.x_test[:3].clone()
    jacobian_norms(res.weights, x)
    assert all(torch.equal(a, c) and torch.equal(b, d)
               for (a, b), (c, d) in zip(before, res.weights))
    assert torch.equal(x, ds.x_test[:3]) and not x.requires_grad
    with pytest.raises(InvalidInputError, match="'x'"):
        jacobian_norms(res.weights, ds.x_test[:3, :10])
    with pytest.raises(InvalidInputError, match="'x'"):
        jacobian_norms(res.weights, torch.full((2, 64), float("nan")))
    with pytest.raises(InvalidInputError, match="'weights'"):
        jacobian_norms("weights", x)
