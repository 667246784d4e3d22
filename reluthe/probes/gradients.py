"""Gradient flow through any torch model on one batch.

:func:`gradient_flow` runs one forward and backward pass of a *copy* of a model and records, for
every activation call (``nn.ReLU``, in-place ReLU, ``F.relu``, ``torch.tanh``, ... intercepted
as in :mod:`reluthe.probes.capture`):

* the gradient of the loss with respect to the activation's input (the pre-activation
  ``z``): its norm over the batch and per sample. This is the signal that backpropagation passes
  to the layer below, ``δ_l = f'(z_l) ⊙ W_{l+1}ᵀ δ_{l+1}``;
* the share of entries (sample × unit) whose gradient is exactly zero: units that pass *no*
  gradient on that input (for ReLU: the inactive units, ``z ≤ 0``), and the share of units
  that pass zero gradient on every input of the batch;
* the variance of the pre-activations and of the activation outputs;

and, for every weight with two or more dimensions, the norm of its gradient and (for matrices)
its spectral norm (on request). The caller's model, its train/eval mode and the global RNG are left
unchanged; the copy runs in float64 by default so that gradients of 1e-30 do not underflow.

Examples
--------
>>> import torch
>>> from reluthe.models import mlp
>>> net = mlp([4, 16, 16, 3], activation="relu", init="he", seed=0)
>>> x, y = torch.randn(32, 4, generator=torch.Generator().manual_seed(0)), torch.arange(32) % 3
>>> flow = gradient_flow(net, x, y)
>>> flow.activations
('relu', 'relu')
>>> bool(0.2 < flow.zero_grad_share[0] < 0.8)
True
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reluthe._untouched import untouched
from reluthe._validate import _fmt, check_bool, check_choice, check_seed
from reluthe.errors import InvalidInputError
from reluthe.probes.capture import check_funcs, check_model_batch, forward_errors, recording

__all__ = ["GradientFlow", "gradient_flow"]


@dataclass(frozen=True)
class GradientFlow:
    """Per-layer gradient statistics of one model on one batch.

    Attributes
    ----------
    activations : tuple of str
        Name of each activation call, in call order (layer ``l`` of the arrays below).
    preact_grad_norm : np.ndarray, shape (A,)
        Frobenius norm over the batch of ``∂loss/∂z`` at each activation call (NaN where the
        input did not require grad).
    sample_grad_norm : np.ndarray, shape (A, n)
        The same norm for each sample of the batch.
    zero_grad_share : np.ndarray, shape (A,)
        Share of (sample, unit) entries with ``∂loss/∂z == 0`` exactly.
    dead_share : np.ndarray, shape (A,)
        Share of units whose gradient is exactly zero for every sample of the batch.
    preact_var, act_var : np.ndarray, shape (A,)
        Variance over batch and units of each activation's input and output.
    preact_sq : np.ndarray, shape (A,)
        Mean square of each activation's input (the mean-field ``q_l``).
    weight_names : tuple of str
        Names of the parameters with two or more dimensions, in ``named_parameters`` order.
    weight_grad_norm : np.ndarray, shape (P,)
        Frobenius norm of the gradient of each of those parameters.
    weight_spectral_norm : np.ndarray, shape (P,)
        Largest singular value of each 2-D weight (NaN for other shapes, or when not asked
        for with ``spectral=True``).
    loss : float
    dtype : str
    seed : int
    """

    activations: tuple[str, ...]
    preact_grad_norm: np.ndarray
    sample_grad_norm: np.ndarray
    zero_grad_share: np.ndarray
    dead_share: np.ndarray
    preact_var: np.ndarray
    act_var: np.ndarray
    preact_sq: np.ndarray
    weight_names: tuple[str, ...]
    weight_grad_norm: np.ndarray
    weight_spectral_norm: np.ndarray
    loss: float
    dtype: str
    seed: int

    def log10_ratio(self) -> float:
        """``log10(‖δ_first‖ / ‖δ_last‖)``: first to last activation's input gradient norm.

        Negative values mean the gradient shrinks on its way back to the first layer.
        """
        g = self.preact_grad_norm
        return float(np.log10(g[0]) - np.log10(g[-1])) if g.size else float("nan")

    def to_dict(self) -> dict:
        """JSON-ready table: one row per activation call, then one per weight.

        Every list has one entry per row, so ``pandas.DataFrame(flow.to_dict())`` is the table.
        ``kind`` is ``"activation"`` or ``"weight"``; ``name`` the activation's or the
        parameter's name; ``grad_norm`` is ``preact_grad_norm`` for an activation and
        ``weight_grad_norm`` for a weight. Columns that do not apply to a row's kind are NaN
        (per-sample norms are summarised by their median). ``loss``, ``dtype`` and ``seed`` are
        scalars.

        Examples
        --------
        >>> import torch
        >>> from reluthe.models import mlp
        >>> d = gradient_flow(mlp([3, 4, 2], seed=0), torch.ones(2, 3)).to_dict()
        >>> d["kind"], d["name"]
        (['activation', 'weight', 'weight'], ['relu', '0.weight', '2.weight'])
        """
        a, w = len(self.activations), len(self.weight_names)

        def col(acts, weights):
            values = np.concatenate([np.broadcast_to(np.asarray(acts, dtype=np.float64), a),
                                     np.broadcast_to(np.asarray(weights, dtype=np.float64), w)])
            return [float(v) for v in values]
        median = (np.median(self.sample_grad_norm, axis=1) if self.sample_grad_norm.size
                  else np.full(a, np.nan))
        nan = np.nan
        return {
            "kind": ["activation"] * a + ["weight"] * w,
            "name": [*self.activations, *self.weight_names],
            "grad_norm": col(self.preact_grad_norm, self.weight_grad_norm),
            "median_sample_grad_norm": col(median, nan),
            "zero_grad_share": col(self.zero_grad_share, nan),
            "dead_share": col(self.dead_share, nan),
            "preact_var": col(self.preact_var, nan), "act_var": col(self.act_var, nan),
            "preact_sq": col(self.preact_sq, nan),
            "spectral_norm": col(nan, self.weight_spectral_norm),
            "loss": float(self.loss), "dtype": self.dtype, "seed": self.seed,
        }


_LOSSES = ("cross_entropy", "mse")
_DTYPES = (torch.float64, torch.float32, torch.float16, torch.bfloat16)


def check_loss(loss, y, x, func: str) -> None:
    """Raise InvalidInputError unless ``loss`` is a known name or a callable and ``y`` is None
    or targets for it with one row per input of ``x``."""
    if not callable(loss):
        check_choice(loss, _LOSSES, param="loss", func=func)
    if y is None:
        return
    if not isinstance(y, torch.Tensor) or y.dim() == 0 or len(y) != len(x) \
            or y.is_complex() or y.device.type == "meta":
        raise InvalidInputError(f"The 'y' parameter of {func} must be a tensor with one row "
                                f"per input ({len(x)}). Got {y!r:.60} instead.")
    if loss == "cross_entropy" and (y.dim() != 1 or y.dtype.is_floating_point):
        raise InvalidInputError(f"The 'y' parameter of {func} must be integer class indices "
                                f"of shape (n,) for cross_entropy. Got dtype {y.dtype}, "
                                f"shape {tuple(y.shape)}.")


def loss_value(out: torch.Tensor, y: torch.Tensor | None, loss, func: str) -> torch.Tensor:
    """The scalar that gradients are taken of: the sum of the outputs when ``y`` is None, else
    ``loss(out, y)`` (a callable, ``"cross_entropy"`` or ``"mse"``, whose ``y`` must have the
    output's shape: InvalidInputError otherwise, rather than torch's broadcasting)."""
    if y is None:
        return out.sum()
    if callable(loss):
        return loss(out, y)
    if loss == "cross_entropy":
        return F.cross_entropy(out, y.long())
    if y.shape != out.shape:
        raise InvalidInputError(f"The 'y' parameter of {func} must have the output's shape "
                                f"{tuple(out.shape)} for mse. Got {tuple(y.shape)} instead.")
    return F.mse_loss(out, y.to(out.dtype))


def gradient_flow(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *,
                  loss: str | Callable = "cross_entropy", dtype: torch.dtype = torch.float64,
                  seed: int = 0, spectral: bool = False,
                  funcs: dict | None = None) -> GradientFlow:
    """Per-layer gradient norms, zero-gradient shares and activation variances on one batch.

    Parameters
    ----------
    model : nn.Module
        Any torch model. A copy (cast to ``dtype``) is run in the train/eval mode the caller
        left the model in (train-mode dropout active, drawing from the forked RNG seeded with
        ``seed``; train-mode BatchNorm on batch statistics). The model itself is not touched
        (:func:`reluthe._untouched.untouched`): its weights, buffers, mode, ``requires_grad``,
        ``.grad`` (gradients are taken with ``torch.autograd.grad`` on the copy), hooks and
        the torch, numpy and ``random`` RNG states are as before.
    x : torch.Tensor
        A batch of inputs, shape ``(n, ...)``, finite.
    y : torch.Tensor, optional
        Targets: class indices ``(n,)`` for ``"cross_entropy"``, values shaped like the output
        for ``"mse"``. ``None`` uses the sum of the outputs as the loss.
    loss : {"cross_entropy", "mse"} or callable
        The loss; a callable gets ``(output, y)`` and returns a scalar.
    dtype : torch.dtype
        Precision of the copy (float64 by default: deep saturating nets have gradients far below
        float32's range).
    seed : int
        Seeds the (forked) global RNG for models that draw during forward (dropout in train
        mode); the caller's RNG state is restored.
    spectral : bool
        Also compute the spectral norm of every 2-D weight (an SVD each; NaN when False).
    funcs : dict, optional
        Callables to intercept as activations, mapped to names (default: those of
        :mod:`reluthe.probes.capture`).

    Returns
    -------
    GradientFlow

    Raises
    ------
    InvalidInputError
        If ``model`` is not a module, ``x`` is not a finite tensor, ``y`` does not match, or
        ``loss`` is unknown.

    Examples
    --------
    >>> import torch
    >>> from reluthe.models import mlp
    >>> net = mlp([3, 8, 2], activation="tanh", seed=1)
    >>> flow = gradient_flow(net, torch.ones(4, 3), torch.tensor([0, 1, 0, 1]))
    >>> flow.weight_names
    ('0.weight', '2.weight')
    >>> float(flow.zero_grad_share[0])
    0.0
    """
    func = "gradient_flow"
    check_model_batch(model, x, func)
    if dtype not in _DTYPES:
        raise InvalidInputError(f"The 'dtype' parameter of {func} must be one of "
                                f"{[str(d) for d in _DTYPES]}. Got {_fmt(dtype)} instead.")
    spectral = check_bool(spectral, param="spectral", func=func)
    funcs = check_funcs(funcs, func)
    check_loss(loss, y, x, func)
    seed = check_seed(seed, func=func)

    # the copy is made inside the guard: nothing that deepcopy or the pass does reaches the model
    with untouched(model, seed=seed), torch.enable_grad():
        net = copy.deepcopy(model).to(dtype)
        xx = x.detach().to(dtype)
        with forward_errors(net, xx, func), recording(grads=True, funcs=funcs) as calls:
            out = net(xx)
        value = loss_value(out, y, loss, func)
        params = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
        grads = torch.autograd.grad(value, [p for _, p in params], allow_unused=True)

    n = len(x)
    acts, norm, per_sample, zero, dead, pvar, avar, psq = [], [], [], [], [], [], [], []
    for call in calls:
        acts.append(call.name)
        pre, out_, g = call.input, call.output, call.grad
        pvar.append(float(pre.var()) if pre.numel() > 1 else float("nan"))
        avar.append(float(out_.var()) if out_.numel() > 1 else float("nan"))
        psq.append(float((pre ** 2).mean()))
        if g is None:
            norm.append(math.nan)
            per_sample.append(np.full(n, np.nan))
            zero.append(math.nan)
            dead.append(math.nan)
            continue
        flat = g.reshape(n, -1)
        norm.append(float(flat.norm()))
        per_sample.append(flat.norm(dim=1).double().cpu().numpy())
        is_zero = flat == 0
        zero.append(float(is_zero.double().mean()))
        dead.append(float(is_zero.all(dim=0).double().mean()))
    names, wnorm, spec = [], [], []
    for (name, p), g in zip(params, grads):
        if p.dim() < 2:
            continue
        names.append(name)
        wnorm.append(float(g.norm()) if g is not None else math.nan)
        spec.append(float(torch.linalg.matrix_norm(p.detach(), ord=2))
                    if spectral and p.dim() == 2 else math.nan)
    arr = np.asarray
    return GradientFlow(tuple(acts), arr(norm, dtype=np.float64),
                        np.stack(per_sample) if per_sample else np.zeros((0, n)),
                        arr(zero, dtype=np.float64), arr(dead, dtype=np.float64),
                        arr(pvar, dtype=np.float64), arr(avar, dtype=np.float64),
                        arr(psq, dtype=np.float64), tuple(names), arr(wnorm, dtype=np.float64),
                        arr(spec, dtype=np.float64), float(value.detach()), str(dtype).replace(
                            "torch.", ""), seed)
