"""Stacked small CNNs and best-validation training over independent replicates (C18, C21).

A *unit* is one independent replicate: its own data split (``data.load(name, seed=data_seed,
val_size=...)``) and its own model seed (initial weights and minibatch order). Every arm (an
activation × learning-rate pair) is trained once per unit, and all arms × units train together
as one stacked model (:func:`reluthe.train.train_stacked`): member ``k`` reads the split of its
unit (:func:`stack_units`, :func:`member_batch`). Arms of one unit share the split, the initial
weights and the batches, so differences between arms are paired by unit; units are independent,
so a t interval over units covers both the data and the initialisation variance.

:func:`train_best_val` keeps, for every member, its parameters at its best validation score
(evaluated every ``eval_every`` steps, step 0 included); test metrics are read from those
parameters only, so the test set chooses nothing. C21's autoencoders use the same helpers,
and both claims' Bonferroni families use :func:`paired_ci`.

The CNNs (:class:`CNNSpec`) are strided convolutions with an activation after each, then one
linear layer: 1-D (``shape = (C, L)``) or 2-D (``shape = (C, H, W)``) only, the two cases of
:func:`reluthe.train.grouped_conv`; any other configuration raises
:class:`~reluthe.errors.InvalidInputError` rather than running something else.

Examples
--------
>>> spec = CNNSpec((1, 40), ((16, 5, 2, 1), (16, 3, 2, 1), (16, 3, 2, 1)))
>>> spec.flat
80
>>> CNNSpec((1, 2, 8, 8), ((4, 3, 1, 1),))
Traceback (most recent call last):
...
reluthe.errors.InvalidInputError: ...
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from reluthe import data
from reluthe.errors import InvalidInputError
from reluthe.stats import Estimate, paired_diff_ci
from reluthe.train import (
    MemberActivation,
    StackLog,
    from_grouped,
    grouped_conv,
    member_generators,
    member_orders,
    stacked_affine,
    stacked_conv,
    stacked_linear,
    to_grouped,
    train_stacked,
)

__all__ = ["CNNSpec", "stack_units", "member_batch", "train_best_val", "cnn_init", "cnn_forward",
           "cnn_accuracy", "train_cnn_units", "val_curve", "paired_ci"]

_SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class CNNSpec:
    """A stacked CNN: ``convs`` = (c_out, kernel, stride, padding) per convolution.

    Raises
    ------
    InvalidInputError
        An input ``shape`` that is not (C, L) or (C, H, W), a convolution that is not four
        positive integers (padding >= 0), or one whose output would be empty.
    """

    shape: tuple[int, ...]
    convs: tuple[tuple[int, int, int, int], ...]
    n_classes: int = 10

    def __post_init__(self):
        if len(self.shape) not in (2, 3) or not all(_pos(v) for v in self.shape):
            raise InvalidInputError(
                f"CNNSpec runs 1-D inputs (C, L) or 2-D inputs (C, H, W) only (grouped conv1d "
                f"/ conv2d); got shape {self.shape!r}.")
        if not self.convs:
            raise InvalidInputError("CNNSpec needs at least one convolution.")
        for conv in self.convs:
            ok = len(conv) == 4 and all(_pos(v) for v in conv[:3]) and _pos(conv[3], zero=True)
            if not ok:
                raise InvalidInputError(f"A CNNSpec convolution is (c_out, kernel, stride, "
                                        f"padding) with positive integers (padding >= 0); "
                                        f"got {conv!r}.")
        if min(self.spatial_out) < 1:
            raise InvalidInputError(f"The convolutions {self.convs!r} leave no output on an "
                                    f"input of shape {self.shape!r}.")

    @property
    def spatial_out(self) -> tuple[int, ...]:
        """Spatial size after the last convolution."""
        size = list(self.shape[1:])
        for _, ker, stride, pad in self.convs:
            size = [(s + 2 * pad - ker) // stride + 1 for s in size]
        return tuple(size)

    @property
    def flat(self) -> int:
        """Number of features entering the linear layer."""
        return self.convs[-1][0] * math.prod(self.spatial_out)


def _pos(v, zero: bool = False) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and (v >= 0 if zero else v > 0)


def paired_ci(a: Sequence[float], b: Sequence[float], confidence: float) -> Estimate:
    """:func:`reluthe.stats.paired_diff_ci` of ``a - b``, also for no pairs (a NaN estimate
    without an interval), so that a family (:func:`reluthe.stats.family_ci`) can hold a
    comparison whose runs all diverged.

    Examples
    --------
    >>> paired_ci([], [], 0.95).n, paired_ci([0.9, 0.8], [0.7, 0.7], 0.95).method
    (0, 'paired-t')
    """
    if len(a) == 0:
        return Estimate(math.nan, None, None, 0, confidence, "paired-t")
    return paired_diff_ci(a, b, confidence)


def stack_units(name: str, data_seeds: Sequence[int], *, val_size: float,
                n_train: int | None = None, device: str = "cpu",
                **options) -> dict[str, torch.Tensor]:
    """Load one split of ``name`` per data seed and stack them: ``x_<split>`` (U, N, ...).

    ``n_train`` keeps the first ``n_train`` training examples of each unit (quick runs).

    Raises
    ------
    InvalidInputError
        Units whose splits differ in size (they cannot be stacked).
    """
    loaded = [data.load(name, seed=s, val_size=val_size, **options) for s in data_seeds]
    out = {}
    for split in _SPLITS:
        xs = [getattr(ds, f"x_{split}") for ds in loaded]
        ys = [getattr(ds, f"y_{split}") for ds in loaded]
        if split == "train":
            xs, ys = [x[:n_train] for x in xs], [y[:n_train] for y in ys]
        if len({x.shape for x in xs}) > 1:
            raise InvalidInputError(f"The {split} splits of {name!r} differ in shape across the "
                                    f"data seeds {list(data_seeds)}: "
                                    f"{sorted({tuple(x.shape) for x in xs})}.")
        out[f"x_{split}"] = torch.stack(xs).to(device)
        out[f"y_{split}"] = torch.stack(ys).to(device)
    return out


def member_batch(x: torch.Tensor, unit: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Member k's rows ``idx[k]`` of its unit's tensor: x (U, N, ...), unit (K,), idx (K, B)."""
    return x[unit[:, None], idx]


