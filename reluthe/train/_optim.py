"""The one optimiser of the stacked trainers: torch.optim's Adam / SGD, elementwise per member."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def _column(values, k: int, device) -> torch.Tensor:
    """``values`` (a number or one per member) as a (K,) float64 tensor on ``device``."""
    col = torch.as_tensor(values, dtype=torch.float64).to(device)
    return col.expand(k).clone() if col.dim() == 0 else col


class StackedOptimizer:
    """Adam or SGD on stacked tensors (leading dimension K), per-member hyper-parameters.

    The formulas and the order of operations are those of ``torch.optim.Adam`` and
    ``torch.optim.SGD`` in their single-tensor form (``foreach=False``, torch's choice on the
    CPU); the hyper-parameters are (K,) columns broadcast over each member's block, and the
    update is elementwise, so member k follows the trajectory it would follow alone.

    Parameters
    ----------
    tensors : sequence of torch.Tensor
        The stacked parameters, updated in place by :meth:`update`.
    kind : {"adam", "sgd"}
    lr : float or sequence of float
        One learning rate for all members or one per member; likewise ``weight_decay`` (L2
        coupled to the gradient) and ``momentum`` (SGD, no dampening).
    betas, eps : Adam's coefficients.
    """

    def __init__(self, tensors: Sequence[torch.Tensor], kind: str, lr, *, weight_decay=0.0,
                 momentum=0.0, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        dev, k = tensors[0].device, tensors[0].shape[0]
        self.kind, self.betas, self.eps = kind, betas, eps
        self.lr64 = _column(lr, k, dev)
        self.lr = self.lr64.float()
        self.wd = _column(weight_decay, k, dev).float()
        self.mom = _column(momentum, k, dev).float()
        self.use_wd = bool((self.wd != 0).any())
        self.m = [torch.zeros_like(t) for t in tensors]
        self.v = [torch.zeros_like(t) for t in tensors]

    def update(self, tensors: Sequence[torch.Tensor], grads: Sequence[torch.Tensor],
               step: int) -> None:
        """Step ``step`` (1, 2, ...) of every tensor, in place, with its gradient."""
        b1, b2 = self.betas
        bc1, bc2 = 1 - b1**step, 1 - b2**step
        step_size = self.lr64 / bc1  # as torch: lr / bc1 in float64, then the tensor's dtype
        with torch.no_grad():
            for i, (t, g) in enumerate(zip(tensors, grads)):
                col = (-1,) + (1,) * (t.dim() - 1)
                if self.use_wd:
                    g = torch.addcmul(g, self.wd.view(col).expand_as(t), t)
                if self.kind == "sgd":
                    self.m[i] = g if step == 1 else self.m[i].mul_(self.mom.view(col)).add_(g)
                    t.addcmul_(-self.lr.view(col).expand_as(t), self.m[i])
                    continue
                self.m[i].lerp_(g, 1 - b1)
                self.v[i].mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = self.v[i].sqrt().div_(math.sqrt(bc2)).add_(self.eps)
                t.add_(torch.mul(self.m[i], -step_size.to(t.dtype).view(col)).div_(denom))

    def zero_members(self, mask: torch.Tensor) -> None:
        """Reset the optimiser state (moments, momentum) of the members in ``mask`` (K,)."""
        with torch.no_grad():
            for state in (*self.m, *self.v):
                state[mask] = 0.0
