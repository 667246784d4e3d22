"""Any stacked model trained as one: a per-member loss, one optimiser, diverged members frozen.

The K members share one set of stacked parameters (leading dimension K), one forward pass
(:mod:`reluthe.train._layers`) and one :class:`~reluthe.train._optim.StackedOptimizer`
(:func:`train_stacked`), or several parameter groups updated in alternation, each with its own
optimiser state (:func:`train_alternating`, e.g. a GAN's discriminator and generator). The
optimiser is elementwise and the loss is the sum of the members' losses, so every member follows
the trajectory it would follow alone. A member whose loss turns non-finite, or that the caller's
evaluation flags as diverged, is frozen at that step (its parameters and optimiser state zeroed,
its gradients masked) so that it cannot poison the others; its step of divergence is recorded.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from reluthe._validate import _fmt, check_callable, check_device, check_positive_int
from reluthe.errors import InvalidInputError
from reluthe.train._optim import StackedOptimizer


@dataclass
class StackLog:
    """What :func:`train_stacked` (or :func:`train_alternating`) recorded.

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


def _leaves_on(params: dict[str, torch.Tensor], dev: torch.device, func: str) -> torch.device:
    """``dev``, after checking every parameter is on it (and making it require gradients)."""
    for name, p in params.items():
        if p.device.type != dev.type:
            raise InvalidInputError(f"{func} was told device={str(dev)!r}, but parameter "
                                    f"{name!r} is on {p.device}; create it with that device.")
        p.requires_grad_(True)
    return dev


def _check_params(params, *, param: str, func: str) -> None:
    """Raise unless ``params`` is a non-empty dict of str to floating-point tensors of at least
    one dimension (the leading one is the member dimension K)."""
    ok = isinstance(params, dict) and len(params) > 0 and all(
        isinstance(k, str) and isinstance(t, torch.Tensor) for k, t in params.items())
    if not ok:
        raise InvalidInputError(f"The {param!r} parameter of {func} must be a non-empty dict of "
                                f"str to torch.Tensor (leading dimension K). Got {_fmt(params)} "
                                f"instead.")
    for name, t in params.items():
        if not t.dtype.is_floating_point or t.dim() == 0:
            raise InvalidInputError(f"The {param!r} parameter of {func} must hold floating-point "
                                    f"tensors with a leading member dimension K. Got {name!r} "
                                    f"of dtype {t.dtype} and shape {tuple(t.shape)} instead.")


def _check_per_member(value, k: int, *, param: str, func: str, allow_inf: bool = False):
    """``value`` (a number > 0, or one per member) as a float or a (K,) float64 tensor."""
    accepted = (f"a finite number > 0{' (or inf)' if allow_inf else ''}, or one per member "
                f"(a sequence or tensor of {k})")
    if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
        if value > 0 and (math.isfinite(value) or (allow_inf and value == math.inf)):
            return float(value)
        raise InvalidInputError(f"The {param!r} parameter of {func} must be {accepted}. "
                                f"Got {_fmt(value)} instead.")
    try:
        if not isinstance(value, list | tuple | np.ndarray | torch.Tensor):
            raise TypeError
        col = torch.as_tensor(np.asarray(value.detach().cpu() if torch.is_tensor(value)
                                         else value))
        if col.dtype == torch.bool or not (col.dtype.is_floating_point
                                           or not col.dtype.is_complex):
            raise TypeError
        col = col.to(torch.float64)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InvalidInputError(f"The {param!r} parameter of {func} must be {accepted}. "
                                f"Got {_fmt(value)} instead.") from exc
    finite = torch.isfinite(col) | (col == math.inf if allow_inf else False)
    if col.shape != (k,) or not bool(((col > 0) & finite).all()):
        raise InvalidInputError(f"The {param!r} parameter of {func} must be {accepted}. "
                                f"Got {_fmt(value)} instead.")
    return col


def _check_betas(betas, func: str) -> tuple[float, float]:
    ok = isinstance(betas, list | tuple) and len(betas) == 2 and all(
        isinstance(b, numbers.Real) and not isinstance(b, bool) and 0 <= b < 1 for b in betas)
    if not ok:
        raise InvalidInputError(f"The 'betas' parameter of {func} must be a pair of numbers in "
                                f"[0, 1). Got {_fmt(betas)} instead.")
    return float(betas[0]), float(betas[1])


