"""reluthe.nets: torch modules and (W, b) lists become float64 PL networks, models untouched."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reluthe import InvalidInputError, UnsupportedNetworkError
from reluthe.nets import Activation, PLNet, as_plnet, from_pairs, from_torch


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _init(module: nn.Module, seed: int = 0) -> nn.Module:
    """Random parameters from a private generator (the global RNG is left alone)."""
    g = _gen(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        for name, buf in module.named_buffers():
            if name.endswith("running_var"):
                buf.copy_(torch.rand(buf.shape, generator=g) + 0.5)
            elif name.endswith("running_mean"):
                buf.copy_(torch.randn(buf.shape, generator=g))
    return module


def _same_function(module: nn.Module, net: PLNet, shape, n=64, atol=1e-10):
    x = torch.randn(n, *shape, generator=_gen(1), dtype=torch.float64)
    clone = __import__("copy").deepcopy(module).double().eval()
    with torch.no_grad():
        expected = clone(x).reshape(n, -1).numpy()
    got = net.forward(x.reshape(n, -1).numpy())
    np.testing.assert_allclose(got, expected, atol=atol, rtol=1e-10)


class MyModel(nn.Module):
    """The article's model (section 4), sizes as in the article."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(100, 64)
        self.fc2 = nn.Linear(64, 32)
        self.fc3 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class FunctionalMix(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 5)
        self.b = nn.Linear(5, 4)
        self.c = nn.Linear(4, 3)
        self.d = nn.Linear(3, 2)

    def forward(self, x):
        x = torch.relu(self.a(x))
        x = F.leaky_relu(self.b(x), 0.2)
        x = self.c(x).relu()
        return self.d(torch.clamp(x, min=0.1, max=0.9))


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3)

    def forward(self, x):
        return x + F.relu(self.a(x))


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3)

    def forward(self, x):
        if x.sum() > 0:
            return self.a(x)
        return x


def test_sequential_and_article_model_match_torch():
    seq = _init(nn.Sequential(nn.Linear(3, 7), nn.ReLU(inplace=True), nn.Linear(7, 5),
                              nn.ReLU(), nn.Dropout(0.3), nn.Linear(5, 2)))
    net = from_torch(seq)
    assert net.widths == (7, 5) and net.output_dim == 2 and net.input_dim == 3
    _same_function(seq, net, (3,))
    model = _init(MyModel())
    net = as_plnet(model)
    assert net.widths == (64, 32) and net.input_dim == 100 and net.output_dim == 10
    _same_function(model, net, (100,))
    x = np.random.default_rng(0).standard_normal((5, 100))
    with torch.no_grad():
        h1 = torch.relu(model.fc1(torch.tensor(x, dtype=torch.float32)))
    np.testing.assert_array_equal(net.states(x)[:, :64], (h1 > 0).numpy().astype(np.int8))


def test_functional_calls_are_traced_in_order():
    model = _init(FunctionalMix(), seed=3)
    net = from_torch(model)
    names = [layer.activation.name for layer in net.layers]
    assert names == ["relu", "leaky_relu(0.2)", "relu", "clamp(0.1,0.9)"]
    assert net.widths == (5, 4, 3, 3)
    _same_function(model, net, (6,))


def test_kinked_activations_have_their_states():
    seq = _init(nn.Sequential(nn.Linear(2, 4), nn.Hardtanh(-0.5, 0.7), nn.Linear(4, 3),
                              nn.ReLU6(), nn.Linear(3, 3), nn.LeakyReLU(0.5), nn.Identity()))
    net = from_torch(seq)
    assert [layer.activation.n_states for layer in net.layers] == [3, 3, 2]
    assert net.output is None and net.output_dim == 3
    _same_function(seq, net, (2,))
    z = np.array([-1.0, 0.0, 0.3, 0.7, 2.0])
    assert Activation.hardtanh(-0.5, 0.7).states(z).tolist() == [0, 1, 1, 1, 2]
    assert Activation.relu().states(z).tolist() == [0, 0, 1, 1, 1]


def test_batchnorm_eval_is_folded_and_conv_pool_need_input_shape():
    mlp = _init(nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2)))
    mlp.eval()
    net = from_torch(mlp)
    assert net.widths == (6,)
    _same_function(mlp, net, (4,))
    cnn = _init(nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                              nn.AvgPool2d(2), nn.Flatten(), nn.Linear(12, 5), nn.ReLU(),
                              nn.Linear(5, 2)), seed=2)
    cnn.eval()
    with pytest.raises(InvalidInputError, match="input_shape"):
        from_torch(cnn)
    from reluthe import regions

    with pytest.raises(InvalidInputError, match="from_torch"):
        regions.count_on_line(cnn, np.zeros(16), np.ones(16))
    net = from_torch(cnn, input_shape=(1, 4, 4))
    assert net.widths == (48, 5) and net.input_dim == 16
    _same_function(cnn, net, (1, 4, 4))
    conv1d = _init(nn.Sequential(nn.Conv1d(2, 2, 3), nn.ReLU(), nn.AvgPool1d(2), nn.Flatten(),
                                 nn.Linear(8, 1)), seed=4)
    net = from_torch(conv1d, input_shape=(2, 10))
    _same_function(conv1d, net, (2, 10))


