"""reluthe.nets reads the easy forms of networks people have: a trailing Softmax / LogSoftmax /
Sigmoid (recorded, hidden regions unchanged), PReLU, scalar affine operations in forward; and
every refusal names the module and says what to do instead."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_no_mutation import assert_same, snapshot
from torch import nn

from reluthe import UnsupportedNetworkError, regions
from reluthe.nets import PLNet, from_torch

EPS32 = float(torch.finfo(torch.float32).eps)


def _seeded(build, seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _points(n, d, seed=1):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def _assert_matches_float32(model_logits, net: PLNet, x: torch.Tensor, depth: int, width: int):
    """PLNet (float64) agrees with the float32 torch model within float32 rounding: each of the
    ``depth`` affine layers adds at most ``width`` roundings of relative size eps to sums whose
    terms are bounded by the largest output."""
    with torch.no_grad():
        expected = model_logits(x).double().numpy()
    got = net.forward(x.double().numpy())
    atol = 4 * depth * width * EPS32 * (1.0 + np.abs(expected).max())
    np.testing.assert_allclose(got, expected, rtol=0, atol=atol)


def _mlp_body():
    return [nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4)]


class _Functional(nn.Module):
    """The article's style, with the transform called as a function or method in forward."""

    def __init__(self, transform):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(3, 16), nn.Linear(16, 16), nn.Linear(16, 4)
        self.transform = transform

    def logits(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

    def forward(self, x):
        return self.transform(self.logits(x))


TRANSFORMS = {
    "nn.Softmax": (lambda: nn.Sequential(*_mlp_body(), nn.Softmax(dim=1)), "softmax",
                   lambda z: torch.softmax(z, 1)),
    "nn.LogSoftmax": (lambda: nn.Sequential(*_mlp_body(), nn.LogSoftmax(dim=-1)), "log_softmax",
                      lambda z: torch.log_softmax(z, -1)),
    "nn.Sigmoid": (lambda: nn.Sequential(*_mlp_body(), nn.Sigmoid()), "sigmoid", torch.sigmoid),
    "F.softmax": (lambda: _Functional(lambda z: F.softmax(z, dim=1)), "softmax",
                  lambda z: torch.softmax(z, 1)),
    "torch.log_softmax": (lambda: _Functional(lambda z: torch.log_softmax(z, 1)), "log_softmax",
                          lambda z: torch.log_softmax(z, 1)),
    "x.softmax": (lambda: _Functional(lambda z: z.softmax(-1)), "softmax",
                  lambda z: torch.softmax(z, -1)),
    "torch.sigmoid": (lambda: _Functional(torch.sigmoid), "sigmoid", torch.sigmoid),
    "x.sigmoid": (lambda: _Functional(lambda z: z.sigmoid()), "sigmoid", torch.sigmoid),
}


def _logits_of(model):
    return model.logits if isinstance(model, _Functional) else model[:-1]


@pytest.mark.parametrize("kind", list(TRANSFORMS))
def test_trailing_transform_is_recorded_and_forward_gives_the_logits(kind):
    build, name, apply = TRANSFORMS[kind]
    model = _seeded(build)
    net = from_torch(model)
    assert net.output_transform == name and net.widths == (16, 16) and net.output_dim == 4
    x = _points(200, 3)
    _assert_matches_float32(_logits_of(model), net, x, depth=3, width=16)
    with torch.no_grad():   # the recorded transform applied to forward gives the model's output
        full = model(x).double()
    again = apply(torch.from_numpy(net.forward(x.double().numpy())))
    np.testing.assert_allclose(again.numpy(), full.numpy(), rtol=0,
                               atol=64 * 16 * EPS32 * (1 + full.abs().max().item()))


@pytest.mark.parametrize("kind", ["nn.Softmax", "F.softmax", "nn.Sigmoid"])
def test_regions_on_a_line_are_those_of_the_net_without_the_transform(kind):
    build, _, _ = TRANSFORMS[kind]
    model = _seeded(build)
    without = model[:-1] if isinstance(model, nn.Sequential) else _Functional(lambda z: z)
    without.load_state_dict(model.state_dict())
    a, b = np.array([-3.0, -2.0, -1.0]), np.array([3.0, 2.5, 1.5])
    with_t, plain = regions.count_on_line(model, a, b), regions.count_on_line(without, a, b)
    assert with_t.count == plain.count and with_t.count > 3
    np.testing.assert_array_equal(with_t.breakpoints, plain.breakpoints)
    assert from_torch(without).output_transform is None


def test_restrict_keeps_the_transform():
    net = from_torch(_seeded(TRANSFORMS["nn.Softmax"][0]))
    assert net.restrict(np.zeros(3), np.eye(3)[:, :2]).output_transform == "softmax"


@pytest.mark.parametrize("build, what, fragment", [
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.Softmax(dim=1), nn.Linear(4, 2)),
     "Softmax", "only as the last operation"),
    (lambda: _Functional(lambda z: F.softmax(z, dim=0)), "dim=0", "dim=1 or -1"),
    (lambda: _Functional(lambda z: torch.sigmoid(z) * 2), "sigmoid", "only as the last"),
])
def test_transform_not_at_the_end_or_over_the_batch_is_refused(build, what, fragment):
    with pytest.raises(UnsupportedNetworkError) as info:
        from_torch(_seeded(build))
    assert what in str(info.value) and fragment in str(info.value)