class _Stack:
    """The loop state of :func:`train_alternating`: parameter groups (one optimiser each), live
    members, log."""

    def __init__(self, groups: list[list[torch.Tensor]], lr, betas, clip, dev):
        self.groups = groups
        self.tensors = [t for group in groups for t in group]
        self.k = self.tensors[0].shape[0]
        self.opts = [StackedOptimizer(group, "adam", lr, betas=betas) for group in groups]
        self.alive = torch.ones(self.k, dtype=torch.bool, device=dev)
        self.clip = None if clip is None else torch.as_tensor(clip).to(dev)
        self.log = StackLog(diverged_at=np.full(self.k, -1, dtype=int))
        self.unsettled = False

    def freeze(self, mask: torch.Tensor, step: int) -> None:
        """Mark the live members of ``mask`` diverged at ``step`` and zero their optimiser states
        (in every group); :meth:`settle` zeroes their parameters."""
        mask = mask & self.alive
        if not bool(mask.any()):
            return
        self.alive.masked_fill_(mask, False)
        self.log.diverged_at[mask.cpu().numpy()] = step
        for opt in self.opts:
            opt.zero_members(mask)
        self.unsettled = True

    def settle(self) -> None:
        """Zero the parameters of members frozen since the last call. Called after a step's
        last phase, not at the freeze: a later phase's graph (a GAN's fake batch) may still hold
        the parameters; meanwhile zero gradients on zero optimiser state leave them in place."""
        if self.unsettled:
            with torch.no_grad():
                for p in self.tensors:
                    p[~self.alive] = 0.0
            self.unsettled = False

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
            self.settle()
        self.log.steps.append(step)
        self.log.evals.append(out)

    def step(self, group: int, losses: torch.Tensor, step: int) -> None:
        """One optimiser step of parameter group ``group`` on the live members' summed loss,
        clipped per member."""
        tensors = self.groups[group]
        bad = ~torch.isfinite(losses.detach())
        total = torch.where(self.alive & ~bad, losses, torch.zeros_like(losses)).sum()
        grads = torch.autograd.grad(total, tensors)
        with torch.no_grad():
            sq = sum(g.pow(2).reshape(self.k, -1).sum(1) for g in grads)
            self.freeze(bad | ~torch.isfinite(sq), step)
            scale = self.alive.to(sq.dtype)
            if self.clip is not None:
                scale = scale * torch.clamp(self.clip / (sq.sqrt() + 1e-12), max=1.0)
            for g in grads:
                g.mul_(scale.view(self.k, *([1] * (g.dim() - 1)))).nan_to_num_(0.0, 0.0, 0.0)
        self.opts[group].update(tensors, grads, step)


def _groups(phases, dev: torch.device, func: str) -> list[list[torch.Tensor]]:
    """The phases' parameter groups, checked: one member count K, no tensor in two phases."""
    groups = [list(params.values()) for params, _ in phases]
    tensors = [t for group in groups for t in group]
    if (not tensors or not all(groups) or len({id(t) for t in tensors}) < len(tensors)
            or len({t.shape[0] for t in tensors}) > 1):
        raise InvalidInputError("The phases of train_alternating must be (params, loss) pairs "
                                "with non-empty, disjoint parameter dicts whose tensors share "
                                "the leading member dimension K.")
    for params, _ in phases:
        _leaves_on(params, dev, func)
    return groups


def _check_phases(phases, func: str) -> None:
    accepted = ("a non-empty list or tuple of (params, member_loss) pairs: a dict of str to "
                "torch.Tensor and a callable")
    ok = isinstance(phases, list | tuple) and len(phases) > 0 and all(
        isinstance(p, list | tuple) and len(p) == 2 for p in phases)
    if not ok:
        raise InvalidInputError(f"The 'phases' parameter of {func} must be {accepted}. "
                                f"Got {_fmt(phases)} instead.")
    for i, (params, _) in enumerate(phases):
        if not isinstance(params, dict):
            raise InvalidInputError(f"The 'phases' parameter of {func} must be {accepted}. "
                                    f"Got {_fmt(params)} in phase {i} instead.")
        _check_params(params, param="phases", func=func)