def test_view_reshape_and_flatten_in_forward():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 2)
            self.fc = nn.Linear(8, 2)

        def forward(self, x):
            x = F.relu(self.conv(x))
            x = x.view(x.size(0), -1)
            return self.fc(torch.flatten(x, 1))

    model = _init(Net())
    net = from_torch(model, input_shape=(1, 3, 3))
    _same_function(model, net, (1, 3, 3))


@pytest.mark.parametrize("layer, name", [(nn.MaxPool3d(2), "MaxPool3d"), (nn.GELU(), "GELU"),
                                         (nn.Sigmoid(), "Sigmoid")])
def test_unsupported_modules_are_named(layer, name):
    model = nn.Sequential(nn.Linear(4, 4), layer, nn.Linear(2 if name == "MaxPool3d" else 4, 1))
    with pytest.raises(UnsupportedNetworkError, match=name) as info:
        from_torch(model)
    assert "Supported" in str(info.value) and "LeakyReLU" in str(info.value)


def test_batchnorm_in_train_mode_and_control_flow_are_rejected_and_residuals_convert():
    bn = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 1))
    with pytest.raises(UnsupportedNetworkError, match="BatchNorm1d"):
        from_torch(bn)
    assert bn.training  # still in the mode the caller chose
    residual = Residual()            # supported now: x + relu(a(x)), x carried through
    x = torch.randn(4, 3)
    assert torch.allclose(torch.from_numpy(from_torch(residual).forward(x.double().numpy())),
                          residual(x).double(), atol=1e-5)
    with pytest.raises(UnsupportedNetworkError, match="trace"):
        from_torch(Branchy())
    with pytest.raises(UnsupportedNetworkError, match="GELU"):
        from_torch(nn.Sequential(nn.Linear(2, 2), nn.GELU()))


def test_conversion_never_changes_the_model_its_mode_or_the_rng():
    model = nn.Sequential(nn.Conv2d(1, 2, 2), nn.BatchNorm2d(2), nn.ReLU(inplace=True),
                          nn.Flatten(), nn.Dropout(0.5), nn.Linear(8, 3), nn.ReLU(),
                          nn.Linear(3, 1))
    _init(model)
    model.eval()
    model[4].train()      # a Dropout left in train mode: treated as identity, mode kept
    mlp = _init(nn.Sequential(nn.Linear(2, 5), nn.ReLU(inplace=True), nn.Dropout(0.2),
                              nn.Linear(5, 1)))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    mlp_before = {k: v.clone() for k, v in mlp.state_dict().items()}
    modes = [m.training for m in model.modules()]
    rng = torch.random.get_rng_state().clone()
    net = from_torch(model, input_shape=(1, 3, 3))
    from reluthe import regions

    regions.count_on_line(net, np.zeros(9), np.ones(9))
    regions.count_on_plane(mlp, np.zeros(2), np.array([1.0, 0]), np.array([0, 1.0]))
    regions.count_patterns(mlp, np.zeros((3, 2)))
    assert net.widths == (8, 3)
    assert torch.equal(torch.random.get_rng_state(), rng)
    assert [m.training for m in model.modules()] == modes
    assert mlp.training and all(torch.equal(v, mlp_before[k]) for k, v in mlp.state_dict().items())
    for k, v in model.state_dict().items():
        assert v.dtype == before[k].dtype and torch.equal(v, before[k]), k


def test_pairs_and_validation():
    rng = np.random.default_rng(0)
    pairs = [(rng.standard_normal((4, 3)), rng.standard_normal(4)),
             (torch.randn(2, 4, generator=_gen()), torch.zeros(2))]
    net = from_pairs(pairs)
    x = rng.standard_normal((5, 3))
    expected = np.maximum(x @ pairs[0][0].T + pairs[0][1], 0) @ pairs[1][0].numpy().T.astype(
        np.float64)
    np.testing.assert_allclose(net.forward(x), expected, rtol=1e-6)
    assert as_plnet(net) is net
    with pytest.raises(InvalidInputError, match="columns"):
        from_pairs([(np.ones((3, 2)), np.zeros(3)), (np.ones((1, 4)), np.zeros(1))])
    with pytest.raises(InvalidInputError, match="finite"):
        from_pairs([(np.array([[np.nan, 1.0]]), np.zeros(1))])
    with pytest.raises(InvalidInputError, match="b must have shape"):
        from_pairs([(np.ones((3, 2)), np.zeros(2))])
    with pytest.raises(InvalidInputError, match="net"):
        as_plnet("not a net")
    with pytest.raises(InvalidInputError, match="finite"):
        bad = nn.Linear(2, 2)
        with torch.no_grad():
            bad.weight[0, 0] = float("inf")
        from_torch(nn.Sequential(bad, nn.ReLU()))
    with pytest.raises(InvalidInputError, match="shape"):
        net.forward(np.zeros((2, 5)))
