"""No public function that takes a torch model changes it, its mode, its hooks or any global RNG.

STYLE item 10. :func:`snapshot` records everything a probe could disturb; one parametrised test
calls every entry point on (a) a BatchNorm1d + Dropout + ReLU net in train mode, (b) the same net
in eval mode and (c) a Linear/Dropout/ReLU MLP in train mode (the piecewise-linear net that the
region counters accept in train mode), each with ``requires_grad`` mixed True/False, populated
``.grad``, functional and in-place ReLU, and the user's own module and tensor hooks.
"""

from __future__ import annotations

import copy
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reluthe import nets, regions
from reluthe.errors import UnsupportedNetworkError
from reluthe.probes.capture import capture_activations
from reluthe.probes.dead import dead_unit_share
from reluthe.probes.generalization import region_density
from reluthe.probes.gradients import gradient_flow
from reluthe.probes.sparsity import sparsity_profile

HOOK_DICTS = ("_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
              "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_backward_hooks",
              "_backward_pre_hooks", "_state_dict_hooks", "_state_dict_pre_hooks",
              "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks")


# ----------------------------------------------------------------------------- the snapshot

def snapshot(model: nn.Module) -> dict:
    """Everything a probe must leave as it was: state, modes, requires_grad, .grad, hooks, RNGs."""
    cuda = (torch.cuda.get_rng_state_all()
            if torch.cuda.is_available() and torch.cuda.is_initialized() else [])
    return {
        "state_dict": copy.deepcopy(model.state_dict()),
        "parameters": {n: (p.detach().clone(), p.dtype, p.device)
                       for n, p in model.named_parameters()},
        "buffers": {n: (b.detach().clone(), b.dtype, b.device)   # non-persistent ones too
                    for n, b in model.named_buffers()},
        "parameter_ids": {n: id(p) for n, p in model.named_parameters()},
        "training": {n: m.training for n, m in model.named_modules()},
        "requires_grad": {n: p.requires_grad for n, p in model.named_parameters()},
        "grad": {n: None if p.grad is None else (id(p.grad), p.grad.detach().clone())
                 for n, p in model.named_parameters()},
        "hooks": {n: {a: tuple(getattr(m, a, None) or {}) for a in HOOK_DICTS}
                  for n, m in model.named_modules()},
        "tensor_hooks": {n: tuple(p._backward_hooks or {}) for n, p in model.named_parameters()},
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": cuda,
        "numpy_rng": np.random.get_state(),
        "random_rng": random.getstate(),
    }


def assert_same(before, after, path: str = "snapshot") -> None:
    """Exact equality of two snapshots (tensors bit for bit, NaN equal to NaN)."""
    if isinstance(before, torch.Tensor):
        assert isinstance(after, torch.Tensor), path
        assert before.dtype == after.dtype and before.shape == after.shape, path
        assert torch.equal(before, after) or bool(
            (before.isnan() & after.isnan() | (before == after)).all()), f"{path} changed"
    elif isinstance(before, np.ndarray):
        assert np.array_equal(before, after), f"{path} changed"
    elif isinstance(before, dict):
        assert before.keys() == after.keys(), f"{path}: keys {list(before)} -> {list(after)}"
        for k in before:
            assert_same(before[k], after[k], f"{path}[{k!r}]")
    elif isinstance(before, (list, tuple)):
        assert len(before) == len(after), f"{path} changed length"
        for i, (a, b) in enumerate(zip(before, after)):
            assert_same(a, b, f"{path}[{i}]")
    else:
        assert before == after, f"{path}: {before!r} -> {after!r}"


# ----------------------------------------------------------------------------- the models

class BNDropoutNet(nn.Module):
    """Linear, BatchNorm1d, F.relu, Dropout, Linear, in-place ReLU, Linear."""

    def __init__(self):
        super().__init__()
        self.fc1, self.bn, self.drop = nn.Linear(3, 8), nn.BatchNorm1d(8), nn.Dropout(0.5)
        self.fc2, self.act, self.fc3 = nn.Linear(8, 8), nn.ReLU(inplace=True), nn.Linear(8, 2)

    def forward(self, x):
        return self.fc3(self.act(self.fc2(self.drop(F.relu(self.bn(self.fc1(x)))))))


def _mlp():
    return nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 8),
                         nn.ReLU(inplace=True), nn.Linear(8, 2))


