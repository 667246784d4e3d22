"""Any stacked model trained as one: a per-member loss, one optimiser, diverged members frozen.

The K members share one set of stacked parameters (leading dimension K), one forward pass
(:mod:`reluthe.train._layers`) and one :class:`~reluthe.train._optim.StackedOptimizer`. The
optimiser is elementwise and the loss is the sum of the members' losses, so every member follows
the trajectory it would follow alone. A member whose loss turns non-finite, or that the caller's
evaluation flags as diverged, is frozen at that step (its parameters and optimiser state zeroed,
its gradients masked) so that it cannot poison the others; its step of divergence is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from reluthe.errors import InvalidInputError
from reluthe.train._optim import StackedOptimizer


@dataclass
class StackLog:
    """What :func:`train_stacked` recorded.

    Attributes
    ----------
    steps : list of int
        Steps at which ``evaluate`` ran (0 and every ``eval_every``, and the last step).
    evals : list of dict
        ``evaluate``'s return value at each of those steps (numpy arrays of shape (K,)).
    diverged_at : np.ndarray of int, shape (K,)
        Step at which a member was frozen as diverged; -1 for members that never diverged.
    time_s : float
        Wall-clock seconds of the loop.
    """

    steps: list[int] = field(default_factory=list)
    evals: list[dict] = field(default_factory=list)
    diverged_at: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    time_s: float = 0.0

    @property
    def diverged(self) -> np.ndarray:
        """Boolean mask (K,) of members frozen as diverged."""
        return self.diverged_at >= 0

    def final(self, key: str) -> np.ndarray:
        """The last evaluation's ``key`` (K,)."""
        return np.asarray(self.evals[-1][key], dtype=np.float64)


def _leaves_on(params: dict[str, torch.Tensor], device: str) -> torch.device:
    """``device`` as a torch device, after checking every parameter is on it (and making it
    require gradients)."""
    dev = torch.device(device)
    for name, p in params.items():
        if p.device.type != dev.type:
            raise InvalidInputError(f"train_stacked was told device={device!r}, but parameter "
                                    f"{name!r} is on {p.device}; create it with that device.")
        p.requires_grad_(True)
    return dev


class _Stack:
    """The loop state of :func:`train_stacked`: parameters, optimiser, live members, log."""

    def __init__(self, params: dict, lr, betas, clip, dev):
        self.tensors = list(params.values())
        self.k = self.tensors[0].shape[0]
        self.opt = StackedOptimizer(self.tensors, "adam", lr, betas=betas)
        self.alive = torch.ones(self.k, dtype=torch.bool, device=dev)
        self.clip = None if clip is None else torch.as_tensor(clip).to(dev)
        self.log = StackLog(diverged_at=np.full(self.k, -1, dtype=int))

    def freeze(self, mask: torch.Tensor, step: int) -> None:
        """Mark the live members of ``mask`` diverged at ``step``: zero their parameters and
        optimiser state."""
        mask = mask & self.alive
        if not bool(mask.any()):
            return
        self.alive.masked_fill_(mask, False)
        self.log.diverged_at[mask.cpu().numpy()] = step
        with torch.no_grad():
            for p in self.tensors:
                p[mask] = 0.0
        self.opt.zero_members(mask)

    def record(self, step: int, evaluate: Callable[[int], dict] | None) -> None:
        """Run ``evaluate`` without gradients, freeze the members it flags, log the result."""
        if evaluate is None:
            return
        with torch.no_grad():
            out = {key: np.asarray(v.detach().cpu() if torch.is_tensor(v) else v)
                   for key, v in evaluate(step).items()}
        if "diverged" in out:
            self.freeze(torch.as_tensor(out["diverged"], dtype=torch.bool,
                                        device=self.alive.device), step)
        self.log.steps.append(step)
        self.log.evals.append(out)

    def step(self, losses: torch.Tensor, step: int) -> None:
        """One optimiser step on the live members' summed loss, clipped per member."""
        bad = ~torch.isfinite(losses.detach())
        total = torch.where(self.alive & ~bad, losses, torch.zeros_like(losses)).sum()
        grads = torch.autograd.grad(total, self.tensors)
        with torch.no_grad():  # freeze after the gradient: the graph still holds the parameters
            sq = sum(g.pow(2).reshape(self.k, -1).sum(1) for g in grads)
            self.freeze(bad | ~torch.isfinite(sq), step)
            scale = self.alive.to(sq.dtype)
            if self.clip is not None:
                scale = scale * torch.clamp(self.clip / (sq.sqrt() + 1e-12), max=1.0)
            for g in grads:
                g.mul_(scale.view(self.k, *([1] * (g.dim() - 1)))).nan_to_num_(0.0, 0.0, 0.0)
        self.opt.update(self.tensors, grads, step)


def train_stacked(params: dict[str, torch.Tensor], member_loss: Callable[[int], torch.Tensor], *,
                  steps: int, lr, eval_every: int,
                  evaluate: Callable[[int], dict] | None = None,
                  clip: torch.Tensor | None = None,
                  betas: tuple[float, float] = (0.9, 0.999), device: str = "cpu") -> StackLog:
    """Train K stacked models in place with Adam; the members are independent.

    Parameters
    ----------
    params : dict of str to Tensor
        Leaf tensors with leading dimension K (e.g. from :func:`stacked_linear`,
        :func:`stacked_conv`); ``requires_grad`` is switched on here.
    member_loss : callable
        ``member_loss(step) -> (K,)`` training losses of the step's minibatch (the closure
        draws the minibatch itself, e.g. from :func:`member_orders`).
    steps, eval_every : int
        Training length and evaluation period.
    lr : float or sequence of float
        Adam's learning rate, one for all members or one per member.
    evaluate : callable, optional
        ``evaluate(step) -> dict`` of (K,) arrays, called without gradients at step 0, every
        ``eval_every`` steps and at the end. A boolean entry ``"diverged"`` freezes the
        members it flags.
    clip : Tensor (K,), optional
        Per-member maximum gradient norm (over all of a member's parameters); ``inf`` for
        no clipping.
    betas : tuple of float
        Adam's coefficients.
    device : str
        The device the parameters live on (``"cpu"`` or ``"cuda"``); the loop's own tensors are
        made there.

    Returns
    -------
    StackLog

    Raises
    ------
    InvalidInputError
        A parameter that is not on ``device``.

    Examples
    --------
    Two linear regressions (seeds 0 and 1) fit y = 2x as one stack:

    >>> from reluthe.train import stacked_affine, stacked_linear
    >>> x = torch.linspace(-1, 1, 16)[:, None]
    >>> w, b = stacked_linear([0, 1], 1, 1)
    >>> params = {"w": w, "b": b}
    >>> def loss(step):
    ...     return ((stacked_affine(x, params["w"], params["b"]) - 2 * x) ** 2).mean((1, 2))
    >>> log = train_stacked(params, loss, steps=300, lr=0.05, eval_every=100,
    ...                     evaluate=lambda step: {"mse": loss(step)})
    >>> log.steps, bool((log.final("mse") < 1e-3).all()), log.diverged.tolist()
    ([0, 100, 200, 300], True, [False, False])
    """
    stack = _Stack(params, lr, betas, clip, _leaves_on(params, device))
    stack.record(0, evaluate)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        stack.step(member_loss(step), step)
        if step % eval_every == 0 or step == steps:
            stack.record(step, evaluate)
    stack.log.time_s = time.perf_counter() - start
    return stack.log