# ----------------------------------------------------------------------------- PReLU

def test_prelu_with_one_slope_is_a_leaky_relu_layer():
    model = _seeded(lambda: nn.Sequential(nn.Linear(3, 8), nn.PReLU(), nn.Linear(8, 8),
                                          nn.PReLU(init=-0.3), nn.Linear(8, 2)))
    net = from_torch(model)
    assert [layer.activation.name for layer in net.layers] == ["prelu(0.25)", "prelu(-0.3)"]
    _assert_matches_float32(model, net, _points(200, 3), depth=3, width=8)
    z = net.preactivations(_points(50, 3).double().numpy())[0]
    assert (z < 0).any() and (z > 0).any()        # both pieces are exercised


def test_prelu_per_channel_equal_slopes_accepted_distinct_refused():
    same = _seeded(lambda: nn.Sequential(nn.Linear(3, 4), nn.PReLU(4, init=0.2),
                                         nn.Linear(4, 1)))
    assert from_torch(same).layers[0].activation.name == "prelu(0.2)"
    with torch.no_grad():
        same[1].weight[0] = 0.5
    with pytest.raises(UnsupportedNetworkError) as info:
        from_torch(same)
    msg = str(info.value)
    assert "PReLU" in msg and "num_parameters=4" in msg and "nn.PReLU()" in msg
    assert "LeakyReLU" in msg


# ----------------------------------------------------------------------------- scalar affine ops

class _Scalars(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(3, 8), nn.Linear(8, 8), nn.Linear(8, 2)

    def forward(self, x):
        x = 2 * x
        h = F.relu(self.fc1(x) * 0.5 + 1)
        h = -h
        h = F.relu(1 - h) / 4               # between activations: an affine step
        h = torch.relu(h - 0.5)
        h = torch.mul(h, 3).add(1).sub(2.5)
        return self.fc3(F.relu(self.fc2(h.div(2)))) - 1


def test_scalar_affine_operations_fold_into_the_affine_maps():
    model = _seeded(_Scalars)
    net = from_torch(model)
    assert net.widths == (8, 8, 8, 8)
    _assert_matches_float32(model, net, _points(300, 3), depth=5, width=8)
    # between ReLUs without a Linear, the scalar steps are the hidden layers' affine maps:
    # relu(1 - (-h)) is W = I, b = 1; relu(h / 4 - 0.5) is W = I / 4, b = -0.5
    for layer, scale, shift in zip(net.layers[1:3], (1.0, 0.25), (1.0, -0.5)):
        np.testing.assert_allclose(layer.weight, scale * np.eye(8))
        np.testing.assert_allclose(layer.bias, np.full(8, shift))


class _Op(nn.Module):
    def __init__(self, op):
        super().__init__()
        self.fc, self.op = nn.Linear(3, 3), op
        self.register_buffer("scale", torch.ones(3))

    def forward(self, x):
        return self.op(self, F.relu(self.fc(x)))


@pytest.mark.parametrize("op, fragments", [
    (lambda m, h: 2 / h, ("divided by the tensor", "x / 2")),
    (lambda m, h: h / 0, ("division by zero",)),
    (lambda m, h: h * h, ("residual connections", "products of tensors", "2 * x")),
    (lambda m, h: torch.cat([h, m.fc(h)], 1), ("residual connections", "concatenation")),
    (lambda m, h: h * m.scale, ("parameter or buffer directly", "wrap it in a module")),
    (lambda m, h: h * float("inf"), ("non-finite", "finite Python number")),
])
def test_non_affine_or_non_constant_scalar_ops_are_refused(op, fragments):
    with pytest.raises(UnsupportedNetworkError) as info:
        from_torch(_seeded(lambda: _Op(op)))
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


# ----------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("layer, name, instead", [
    (nn.MaxPool3d(2), "MaxPool3d", "AvgPool1d/2d"),
    (nn.AdaptiveMaxPool1d(2), "AdaptiveMaxPool1d", "AvgPool1d/2d"),
    (nn.GELU(), "GELU", "use ReLU, LeakyReLU, PReLU or Hardtanh"),
    (nn.Tanh(), "Tanh", "use ReLU, LeakyReLU, PReLU or Hardtanh"),
    (nn.LayerNorm(4), "LayerNorm", "BatchNorm1d/2d in eval mode"),
    (nn.BatchNorm1d(4), "BatchNorm1d", "call model.eval() first"),
    (nn.Flatten(0), "start_dim=0", "nn.Flatten() (start_dim=1)"),
    (nn.Upsample(scale_factor=2), "Upsample", "list of (W, b) pairs"),
])
def test_refusals_name_the_module_and_say_what_to_do(layer, name, instead):
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), layer)
    with pytest.raises(UnsupportedNetworkError) as info:
        from_torch(model)
    msg = str(info.value)
    what, _, rest = msg.partition(" Instead: ")
    assert name in what and instead in rest.partition(" Supported ")[0]
    assert "Supported modules: Linear" in msg


def test_conversion_of_the_new_forms_leaves_the_model_alone():
    for build in (TRANSFORMS["F.softmax"][0], _Scalars,
                  lambda: nn.Sequential(nn.Linear(3, 4), nn.PReLU(), nn.Linear(4, 1))):
        model = _seeded(build).train()
        before = snapshot(model)
        from_torch(model)
        regions.count_on_line(model, np.zeros(3), np.ones(3))
        assert_same(before, snapshot(model))
