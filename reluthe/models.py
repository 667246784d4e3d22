"""Torch models, and torch's activations by the names of :data:`reluthe.activations.TABLE`.

``mlp(widths, activation=..., init=..., seed=...)`` builds an ``nn.Sequential`` of ``Linear`` and
activation modules, initialised from its own ``torch.Generator``: the global RNG is never touched.

Examples
--------
>>> from reluthe.models import mlp
>>> net = mlp([2, 8, 8, 1], activation="relu", init="he", seed=0)
>>> [type(m).__name__ for m in net]
['Linear', 'ReLU', 'Linear', 'ReLU', 'Linear']
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reluthe import activations as table
from reluthe._validate import (
    check_bool,
    check_choice,
    check_int_sequence,
    check_optional_dict,
    check_positive_float,
    check_seed,
)
from reluthe.errors import InvalidInputError

__all__ = ["ACTIVATIONS", "INITS", "activation_module", "activation_fn", "mlp", "init_linear_"]

ACTIVATIONS: tuple[str, ...] = table.ACTIVATIONS
"""The activation names, those of :data:`reluthe.activations.ACTIVATIONS`."""

# torch implementations of the rows of the table whose torch_function is None, keyed by name
_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"identity": lambda x: x}
_INIT_ALIASES = {"kaiming": "he", "glorot": "xavier"}
INITS: tuple[str, ...] = ("default", "he", "xavier", "lecun", "small_normal")


def _check_value(key: str, value, row: table.ActivationSpec):
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
          and math.isfinite(value))
    if not ok:
        raise InvalidInputError(f"Parameter {key!r} of activation {row.name!r} must be a finite "
                                f"number. Got {value!r} instead.")
    domain = next(p.domain for p in row.params if p.name == key)
    if domain == "positive" and value <= 0:
        raise InvalidInputError(f"Parameter {key!r} of activation {row.name!r} must be > 0. "
                                f"Got {value!r} instead.")


def _resolve_activation(name: str, params: dict) -> tuple[table.ActivationSpec, dict]:
    """The row of ``name`` and torch's keyword arguments (parameters by torch's names)."""
    row = table.spec(name, param="activation", func="reluthe.models")
    known = {p.name: p for p in row.params if p.torch is not None}
    extra = sorted(set(params) - set(known))
    if extra:
        raise InvalidInputError(
            f"Activation {row.name!r} takes parameters {sorted(known)} in reluthe.models; got "
            f"unknown {extra}.")
    merged = {**{k: float(p.default) for k, p in known.items()}, **params}
    for key, value in merged.items():
        _check_value(key, value, row)
    if merged.get("min_val", -math.inf) >= merged.get("max_val", math.inf):
        raise InvalidInputError(f"Parameters of activation {row.name!r} must satisfy min_val < "
                                f"max_val. Got {merged} instead.")
    return row, {known[k].torch: v for k, v in merged.items()} | dict(row.torch_options)


def _describe(t) -> str:
    if isinstance(t, torch.Tensor):
        return f"a {t.dtype} tensor of shape {tuple(t.shape)}"
    return type(t).__name__


def activation_module(name: str, **params) -> nn.Module:
    """A fresh ``nn.Module`` for activation ``name`` (see ``ACTIVATIONS``).

    Examples
    --------
    >>> activation_module("leaky_relu", alpha=0.1)
    LeakyReLU(negative_slope=0.1)
    """
    row, kwargs = _resolve_activation(name, params)
    return row.torch_module_class()(**kwargs)


def activation_fn(name: str, **params) -> Callable[[torch.Tensor], torch.Tensor]:
    """The functional (elementwise) form of activation ``name``.

    Examples
    --------
    >>> import torch
    >>> activation_fn("relu")(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    row, kwargs = _resolve_activation(name, params)
    fn = _FUNCTIONS[row.name] if row.torch_function is None else getattr(F, row.torch_function)
    return (lambda x: fn(x, **kwargs)) if kwargs else fn


def init_linear_(weight: torch.Tensor, bias: torch.Tensor | None, init: str,
                 generator: torch.Generator, *, std: float = 0.01) -> None:
    """Initialise a weight of shape ``(..., fan_out, fan_in)`` (and its bias) in place.

    ``default`` is torch's ``nn.Linear`` rule, U(±1/√fan_in) for weights and bias; ``he``
    N(0, 2/fan_in) (He et al. 2015); ``xavier`` N(0, 2/(fan_in+fan_out)) (Glorot & Bengio 2010);
    ``lecun`` N(0, 1/fan_in); ``small_normal`` N(0, std²). All but ``default`` zero the bias.
    Leading dimensions are independent models (stacked weights).
    """
    func = "init_linear_"
    if not isinstance(weight, torch.Tensor) or not weight.dtype.is_floating_point \
            or weight.dim() < 2:
        raise InvalidInputError(f"The 'weight' parameter of {func} must be a floating-point "
                                f"torch.Tensor of shape (..., fan_out, fan_in). Got "
                                f"{_describe(weight)} instead.")
    if bias is not None and (not isinstance(bias, torch.Tensor)
                             or not bias.dtype.is_floating_point
                             or bias.shape != weight.shape[:-1]):
        raise InvalidInputError(f"The 'bias' parameter of {func} must be None or a floating-point "
                                f"torch.Tensor of shape {tuple(weight.shape[:-1])}. Got "
                                f"{_describe(bias)} instead.")
    if not isinstance(generator, torch.Generator):
        raise InvalidInputError(f"The 'generator' parameter of {func} must be a torch.Generator. "
                                f"Got {type(generator).__name__} instead.")
    std = check_positive_float(std, param="std", func=func)
    init = _INIT_ALIASES.get(init, init) if isinstance(init, str) else init
    check_choice(init, INITS, param="init", func="reluthe.models")
    fan_out, fan_in = weight.shape[-2], weight.shape[-1]
    with torch.no_grad():
        if init == "default":
            bound = 1.0 / math.sqrt(fan_in)
            weight.copy_(torch.empty_like(weight).uniform_(-bound, bound, generator=generator))
            if bias is not None:
                bias.copy_(torch.empty_like(bias).uniform_(-bound, bound, generator=generator))
            return
        sd = {"he": math.sqrt(2.0 / fan_in), "xavier": math.sqrt(2.0 / (fan_in + fan_out)),
              "lecun": math.sqrt(1.0 / fan_in), "small_normal": std}[init]
        weight.copy_(torch.empty_like(weight).normal_(0.0, sd, generator=generator))
        if bias is not None:
            bias.zero_()


def mlp(widths: Sequence[int], activation: str = "relu", init: str = "default", *, seed: int = 0,
        bias: bool = True, activation_params: dict | None = None,
        output_activation: str | None = None) -> nn.Sequential:
    """A multilayer perceptron ``Linear → act → … → Linear`` (no activation after the last layer).

    Parameters
    ----------
    widths : sequence of int
        ``[input, hidden_1, …, output]``, at least two entries: a list, tuple or integer array
        of ints (floats such as ``4.0``, strings, bools and nested sequences are refused).
    activation : str
        A name from ``ACTIVATIONS`` (aliases: swish, linear).
    init : str
        One of ``INITS`` (aliases: kaiming, glorot).
    seed : int
        Seeds a private ``torch.Generator``; the global RNG is untouched.
    bias : bool
        Whether linear layers have a bias.
    activation_params : dict, optional
        Parameters of the activation, e.g. ``{"alpha": 0.1}`` for leaky_relu.
    output_activation : str, optional
        An activation applied after the last layer (``None``: none), e.g. for claim C24.

    Examples
    --------
    >>> net = mlp([100, 64, 32, 10], seed=1)
    >>> sum(p.numel() for p in net.parameters())
    8874
    """
    widths = list(check_int_sequence(widths, param="widths", func="mlp"))
    seed = check_seed(seed, func="mlp")
    bias = check_bool(bias, param="bias", func="mlp")
    params = check_optional_dict(activation_params, param="activation_params", func="mlp")
    if output_activation is not None:
        table.spec(output_activation, param="output_activation", func="mlp")
    activation_module(activation, **params)  # validate before building
    gen = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    with torch.random.fork_rng(devices=[]):  # nn.Linear's own init draws from the global RNG
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            lin = nn.Linear(a, b, bias=bias)
            init_linear_(lin.weight, lin.bias, init, gen)
            layers.append(lin)
            if i < len(widths) - 2:
                layers.append(activation_module(activation, **params))
    if output_activation is not None:
        layers.append(activation_module(output_activation))
    return nn.Sequential(*layers)