def train_best_val(params: dict[str, torch.Tensor], member_loss: Callable[[int], torch.Tensor],
                   val_metric: Callable[[], torch.Tensor], *, steps: int, lr, eval_every: int,
                   higher_is_better: bool, device: str = "cpu"
                   ) -> tuple[StackLog, dict[str, torch.Tensor], np.ndarray, np.ndarray]:
    """:func:`reluthe.train.train_stacked`, keeping each member's best-validation parameters.

    Parameters
    ----------
    params, member_loss, steps, lr, eval_every, device :
        As in :func:`~reluthe.train.train_stacked` (``lr`` may be one per member).
    val_metric : callable
        ``val_metric() -> (K,)`` validation score of the current parameters.
    higher_is_better : bool
        True for an accuracy, False for an error.

    Returns
    -------
    log : StackLog
        With ``"val"`` at every evaluation.
    best : dict of str to Tensor
        Member k's parameters at its best validation score (the earliest on ties).
    best_step, best_val : np.ndarray, shape (K,)
    """
    k = next(iter(params.values())).shape[0]
    best = {n: p.detach().clone() for n, p in params.items()}
    score = torch.full((k,), -math.inf, dtype=torch.float64, device=device)
    best_val = torch.full((k,), math.nan, dtype=torch.float64, device=device)
    best_step = torch.zeros(k, dtype=torch.long, device=device)

    def evaluate(step: int) -> dict:
        v = val_metric().to(torch.float64)
        s = torch.nan_to_num(v if higher_is_better else -v, nan=-math.inf, posinf=-math.inf)
        better = s > score
        score.copy_(torch.where(better, s, score))
        best_val.copy_(torch.where(better, v, best_val))
        best_step.copy_(torch.where(better, torch.full_like(best_step, step), best_step))
        for n, p in params.items():
            mask = better.view(k, *([1] * (p.dim() - 1)))
            best[n].copy_(torch.where(mask, p.detach(), best[n]))
        return {"val": v}

    log = train_stacked(params, member_loss, steps=steps, lr=lr, eval_every=eval_every,
                        evaluate=evaluate, device=device)
    return log, best, best_step.cpu().numpy(), best_val.cpu().numpy()


