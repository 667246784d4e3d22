"""Input–output Jacobian norms of stacked MLPs: a competing explanation of generalization.

Novak et al. (2018) found that the Frobenius norm of the input–output Jacobian at test points,
``‖∂f(x)/∂x‖_F``, tracks the generalization gap of trained networks well across many settings.
reluthe's sparsity claims report it next to activation sparsity, so the report can say which of
the two tracks generalization better.

The Jacobian of an MLP at one point depends on that point alone, so for output ``c`` the
gradient of ``Σ_n f_c(x_n)`` with respect to the inputs gives every row ``∂f_c(x_n)/∂x_n`` at
once: one backward pass per output, for all members and points together.

References
----------
Novak, R., Bahri, Y., Abolafia, D. A., Pennington, J., Sohl-Dickstein, J. (2018). Sensitivity
and generalization in neural networks: an empirical study. *ICLR*.

Examples
--------
>>> import torch
>>> w = [(torch.tensor([[[2.0]]]), torch.zeros(1, 1)), (torch.tensor([[[3.0]]]), torch.zeros(1, 1))]
>>> jacobian_norms(w, torch.tensor([[1.0], [-1.0]])).tolist()  # relu: slope 6, then 0
[[6.0, 0.0]]
"""

from __future__ import annotations

import numpy as np
import torch

from reluthe.errors import InvalidInputError
from reluthe.models import activation_fn
from reluthe.probes.sparsity import _check_weights
from reluthe.train import stacked_affine

__all__ = ["jacobian_norms"]


def jacobian_norms(weights, x: torch.Tensor, activation: str = "relu",
                   activation_params: dict | None = None) -> np.ndarray:
    """Frobenius norm of the input–output Jacobian of K stacked MLPs at each input.

    Parameters
    ----------
    weights : list of (W, b)
        ``W`` of shape ``(K, out, in)``, ``b`` of shape ``(K, out)`` (e.g.
        ``TrainResult.weights`` or ``TrainResult.best_val_weights``); the activation follows
        every pair but the last. Not modified.
    x : torch.Tensor
        Inputs ``(N, in)`` shared by all members (finite).
    activation, activation_params :
        As in :func:`reluthe.models.mlp`. At a ReLU kink the derivative is torch's (0).

    Returns
    -------
    np.ndarray, shape (K, N)
        ``‖∂f_k(x_n)/∂x_n‖_F`` of the logits (before any softmax), in float64.

    Raises
    ------
    InvalidInputError
        ``weights`` are not stacked (W, b) pairs of matching shapes, or ``x`` is not a finite
        floating tensor of shape (N, in).

    Examples
    --------
    >>> import torch
    >>> from reluthe.train import stacked_mlp_init
    >>> w = stacked_mlp_init([4, 8, 3], [0, 1])
    >>> jacobian_norms(w, torch.randn(5, 4, generator=torch.Generator().manual_seed(0))).shape
    (2, 5)
    """
    weights = _check_weights(weights, "jacobian_norms")
    act = activation_fn(activation, **(activation_params or {}))
    d = weights[0][0].shape[2]
    if (not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != d
            or not x.dtype.is_floating_point or not bool(torch.isfinite(x).all())):
        raise InvalidInputError(f"The 'x' parameter of jacobian_norms must be a finite floating "
                                f"tensor of shape (N, {d}). Got "
                                f"{tuple(getattr(x, 'shape', ()))} instead.")
    params = [(w.detach().double(), b.detach().double()) for w, b in weights]
    k = params[0][0].shape[0]
    xs = x.detach().double().expand(k, *x.shape).clone().requires_grad_()
    with torch.enable_grad():
        h = xs
        for w, b in params[:-1]:
            h = act(stacked_affine(h, w, b))
        out = stacked_affine(h, *params[-1])
        squares = torch.zeros(k, len(x), dtype=torch.float64)
        for c in range(out.shape[-1]):
            (g,) = torch.autograd.grad(out[..., c].sum(), xs, retain_graph=True)
            squares += (g ** 2).sum(-1)
    return squares.sqrt().numpy()
