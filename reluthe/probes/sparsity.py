"""Sparsity of hidden activations: exact zeros, units in the negative regime, dead units.

Definitions, per activation layer over a batch of ``N`` inputs (a layer's *units* are all of its
non-batch entries, so a conv layer's channels × positions count as units):

* **zero fraction**: the share of (input, unit) pairs whose activation *output* is exactly 0.0.
  ReLU outputs 0 wherever its pre-activation is <= 0, so this is ReLU's "sparsity" (Glorot, Bordes
  & Bengio 2011, "Deep sparse rectifier neural networks", who report 83.4 % on MNIST after
  training). Leaky ReLU with a slope > 0, ELU, GELU, SiLU, tanh, ... output exact zeros only
  where the pre-activation is exactly 0: their zero fraction is (essentially) 0.
* **negative fraction**: the share of pairs whose *pre-activation* is < 0, i.e. the unit sits in
  its negative regime (for ReLU, on the flat piece; for leaky ReLU, on the slope-alpha piece).
  It is the natural sparsity of activations without exact zeros. For ReLU it equals the zero
  fraction except for pre-activations that are exactly 0.
* **dead unit**: a unit whose output is exactly 0 on *every* input of the batch (it passes no
  signal and, for ReLU, no gradient on this data).

:func:`sparsity_profile` measures any torch model (activation calls found by
:func:`reluthe.probes.capture.capture_activations`, so ``F.relu`` in ``forward`` and in-place
ReLU count). :func:`stacked_forward` and :func:`stacked_sparsity` do the same for many MLPs at once
from stacked weights ``[(W[K, out, in], b[K, out]), ...]`` as in
:class:`reluthe.train.TrainResult`.

Examples
--------
>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
>>> with torch.no_grad():
...     _ = net[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
...     _ = net[0].bias.copy_(torch.tensor([0.0, -100.0]))   # unit 1 is dead on small inputs
>>> p = sparsity_profile(net, torch.tensor([[1.0, 1.0], [-1.0, 2.0]]))
>>> p.zero_fraction, p.dead_fraction, p.dead_units
([0.75], [0.5], [[1]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from reluthe._untouched import untouched
from reluthe.errors import InvalidInputError
from reluthe.models import activation_fn
from reluthe.probes.capture import check_model_batch, run_capture
from reluthe.train import stacked_affine

__all__ = ["SparsityProfile", "sparsity_profile", "sparsity_stats", "stacked_forward",
           "stacked_sparsity"]


@dataclass(frozen=True)
class SparsityProfile:
    """Per-layer sparsity of one model on one batch (lists run over activation calls in order).

    Attributes
    ----------
    layers : list of str
        Name of each recorded activation call ("relu", "tanh", ...).
    n_units : list of int
        Units per layer (non-batch entries).
    zero_fraction : list of float
        Share of (input, unit) pairs with output exactly 0.
    negative_fraction : list of float
        Share of (input, unit) pairs with pre-activation < 0.
    dead_fraction : list of float
        Share of units whose output is 0 on every input.
    dead_units : list of list of int
        Indices (flattened) of the dead units of each layer.
    n_inputs : int
        Batch size the profile was measured on.
    """

    layers: list
    n_units: list
    zero_fraction: list
    negative_fraction: list
    dead_fraction: list
    dead_units: list
    n_inputs: int

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        return asdict(self)


def sparsity_stats(pre: torch.Tensor, post: torch.Tensor) -> dict[str, np.ndarray]:
    """Sparsity of one layer from its pre- and post-activations, batched over leading dims.

    Parameters
    ----------
    pre, post : torch.Tensor
        Shape ``(..., N, units)``: leading dimensions index models (e.g. K stacked members),
        ``N`` inputs, then units.

    Returns
    -------
    dict
        ``zero_fraction``, ``negative_fraction``, ``dead_fraction`` (arrays of the leading shape)
        and ``unit_zero_rate`` (leading shape + ``(units,)``: share of inputs on which each unit
        outputs 0).

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[[-1.0, 2.0], [-3.0, -1.0]]])     # 1 model, 2 inputs, 2 units
    >>> s = sparsity_stats(z, torch.relu(z))
    >>> s["zero_fraction"].tolist(), s["dead_fraction"].tolist()
    ([0.75], [0.5])
    """
    if not (isinstance(pre, torch.Tensor) and isinstance(post, torch.Tensor)):
        raise InvalidInputError(f"The 'pre' and 'post' parameters of sparsity_stats must be "
                                f"torch tensors of shape (..., N, units). Got "
                                f"{type(pre).__name__} and {type(post).__name__} instead.")
    if pre.shape != post.shape or pre.dim() < 2:
        raise InvalidInputError(f"The 'pre' and 'post' parameters of sparsity_stats must have the "
                                f"same shape (..., N, units). Got {tuple(pre.shape)} and "
                                f"{tuple(post.shape)} instead.")
    zero = post == 0
    rate = zero.double().mean(-2)
    return {
        "zero_fraction": rate.mean(-1).cpu().numpy(),
        "negative_fraction": (pre < 0).double().mean((-2, -1)).cpu().numpy(),
        "dead_fraction": zero.all(-2).double().mean(-1).cpu().numpy(),
        "unit_zero_rate": rate.cpu().numpy(),
    }


def sparsity_profile(model: nn.Module, x: torch.Tensor) -> SparsityProfile:
    """Per-layer zero fraction, negative fraction and dead units of ``model`` on inputs ``x``.

    Every activation call of one forward pass is measured (see
    :func:`reluthe.probes.capture.capture_activations`) in the train/eval mode the caller left
    the model in. Nothing is changed (:func:`reluthe._untouched.untouched`): a train-mode model
    runs with dropout active, drawing from a fork of the global RNG so that the caller's random
    stream is not advanced, and with BatchNorm on batch statistics, its running statistics and
    ``num_batches_tracked`` restored afterwards; weights, ``requires_grad``, ``.grad``, hooks and
    the torch, numpy and ``random`` RNG states are as before.

    Parameters
    ----------
    model : nn.Module
    x : torch.Tensor
        A non-empty batch of finite inputs.

    Returns
    -------
    SparsityProfile

    Raises
    ------
    InvalidInputError
        ``model`` is not a module, ``x`` is not a non-empty finite tensor, or the model calls no
        activation function.

    Examples
    --------
    >>> import torch
    >>> from reluthe.models import mlp
    >>> x = torch.randn(256, 4, generator=torch.Generator().manual_seed(0))
    >>> p = sparsity_profile(mlp([4, 64, 64, 2], seed=0), x)
    >>> [0.3 < z < 0.7 for z in p.zero_fraction]      # about half the units are off at init
    [True, True]
    """
    func = "sparsity_profile"
    check_model_batch(model, x, func)
    with untouched(model):
        caps = run_capture(model, x, False, None, func)
    if not caps:
        raise InvalidInputError(f"The model given to {func} calls no activation function that "
                                f"reluthe.probes.capture recognises; nothing to measure.")
    n = len(x)
    names, units, zero, neg, dead, dead_idx = [], [], [], [], [], []
    for c in caps:
        pre, post = c.input.reshape(n, -1), c.output.reshape(n, -1)
        s = sparsity_stats(pre, post)
        names.append(c.name)
        units.append(int(pre.shape[1]))
        zero.append(float(s["zero_fraction"]))
        neg.append(float(s["negative_fraction"]))
        dead.append(float(s["dead_fraction"]))
        dead_idx.append(np.flatnonzero(s["unit_zero_rate"] == 1.0).tolist())
    return SparsityProfile(names, units, zero, neg, dead, dead_idx, n)


def _check_weights(weights, func: str) -> list:
    ok = isinstance(weights, Sequence) and len(weights) >= 1 and all(
        isinstance(p, Sequence) and len(p) == 2 for p in weights)
    if not ok:
        raise InvalidInputError(f"The 'weights' parameter of {func} must be a list of (W, b) pairs "
                                f"with W of shape (K, out, in) and b of shape (K, out). Got "
                                f"{type(weights).__name__} instead.")
    out = []
    for i, (w, b) in enumerate(weights):
        try:
            w, b = torch.as_tensor(w), torch.as_tensor(b)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise InvalidInputError(f"Layer {i} of the 'weights' parameter of {func} must be "
                                    f"tensors or arrays of real numbers. Got "
                                    f"{type(w).__name__} and {type(b).__name__}.") from exc
        if not (w.is_floating_point() and b.is_floating_point()) or w.dtype != b.dtype \
                or w.device.type == "meta":
            raise InvalidInputError(f"Layer {i} of the 'weights' parameter of {func} must be W "
                                    f"and b of one real floating dtype, with values. Got "
                                    f"{w.dtype} and {b.dtype} on {w.device}.")
        if w.dim() != 3 or b.dim() != 2 or b.shape != w.shape[:2]:
            raise InvalidInputError(f"Layer {i} of the 'weights' parameter of {func} must be W "
                                    f"(K, out, in) and b (K, out). Got {tuple(w.shape)} and "
                                    f"{tuple(b.shape)} instead.")
        if i and w.shape[2] != out[-1][0].shape[1]:
            raise InvalidInputError(f"Layer {i} of the 'weights' parameter of {func} takes "
                                    f"{w.shape[2]} inputs but layer {i - 1} has "
                                    f"{out[-1][0].shape[1]} outputs.")
        out.append((w, b))
    return out


def stacked_forward(weights, x: torch.Tensor, activation: str = "relu",
                    activation_params: dict | None = None,
                    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """Forward pass of K stacked MLPs: logits and every hidden layer's pre/post-activations.

    Parameters
    ----------
    weights : list of (W, b)
        ``W`` of shape ``(K, out, in)``, ``b`` of shape ``(K, out)`` (e.g.
        ``TrainResult.weights``); the activation follows every pair but the last.
    x : torch.Tensor
        Inputs ``(N, in)`` shared by all members.
    activation, activation_params :
        As in :func:`reluthe.models.mlp`.

    Returns
    -------
    logits : torch.Tensor (K, N, out)
    pre, post : list of torch.Tensor (K, N, h), one per hidden layer

    Examples
    --------
    >>> import torch
    >>> w = [(torch.ones(1, 1, 1), torch.zeros(1, 1)), (torch.ones(1, 1, 1), torch.zeros(1, 1))]
    >>> logits, pre, post = stacked_forward(w, torch.tensor([[-2.0], [3.0]]))
    >>> logits.flatten().tolist(), post[0].flatten().tolist()
    ([0.0, 3.0], [0.0, 3.0])
    """
    weights = _check_weights(weights, "stacked_forward")
    act = activation_fn(activation, **(activation_params or {}))
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != weights[0][0].shape[2]:
        raise InvalidInputError(f"The 'x' parameter of stacked_forward must be a tensor of shape "
                                f"(N, {weights[0][0].shape[2]}). Got "
                                f"{tuple(getattr(x, 'shape', ()))} instead.")
    if x.is_complex() or x.dtype == torch.bool or x.device != weights[0][0].device:
        raise InvalidInputError(f"The 'x' parameter of stacked_forward must be a real tensor on "
                                f"the weights' device ({weights[0][0].device}). Got dtype "
                                f"{x.dtype} on {x.device} instead.")
    pre, post = [], []
    h = x.to(weights[0][0].dtype)
    with torch.no_grad():
        for w, b in weights[:-1]:
            pre.append(stacked_affine(h, w, b))
            post.append(act(pre[-1]))
            h = post[-1]
        return stacked_affine(h, *weights[-1]), pre, post


def stacked_sparsity(weights, x: torch.Tensor, activation: str = "relu",
                     activation_params: dict | None = None) -> dict[str, np.ndarray]:
    """Per-member, per-layer sparsity of K stacked MLPs on inputs ``x``.

    Returns
    -------
    dict
        ``zero_fraction``, ``negative_fraction``, ``dead_fraction``: arrays of shape
        ``(K, n_hidden_layers)``.

    Examples
    --------
    >>> import torch
    >>> from reluthe.models import mlp
    >>> net = mlp([3, 8, 2], seed=0)
    >>> w = [(net[0].weight[None], net[0].bias[None]), (net[2].weight[None], net[2].bias[None])]
    >>> x = torch.randn(50, 3, generator=torch.Generator().manual_seed(0))
    >>> s = stacked_sparsity(w, x)
    >>> bool(s["zero_fraction"][0, 0] == sparsity_profile(net, x).zero_fraction[0])
    True
    """
    _, pre, post = stacked_forward(weights, x, activation, activation_params)
    stats = [sparsity_stats(p, q) for p, q in zip(pre, post)]
    return {key: np.stack([s[key] for s in stats], 1)
            for key in ("zero_fraction", "negative_fraction", "dead_fraction")}