def cnn_init(spec: CNNSpec, member_seeds: Sequence[int], device: str = "cpu") -> dict:
    """Stacked CNN weights (torch's default init): member k draws its convolutions, then the
    output layer, from one generator seeded by its model seed."""
    gens, params, c_in = member_generators(member_seeds), {}, spec.shape[0]
    for i, (c_out, ker, _, _) in enumerate(spec.convs):
        kernel = (ker,) * (len(spec.shape) - 1)
        params[f"w{i}"], params[f"b{i}"] = stacked_conv(gens, c_out, c_in, kernel, device=device)
        c_in = c_out
    params["out_w"], params["out_b"] = stacked_linear(gens, spec.n_classes, spec.flat,
                                                      device=device)
    return params


def cnn_forward(params: dict, x: torch.Tensor, spec: CNNSpec,
                act: MemberActivation) -> torch.Tensor:
    """x: (K, B, *shape) per-member inputs -> logits (K, B, n_classes)."""
    k = params["out_w"].shape[0]
    h = to_grouped(x)
    for i, (_, _, stride, pad) in enumerate(spec.convs):
        h = act(grouped_conv(h, params[f"w{i}"], params[f"b{i}"], stride, pad), dim=1)
    return stacked_affine(from_grouped(h, k), params["out_w"], params["out_b"])


def cnn_accuracy(params: dict, x: torch.Tensor, y: torch.Tensor, unit: torch.Tensor,
                 spec: CNNSpec, act: MemberActivation, chunk: int = 250) -> torch.Tensor:
    """Accuracy (K,) of member k on its unit's examples: x (U, N, *shape), y (U, N)."""
    correct = torch.zeros(len(unit), device=x.device)
    for s in range(0, x.shape[1], chunk):
        logits = cnn_forward(params, x[unit, s:s + chunk], spec, act)
        correct += (logits.argmax(-1) == y[unit, s:s + chunk]).float().sum(1)
    return correct / x.shape[1]


def train_cnn_units(splits: dict[str, torch.Tensor], spec: CNNSpec,
                    members: Sequence[tuple[str, float, int]], model_seeds: Sequence[int], *,
                    steps: int, batch_size: int, eval_every: int,
                    device: str = "cpu") -> dict[str, np.ndarray]:
    """Train one CNN per member (activation, lr, unit index) as one stack, read at best val.

    Members should list each activation contiguously. Returns (K,) arrays: ``best_val``,
    ``best_step``, ``test_acc`` and ``train_acc`` (on up to 1000 training examples) at the
    best-validation parameters, ``diverged``; ``val_curve`` (K, evaluations) at ``eval_steps``;
    ``time_s``, the loop's wall-clock seconds.
    """
    unit = torch.tensor([u for _, _, u in members], device=device)
    act = MemberActivation([a for a, _, _ in members])
    seeds = [model_seeds[u] for _, _, u in members]
    params = cnn_init(spec, seeds, device)
    x_tr, y_tr = splits["x_train"], splits["y_train"]
    orders = member_orders(x_tr.shape[1], batch_size, steps, seeds, device=device)

    def member_loss(step: int) -> torch.Tensor:
        idx = orders[step - 1]
        logits = cnn_forward(params, member_batch(x_tr, unit, idx), spec, act)
        return F.cross_entropy(logits.transpose(1, 2), member_batch(y_tr, unit, idx),
                               reduction="none").mean(1)

    log, best, best_step, best_val = train_best_val(
        params, member_loss, lambda: cnn_accuracy(params, splits["x_val"], splits["y_val"],
                                                  unit, spec, act),
        steps=steps, lr=[lr for _, lr, _ in members], eval_every=eval_every,
        higher_is_better=True, device=device)
    with torch.no_grad():
        test = cnn_accuracy(best, splits["x_test"], splits["y_test"], unit, spec, act)
        train = cnn_accuracy(best, x_tr[:, :1000], y_tr[:, :1000], unit, spec, act)
    return {"best_val": best_val, "best_step": best_step, "test_acc": test.cpu().numpy(),
            "train_acc": train.cpu().numpy(), "diverged": log.diverged,
            "val_curve": val_curve(log), "eval_steps": list(log.steps), "time_s": log.time_s}


def val_curve(log: StackLog) -> np.ndarray:
    """The validation score of every member at every evaluation, shape (K, len(log.steps))."""
    return np.stack([np.asarray(e["val"], dtype=np.float64) for e in log.evals], 1)

