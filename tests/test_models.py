"""reluthe.models: the activation catalogue, inits and mlp()."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from reluthe import models
from reluthe.errors import InvalidInputError


def test_catalogue_names_cover_the_issue():
    wanted = {"relu", "leaky_relu", "elu", "selu", "gelu", "silu", "softplus", "tanh", "sigmoid",
              "identity"}
    assert wanted <= set(models.ACTIVATIONS)


@pytest.mark.parametrize("name", models.ACTIVATIONS)
def test_module_and_functional_forms_agree(name):
    x = torch.linspace(-4, 4, 101)
    assert torch.allclose(models.activation_module(name)(x), models.activation_fn(name)(x))


def test_activation_parameters_and_errors():
    leaky = models.activation_fn("leaky_relu", alpha=0.3)
    assert leaky(torch.tensor([-1.0])).item() == pytest.approx(-0.3)
    with pytest.raises(InvalidInputError, match="alpha"):
        models.activation_module("elu", alpha=-1.0)
    with pytest.raises(InvalidInputError, match="beta"):
        models.activation_module("softplus", beta=0.0)
    with pytest.raises(InvalidInputError, match="unknown"):
        models.activation_module("relu", alpha=1.0)
    with pytest.raises(InvalidInputError, match="relu"):
        models.activation_module("swishy")


def test_mlp_shape_and_no_activation_after_last_layer():
    net = models.mlp([100, 64, 32, 10], "tanh", seed=0)
    assert [type(m).__name__ for m in net] == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert net(torch.zeros(3, 100)).shape == (3, 10)
    out = models.mlp([4, 8, 2], output_activation="relu", seed=0)
    assert isinstance(out[-1], nn.ReLU)


def test_mlp_is_seeded_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a, b = models.mlp([5, 7, 3], seed=4), models.mlp([5, 7, 3], seed=4)
    c = models.mlp([5, 7, 3], seed=5)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a[0].weight, c[0].weight)


@pytest.mark.parametrize(("init", "var"), [("he", 2.0 / 400), ("lecun", 1.0 / 400),
                                           ("xavier", 2.0 / 800), ("default", 1.0 / 1200),
                                           ("small_normal", 1e-4)])
def test_init_variances(init, var):
    w = models.mlp([400, 400, 2], init=init, seed=0)[0].weight
    assert math.isclose(float(w.detach().var()), var, rel_tol=0.05)


@pytest.mark.parametrize("widths", [[3], [], "34", [3, 0, 2], [3, 2.5, 2]])
def test_bad_widths(widths):
    with pytest.raises(InvalidInputError, match="widths"):
        models.mlp(widths)


def test_bad_init_lists_the_choices():
    with pytest.raises(InvalidInputError, match="xavier"):
        models.mlp([2, 3, 1], init="orthogonal")
