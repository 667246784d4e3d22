"""reluthe.probes.profile: one row per activation call, named by module path, with numbers that
equal a direct computation and autograd; every probe result's to_dict() is a table; the model is
left alone; bad input is a named error."""

from __future__ import annotations

import json
from collections import OrderedDict

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from test_no_mutation import MODELS, assert_same, make, snapshot
from torch import nn

from reluthe import probes
from reluthe.claims.gradients.c17_mymodel import MyModel  # the article's code, verbatim
from reluthe.errors import InvalidInputError, UnsupportedNetworkError
from reluthe.models import mlp
from reluthe.probes import profile

GEN = torch.Generator().manual_seed(0)
X = torch.randn(64, 100, generator=GEN)
Y = torch.randint(0, 10, (64,), generator=GEN)
# float32 results of the same operations, reduced in another order: a few eps of the scale
RTOL = 64 * torch.finfo(torch.float32).eps


def _seeded(build, seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _named_sequential():
    return nn.Sequential(OrderedDict(fc1=nn.Linear(100, 64), relu1=nn.ReLU(),
                                     fc2=nn.Linear(64, 32), relu2=nn.ReLU(inplace=True),
                                     fc3=nn.Linear(32, 10)))


# ----------------------------------------------------------------------------- names

@pytest.mark.parametrize("build", [MyModel, _named_sequential], ids=["MyModel", "Sequential"])
def test_rows_are_named_fc1_fc2(build):
    p = profile(_seeded(build), X, Y)
    assert [r.layer for r in p.rows] == ["fc1", "fc2"]
    assert [r.activation for r in p.rows] == ["relu", "relu"]
    assert [r.n_units for r in p.rows] == [64, 32] and p.n_inputs == 64


class _Convs(nn.Module):
    """Conv -> BatchNorm -> F.relu -> dropout -> flatten -> a Linear used twice, ReLU each time,
    and a ReLU of the raw input."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(8, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        skip = torch.relu(x).mean()
        h = self.drop(F.relu(self.features(x))).flatten(1)
        h = self.fc(h).relu()
        h = F.relu(self.fc(h) + h)
        return self.head(h) + skip


def test_naming_rule_through_batchnorm_reshapes_reuse_and_the_input():
    model = _seeded(_Convs).eval()
    p = profile(model, torch.randn(5, 1, 4, 4, generator=GEN))
    assert [r.layer for r in p.rows] == ["input", "features.1", "fc", "fc#2"]
    assert [r.n_units for r in p.rows] == [16, 8, 8, 8]
    assert p.loss == "sum of outputs"


def test_mixed_activations_are_rows_and_flagged():
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 5), nn.LeakyReLU(0.1),
                          nn.Linear(5, 5), nn.ReLU6())
    p = profile(model, torch.randn(7, 4, generator=GEN))
    assert [(r.layer, r.activation, r.piecewise_linear) for r in p.rows] == [
        ("0", "tanh", False), ("2", "leaky_relu", True), ("4", "relu6", True)]


# ----------------------------------------------------------------------------- numbers

def test_zero_fraction_and_dead_units_equal_a_direct_computation():
    model = _seeded(MyModel)
    with torch.no_grad():
        model.fc2.bias[:5] = -1e3                       # five units dead on every input
        a1 = F.relu(model.fc1(X))
        a2 = F.relu(model.fc2(a1))
    p = profile(model, X, Y)
    for row, a, z in zip(p.rows, (a1, a2), (model.fc1(X), model.fc2(a1))):
        assert row.zero_fraction == float((a == 0).double().mean())
        assert row.negative_fraction == float((z < 0).double().mean())
        assert row.dead_units == int((a == 0).all(0).sum())
        assert row.dead_fraction == row.dead_units / row.n_units
    assert p.rows[1].dead_units >= 5 and 0.2 < p.rows[0].zero_fraction < 0.8


def _autograd_norms(model, x, value_of):
    """‖∂L/∂z‖ and ‖∂L/∂a‖ of MyModel's two ReLUs, by hand."""
    z1 = model.fc1(x)
    a1 = F.relu(z1)
    z2 = model.fc2(a1)
    a2 = F.relu(z2)
    grads = torch.autograd.grad(value_of(model.fc3(a2)), [z1, a1, z2, a2])
    return [float(g.double().norm()) for g in grads]


@pytest.mark.parametrize("kind", ["cross_entropy", "mse", "sum", "callable"])
def test_gradient_norms_equal_autograd(kind):
    model = _seeded(MyModel)
    target = torch.randn(64, 10, generator=GEN)
    y, value_of, name = {
        "cross_entropy": (Y, lambda out: F.cross_entropy(out, Y), "cross_entropy"),
        "mse": (target, lambda out: F.mse_loss(out, target), "mse"),
        "sum": (None, lambda out: out.sum(), "sum of outputs"),
        "callable": (Y, lambda out: out.square().mean(), "<lambda>"),
    }[kind]
    loss = (lambda out, y: out.square().mean()) if kind == "callable" else None
    p = profile(model, X, y, loss=loss)
    expected = _autograd_norms(model, X, value_of)
    got = [v for r in p.rows for v in (r.grad_norm_in, r.grad_norm_out)]
    np.testing.assert_allclose(got, expected, rtol=RTOL)
    assert p.loss == name and all(v > 0 for v in got)
    assert model.fc1.weight.grad is None                   # autograd.grad, not backward


def test_inplace_relu_gradients_in_and_out():
    model = _seeded(_named_sequential)
    p = profile(model, X, Y)
    ref = profile(_seeded(MyModel), X, Y)                  # same weights, functional ReLU
    np.testing.assert_allclose([r.grad_norm_in for r in p.rows],
                               [r.grad_norm_in for r in ref.rows], rtol=RTOL)
    np.testing.assert_allclose([r.grad_norm_out for r in p.rows],
                               [r.grad_norm_out for r in ref.rows], rtol=RTOL)
    assert all(r.grad_norm_in < r.grad_norm_out for r in p.rows)  # ReLU masks off units


def test_frozen_model_and_integer_inputs_still_get_gradients_or_nan():
    model = _seeded(MyModel).requires_grad_(False)
    assert np.isfinite([r.grad_norm_in for r in profile(model, X, Y).rows]).all()
    emb = nn.Sequential(nn.Embedding(10, 4), nn.ReLU()).requires_grad_(False)
    row = profile(emb, torch.arange(6)).rows[0]
    assert np.isnan(row.grad_norm_in) and np.isnan(row.grad_norm_out)


# ----------------------------------------------------------------------------- tables

def test_to_dict_to_frame_and_plot():
    p = profile(_seeded(MyModel), X, Y)
    d = p.to_dict()
    frame = pd.DataFrame(d)
    assert len(frame) == 2 and list(frame["layer"]) == ["fc1", "fc2"]
    json.dumps(d)
    table = p.to_frame()
    assert list(table.columns) == list(probes.ProfileRow.__dataclass_fields__)
    assert table.attrs == {"n_inputs": 64, "loss": "cross_entropy", "loss_value": p.loss_value}
    assert table["zero_fraction"].tolist() == [r.zero_fraction for r in p.rows]
    ax = p.plot()
    assert len(ax.patches) == 4 and ax.get_ylim() == (0.0, 1.0)


def _result_examples() -> dict:
    """One instance of every probe result class that has to_dict()."""
    net = mlp([3, 8, 8, 2], seed=0)
    x, y = torch.randn(10, 3, generator=GEN), torch.arange(10) % 2
    feats = torch.randn(2, 20, 4, generator=GEN)          # 2 models' features
    return {
        "Profile": probes.profile(net, x, y),
        "GradientFlow": probes.gradient_flow(net, x, y, spectral=True),
        "SparsityProfile": probes.sparsity_profile(net, x),
        "DeadNetworkEstimate": probes.dead_network_mc(2, 3, n_trials=100),
        "TimingResult": probes.TimingResult(["relu", "tanh"], ["a", "b"],
                                            np.arange(1.0, 13.0).reshape(3, 2, 2), "relu",
                                            "cpu", 1, 0),
        "ProbeResult": probes.linear_probe(feats, torch.arange(20) % 2, feats[:, :10],
                                           torch.arange(10) % 2),
        "ModeCoverage": probes.mode_coverage(np.random.default_rng(0).standard_normal((50, 2)),
                                             probes.ring_centers(), 0.1),
    }


def test_every_probe_result_to_dict_is_a_table():
    examples = _result_examples()
    with_to_dict = {name for name in probes.__all__
                    if isinstance(getattr(probes, name), type)
                    and hasattr(getattr(probes, name), "to_dict")}
    assert with_to_dict == set(examples)
    for name, result in examples.items():
        d = result.to_dict()
        lengths = {len(v) for v in d.values() if isinstance(v, list)}
        assert len(lengths) == 1, (name, {k: len(v) for k, v in d.items()
                                          if isinstance(v, list)})
        assert all(isinstance(v, (list, str, int, float, bool)) or v is None
                   for v in d.values()), name
        assert pd.DataFrame(d).shape[0] == lengths.pop(), name
        json.dumps(d)


def test_gradient_flow_table_holds_activations_then_weights():
    flow = probes.gradient_flow(mlp([3, 8, 8, 2], seed=0), X[:10, :3], Y[:10] % 2)
    frame = pd.DataFrame(flow.to_dict())
    acts, weights = frame[frame.kind == "activation"], frame[frame.kind == "weight"]
    assert acts["grad_norm"].tolist() == flow.preact_grad_norm.tolist()
    assert weights["name"].tolist() == list(flow.weight_names)
    assert weights["grad_norm"].tolist() == flow.weight_grad_norm.tolist()
    assert weights["zero_grad_share"].isna().all() and acts["spectral_norm"].isna().all()


# ----------------------------------------------------------------------------- the package

def test_probes_reexports_every_public_name_of_its_modules():
    import importlib

    for module, names in probes._LAZY.items():
        sub = importlib.import_module(f"reluthe.probes.{module}")
        assert tuple(sub.__all__) == names, module
        for name in names:
            assert getattr(probes, name) is getattr(sub, name)
    assert {"profile", "Profile", "ProfileRow"} <= set(probes.__all__)
    import reluthe.probes.profile  # noqa: F401 - importing the submodule must not rebind it
    assert callable(probes.profile) and probes.profile.__name__ == "profile"


# ----------------------------------------------------------------------------- untouched

@pytest.mark.parametrize("kind", list(MODELS))
def test_profile_leaves_model_mode_hooks_and_rng_alone(kind):
    model, x = make(kind)
    before = snapshot(model)
    profile(model, x, torch.arange(len(x)) % 2)
    profile(model, x)
    assert_same(before, snapshot(model))


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("model, found", [
    (nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2), nn.Sigmoid()), "tanh x1"),
    (nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2)), "no activation call"),
])
def test_model_without_piecewise_linear_activations_is_refused(model, found):
    with pytest.raises(UnsupportedNetworkError) as info:
        profile(model, torch.randn(3, 4, generator=GEN))
    msg = str(info.value)
    assert "no piecewise-linear activation" in msg and found in msg
    assert "relu" in msg and "gradient_flow" in msg


