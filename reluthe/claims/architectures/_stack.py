"""K small models trained as one: stacked parameters, per-member activations, one Adam.

The architecture claims (C18–C21) compare activations over seeds. Training each (activation,
seed) pair alone would cost K Python loops; here the K members share one set of stacked
parameters (leading dimension K), one forward pass (batched matmuls, grouped convolutions) and
one Adam. Adam is elementwise and the loss is the sum of the members' losses, so every member
follows exactly the trajectory it would follow alone. Member ``k`` draws its initial weights
from ``torch.Generator().manual_seed(seed_k)`` and its minibatches from
:func:`reluthe.train.batch_order` with ``seed_k``: the same seed gives the same start and the
same data order whatever the activation, so arms are paired by seed.

A member whose loss turns non-finite, or that a caller's evaluation flags as diverged, is
frozen at that step (its parameters and Adam moments zeroed, its gradients masked) so that it
cannot poison the others; its step of divergence is recorded.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from reluthe.errors import InvalidInputError
from reluthe.models import activation_fn, init_linear_
from reluthe.train import batch_order

__all__ = ["MemberActivation", "StackLog", "layer_seed", "stacked_linear", "stacked_conv",
           "member_orders", "train_stacked", "grouped_conv", "to_grouped", "from_grouped"]


class MemberActivation:
    """Apply member ``k``'s activation to its slice of a tensor whose ``dim`` holds K blocks.

    ``names[k]`` is member k's activation (a name of :data:`reluthe.models.ACTIVATIONS`);
    members with the same activation should be contiguous (runs are applied in one call).
    ``params`` maps an activation name to its parameters (e.g. ``{"leaky_relu": {"alpha": 0.2}}``).

    Examples
    --------
    >>> act = MemberActivation(["relu", "relu", "tanh"])
    >>> act(torch.tensor([[-1.0], [2.0], [0.0]])).flatten().tolist()
    [0.0, 2.0, 0.0]
    """

    def __init__(self, names: Sequence[str], params: dict | None = None):
        params = params or {}
        self.names = list(names)
        self.runs: list[tuple[int, Callable]] = []  # (number of members, function)
        start = 0
        for k in range(1, len(self.names) + 1):
            if k == len(self.names) or self.names[k] != self.names[start]:
                name = self.names[start]
                self.runs.append((k - start, activation_fn(name, **params.get(name, {}))))
                start = k

    def __call__(self, h: torch.Tensor, dim: int = 0) -> torch.Tensor:
        if len(self.runs) == 1:
            return self.runs[0][1](h)
        block = h.shape[dim] // len(self.names)
        parts = h.split([n * block for n, _ in self.runs], dim=dim)
        return torch.cat([fn(p) for (_, fn), p in zip(self.runs, parts)], dim=dim)


def layer_seed(seed: int, layer: int) -> int:
    """Generator seed of layer ``layer`` of the member with model seed ``seed``.

    Examples
    --------
    >>> layer_seed(3, 0), layer_seed(3, 2)
    (3, 2003)
    """
    return 1000 * layer + int(seed)


def stacked_linear(seeds: Sequence[int], fan_out: int, fan_in: int, *, init: str = "default",
                   layer: int = 0, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Weights (K, out, in) and biases (K, out) on ``device``; member k initialised from
    :func:`layer_seed` ``(seeds[k], layer)``.

    ``init`` is one of :data:`reluthe.models.INITS` (``default`` = torch's ``nn.Linear`` rule).
    ``layer`` separates the generators of different layers of the same member.
    """
    w = torch.empty(len(seeds), fan_out, fan_in)
    b = torch.empty(len(seeds), fan_out)
    for k, s in enumerate(seeds):
        init_linear_(w[k], b[k], init, torch.Generator().manual_seed(layer_seed(s, layer)))
    return w.to(device), b.to(device)


