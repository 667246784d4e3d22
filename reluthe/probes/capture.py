"""Capture the outputs of activation functions during a forward pass, however they are called.

Module hooks miss ``F.relu`` inside ``forward`` and see in-place ReLU outputs only after later
layers may have changed them. :func:`capture_activations` instead intercepts the functional calls
themselves with a ``TorchFunctionMode``, so ``nn.ReLU()``, ``nn.ReLU(inplace=True)``, ``F.relu``,
``torch.relu``, ``x.relu()``, ``torch.relu_`` and the other activations in ``ACTIVATION_FUNCS``
are all recorded, in call order, as detached copies.

Examples
--------
>>> import torch, torch.nn.functional as F
>>> from torch import nn
>>> class Net(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.fc1, self.fc2 = nn.Linear(3, 4), nn.Linear(4, 2)
...     def forward(self, x):
...         return self.fc2(F.relu(self.fc1(x)))
>>> acts = capture_activations(Net(), torch.randn(5, 3))
>>> [(a.name, tuple(a.output.shape)) for a in acts]
[('relu', (5, 4))]
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

__all__ = ["Capture", "capture_activations", "ACTIVATION_FUNCS"]

ACTIVATION_FUNCS = {
    F.relu: "relu", torch.relu: "relu", torch.relu_: "relu", torch.Tensor.relu: "relu",
    torch.Tensor.relu_: "relu", F.leaky_relu: "leaky_relu", F.elu: "elu", F.selu: "selu",
    F.celu: "celu", F.gelu: "gelu", F.silu: "silu", F.softplus: "softplus", F.mish: "mish",
    torch.tanh: "tanh", torch.Tensor.tanh: "tanh", torch.sigmoid: "sigmoid",
    torch.Tensor.sigmoid: "sigmoid", F.hardtanh: "hardtanh", F.relu6: "relu6",
}
# F.relu and friends dispatch to these torch-level ops too; record only the outermost call.


@dataclass(frozen=True)
class Capture:
    """One activation call: its function name, its input (pre-activation) and output."""

    name: str
    input: torch.Tensor
    output: torch.Tensor


class _Recorder(TorchFunctionMode):
    def __init__(self, funcs):
        super().__init__()
        self.funcs = funcs
        self.records: list[Capture] = []
        self._depth = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = self.funcs.get(func)
        if name is None or self._depth:
            return func(*args, **kwargs)
        pre = args[0].detach().clone()
        self._depth += 1
        try:
            out = func(*args, **kwargs)
        finally:
            self._depth -= 1
        self.records.append(Capture(name, pre, out.detach().clone()))
        return out


def capture_activations(model: nn.Module, x: torch.Tensor, *, grad: bool = False,
                        funcs: dict | None = None) -> list[Capture]:
    """Run ``model(x)`` once and return every activation call it made, in order.

    Parameters
    ----------
    model : nn.Module
        Any torch model; it runs in its current train/eval mode, which is left unchanged.
    x : torch.Tensor
        A batch of inputs.
    grad : bool
        Run with autograd enabled (default: under ``torch.no_grad``).
    funcs : dict, optional
        Map of callables to names to intercept (default ``ACTIVATION_FUNCS``).

    Returns
    -------
    list of Capture
    """
    recorder = _Recorder(funcs or ACTIVATION_FUNCS)
    ctx = torch.enable_grad() if grad else torch.no_grad()
    with ctx, recorder:
        model(x)
    return recorder.records