@pytest.mark.parametrize("kwargs, fragments", [
    ({"x": torch.randn(5, 99)}, ("'x'", "(5, 99)", "mat1 and mat2")),
    ({"x": torch.randn(5, 10, 10)}, ("'x'", "(5, 10, 10)")),
    ({"x": X.double()}, ("'x'", "must match the model")),
    ({"x": X.numpy()}, ("'x'", "torch.Tensor")),
    ({"x": torch.zeros(0, 100)}, ("'x'", "non-empty")),
    ({"model": "net"}, ("'model'",)),
    ({"y": Y[:3]}, ("'y'", "one row per input")),
    ({"y": Y + 20}, ("'y'", "does not fit")),
    ({"y": Y.float()}, ("'y'", "output's shape (64, 10) for mse")),
    ({"loss": "hinge", "y": Y}, ("'loss'", "hinge")),
    ({"loss": "mse"}, ("'loss'", "needs targets")),
    ({"loss": lambda out, y: out}, ("'loss'", "scalar")),
])
def test_bad_input_is_a_named_error(kwargs, fragments):
    args = {"model": _seeded(MyModel), "x": X, **kwargs}
    with pytest.raises(InvalidInputError) as info:
        profile(**args)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_tuple_output_needs_a_callable_loss():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            h = F.relu(self.fc(x))
            return h, h.sum(1)

    with pytest.raises(UnsupportedNetworkError, match="loss=callable"):
        profile(Two(), torch.ones(2, 3))
    p = profile(Two(), torch.ones(2, 3), loss=lambda out, y: out[1].sum())
    assert p.loss == "<lambda>" and [r.layer for r in p.rows] == ["fc"]
