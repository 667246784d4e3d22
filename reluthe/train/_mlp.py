"""Many MLPs of one shape trained as one batched model, with per-member recipes.

``train_mlps`` trains K = len(recipes) × len(seeds) MLPs at once: their weights are stacked
(``[K, out, in]``, :func:`~reluthe.train.stacked_mlp_init`), the forward pass is one batched
matmul per layer (:func:`~reluthe.train.stacked_mlp`), and Adam / SGD are applied elementwise
with per-member hyper-parameters (:class:`~reluthe.train._optim.StackedOptimizer`). Member ``k``
follows the trajectory that ``fit(mlp(widths, seed=s), ...)`` gives one model at a time (same
init, same batch order, same update rule, equal up to float rounding), only faster. The global
RNG is never touched: every draw comes from a generator seeded by the member's seed.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from reluthe._validate import (
    _fmt,
    check_callable,
    check_choice,
    check_device,
    check_int_sequence,
    check_optional_dict,
    check_positive_float,
)
from reluthe.data import Dataset
from reluthe.errors import InvalidInputError
from reluthe.models import _INIT_ALIASES, INITS, activation_fn
from reluthe.train._data import BATCH_SEED_OFFSET, check_dataset, member_losses, member_orders
from reluthe.train._layers import stacked_mlp, stacked_mlp_init
from reluthe.train._optim import StackedOptimizer
from reluthe.train._recipe import Recipe
from reluthe.train._result import TrainResult, member_inits


def _evaluate(weights, x, y, act, n_classes, out_act=None, chunk=8192):
    """Loss and accuracy (NaN for regression) of every member on ``(x, y)``, as (K,) arrays."""
    losses, correct = [], []
    with torch.no_grad():
        for s in range(0, len(x), chunk):
            logits, _ = stacked_mlp(weights, x[s:s + chunk], act, out_act=out_act)
            yy = y[s:s + chunk]
            losses.append(member_losses(logits, yy, n_classes) * len(yy))
            if n_classes is not None:
                correct.append((logits.argmax(-1) == yy[None]).float().sum(1))
    loss = (torch.stack(losses).sum(0) / len(x)).cpu().numpy()
    if n_classes is None:
        return loss, np.full_like(loss, np.nan)
    return loss, (torch.stack(correct).sum(0) / len(x)).cpu().numpy()


def _check_init_weights(weights, widths, k, func) -> list:
    """Validate stacked starting weights against the architecture and member count.

    Tensors or arrays of any floating dtype (float16, bfloat16, float32, float64) are accepted
    and converted to float32 copies; integer, bool, complex and object arrays are refused."""
    expected = [((k, b, a), (k, b)) for a, b in zip(widths[:-1], widths[1:])]
    accepted = ("a sequence of (W, b) pairs of floating-point tensors (float16, bfloat16, "
                "float32 or float64; converted to float32)")

    def as_float(t):
        if not isinstance(t, torch.Tensor):
            arr = np.asarray(t) if isinstance(t, np.ndarray | list | tuple) else None
            if arr is None or not np.issubdtype(arr.dtype, np.floating):
                raise TypeError
            t = torch.as_tensor(arr)
        if not t.dtype.is_floating_point:
            raise TypeError
        return t.detach().to(torch.float32, copy=True)

    try:
        if isinstance(weights, (str, bytes, dict)):
            raise TypeError
        pairs = []
        for pair in weights:
            w, b = pair
            pairs.append((as_float(w), as_float(b)))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"The 'init_weights' parameter of {func} must be {accepted}. "
                                f"Got {_fmt(weights)} instead.") from exc
    got = [(tuple(w.shape), tuple(b.shape)) for w, b in pairs]
    if got != expected:
        raise InvalidInputError(f"The 'init_weights' parameter of {func} must have shapes "
                                f"{expected} for {k} members of widths {list(widths)}. "
                                f"Got {got} instead.")
    if not all(torch.isfinite(t).all() for pair in pairs for t in pair):
        raise InvalidInputError(f"The 'init_weights' parameter of {func} must be finite. "
                                f"Got NaN/inf values.")
    return pairs


def check_seeds(seeds, func: str) -> tuple[int, ...]:
    """``seeds`` as a tuple of ints: a non-empty list, tuple, range or integer array."""
    if isinstance(seeds, np.ndarray) and seeds.ndim == 1 and np.issubdtype(seeds.dtype,
                                                                            np.integer):
        seeds = seeds.tolist()
    if not isinstance(seeds, list | tuple | range) or len(seeds) == 0:
        raise InvalidInputError(f"The 'seeds' parameter of {func} must be a non-empty list or "
                                f"tuple of non-negative integers. Got {_fmt(seeds)} instead.")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise InvalidInputError(f"The 'seeds' parameter of {func} must be a non-empty list "
                                    f"or tuple of non-negative integers. Got {_fmt(seeds)} "
                                    f"instead ({_fmt(s)} is not one).")
    return tuple(int(s) for s in seeds)


def check_name(value, *, param: str, func: str, optional: bool = False) -> None:
    """Raise unless ``value`` is a string (or ``None`` with ``optional``); the name itself is
    checked where it is looked up."""
    if not (isinstance(value, str) or (optional and value is None)):
        raise InvalidInputError(f"The {param!r} parameter of {func} must be a name (a str"
                                f"{', or None' if optional else ''}) such as 'relu'. "
                                f"Got {_fmt(value)} instead.")


def _check_train_args(dataset, widths, seeds, recipes, init, max_time_s, func, *,
                      device="cpu", activation="relu", activation_params=None,
                      output_activation=None, augment=None):
    """Validated ``(dataset, recipes, seeds, widths, init, device, activation_params)`` of
    :func:`train_mlps`: tuples, a torch.device, a dict, the dataset in float32/int64."""
    dataset = check_dataset(dataset, func)
    widths = check_int_sequence(widths, param="widths", func=func)
    device = check_device(device, func=func)
    if isinstance(recipes, Recipe):
        recipes = (recipes,)
    elif isinstance(recipes, list | tuple):
        recipes = tuple(recipes)
    if not isinstance(recipes, tuple) or not recipes or not all(isinstance(r, Recipe)
                                                                for r in recipes):
        raise InvalidInputError(f"The 'recipes' parameter of {func} must be a Recipe or a "
                                f"non-empty list or tuple of Recipe. Got {_fmt(recipes)} instead.")
    shared = {(r.optimizer, r.batch_size, r.steps, r.eval_every) for r in recipes}
    if len(shared) > 1:
        raise InvalidInputError(f"All recipes of one batched run must share optimizer, batch_size, "
                                f"steps and eval_every. Got {sorted(shared)}.")
    seeds = check_seeds(seeds, func)
    if widths[0] != dataset.input_dim:
        raise InvalidInputError(f"widths[0] must equal the dataset's input dimension "
                                f"{dataset.input_dim}. Got widths={list(widths)}.")
    if dataset.n_classes is not None and widths[-1] != dataset.n_classes:
        raise InvalidInputError(f"widths[-1] must equal the number of classes {dataset.n_classes}. "
                                f"Got widths={list(widths)}.")
    if max_time_s is not None:
        check_positive_float(max_time_s, param="max_time_s", func=func)
    if isinstance(init, list | tuple):
        init = tuple(init)
        if len(init) != len(recipes) or not all(isinstance(i, str) for i in init):
            raise InvalidInputError(f"The 'init' parameter of {func} must be an init name or one "
                                    f"name per recipe ({len(recipes)}). Got {list(init)!r}.")
    elif not isinstance(init, str):
        raise InvalidInputError(f"The 'init' parameter of {func} must be an init name (one of "
                                f"{list(INITS)}) or one name per recipe ({len(recipes)}). "
                                f"Got {_fmt(init)} instead.")
    for name in (init,) if isinstance(init, str) else init:
        check_choice(_INIT_ALIASES.get(name, name), INITS, param="init", func=func)
    check_name(activation, param="activation", func=func)
    params = check_optional_dict(activation_params, param="activation_params", func=func)
    check_name(output_activation, param="output_activation", func=func, optional=True)
    check_callable(augment, param="augment", func=func, optional=True)
    return dataset, recipes, seeds, widths, init, device, params


@dataclass(frozen=True)
class _Members:
    """Seed, recipe and init of every member: member ``r * len(seeds) + s`` has recipe r, seed s."""

    seeds: tuple[int, ...]
    recipes: tuple[Recipe, ...]
    inits: tuple[str, ...]

    @classmethod
    def expand(cls, recipes, seeds, init) -> _Members:
        member_seeds = tuple(s for _ in recipes for s in seeds)
        return cls(member_seeds, tuple(r for r in recipes for _ in seeds),
                   member_inits(init, len(member_seeds)))

    def column(self, name: str, device, dtype=torch.float32) -> torch.Tensor:
        """The recipe field ``name`` of every member as a (K, 1) column."""
        return torch.tensor([[getattr(r, name)] for r in self.recipes], device=device, dtype=dtype)


class _FlatParams:
    """All parameters in one (K, P) buffer, a row per member: the optimiser is then a handful of
    elementwise ops per step, with per-member hyper-parameters as (K, 1) columns."""

    def __init__(self, start_weights, bias_shift: torch.Tensor, device):
        blocks = []
        for i, (w, b) in enumerate(start_weights):
            if i < len(start_weights) - 1:  # hidden layers only
                b = b + bias_shift
            blocks += [w, b]
        self.shapes = [t.shape for t in blocks]
        self.sizes = [t[0].numel() for t in blocks]
        k = len(blocks[0])
        self.flat = torch.cat([t.reshape(k, -1) for t in blocks], 1).to(device).requires_grad_()

    def unflatten(self, buffer: torch.Tensor) -> list:
        parts = [t.view(shape) for t, shape in zip(torch.split(buffer, self.sizes, 1), self.shapes)]
        return list(zip(parts[::2], parts[1::2]))

    def detached(self) -> list:
        """The current (W, b) of every layer, stacked over members, without autograd."""
        return self.unflatten(self.flat.detach())


def _device_splits(dataset: Dataset, device) -> dict:
    """{split: (x flattened to (n, D) float32, y)} on ``device``; validation only if non-empty."""
    names = ("train", "val", "test") if len(dataset.x_val) else ("train", "test")
    out = {}
    for name in names:
        x, y = getattr(dataset, f"x_{name}"), getattr(dataset, f"y_{name}")
        out[name] = (x.reshape(len(x), -1).float().to(device), y.to(device))
    return out


class _Recorder:
    """Loss and accuracy of every member on every split at each evaluation, and its cost."""

    def __init__(self, splits: dict, act, out_act, n_classes):
        self.splits, self.act, self.out_act, self.n_classes = splits, act, out_act, n_classes
        self.steps: list[int] = []
        self.curves = {f"{s}_{m}": [] for s in splits for m in ("loss", "acc")}
        self.wall_s = self.cpu_s = 0.0  # spent evaluating inside the timed loop
        self.best_flat: torch.Tensor | None = None  # (K, P) parameters at the best validation
        self._best_score: np.ndarray | None = None

    def record(self, step: int, weights: list, flat: torch.Tensor) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        for name, (x, y) in self.splits.items():
            loss, acc = _evaluate(weights, x, y, self.act, self.n_classes, self.out_act)
            self.curves[f"{name}_loss"].append(loss)
            self.curves[f"{name}_acc"].append(acc)
        self.steps.append(step)
        if "val" in self.splits:
            self._keep_best(flat)
        self.wall_s += time.perf_counter() - t0
        self.cpu_s += time.process_time() - c0

    def _keep_best(self, flat: torch.Tensor) -> None:
        """Copy the members whose validation score strictly improved (the rule of
        :meth:`TrainResult.at_best_val`: accuracy, or loss for regression; NaN is the worst;
        ties keep the earliest)."""
        score = (self.curves["val_acc"][-1] if self.n_classes is not None
                 else -self.curves["val_loss"][-1])
        score = np.where(np.isnan(score), -np.inf, score)
        if self.best_flat is None:
            self.best_flat, self._best_score = flat.detach().clone(), score
            return
        better = score > self._best_score
        if better.any():
            rows = torch.as_tensor(np.flatnonzero(better), device=flat.device)
            self.best_flat[rows] = flat.detach()[rows]
            self._best_score = np.where(better, score, self._best_score)

    def arrays(self) -> dict:
        """Curves as (K, T) arrays, keyed like the ``TrainResult`` fields."""
        return {key: np.stack(v, 1) for key, v in self.curves.items()}


def _step_loop(packed: _FlatParams, members: _Members, rec: _Recorder, *, act, out_act,
               augment, max_time_s) -> tuple[float, float]:
    """Run the optimiser steps, recording at step 0, every ``eval_every`` and the last step.
    Returns the wall-clock and CPU seconds of the loop (evaluation included)."""
    base, flat, dev = members.recipes[0], packed.flat, packed.flat.device
    x_tr, y_tr = rec.splits["train"]
    orders = member_orders(len(x_tr), base.batch_size, base.steps, members.seeds, device=dev)
    gen = torch.Generator(device=dev).manual_seed(members.seeds[0] + 2 * BATCH_SEED_OFFSET)
    l1, drop = members.column("l1_activity", dev)[:, 0], members.column("dropout", dev)[:, 0]
    drop_p = drop if bool((drop > 0).any()) else None
    l2 = members.column("l2_activity", dev)[:, 0]
    use_l1, use_l2 = bool((l1 > 0).any()), bool((l2 > 0).any())
    opt = StackedOptimizer([flat], base.optimizer, [r.lr for r in members.recipes],
                           weight_decay=[r.weight_decay for r in members.recipes],
                           momentum=[r.momentum for r in members.recipes])
    rec.record(0, packed.detached(), flat)
    rec.wall_s = rec.cpu_s = 0.0
    start, cpu_start = time.perf_counter(), time.process_time()
    for step in range(1, base.steps + 1):
        idx = orders[step - 1]
        xb = torch.index_select(x_tr, 0, idx.reshape(-1)).view(*idx.shape, -1)
        yb = torch.index_select(y_tr, 0, idx.reshape(-1)).view(*idx.shape, *y_tr.shape[1:])
        if augment is not None:
            xb = augment(xb, gen)
        logits, hs = stacked_mlp(packed.unflatten(flat), xb, act, out_act=out_act,
                                 dropout=drop_p, generator=gen)
        loss = member_losses(logits, yb, rec.n_classes)
        if use_l1:
            loss = loss + l1 * sum(h.abs().mean(dim=(1, 2)) for h in hs)
        if use_l2:
            loss = loss + l2 * sum(h.square().mean(dim=(1, 2)) for h in hs)
        (g,) = torch.autograd.grad(loss.sum(), flat)
        opt.update([flat], [g], step)
        if step % base.eval_every == 0 or step == base.steps:
            rec.record(step, packed.detached(), flat)
        if max_time_s is not None and time.perf_counter() - start > max_time_s:
            if rec.steps[-1] != step:
                rec.record(step, packed.detached(), flat)
            break
    return time.perf_counter() - start, time.process_time() - cpu_start


def train_mlps(dataset: Dataset, widths: Sequence[int], *, seeds: Sequence[int],
               recipes: Recipe | Sequence[Recipe] = Recipe(),  # noqa: B008 (frozen dataclass)
               activation: str = "relu",
               activation_params: dict | None = None, init: str | Sequence[str] = "default",
               device: str = "cpu", max_time_s: float | None = None,
               augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
               init_weights: Sequence[tuple[torch.Tensor, torch.Tensor]] | None = None,
               output_activation: str | None = None) -> TrainResult:
    """Train ``len(recipes) × len(seeds)`` MLPs of one shape as a single batched model.

    Parameters
    ----------
    dataset : Dataset
        Training, validation and test data (``reluthe.data.load``); flattened to
        (n, input_dim). Inputs of any floating dtype are converted to float32 and class labels
        of any integer dtype to int64; integer/bool/complex inputs, float labels and
        non-tensor splits are refused (``InvalidInputError``). If it has a validation split
        (``val_size > 0``), validation loss and accuracy are recorded at every evaluation too;
        training never sees it.
    widths : sequence of int
        ``[input_dim, hidden..., output]``; ``widths[0]`` must equal the dataset's input dim.
        A list, tuple or integer array of ints: floats (``4.0`` too), strings, bools and
        nested sequences are refused, never truncated.
    seeds : sequence of int
        One member per seed (and per recipe): member ``r * len(seeds) + s`` has ``recipes[r]``
        and ``seeds[s]``. The seed fixes the init and the batch order.
    recipes : Recipe or sequence of Recipe
        Per-member hyper-parameters. All must share optimizer, batch_size, steps and eval_every.
    activation, activation_params :
        As in :func:`reluthe.models.mlp`.
    init : str or sequence of str
        Init scheme (as in :func:`reluthe.models.mlp`) of every member, or one per recipe:
        member ``r * len(seeds) + s`` then starts from ``mlp(..., init=init[r], seed=seeds[s])``,
        so several inits train in one batched run (pass the same Recipe once per init).
    device : str or torch.device
        "cpu", "cuda" or "cuda:N"; a CUDA device needs a visible GPU (else
        ``InvalidInputError``).
    max_time_s : float, optional
        Stop after this much wall-clock time (evaluating at the last step done): for budgets
        matched in time rather than steps.
    augment : callable, optional
        ``augment(x_batch, generator) -> x_batch`` applied to each (K, B, D) training batch.
    init_weights : sequence of (W, b), optional
        Starting weights of all K members, stacked as in ``TrainResult.weights`` (e.g. those of
        a pre-training run, for transfer); replaces the seeded init (the seeds still fix the
        batch order; ``bias_shift`` is still added). Tensors or arrays of any floating dtype,
        converted to float32; integer, bool, complex and object arrays are refused.
    output_activation : str, optional
        An activation applied after the last layer, in training and evaluation (claim C24).

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> from reluthe import data
    >>> ds = data.load("digits", seed=0)
    >>> r = train_mlps(ds, [64, 32, 10], seeds=[0, 1, 2], recipes=Recipe(steps=100, eval_every=100))
    >>> bool((r.test_acc[:, -1] > 0.5).all())
    True
    >>> r.val_acc is None  # no validation split asked for
    True
    """
    func = "train_mlps"
    dataset, recipes, seeds, widths, init, device, params = _check_train_args(
        dataset, widths, seeds, recipes, init, max_time_s, func, device=device,
        activation=activation, activation_params=activation_params,
        output_activation=output_activation, augment=augment)
    act = activation_fn(activation, **params)
    out_act = activation_fn(output_activation) if output_activation is not None else None
    members = _Members.expand(recipes, seeds, init)
    start_weights = (
        _check_init_weights(init_weights, widths, len(members.seeds), func)
        if init_weights is not None
        else stacked_mlp_init(widths, members.seeds, init=members.inits))
    packed = _FlatParams(start_weights, members.column("bias_shift", "cpu"), device)
    rec = _Recorder(_device_splits(dataset, packed.flat.device), act, out_act, dataset.n_classes)
    elapsed, cpu = _step_loop(packed, members, rec, act=act, out_act=out_act, augment=augment,
                              max_time_s=max_time_s)
    weights = [(w.cpu().clone(), b.cpu().clone()) for w, b in packed.detached()]
    best = (None if rec.best_flat is None else
            [(w.cpu().clone(), b.cpu().clone()) for w, b in packed.unflatten(rec.best_flat)])
    return TrainResult(widths, activation, params, init, members.seeds, members.recipes,
                       np.asarray(rec.steps), weights=weights, best_val_weights=best,
                       time_s=elapsed,
                       output_activation=output_activation, train_time_s=elapsed - rec.wall_s,
                       train_cpu_s=cpu - rec.cpu_s, **rec.arrays())