MODELS = {"bn_dropout_train": (BNDropoutNet, True), "bn_dropout_eval": (BNDropoutNet, False),
          "mlp_train": (_mlp, True)}


def _user_hook(module, inputs, output):
    module.calls = getattr(module, "calls", 0) + 1


def make(kind: str) -> tuple[nn.Module, torch.Tensor]:
    """A seeded model of ``kind`` in its mode, with mixed requires_grad, .grad and user hooks."""
    build, train = MODELS[kind]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build()
        x = torch.randn(16, 3)
        model.train()
        model(x).square().sum().backward()       # populates .grad (and BatchNorm's statistics)
    model.train(train)
    first = next(m for m in model.modules() if isinstance(m, nn.Linear))
    first.weight.requires_grad_(False)
    first.weight.grad = None
    first.register_forward_hook(_user_hook)
    model.register_forward_pre_hook(lambda module, inputs: None)
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    last.weight.register_hook(lambda g: g)
    return model, x


# ----------------------------------------------------------------------------- the entry points

def _plane(model, x):
    origin, u, v, extent = regions.plane_through(x[0], x[1], x[2])
    return regions.count_on_plane(model, origin, u, v, extent)


# (name, call(model, x), piecewise_linear_only): every public function that takes a torch module.
# Those marked True accept only piecewise-linear nets and refuse train-mode BatchNorm (they all
# convert the module with reluthe.nets.from_torch).
ENTRY_POINTS = [
    ("probes.capture.capture_activations", lambda m, x: capture_activations(m, x), False),
    ("probes.capture.capture_activations(grad=True)",
     lambda m, x: capture_activations(m, x, grad=True), False),
    ("probes.sparsity.sparsity_profile", lambda m, x: sparsity_profile(m, x), False),
    ("probes.dead.dead_unit_share", lambda m, x: dead_unit_share(m, x), False),
    ("probes.gradients.gradient_flow",
     lambda m, x: gradient_flow(m, x, torch.arange(len(x)) % 2, spectral=True), False),
    ("probes.gradients.gradient_flow(y=None, float32)",
     lambda m, x: gradient_flow(m, x, dtype=torch.float32, seed=3), False),
    ("nets.from_torch", lambda m, x: nets.from_torch(m), True),
    ("nets.as_plnet", lambda m, x: nets.as_plnet(m), True),
    ("regions.count_on_line", lambda m, x: regions.count_on_line(m, x[0], x[1]), True),
    ("regions.count_on_plane", _plane, True),
    ("regions.count_in_box",
     lambda m, x: regions.count_in_box(m, -np.ones(3), np.ones(3)), True),
    ("regions.count_patterns", lambda m, x: regions.count_patterns(m, x), True),
    ("regions.pattern_codes", lambda m, x: regions.pattern_codes(m, x), True),
    ("probes.generalization.region_density",
     lambda m, x: region_density(m, x[:2].numpy(), x[2:4].numpy()), True),
]


@pytest.mark.parametrize("kind", list(MODELS))
@pytest.mark.parametrize("name, call, pl_only", ENTRY_POINTS, ids=[e[0] for e in ENTRY_POINTS])
def test_entry_point_leaves_model_mode_hooks_and_rng_alone(name, call, pl_only, kind):
    model, x = make(kind)
    before = snapshot(model)
    if pl_only and kind == "bn_dropout_train":   # refused, and still nothing changes
        with pytest.raises(UnsupportedNetworkError, match="train mode"):
            call(model, x)
    else:
        call(model, x)
    assert_same(before, snapshot(model))


def test_user_forward_hook_survives_and_still_fires():
    for name, call, _ in ENTRY_POINTS:
        model, x = make("mlp_train")
        first = model[0]
        hooks = dict(first._forward_hooks)
        call(model, x)
        assert dict(first._forward_hooks) == hooks, name
        first.calls = 0
        model(x)
        assert first.calls == 1, f"{name}: the user's hook no longer fires"


def test_train_mode_probe_draws_dropout_from_a_fork():
    """Dropout is active in train mode, yet the caller's stream goes on as if nothing ran."""
    model, x = make("bn_dropout_train")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        first = sparsity_profile(model, x)
        second = sparsity_profile(model, x)     # same RNG state: same dropout mask
        expected = torch.rand(3)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        untouched_stream = torch.rand(3)
    assert first == second
    assert torch.equal(expected, untouched_stream)
    assert model.training and int(model.bn.num_batches_tracked) == 1