def _run(phases, *, steps, lr, eval_every, evaluate, clip, betas, device,
         func: str) -> StackLog:
    """Validate the arguments of :func:`train_alternating` (named for ``func``) and train."""
    steps = check_positive_int(steps, param="steps", func=func)
    eval_every = check_positive_int(eval_every, param="eval_every", func=func)
    dev = check_device(device, func=func)
    check_callable(evaluate, param="evaluate", func=func, optional=True)
    betas = _check_betas(betas, func)
    _check_phases(phases, func)
    groups = _groups(phases, dev, func)
    for _, member_loss in phases:
        check_callable(member_loss, param="member_loss", func=func)
    k = groups[0][0].shape[0]
    lr = _check_per_member(lr, k, param="lr", func=func)
    if clip is not None:
        clip = _check_per_member(clip, k, param="clip", func=func, allow_inf=True)
    stack = _Stack(groups, lr, betas, clip, dev)
    stack.record(0, evaluate)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        for group, (_, member_loss) in enumerate(phases):
            stack.step(group, member_loss(step), step)
        stack.settle()
        if step % eval_every == 0 or step == steps:
            stack.record(step, evaluate)
    stack.log.time_s = time.perf_counter() - start
    return stack.log


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
    device : str or torch.device
        The device the parameters live on (``"cpu"``, ``"cuda"`` or ``"cuda:N"``, a visible
        GPU); the loop's own tensors are made there.

    Returns
    -------
    StackLog

    Raises
    ------
    InvalidInputError
        A parameter that is not on ``device``, or an argument of the wrong type or range (named
        in the message): ``params`` not a dict of floating tensors, ``steps``/``eval_every`` not
        integers >= 1, ``lr`` not > 0 (or not one per member), ``betas`` not in [0, 1), an
        unknown or invisible ``device``.

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
    func = "train_stacked"
    _check_params(params, param="params", func=func)
    check_callable(member_loss, param="member_loss", func=func)
    return _run([(params, member_loss)], steps=steps, lr=lr, eval_every=eval_every,
                evaluate=evaluate, clip=clip, betas=betas, device=device, func=func)


def train_alternating(phases: Sequence[tuple[dict[str, torch.Tensor],
                                             Callable[[int], torch.Tensor]]], *,
                      steps: int, lr, eval_every: int,
                      evaluate: Callable[[int], dict] | None = None,
                      clip: torch.Tensor | None = None,
                      betas: tuple[float, float] = (0.9, 0.999),
                      device: str = "cpu") -> StackLog:
    """Train K stacked models whose steps alternate between parameter groups (e.g. a GAN's
    discriminator and generator).

    Every step runs the phases in order: phase ``(params, member_loss)`` computes
    ``member_loss(step)`` with the parameters as the earlier phases of the step left them and
    updates ``params`` only, with its own Adam state (as one ``torch.optim.Adam`` per group
    would). A member that diverges in any phase is frozen in all of them. :func:`train_stacked`
    is the case of one phase.

    Parameters
    ----------
    phases : sequence of (dict of str to Tensor, callable)
        Disjoint parameter groups (leading dimension K) and the (K,) losses that update them; a
        later phase may read what an earlier one of the same step computed (closures).
    steps, lr, eval_every, evaluate, betas, device :
        As in :func:`train_stacked`.
    clip : Tensor (K,), optional
        Per-member maximum gradient norm, applied to each phase's gradient separately.

    Returns
    -------
    StackLog

    Raises
    ------
    InvalidInputError
        A parameter not on ``device``, or phases that share a tensor or differ in K.

    Examples
    --------
    Two members fit y = 2x + 1, the slope and the intercept updated in alternation:

    >>> from reluthe.train import stacked_affine, stacked_linear
    >>> x = torch.linspace(-1, 1, 16)[:, None]
    >>> w, b = stacked_linear([0, 1], 1, 1)
    >>> def loss(step):
    ...     return ((stacked_affine(x, w, b) - 2 * x - 1) ** 2).mean((1, 2))
    >>> log = train_alternating([({"w": w}, loss), ({"b": b}, loss)], steps=400, lr=0.05,
    ...                         eval_every=200, evaluate=lambda step: {"mse": loss(step)})
    >>> log.steps, bool((log.final("mse") < 1e-3).all())
    ([0, 200, 400], True)
    """
    return _run(phases, steps=steps, lr=lr, eval_every=eval_every, evaluate=evaluate, clip=clip,
                betas=betas, device=device, func="train_alternating")