def stacked_conv(seeds: Sequence[int], c_out: int, c_in: int, kernel: tuple[int, ...], *,
                 layer: int = 0, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Convolution weights (K, c_out, c_in, *kernel) and biases (K, c_out) on ``device``, torch's
    default init U(±1/√fan_in) with fan_in = c_in·prod(kernel), member k seeded by ``seeds[k]``."""
    w, b = stacked_linear(seeds, c_out, c_in * math.prod(kernel), layer=layer, device=device)
    return w.view(len(seeds), c_out, c_in, *kernel), b


def to_grouped(x: torch.Tensor) -> torch.Tensor:
    """(K, B, C, *spatial) -> (B, K·C, *spatial): the layout of a convolution with groups=K."""
    k, b, c = x.shape[:3]
    return x.transpose(0, 1).reshape(b, k * c, *x.shape[3:])


def from_grouped(h: torch.Tensor, k: int) -> torch.Tensor:
    """(B, K·C, *spatial) -> (K, B, C·prod(spatial)): flattened features per member."""
    b = h.shape[0]
    return h.reshape(b, k, -1).transpose(0, 1)


def grouped_conv(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor, stride: int,
                 padding: int) -> torch.Tensor:
    """Member-wise convolution of grouped input ``h`` (B, K·c_in, *spatial) with stacked
    weights ``w`` (K, c_out, c_in, *kernel): one ``conv1d``/``conv2d`` call with groups=K."""
    k = w.shape[0]
    conv = F.conv1d if w.dim() == 4 else F.conv2d
    return conv(h, w.reshape(-1, *w.shape[2:]), b.reshape(-1), stride=stride, padding=padding,
                groups=k)


def member_orders(n: int, batch_size: int, steps: int, seeds: Sequence[int], *,
                  device: str = "cpu") -> torch.Tensor:
    """Minibatch indices (steps, K, batch_size) on ``device``: member k follows
    ``batch_order(.., seeds[k])``."""
    cache: dict[int, torch.Tensor] = {}
    for s in set(seeds):
        cache[s] = batch_order(n, batch_size, steps, int(s))
    return torch.stack([cache[s] for s in seeds], 1).to(device)


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


def _freeze(mask: torch.Tensor, step: int, alive: torch.Tensor, log: StackLog,
            opt: torch.optim.Optimizer) -> None:
    """Mark the members of ``mask`` diverged at ``step``: zero their parameters and Adam moments."""
    if not bool(mask.any()):
        return
    alive.masked_fill_(mask, False)
    log.diverged_at[mask.cpu().numpy()] = step
    with torch.no_grad():
        for group in opt.param_groups:
            for p in group["params"]:
                p[mask] = 0.0
                for moment in opt.state.get(p, {}).values():
                    if moment.dim() > 0:
                        moment[mask] = 0.0


def train_stacked(params: dict[str, torch.Tensor], member_loss: Callable[[int], torch.Tensor], *,
                  steps: int, lr: float, eval_every: int,
                  evaluate: Callable[[int], dict] | None = None,
                  clip: torch.Tensor | None = None,
                  betas: tuple[float, float] = (0.9, 0.999), device: str = "cpu") -> StackLog:
    """Train stacked parameters in place with Adam; members are independent.

    Parameters
    ----------
    params : dict of str to Tensor
        Leaf tensors with leading dimension K; ``requires_grad`` is switched on here.
    member_loss : callable
        ``member_loss(step) -> (K,)`` training losses of the step's minibatch (the closure
        draws the minibatch itself).
    steps, lr, eval_every : training length, Adam learning rate, evaluation period.
    evaluate : callable, optional
        ``evaluate(step) -> dict`` of (K,) arrays, called without gradients at step 0, every
        ``eval_every`` steps and at the end. A boolean entry ``"diverged"`` freezes the
        members it flags.
    clip : Tensor (K,), optional
        Per-member maximum gradient norm (over all of a member's parameters); ``inf`` for
        no clipping.
    betas : Adam's coefficients.
    device : str
        The device the parameters live on (``"cpu"`` or ``"cuda"``); the loop's own tensors are
        made there.

    Raises
    ------
    InvalidInputError
        A parameter that is not on ``device``.
    """
    dev = _leaves_on(params, device)
    tensors = list(params.values())
    k = tensors[0].shape[0]
    opt = torch.optim.Adam(tensors, lr=lr, betas=betas)
    alive = torch.ones(k, dtype=torch.bool, device=dev)
    clip = None if clip is None else clip.to(dev)
    log = StackLog(diverged_at=np.full(k, -1, dtype=int))

    def freeze(mask: torch.Tensor, step: int) -> None:
        _freeze(mask & alive, step, alive, log, opt)

    def record(step: int) -> None:
        if evaluate is None:
            return
        with torch.no_grad():
            out = {key: np.asarray(v.detach().cpu() if torch.is_tensor(v) else v)
                   for key, v in evaluate(step).items()}
        if "diverged" in out:
            freeze(torch.as_tensor(out["diverged"], dtype=torch.bool, device=dev), step)
        log.steps.append(step)
        log.evals.append(out)

    record(0)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        losses = member_loss(step)
        bad = ~torch.isfinite(losses.detach())
        opt.zero_grad(set_to_none=False)
        torch.where(alive & ~bad, losses, torch.zeros_like(losses)).sum().backward()
        with torch.no_grad():  # freeze after backward: the graph still holds the parameters
            grads = [p.grad for p in tensors]
            sq = sum(g.pow(2).reshape(k, -1).sum(1) for g in grads)
            freeze(bad | ~torch.isfinite(sq), step)
            scale = alive.to(sq.dtype)
            if clip is not None:
                scale = scale * torch.clamp(clip / (sq.sqrt() + 1e-12), max=1.0)
            for g in grads:
                g.mul_(scale.view(k, *([1] * (g.dim() - 1)))).nan_to_num_(0.0, 0.0, 0.0)
        opt.step()
        if step % eval_every == 0 or step == steps:
            record(step)
    log.time_s = time.perf_counter() - start
    return log
